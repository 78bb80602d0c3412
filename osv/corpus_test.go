package osv_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/internal/corpus"
	"github.com/upfactory/upfactory/osv"
)

// The Go vulnerability database export: every record loads, and a few
// known records match inside their ranges and not outside.
func TestCorpusGoVulnDB(t *testing.T) {
	entries, problems, err := osv.ReadZip(corpus.File(t, "osv/go-vulndb-all.zip"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("problem: %v", p)
	}
	if len(entries) != 4291 {
		t.Errorf("loaded %d records, want 4291", len(entries))
	}
	byID := make(map[string]*osv.Entry, len(entries))
	for _, e := range entries {
		byID[e.ID] = e
	}
	for _, c := range []struct {
		id, name string
		version  string
		affected bool
		fixed    []string
	}{
		// Two branches of the standard library, and golang.org/x/net by pseudo-version.
		{"GO-2022-0969", "stdlib", "1.18.5", true, []string{"1.18.6"}},
		{"GO-2022-0969", "stdlib", "go1.18.6", false, nil},
		{"GO-2022-0969", "stdlib", "v1.19.0", true, []string{"1.19.1"}},
		{"GO-2022-0969", "stdlib", "1.19.1", false, nil},
		{"GO-2022-0969", "golang.org/x/net", "v0.0.0-20220826154423-83b083e8dc8b", true, []string{"0.0.0-20220906165146-f3363e06e74c"}},
		{"GO-2022-0969", "golang.org/x/net", "v0.0.0-20220906165146-f3363e06e74c", false, nil},
		{"GO-2022-0969", "golang.org/x/net", "v0.1.0", false, nil},
		// Introduced at a pseudo-version.
		{"GO-2023-1737", "github.com/gin-gonic/gin", "v1.3.0", false, nil},
		{"GO-2023-1737", "github.com/gin-gonic/gin", "v1.3.1-0.20190301021747-ccb9e902956d", true, []string{"1.9.1"}},
		{"GO-2023-1737", "github.com/gin-gonic/gin", "v1.9.0", true, []string{"1.9.1"}},
		{"GO-2023-1737", "github.com/gin-gonic/gin", "v1.9.1", false, nil},
		{"GO-2020-0001", "github.com/gin-gonic/gin", "v1.5.0", true, []string{"1.6.0"}},
		{"GO-2020-0001", "github.com/gin-gonic/gin", "v1.6.0", false, nil},
		// Withdrawn: never matches although its range is "every version".
		{"GO-2022-0617", "k8s.io/kubernetes", "v1.20.0", false, nil},
	} {
		e := byID[c.id]
		if e == nil {
			t.Errorf("record %s missing from the corpus", c.id)
			continue
		}
		got, fixed, err := osv.Affected(e, "Go", c.name, c.version)
		if err != nil || got != c.affected || !slices.Equal(fixed, c.fixed) {
			t.Errorf("Affected(%s, %s@%s) = %v, %v, %v; want %v, %v", c.id, c.name, c.version, got, fixed, err, c.affected, c.fixed)
		}
	}

	ix := osv.NewIndex(entries)
	findings, undecided := ix.Evaluate([]upfactory.Component{{Name: "github.com/gin-gonic/gin", Ecosystem: "Go", Version: "v1.5.0"}})
	for _, p := range undecided {
		t.Errorf("undecided: %v", p)
	}
	var ids []string
	for _, f := range findings {
		ids = append(ids, f.ID)
	}
	for _, want := range []string{"GO-2020-0001", "GO-2021-0052", "GO-2023-1737"} {
		if !slices.Contains(ids, want) {
			t.Errorf("gin v1.5.0 findings %v lack %s", ids, want)
		}
	}
	t.Logf("%d records, %d findings for gin v1.5.0: %v", len(entries), len(findings), ids)
}

func BenchmarkReadZipAndIndex(b *testing.B) {
	zip := corpus.File(b, "osv/go-vulndb-all.zip")
	b.ReportAllocs()
	for b.Loop() {
		entries, problems, err := osv.ReadZip(zip)
		if err != nil || len(problems) != 0 {
			b.Fatal(err, problems)
		}
		if ix := osv.NewIndex(entries); ix.Len() == 0 {
			b.Fatal("empty index")
		}
	}
}

// benchComponents picks n distinct modules named by the records, at
// versions both inside and outside their ranges.
func benchComponents(entries []*osv.Entry, n int) []upfactory.Component {
	var cs []upfactory.Component
	versions := []string{"v0.1.0", "v1.0.0", "v1.5.3", "v2.3.0+incompatible", "v0.0.0-20200101000000-abcdef123456"}
	seen := make(map[string]bool)
	for _, e := range entries {
		for _, a := range e.Affected {
			if len(cs) < n && !seen[a.Package.Name] {
				seen[a.Package.Name] = true
				cs = append(cs, upfactory.Component{Name: a.Package.Name, Ecosystem: "Go", Version: versions[len(cs)%len(versions)]})
			}
		}
	}
	for len(cs) < n {
		cs = append(cs, upfactory.Component{Name: fmt.Sprintf("example.com/m%d", len(cs)), Ecosystem: "Go", Version: "v1.0.0"})
	}
	return cs
}

func BenchmarkMatch200(b *testing.B) {
	entries, _, err := osv.ReadZip(corpus.File(b, "osv/go-vulndb-all.zip"))
	if err != nil {
		b.Fatal(err)
	}
	ix := osv.NewIndex(entries)
	cs := benchComponents(entries, 200)
	b.ReportAllocs()
	b.ResetTimer()
	var n int
	for b.Loop() {
		n = len(ix.Match(cs))
	}
	b.ReportMetric(float64(n), "findings")
}
