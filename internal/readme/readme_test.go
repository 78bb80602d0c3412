package readme_test

import (
	"os"
	"strings"
	"testing"

	"github.com/upfactory/upfactory/internal/readme"
)

func TestYAMLExample(t *testing.T) {
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readme.YAMLExample(string(text), "Configuration")
	if err != nil || !strings.HasPrefix(got, "server:\n") || !strings.Contains(got, "analysis:") {
		t.Fatalf("the Configuration example: %v\n%s", err, got)
	}
	for _, bad := range []string{"no heading", "\n## Configuration\nno block", "\n## Configuration\n```yaml\nopen"} {
		if _, err := readme.YAMLExample(bad, "Configuration"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzYAMLExample(f *testing.F) {
	f.Add("\n## Configuration\n```yaml\na: 1\n```\n")
	f.Add("\n## Configuration\n```yaml\n")
	f.Fuzz(func(t *testing.T, text string) {
		got, err := readme.YAMLExample(text, "Configuration")
		if err == nil && strings.Contains(got, "```") {
			t.Errorf("the block holds a fence: %q", got)
		}
	})
}
