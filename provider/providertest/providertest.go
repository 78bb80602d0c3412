// Package providertest helps test the provider types' own config checks.
package providertest

import (
	"fmt"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
)

// Problems keeps what a provider's Validate reports, by key. Nothing is
// written in a file (Has is false), files are not looked at, and there is
// no whole config.
type Problems map[string]string

var _ provider.Problems = Problems(nil)

func (p Problems) Report(key, format string, args ...any) { p[key] = fmt.Sprintf(format, args...) }
func (p Problems) Has(string) bool                        { return false }
func (p Problems) Reported(key string) bool               { _, ok := p[key]; return ok }
func (p Problems) CheckFiles() bool                       { return false }
func (p Problems) Config() *upfactory.Config              { return nil }
