package argtmpl_test

import (
	"strings"
	"testing"

	"github.com/upfactory/upfactory/internal/argtmpl"
)

func TestCheck(t *testing.T) {
	data := struct {
		Port    int
		Version string
	}{8080, "1.0.0"}
	fields := []string{"Port", "Version"}
	for _, tc := range []struct {
		tmpl     string
		usesPort bool
		problem  string
	}{
		{"--listen=127.0.0.1:{{.Port}}", true, ""},
		{"{{with .Version}}{{.}}{{end}}", false, ""},
		{"{{.Host}}", false, "unknown field .Host; it may use .Port, .Version"},
		{"{{range 9999999}}x{{end}}", false, "range is not allowed"},
		{"{{.Port", false, "invalid template"},
		{`{{define "x"}}{{.Nope}}{{end}}{{template "x" .}}`, false, "Nope"},
	} {
		usesPort, problem := argtmpl.Check(tc.tmpl, data, fields)
		if usesPort != tc.usesPort || (tc.problem == "") != (problem == "") || !strings.Contains(problem, tc.problem) {
			t.Errorf("Check(%q) = %v, %q; want %v, a problem containing %q", tc.tmpl, usesPort, problem, tc.usesPort, tc.problem)
		}
	}
}

func TestOutputIsBounded(t *testing.T) {
	_, problem := argtmpl.Check(`{{printf "%070000d" 1}}`, struct{}{}, nil)
	if !strings.Contains(problem, "64 KiB") {
		t.Errorf("a template writing 70,000 bytes: problem %q, want one about the 64 KiB bound", problem)
	}
}

func TestFields(t *testing.T) {
	if msg := argtmpl.Fields("rate({{.Version}}[{{.Window}}])", "Version", "Window"); msg != "" {
		t.Errorf("Fields of a good query = %q, want none", msg)
	}
	if msg := argtmpl.Fields("{{.Pool}}", "Version"); !strings.Contains(msg, ".Pool") {
		t.Errorf("Fields of an unknown field = %q, want it named", msg)
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"{{.Port}}", "{{range 3}}{{end}}", "{{with .Version}}{{.}}{{end}}", "{{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		usesPort, problem := argtmpl.Check(s, struct {
			Port    int
			Version string
		}{1, "v"}, []string{"Port", "Version"})
		if problem != "" && usesPort {
			t.Errorf("Check(%q) reports both a problem and a use of .Port", s)
		}
	})
}
