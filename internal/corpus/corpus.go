// Package corpus finds the shared real-world data (../shared/corpus beside
// the checkout) for tests, and skips them cleanly when it is absent.
package corpus

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the corpus folder. When it is absent the test is skipped,
// except with CI=true, where the corpus must be there and its absence fails.
func Dir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("UPFACTORY_CORPUS"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			c := filepath.Join(filepath.Dir(dir), "shared", "corpus")
			if _, err := os.Stat(c); err == nil {
				return c
			}
			break
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("the real-data corpus ../shared/corpus is missing (set UPFACTORY_CORPUS to its path)")
	}
	tb.Skip("real-data corpus ../shared/corpus not found beside the checkout (set UPFACTORY_CORPUS); skipping")
	return ""
}

// File returns the path of name inside the corpus, skipping as Dir does.
func File(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(Dir(tb), name)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("corpus file %s: %v", name, err)
	}
	return p
}
