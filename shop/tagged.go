package shop

import (
	"fmt"
	"os"

	"github.com/upfactory/upfactory/notes"
)

// Tagged checks that version is a release of the shop: its changelog has
// a section for it. The demo's preflight runs it as the "current release
// tagged" check (the bundled shop has no repository to tag).
func Tagged(changelog, version string) error {
	data, err := os.ReadFile(changelog)
	if err != nil {
		return err
	}
	c, err := notes.Parse(changelog, data)
	if err != nil {
		return err
	}
	for _, r := range c.Releases {
		if r.Version == version {
			return nil
		}
	}
	return fmt.Errorf("%s has no release %s", changelog, version)
}
