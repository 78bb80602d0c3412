package shop_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/upfactory/upfactory/shop"
)

func TestTagged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "CHANGELOG.md")
	if err := os.WriteFile(path, []byte("# Changelog\n## [1.2.0] - 2026-11-21\n### Fixed\n- x\n## [1.0.0] - 2026-10-01\n### Added\n- y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := shop.Tagged(path, "1.2.0"); err != nil {
		t.Errorf("1.2.0 is in the changelog: %v", err)
	}
	if err := shop.Tagged(path, "1.3.0"); err == nil {
		t.Error("1.3.0 is not in the changelog, and Tagged says it is")
	}
	if err := shop.Tagged(filepath.Join(t.TempDir(), "none.md"), "1.0.0"); err == nil {
		t.Error("a missing changelog tags nothing")
	}
}
