package constraint

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// Gemfiles and gemspecs are Ruby. They are read here without Ruby: line by
// line, a statement continued while a bracket is open or a line ends with a
// comma, string literals only. A requirement that is not a literal (a
// variable, Rails::VERSION::STRING) is kept as written and checks as
// unknown; conditions around a statement are ignored, so every gem of
// every group and platform is reported.

type rubyStmt struct {
	text string
	line int
}

// rubyStatements joins continued lines and strips comments.
func rubyStatements(data []byte) []rubyStmt {
	var out []rubyStmt
	var cur strings.Builder
	start := 0
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		code := stripRubyComment(strings.TrimRight(l, "\r"))
		if cur.Len() == 0 {
			if strings.TrimSpace(code) == "" {
				continue
			}
			start = i + 1
		} else {
			cur.WriteByte(' ')
		}
		cur.WriteString(strings.TrimSpace(code))
		s := cur.String()
		if (strings.HasSuffix(s, ",") || strings.HasSuffix(s, "(") || openBrackets(s) > 0) && i+1 < len(lines) && i+1-start < 50 {
			continue
		}
		out = append(out, rubyStmt{s, start})
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, rubyStmt{cur.String(), start})
	}
	return out
}

func stripRubyComment(l string) string {
	var q byte
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case q != 0 && c == '\\':
			i++
		case q != 0 && c == q:
			q = 0
		case q == 0 && (c == '\'' || c == '"'):
			q = c
		case q == 0 && c == '#':
			return l[:i]
		}
	}
	return l
}

// walkBrackets walks s outside Ruby string literals and calls closed after
// each closing bracket with its index and the depth left; it stops when
// closed returns true. It returns the depth at the end: the brackets not
// yet closed.
func walkBrackets(s string, closed func(i, depth int) bool) int {
	depth := 0
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0 && c == '\\':
			i++
		case q != 0 && c == q:
			q = 0
		case q != 0:
		case c == '\'' || c == '"':
			q = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
			if closed != nil && closed(i, depth) {
				return depth
			}
		}
	}
	return depth
}

// openBrackets counts ( and [ not yet closed outside string literals.
func openBrackets(s string) int { return walkBrackets(s, nil) }

// splitRubyArgs splits an argument list at top-level commas and drops a
// trailing "if"/"unless" modifier.
func splitRubyArgs(s string) []string {
	var out []string
	depth, last := 0, 0
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0 && c == '\\':
			i++
		case q != 0 && c == q:
			q = 0
		case q != 0:
		case c == '\'' || c == '"':
			q = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[last:i]))
			last = i + 1
		case depth == 0 && (strings.HasPrefix(s[i:], " if ") || strings.HasPrefix(s[i:], " unless ")):
			out = append(out, strings.TrimSpace(s[last:i]))
			return out
		}
	}
	if i := min(last, len(s)); strings.TrimSpace(s[i:]) != "" {
		out = append(out, strings.TrimSpace(s[i:]))
	}
	return out
}

var (
	rubyString  = regexp.MustCompile(`^(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\#]|\\.|#[^{])*)")$`)
	rubyKeyword = regexp.MustCompile(`^(?:[A-Za-z_]\w*:\s|[A-Za-z_]\w*:$|:\w+\s*=>|["']\w+["']\s*(?:=>|:))`)
	rubyWords   = regexp.MustCompile(`^%[wW][\[(<{](.*)[\])>}]$`)
	gemCall     = regexp.MustCompile(`^gem\b`)
	rubyCall    = regexp.MustCompile(`^ruby\b`)
	errNotLit   = errors.New("not a string literal")
)

func rubyLiteral(arg string) (string, bool) {
	m := rubyString.FindStringSubmatch(strings.TrimSpace(arg))
	if m == nil {
		return "", false
	}
	if strings.HasPrefix(strings.TrimSpace(arg), "'") {
		return m[1], true
	}
	return m[2], true
}

// rubyRequirements reads requirement arguments: string literals, arrays of
// them, %w[] words, Gem::Requirement.new(...). It stops at the first
// keyword argument. lit is false when one is not a literal; the text as
// written is then returned.
func rubyRequirements(args []string) (reqs []string, lit bool) {
	lit = true
	for _, a := range args {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if rubyKeyword.MatchString(a) {
			break
		}
		inner := a
		for _, pre := range []string{"Gem::Requirement.new", "Gem::Requirement.create", "Gem::Dependency.new"} {
			if strings.HasPrefix(inner, pre) {
				inner = strings.TrimSpace(strings.TrimPrefix(inner, pre))
				inner = strings.TrimSuffix(strings.TrimPrefix(inner, "("), ")")
				sub, ok := rubyRequirements(splitRubyArgs(inner))
				reqs = append(reqs, sub...)
				lit = lit && ok
				inner = ""
			}
		}
		switch {
		case inner == "":
		case strings.HasPrefix(inner, "[") && strings.HasSuffix(inner, "]"):
			sub, ok := rubyRequirements(splitRubyArgs(inner[1 : len(inner)-1]))
			reqs = append(reqs, sub...)
			lit = lit && ok
		case rubyWords.MatchString(inner):
			reqs = append(reqs, strings.Fields(rubyWords.FindStringSubmatch(inner)[1])...)
		default:
			if s, ok := rubyLiteral(inner); ok {
				reqs = append(reqs, s)
			} else {
				reqs = append(reqs, inner)
				lit = false
			}
		}
	}
	return reqs, lit
}

// ParseGemfile reads the gem and ruby lines of a Gemfile. A gem without a
// requirement declares no constraint and is left out. Every gem is
// reported, whatever group, platform or condition it is under.
func ParseGemfile(file string, data []byte) ([]Declared, []Problem, error) {
	dep := dependentName("", file)
	var out []Declared
	var problems []Problem
	for _, st := range rubyStatements(data) {
		if !strings.HasPrefix(st.text, "gem") && !strings.HasPrefix(st.text, "ruby") {
			continue // the regular expressions below are what the time goes to
		}
		if m := gemCall.FindStringIndex(st.text); m != nil {
			args := splitRubyArgs(callArgs(st.text[m[1]:]))
			if len(args) == 0 {
				problems = append(problems, Problem{file, st.line, "gem without a name; skipped"})
				continue
			}
			name, ok := rubyLiteral(args[0])
			if !ok || name == "" {
				problems = append(problems, Problem{file, st.line, fmt.Sprintf("gem name %s is %v; skipped", args[0], errNotLit)})
				continue
			}
			reqs, _ := rubyRequirements(args[1:])
			if len(reqs) == 0 {
				continue
			}
			out = append(out, Declared{Dependent: dep, Target: name, Constraint: strings.Join(reqs, ", "),
				Syntax: SyntaxRubyGems, Kind: KindGem, File: file, Line: st.line})
			continue
		}
		if m := rubyCall.FindStringIndex(st.text); m != nil {
			reqs, _ := rubyRequirements(splitRubyArgs(callArgs(st.text[m[1]:])))
			if len(reqs) == 0 {
				problems = append(problems, Problem{file, st.line, "ruby version is not given as a literal (file: or a variable); not checked"})
				continue
			}
			out = append(out, Declared{Dependent: dep, Target: "ruby", Constraint: strings.Join(reqs, ", "),
				Syntax: SyntaxRubyGems, Kind: KindEngine, File: file, Line: st.line})
		}
	}
	return out, problems, nil
}

var (
	gemspecDep     = regexp.MustCompile(`^\w+\.(add_dependency|add_runtime_dependency|add_development_dependency)\b`)
	gemspecVersion = regexp.MustCompile(`^\w+\.(required_ruby_version|required_rubygems_version)\s*=\s*(.*)$`)
	gemspecName    = regexp.MustCompile(`^\w+\.name\s*=\s*(.+)$`)
)

// ParseGemspec reads a .gemspec: add_dependency, add_runtime_dependency
// (runtime), add_development_dependency (development),
// required_ruby_version and required_rubygems_version (engine). The
// dependent is spec.name when it is a literal, else the file's name.
func ParseGemspec(file string, data []byte) ([]Declared, []Problem, error) {
	stmts := rubyStatements(data)
	name := ""
	found := false
	for _, st := range stmts {
		if strings.Contains(st.text, "Gem::Specification.new") {
			found = true
		}
		if !strings.Contains(st.text, ".name") {
			continue
		}
		if m := gemspecName.FindStringSubmatch(st.text); m != nil && name == "" {
			if s, ok := rubyLiteral(m[1]); ok {
				name = s
			}
		}
	}
	if !found {
		return nil, nil, fmt.Errorf("reading %s: no Gem::Specification.new: not a gemspec", file)
	}
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(file), ".gemspec")
	}
	var out []Declared
	var problems []Problem
	for _, st := range stmts {
		if !strings.Contains(st.text, ".add_") && !strings.Contains(st.text, ".required_") {
			continue
		}
		if m := gemspecDep.FindStringSubmatchIndex(st.text); m != nil {
			call := st.text[m[2]:m[3]]
			args := splitRubyArgs(callArgs(st.text[m[1]:]))
			if len(args) == 0 {
				problems = append(problems, Problem{file, st.line, call + " without a gem name; skipped"})
				continue
			}
			gname, ok := rubyLiteral(args[0])
			if !ok || gname == "" {
				problems = append(problems, Problem{file, st.line, fmt.Sprintf("%s: gem name %s is %v; skipped", call, args[0], errNotLit)})
				continue
			}
			reqs, _ := rubyRequirements(args[1:])
			if len(reqs) == 0 {
				continue
			}
			kind := KindRuntime
			if call == "add_development_dependency" {
				kind = KindDevelopment
			}
			out = append(out, Declared{Dependent: name, Target: gname, Constraint: strings.Join(reqs, ", "),
				Syntax: SyntaxRubyGems, Kind: kind, File: file, Line: st.line})
			continue
		}
		if m := gemspecVersion.FindStringSubmatch(st.text); m != nil {
			reqs, _ := rubyRequirements(splitRubyArgs(m[2]))
			if len(reqs) == 0 {
				problems = append(problems, Problem{file, st.line, m[1] + " has no requirement; skipped"})
				continue
			}
			target := "ruby"
			if m[1] == "required_rubygems_version" {
				target = "rubygems"
			}
			out = append(out, Declared{Dependent: name, Target: target, Constraint: strings.Join(reqs, ", "),
				Syntax: SyntaxRubyGems, Kind: KindEngine, File: file, Line: st.line})
		}
	}
	return out, problems, nil
}

// callArgs is the argument list after a method name: "(a, b)" or " a, b".
func callArgs(rest string) string {
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, "(") {
		return rest
	}
	end := -1
	walkBrackets(rest, func(i, depth int) bool {
		if depth == 0 {
			end = i
			return true
		}
		return false
	})
	if end < 0 {
		return rest[1:]
	}
	return rest[1:end]
}
