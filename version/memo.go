package version

import (
	"sync"
	"sync/atomic"
)

// memoLimit bounds how many versions a Memo scheme remembers; past it,
// versions are parsed every time.
const memoLimit = 1 << 18

type memoScheme struct {
	Scheme
	cache sync.Map // string → memoEntry
	n     atomic.Int64
}

type memoEntry struct {
	v   Version
	err error
}

// Memo returns s remembering what it parsed: matching a fleet's components
// against a database compares the same few thousand version strings
// millions of times. Versions are immutable, so the result is safe for
// concurrent use.
func Memo(s Scheme) Scheme {
	if _, ok := s.(*memoScheme); ok || s == nil {
		return s
	}
	return &memoScheme{Scheme: s}
}

func (m *memoScheme) Parse(v string) (Version, error) {
	if e, ok := m.cache.Load(v); ok {
		me := e.(memoEntry)
		return me.v, me.err
	}
	pv, err := m.Scheme.Parse(v)
	if m.n.Load() < memoLimit {
		if _, loaded := m.cache.LoadOrStore(v, memoEntry{pv, err}); !loaded {
			m.n.Add(1)
		}
	}
	return pv, err
}
