package config_test

import (
	"errors"
	"os"
	"testing"

	"github.com/upfactory/upfactory/config"
)

func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("testdata/upfactory.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(minimal))
	for _, tc := range badCases {
		f.Add([]byte(tc.yaml))
	}
	for _, tc := range analysisBad {
		f.Add([]byte(analysisBase + "      checks: [" + tc.checks + "]\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse("upfactory.yaml", data, "/srv")
		if err == nil {
			if c == nil {
				t.Fatal("Parse returned neither a config nor an error")
			}
			if err := config.Validate(c); err != nil {
				t.Fatalf("a config that loads does not validate again:\n%v", err)
			}
			return
		}
		var probs config.Errors
		if !errors.As(err, &probs) {
			t.Fatalf("Parse error is %T, want config.Errors: %v", err, err)
		}
		if c != nil {
			t.Errorf("Parse returned a config with its problems")
		}
		if len(probs) == 0 {
			t.Fatal("Parse returned empty config.Errors")
		}
		for i, p := range probs {
			// Line 0 is for what has no place in the file: a services
			// list that is missing, or the file as a whole.
			fileLevel := p.Key == "" || p.Key == "services"
			if p.Line < 0 || p.Column < 0 || p.Line == 0 && !fileLevel {
				t.Errorf("problem without a place: %+v", p)
			}
			if i > 0 && p.Line < probs[i-1].Line {
				t.Errorf("problems not sorted by line: %+v before %+v", probs[i-1], p)
			}
		}
	})
}
