package flagd

import (
	"context"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
)

func init() {
	provider.RegisterFlagStore(provider.FlagStore{Type: "flagd-file",
		New: func(svc *upfactory.Service) (upfactory.FlagStore, error) { return File(svc.Flags.Path), nil },
		Validate: func(svc *upfactory.Service, p provider.Problems) {
			if svc.Flags.Path == "" {
				p.Report("path", "required: the flagd flag-definition file upfactory writes")
			}
		},
	})
}

// File is a flagd flag file as a flag store.
type File string

var _ upfactory.FlagStore = File("")

// SetFlags writes flags into the file, atomically.
func (f File) SetFlags(_ context.Context, flags map[string]int) error { return Write(string(f), flags) }
