package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The JSON paths of expectations and extracts are a small dotted syntax,
// a.b[0].c, with an optional leading "$". It is written here by hand: the
// standard library has no JSON path, and the need (walk keys and indexes,
// no filters or wildcards) is too small to pay for a dependency and its
// larger language. Keys cannot contain '.', '[' or ']'.

// segment is one step of a path: a key, or an index when key is empty.
type segment struct {
	key   string
	index int
}

func parsePath(p string) ([]segment, error) {
	s := strings.TrimPrefix(p, "$")
	s = strings.TrimPrefix(s, ".")
	var segs []segment
	for s != "" {
		switch {
		case s[0] == '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, fmt.Errorf("json path %q: unclosed [", p)
			}
			n, err := strconv.Atoi(s[1:end])
			if err != nil || n < 0 || s[1] == '+' || s[1] == '-' {
				return nil, fmt.Errorf("json path %q: index %q is not a non-negative integer", p, s[1:end])
			}
			segs = append(segs, segment{index: n})
			s = s[end+1:]
		default:
			end := strings.IndexAny(s, ".[]")
			if end < 0 {
				end = len(s)
			}
			if end == 0 {
				return nil, fmt.Errorf("json path %q: empty key", p)
			}
			segs = append(segs, segment{key: s[:end]})
			s = s[end:]
			if s != "" && s[0] == ']' {
				return nil, fmt.Errorf("json path %q: unexpected ]", p)
			}
		}
		if s == "" {
			break
		}
		switch s[0] {
		case '.':
			s = s[1:]
			if s == "" || s[0] == '.' || s[0] == '[' {
				return nil, fmt.Errorf("json path %q: empty key", p)
			}
		case '[':
		default:
			return nil, fmt.Errorf("json path %q: want . or [ after ]", p)
		}
	}
	return segs, nil
}

// formatPath writes segs back in the syntax parsePath reads.
func formatPath(segs []segment) string {
	// The leading "$" keeps a first key that starts with "$" intact.
	b := strings.Builder{}
	b.WriteByte('$')
	for _, s := range segs {
		if s.key == "" {
			fmt.Fprintf(&b, "[%d]", s.index)
			continue
		}
		b.WriteByte('.')
		b.WriteString(s.key)
	}
	return b.String()
}

// lookup walks doc, as decoded with UseNumber, along segs.
func lookup(doc any, segs []segment) (any, bool) {
	for _, s := range segs {
		if s.key != "" {
			m, ok := doc.(map[string]any)
			if !ok {
				return nil, false
			}
			if doc, ok = m[s.key]; !ok {
				return nil, false
			}
			continue
		}
		a, ok := doc.([]any)
		if !ok || s.index >= len(a) {
			return nil, false
		}
		doc = a[s.index]
	}
	return doc, true
}

// decodeJSON decodes b keeping numbers exact.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}

// valueString is how a JSON value compares with an expected string and
// what an extract yields: strings as they are, numbers without exponent,
// true, false, null, and objects and arrays as compact JSON.
func valueString(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return numberString(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
}

func numberString(n json.Number) string {
	s := n.String()
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return s
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return s // out of float64 range: the literal is the best we have
}

// expand replaces {{name}} (spaces inside the braces allowed) with vars'
// values in one pass: a value holding braces is not expanded again. An
// unknown name is an error; braces around anything but a name are left
// as they are.
func expand(s string, vars map[string]string) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		name := strings.TrimSpace(s[i+2 : i+2+j])
		if !isName(name) {
			b.WriteString(s[:i+2])
			s = s[i+2:]
			continue
		}
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("unknown variable {{%s}}: no earlier step extracts it", name)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		s = s[i+2+j+2:]
	}
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}
