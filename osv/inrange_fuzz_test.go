package osv_test

import (
	"testing"

	"github.com/upfactory/upfactory/osv"
	"github.com/upfactory/upfactory/version"
)

// Range evaluation never panics, whatever the events, and a reported fix
// is above the evaluated version.
func FuzzInRange(f *testing.F) {
	f.Add("0", "1.0.2", "", "", "1.0.1")
	f.Add("1.0.0", "", "1.5.0", "2.0.0", "1.5.0")
	f.Add("3.0.0", "1.0.0", "", "*", "2.0.0")
	f.Fuzz(func(t *testing.T, introduced, fixed, lastAffected, limit, v string) {
		var evs []osv.Event
		for _, e := range []osv.Event{{Introduced: introduced}, {Fixed: fixed}, {LastAffected: lastAffected}, {Limit: limit}} {
			if e != (osv.Event{}) {
				evs = append(evs, e)
			}
		}
		s := version.SemVer()
		in, fix, err := osv.InRange(s, evs, v)
		if err != nil || !in || fix == "" {
			return
		}
		pv, _ := s.Parse(v)
		pf, err := s.Parse(fix)
		if err != nil {
			t.Fatalf("fix %q does not parse: %v", fix, err)
		}
		if pv.Compare(pf) >= 0 {
			t.Fatalf("InRange(%v, %q) fix %q is not above the version", evs, v, fix)
		}
		if fixed == "" {
			t.Fatalf("InRange(%v, %q) reported fix %q without a fixed event", evs, v, fix)
		}
	})
}
