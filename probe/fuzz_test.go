package probe

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func FuzzJSONPath(f *testing.F) {
	for _, s := range []struct{ path, doc string }{
		{"a.b[0].c", `{"a":{"b":[{"c":1e3}]}}`},
		{"$.session.token", `{"session":{"token":"t"}}`},
		{"[1]", `[true,null]`},
		{"$", `"x"`},
		{"a[0][1]", `{"a":[[1,2.50]]}`},
		{"a..b", `{}`},
		{"a[", `{}`},
		{"a]b", `{}`},
		{"x[-1]", `{"x":[1]}`},
		{"n", `{"n":123456789012345678901234567890}`},
		{"n", `{"n":-1.25E-7}`},
		{"n", `{"n":1e400}`},
	} {
		f.Add(s.path, s.doc)
	}
	f.Fuzz(func(t *testing.T, path, doc string) {
		segs, err := parsePath(path)
		if err != nil {
			return
		}
		again, err := parsePath(formatPath(segs))
		if err != nil {
			t.Fatalf("%q → %q does not parse: %v", path, formatPath(segs), err)
		}
		if diff := cmp.Diff(segs, again, cmp.AllowUnexported(segment{})); diff != "" {
			t.Fatalf("%q → %q (-first +again):\n%s", path, formatPath(segs), diff)
		}
		v, err := decodeJSON([]byte(doc))
		if err != nil {
			return
		}
		if got, ok := lookup(v, segs); ok {
			// Beyond float64's range the literal is kept as written.
			if s := valueString(got); strings.ContainsAny(s, "eE") && inRange(got) {
				t.Fatalf("number formatted with an exponent: %q", s)
			}
		}
	})
}

func inRange(v any) bool {
	n, ok := v.(json.Number)
	if !ok {
		return false
	}
	_, err := n.Float64()
	return err == nil
}

func FuzzExpand(f *testing.F) {
	f.Add("/cart/{{cart}}/pay", "cart", "42")
	f.Add("Bearer {{ token }}", "token", "{{token}}")
	f.Add("{{", "a", "b")
	f.Add("{{{{a}}}}", "a", "}}")
	f.Add("{{ not a name }} {{a}}", "a", "x")
	f.Fuzz(func(t *testing.T, s, name, value string) {
		vars := map[string]string{name: value}
		got, err := expand(s, vars)
		if !strings.Contains(s, "{{") {
			if err != nil || got != s {
				t.Fatalf("expand(%q) = %q, %v: want it unchanged", s, got, err)
			}
			return
		}
		if err != nil {
			if !strings.Contains(err.Error(), "unknown variable") {
				t.Fatalf("expand(%q): %v", s, err)
			}
			return
		}
		// One pass: expanding a text whose values hold no braces leaves
		// nothing to expand for a name that is known.
		if isName(name) && !strings.Contains(value, "{") && !strings.Contains(value, "}") &&
			strings.Contains(got, "{{"+name+"}}") && !strings.Contains(s, "{{{") && !strings.Contains(s, "}}}") {
			t.Fatalf("expand(%q) = %q still holds {{%s}}", s, got, name)
		}
	})
}
