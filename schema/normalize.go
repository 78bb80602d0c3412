package schema

import (
	"regexp"
	"strings"
)

// typeAliases maps every spelling of a type to the one name schemas use.
var typeAliases = map[string]string{
	"int": "integer", "int4": "integer", "integer": "integer", "serial": "integer", "serial4": "integer",
	"int8": "bigint", "bigint": "bigint", "bigserial": "bigint", "serial8": "bigint",
	"int2": "smallint", "smallint": "smallint", "smallserial": "smallint", "serial2": "smallint",
	"varchar": "varchar", "character varying": "varchar",
	"char": "char", "character": "char", "bpchar": "char",
	"bool": "boolean", "boolean": "boolean",
	"float8": "double precision", "double precision": "double precision", "double": "double precision",
	"float4": "real", "real": "real",
	"decimal": "numeric", "numeric": "numeric",
	"timestamptz": "timestamptz", "timestamp with time zone": "timestamptz",
	"timestamp": "timestamp", "timestamp without time zone": "timestamp",
	"timetz": "timetz", "time with time zone": "timetz",
	"time": "time", "time without time zone": "time",
	"varbit": "varbit", "bit varying": "varbit",
}

var typeRE = regexp.MustCompile(`^([a-z_][a-z0-9_ ."]*?)\s*(\([^)]*\))?\s*(with time zone|without time zone)?\s*((?:\[\s*\d*\s*\])*)$`)

// NormalizeType returns the one spelling of a column type: lower case,
// single spaces, PostgreSQL's aliases folded (int4 and int → integer,
// character varying(20) → varchar(20), timestamp with time zone →
// timestamptz, decimal → numeric, …). SQLite declared types go through the
// same folding, so INT and INTEGER are the same type; other declared types
// are kept as written. An empty type stays empty.
func NormalizeType(t string) string {
	t = strings.ToLower(strings.Join(strings.Fields(t), " "))
	if t == "" {
		return ""
	}
	m := typeRE.FindStringSubmatch(t)
	if m == nil {
		return t
	}
	name := strings.TrimSpace(m[1])
	if m[3] != "" {
		name += " " + m[3]
	}
	if a, ok := typeAliases[name]; ok {
		name = a
	}
	args := strings.ReplaceAll(m[2], " ", "")
	arrays := strings.Repeat("[]", strings.Count(m[4], "["))
	return name + args + arrays
}

// NormalizeExpr returns the one spelling of an SQL expression (a default,
// a check, an index predicate): casts such as 'x'::text dropped, keywords
// and unquoted identifiers in lower case, needless quotes and parentheses
// removed, one canonical spacing. It is not an SQL parser: two spellings
// it does not recognise as equal are reported as a difference.
func NormalizeExpr(e string) string {
	toks := tokenize(e)
	toks = dropCasts(toks)
	for changed := true; changed; {
		changed = false
		if n := len(toks); n >= 2 && toks[0] == "(" && matching(toks, 0) == n-1 {
			toks, changed = toks[1:n-1], true
		}
		// One pass drops one layer of parentheses around single tokens:
		// "(-1)" but not the call "f(x)".
		out := make([]string, 0, len(toks))
		for i := 0; i < len(toks); i++ {
			// A negative number after an operand keeps its parentheses:
			// "0 -1" would read back as a subtraction.
			if i+2 < len(toks) && toks[i] == "(" && toks[i+2] == ")" && toks[i+1] != "(" && toks[i+1] != ")" &&
				(len(out) == 0 || !isWord(out[len(out)-1])) &&
				!(strings.HasPrefix(toks[i+1], "-") && afterOperand(out)) {
				out = append(out, toks[i+1])
				i += 2
				changed = true
				continue
			}
			out = append(out, toks[i])
		}
		toks = out
	}
	// A negative number right after an operand is written as the
	// subtraction it reads back as, so that the result is a fixed point.
	final := make([]string, 0, len(toks))
	for _, t := range toks {
		if len(t) > 1 && t[0] == '-' && t[1] >= '0' && t[1] <= '9' && afterOperand(final) {
			final = append(final, "-", t[1:])
			continue
		}
		final = append(final, t)
	}
	toks = final
	var b strings.Builder
	for i, t := range toks {
		if i > 0 {
			prev := toks[i-1]
			glue := t == ")" || t == "]" || t == "," || t == "(" || t == "[" || prev == "(" || prev == "["
			if prev == "[" && !afterOperand(toks[:i-1]) {
				glue = false // "[ x]" must not read back as the quoted name [x]
			}
			if !glue {
				b.WriteByte(' ')
			}
		}
		b.WriteString(t)
	}
	return b.String()
}

func isWord(t string) bool {
	if t == "" {
		return false
	}
	return t[0] == '"' || isIdentStart(t[0])
}

// matching returns the index of the parenthesis closing toks[open], or -1.
func matching(toks []string, open int) int {
	depth := 0
	for i := open; i < len(toks); i++ {
		switch toks[i] {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

var numberRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// dropCasts removes every "::type" and unquotes a number literal that was
// quoted only to be cast ('-1'::integer).
func dropCasts(toks []string) []string {
	out := make([]string, 0, len(toks))
	for i := 0; i < len(toks); i++ {
		if toks[i] != "::" {
			out = append(out, toks[i])
			continue
		}
		if n := len(out); n > 0 && strings.HasPrefix(out[n-1], "'") {
			// A negative number right after an operand stays quoted: "0 -1"
			// would read back as a subtraction.
			if inner := strings.Trim(out[n-1], "'"); numberRE.MatchString(inner) &&
				(!strings.HasPrefix(inner, "-") || !afterOperand(out[:n-1])) {
				out[n-1] = inner
			}
		}
		j := i + 1
		if j < len(toks) && isWord(toks[j]) {
			j++
		}
		for j < len(toks) && (toks[j] == "varying" || toks[j] == "precision") {
			j++
		}
		if j < len(toks) && toks[j] == "(" {
			if k := matching(toks, j); k > 0 {
				j = k + 1
			}
		}
		if j+2 < len(toks) && (toks[j] == "with" || toks[j] == "without") && toks[j+1] == "time" && toks[j+2] == "zone" {
			j += 3
		}
		for j+1 < len(toks) && toks[j] == "[" && toks[j+1] == "]" {
			j += 2
		}
		i = j - 1
	}
	return out
}

var plainIdent = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// tokenize splits an expression into words (lower-cased), numbers, string
// literals, quoted identifiers (unquoted when the quotes change nothing),
// operators and punctuation. Comments are dropped.
func tokenize(s string) []string {
	toks, _ := tokenizeSpans(s)
	return toks
}

// tokenizeSpans is tokenize that also returns where each token starts and
// ends in s.
func tokenizeSpans(s string) (toks []string, spans [][2]int) {
	for i := 0; i < len(s); {
		c := s[i]
		n, start := len(toks), i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				i += end + 4
			}
		case c == '\'':
			j := i + 1
			for j < len(s) {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j >= len(s) {
				j = len(s) - 1
				toks = append(toks, s[i:]+"'")
			} else {
				toks = append(toks, s[i:j+1])
			}
			i = j + 1
		case c == '"' || c == '`' || c == '[' && !afterOperand(toks) && isSQLiteBracketIdent(s[i:]):
			closer := byte('"')
			if c == '`' {
				closer = '`'
			} else if c == '[' {
				closer = ']'
			}
			// A doubled quote inside a quoted name stands for itself.
			var nb strings.Builder
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == closer {
					if closer != ']' && j+1 < len(s) && s[j+1] == closer {
						nb.WriteByte(closer)
						j++
						continue
					}
					break
				}
				nb.WriteByte(s[j])
			}
			name := nb.String()
			i = min(j+1, len(s))
			if plainIdent.MatchString(name) {
				toks = append(toks, name)
			} else {
				toks = append(toks, `"`+strings.ReplaceAll(name, `"`, `""`)+`"`)
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && (isIdentStart(s[j]) || (s[j] >= '0' && s[j] <= '9') || s[j] == '.' || s[j] == '$') {
				j++
			}
			toks = append(toks, strings.ToLower(s[i:j]))
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' ||
			c == '-' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' && !afterOperand(toks):
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
				(s[j] == '-' || s[j] == '+') && j > i && (s[j-1] == 'e' || s[j-1] == 'E')) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		case strings.IndexByte("(),;[]", c) >= 0:
			toks = append(toks, string(c))
			i++
		case strings.IndexByte("<>=!|+-*/%&~^@#:?", c) >= 0:
			j := i
			for j < len(s) && strings.IndexByte("<>=!|+-*/%&~^@#:?", s[j]) >= 0 {
				j++
			}
			op := s[i:j]
			if op == "!=" {
				op = "<>"
			} else if op == "==" {
				op = "="
			}
			toks = append(toks, op)
			i = j
		default:
			toks = append(toks, string(c))
			i++
		}
		if len(toks) > n {
			spans = append(spans, [2]int{start, min(i, len(s))})
		}
	}
	return toks, spans
}

// afterOperand tells whether the next token follows an operand, which
// makes "-" a minus rather than a sign and "[" a subscript.
func afterOperand(toks []string) bool {
	if len(toks) == 0 {
		return false
	}
	t := toks[len(toks)-1]
	return isWord(t) || t == ")" || t == "]" || t[0] == '\'' || t[0] >= '0' && t[0] <= '9'
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

// isSQLiteBracketIdent tells a [quoted identifier] from PostgreSQL's
// array subscript and ARRAY[...] constructor: an identifier in brackets
// starts with a letter and holds no quote or comma.
func isSQLiteBracketIdent(s string) bool {
	end := strings.IndexByte(s, ']')
	if end < 2 {
		return false
	}
	inner := s[1:end]
	return isIdentStart(inner[0]) && !strings.ContainsAny(inner, "',[")
}
