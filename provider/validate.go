package provider

import (
	"regexp"
	"strconv"

	"github.com/upfactory/upfactory"
)

// Problems takes what a provider finds wrong with its section of the
// config while the config loads. Keys are relative to the section, such
// as "command[0]" or JoinKey("versions", v); the loader turns them into
// the file, line and full key a person reads.
type Problems interface {
	Report(key, format string, args ...any)
	// Has reports whether key is written in the file.
	Has(key string) bool
	// Reported reports whether key, or a section holding it, already has
	// a problem, after which another complaint about it is only noise.
	Reported(key string) bool
	// CheckFiles says whether the programs and files the section names
	// must be there now (serve, validate), not only be well formed.
	CheckFiles() bool
	// Config is the whole config, for what a section refers to elsewhere.
	Config() *upfactory.Config
}

var simpleKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// JoinKey writes a map key that is not a plain name in brackets, so
// versions["1.0.0"] is not mistaken for three nested keys.
func JoinKey(path, key string) string {
	if !simpleKey.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// Prefixed reports into p under section: what a provider reports as
// "command" reaches p as section+".command".
func Prefixed(p Problems, section string) Problems { return prefixed{p, section} }

type prefixed struct {
	p       Problems
	section string
}

func (x prefixed) key(k string) string {
	switch {
	case k == "":
		return x.section
	case k[0] == '[':
		return x.section + k
	}
	return x.section + "." + k
}

func (x prefixed) Report(key, format string, args ...any) { x.p.Report(x.key(key), format, args...) }
func (x prefixed) Has(key string) bool                    { return x.p.Has(x.key(key)) }
func (x prefixed) Reported(key string) bool               { return x.p.Reported(x.key(key)) }
func (x prefixed) CheckFiles() bool                       { return x.p.CheckFiles() }
func (x prefixed) Config() *upfactory.Config              { return x.p.Config() }
