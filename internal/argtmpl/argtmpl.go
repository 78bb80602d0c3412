// Package argtmpl checks the Go templates a config writes an argv or a
// query with ({{.Port}}, {{.Version}}, ...) before anything runs them:
// only the fields the caller offers, no range (which may loop for as long
// as a number says), and output bounded to 64 KiB. text/template parses
// and executes; what it does not do is say which fields a template uses,
// hence the walk of its parse tree here.
package argtmpl

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
)

// Check parses and executes s as a template over data, whose fields
// are fields, and reports whether it uses .Port, or what is wrong with it.
func Check(s string, data any, fields []string) (usesPort bool, problem string) {
	t, err := template.New("t").Option("missingkey=error").Parse(s)
	if err != nil {
		return false, "invalid template: " + templateError(err)
	}
	w := templateWalk{fields: fields}
	w.walk(t.Tree.Root, true)
	for _, d := range t.Templates() {
		if d != t && d.Tree != nil {
			w.walk(d.Tree.Root, false)
		}
	}
	if w.unknown != "" {
		return false, fmt.Sprintf("invalid template: unknown field .%s; it may use .%s", w.unknown, strings.Join(fields, ", ."))
	}
	if w.hasRange {
		// Range over an integer may loop for as long as the number says.
		return false, "invalid template: range is not allowed in a command"
	}
	if err := t.Execute(&limitWriter{n: 1 << 16}, data); err != nil {
		return false, "invalid template: " + templateError(err)
	}
	return w.usesPort, ""
}

func templateError(err error) string {
	s := strings.TrimPrefix(err.Error(), "template: t:")
	return strings.Replace(s, `executing "t" at `, "", 1)
}

type templateWalk struct {
	fields             []string
	usesPort, hasRange bool
	unknown            string
}

// walk visits a template's parse tree. root says whether dot is still the
// template data, which it stops being inside with and range.
func (w *templateWalk) walk(n parse.Node, root bool) {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			w.walk(c, root)
		}
	case *parse.ActionNode:
		w.walk(x.Pipe, root)
	case *parse.PipeNode:
		if x == nil {
			return
		}
		for _, c := range x.Cmds {
			w.walk(c, root)
		}
	case *parse.CommandNode:
		for _, a := range x.Args {
			w.walk(a, root)
		}
	case *parse.ChainNode:
		w.walk(x.Node, root)
	case *parse.FieldNode:
		if root {
			w.field(x.Ident[0])
		}
	case *parse.VariableNode:
		if len(x.Ident) > 1 && x.Ident[0] == "$" {
			w.field(x.Ident[1])
		}
	case *parse.IfNode:
		w.walk(x.Pipe, root)
		w.walk(x.List, root)
		w.walk(x.ElseList, root)
	case *parse.WithNode:
		w.walk(x.Pipe, root)
		w.walk(x.List, false)
		w.walk(x.ElseList, root)
	case *parse.RangeNode:
		w.hasRange = true
		w.walk(x.Pipe, root)
	case *parse.TemplateNode:
		w.walk(x.Pipe, root)
	}
}

func (w *templateWalk) field(name string) {
	if name == "Port" {
		w.usesPort = true
	}
	if !slices.Contains(w.fields, name) && w.unknown == "" {
		w.unknown = name
	}
}

// limitWriter stops a template that writes more than any argv needs.
type limitWriter struct{ n int }

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, fmt.Errorf("the template writes more than 64 KiB")
	}
	return len(p), nil
}

var _ io.Writer = (*limitWriter)(nil)

// Fields checks s against sample values of fields and returns what is
// wrong with it, or "".
func Fields(s string, fields ...string) string {
	data := map[string]any{}
	for _, f := range fields {
		data[f] = "x"
	}
	_, msg := Check(s, data, fields)
	return msg
}
