package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// A config that cannot be read is a config error: exit 2 from every
// command that reads one, naming the file.
func TestMissingConfigExitsTwoEverywhere(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nowhere", "upfactory.yaml")
	for _, args := range [][]string{
		{"serve"},
		{"intake", "run"},
		{"candidates"},
		{"candidates", "list"},
		{"candidates", "show", "c-00000000"},
		{"candidates", "ack", "c-00000000", "--as", "alice"},
		{"risk", "explain", "c-00000000"},
		{"risk", "weights"},
		{"policy", "check"},
		{"policy", "override", "bundle:weekly", "--as", "alice", "--reason", "r"},
		{"plan", "show"},
		{"plan", "set", "--window", "weekly", "c-00000000", "--as", "alice"},
		{"compat", "run", "c-00000000"},
		{"compat", "show", "c-00000000"},
		{"log"},
	} {
		for _, output := range []string{"text", "json"} {
			t.Run(strings.Join(args, " ")+" -o "+output, func(t *testing.T) {
				var out, errb bytes.Buffer
				code := Main(context.Background(), append(args, "-c", missing, "-o", output), &out, &errb)
				if code != exitUsage {
					t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitUsage, out.String(), errb.String())
				}
				if !strings.Contains(out.String()+errb.String(), missing) || !strings.Contains(out.String()+errb.String(), "cannot read the config file") {
					t.Errorf("the message does not name the file:\nstdout: %s\nstderr: %s", out.String(), errb.String())
				}
				if output == "json" {
					assertOneJSONDocument(t, out.Bytes())
				}
			})
		}
	}
}

// assertOneJSONDocument fails t unless b is exactly one JSON value.
func assertOneJSONDocument(t *testing.T, b []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, b)
	}
	if err := dec.Decode(&v); !errors.Is(err, io.EOF) {
		t.Errorf("stdout holds more than one JSON document (%v):\n%s", err, b)
	}
}
