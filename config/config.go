// Package config loads upfactory.yaml: strict decoding, defaults and validation.
// It walks goccy's YAML AST itself, as goccy's strict mode stops at the first problem and users should see them all.
package config

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/upfactory/upfactory"
)

// Problem is one thing wrong with a config.
type Problem struct {
	File string
	// Line and Column are 1-based; Line is 0 for a problem with no place in
	// the file, such as a missing services list in an empty file.
	Line, Column int
	// Key is the full key path, such as services[0].strategy.canary.steps[2].weight.
	Key     string
	Message string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", p.Line, p.Column)
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		fmt.Fprintf(&b, "%d:%d: ", p.Line, p.Column)
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Errors is every problem found in a config, sorted by position.
type Errors []Problem

// Error prints one problem per line as "file:line:col: key: message".
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Load reads path, decodes it strictly, applies defaults and validates it.
// Relative paths in the config resolve against the directory of path. A
// config that cannot be used is reported as Errors.
func Load(path string) (*upfactory.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		// A config that cannot be read is a config problem like any other.
		msg := err.Error()
		if pe, ok := err.(*fs.PathError); ok {
			msg = "cannot read the config file: " + pe.Err.Error()
		}
		return nil, Errors{{File: path, Message: msg}}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return load(path, data, filepath.Dir(abs), true)
}

// Parse is Load for data already read from filename, which is used only in
// problems. Relative paths (server.data_dir, target.dir) resolve against
// baseDir, which should be absolute.
//
// Parse looks at nothing but data; Load also checks the files the config
// names, such as that an exec target's program exists and is executable.
func Parse(filename string, data []byte, baseDir string) (*upfactory.Config, error) {
	return load(filename, data, baseDir, false)
}

func load(filename string, data []byte, baseDir string, checkFiles bool) (*upfactory.Config, error) {
	l := newLoader(filename)
	l.checkFiles = checkFiles
	c := new(upfactory.Config)
	if body, ok := l.parse(data); ok {
		if body != nil {
			l.collectAnchors(body)
			l.decode(body, reflect.ValueOf(c).Elem(), "")
		}
		setDefaults(c, baseDir)
		l.validate(c)
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks a config that already has its defaults, as Parse returns
// it, and sets the fields derived during validation (Check.Limit). Problems
// carry key paths but no positions. It lets code that builds or changes a
// Config in Go hold it to the same rules as a file.
func Validate(c *upfactory.Config) error {
	l := newLoader("")
	if c == nil {
		return Errors{{Message: "no config"}}
	}
	l.validate(c)
	return l.err()
}

// parse reads data into goccy's AST and returns the body of its only
// document; the body is nil for an empty file.
func (l *loader) parse(data []byte) (body ast.Node, ok bool) {
	f, err := parseBytes(data)
	if err != nil {
		p := Problem{File: l.file, Message: err.Error()}
		if e, ok := err.(yaml.Error); ok {
			p.Message = e.GetMessage()
			if tk := e.GetToken(); tk != nil && tk.Position != nil {
				p.Line, p.Column = tk.Position.Line, tk.Position.Column
			}
		}
		l.probs = append(l.probs, p)
		return nil, false
	}
	for _, doc := range f.Docs {
		if doc == nil || isNil(doc.Body) {
			continue
		}
		if body != nil {
			p := nodePos(doc.Body)
			l.probs = append(l.probs, Problem{File: l.file, Line: p.line, Column: p.col,
				Message: "a second YAML document (after ---); upfactory.yaml holds one"})
			break
		}
		body = doc.Body
	}
	return body, true
}

// parseBytes keeps a panic inside the YAML parser from taking the whole
// program down with it: a bad config must end in a message.
func parseBytes(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML parser failed on this file: %v", r)
		}
	}()
	// Duplicate keys are reported by the walk, with the others.
	return parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
}

func (l *loader) err() error {
	if len(l.probs) == 0 {
		return nil
	}
	slices.SortStableFunc(l.probs, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Column - b.Column
	})
	return Errors(l.probs)
}
