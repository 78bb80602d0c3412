package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/module"
)

// osvScannerOutput is the part of osv-scanner's JSON this program reads.
type osvScannerOutput struct {
	Results []struct {
		Source struct {
			Path string `json:"path"`
		} `json:"source"`
		Packages []struct {
			Package struct {
				Name, Version, Ecosystem string
			} `json:"package"`
			Vulnerabilities []struct {
				ID      string   `json:"id"`
				Aliases []string `json:"aliases"`
			} `json:"vulnerabilities"`
			Groups []struct {
				IDs     []string `json:"ids"`
				Aliases []string `json:"aliases"`
			} `json:"groups"`
		} `json:"packages"`
	} `json:"results"`
}

type upfactoryOutput struct {
	Findings []struct {
		ID        string   `json:"id"`
		Aliases   []string `json:"aliases"`
		Package   string   `json:"package"`
		Ecosystem string   `json:"ecosystem"`
		Version   string   `json:"version"`
		Fixed     []string `json:"fixed"`
		Source    string   `json:"source"`
		File      string   `json:"file"`
	} `json:"findings"`
	Problems []json.RawMessage `json:"problems"`
}

// aliasSet merges vulnerability IDs that name the same vulnerability
// (union-find over every finding's and every record's ID and aliases).
type aliasSet struct{ parent map[string]string }

func (a *aliasSet) find(x string) string {
	if a.parent[x] == "" {
		a.parent[x] = x
	}
	for a.parent[x] != x {
		a.parent[x] = a.parent[a.parent[x]]
		x = a.parent[x]
	}
	return x
}

func (a *aliasSet) union(ids ...string) {
	if len(ids) == 0 {
		return
	}
	r := a.find(ids[0])
	for _, id := range ids[1:] {
		s := a.find(id)
		if s == r {
			continue
		}
		// The smallest ID is the root, so names are stable.
		if s < r {
			a.parent[r] = s
			r = s
		} else {
			a.parent[s] = r
		}
	}
}

// hit is one (file, package, version, vulnerability) finding.
type hit struct {
	File, Pkg, Ver, Vuln string // Ver without a leading "v"; Vuln is the alias set's root
}

type sideHits struct {
	keys map[hit]string // → the ID the tool reported
	ver  map[hit]string // → the version as the tool reported it
}

func newSide() sideHits { return sideHits{map[hit]string{}, map[hit]string{}} }

func compareMain(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	upf := fs.String("upfactory", "", "upfactory binary (required)")
	osvBin := fs.String("osv-scanner", "", "osv-scanner binary (required)")
	fixtures := fs.String("fixtures", "", "directory from `intake gen`; empty: corpus SBOMs only")
	sbomDir := fs.String("sboms", defaultSBOMs, "directory of corpus SBOMs (*.json)")
	zipPath := fs.String("zip", defaultZip, "OSV zip export (Go vulnerability database)")
	outFile := fs.String("out", "", "write the full disagreement list here (default: printed when short)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *upf == "" || *osvBin == "" {
		return fmt.Errorf("compare: -upfactory and -osv-scanner are required")
	}
	zipAbs, err := filepath.Abs(*zipPath)
	if err != nil {
		return err
	}
	recs, err := readZip(zipAbs)
	if err != nil {
		return err
	}
	aliases := &aliasSet{parent: map[string]string{}}
	for _, r := range recs {
		aliases.union(append([]string{r.ID}, r.Aliases...)...)
	}
	work, err := os.MkdirTemp("", "intake-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	osvDB, err := osvScannerDB(work, zipAbs)
	if err != nil {
		return err
	}

	type set struct {
		name  string
		files []string
	}
	var sets []set
	corpus, _ := filepath.Glob(filepath.Join(*sbomDir, "*.json"))
	for i := range corpus {
		corpus[i], _ = filepath.Abs(corpus[i])
	}
	sort.Strings(corpus)
	// One invocation per corpus SBOM, so that one file's trouble cannot
	// hide another's findings.
	for _, f := range corpus {
		sets = append(sets, set{filepath.Base(f), []string{f}})
	}
	if *fixtures != "" {
		fx, _ := filepath.Glob(filepath.Join(*fixtures, "sboms", "*.cdx.json"))
		for i := range fx {
			fx[i], _ = filepath.Abs(fx[i])
		}
		sort.Strings(fx)
		if len(fx) > 0 {
			sets = append(sets, set{fmt.Sprintf("fixtures (%d SBOMs)", len(fx)), fx})
		}
	}

	edgeFiles, err := writeEdgeSBOMs(filepath.Join(work, "edge"))
	if err != nil {
		return err
	}
	sets = append(sets, set{fmt.Sprintf("edge cases (%d SBOMs)", len(edgeFiles)), edgeFiles})

	up, os2 := newSide(), newSide()
	var edgeU, edgeO sideHits
	fmt.Printf("%-34s %10s %12s %8s %8s %10s\n", "input", "upfactory", "osv-scanner", "both", "upf only", "osv only")
	for i, s := range sets {
		u, err := upfactoryHits(work, i, *upf, zipAbs, s.files, aliases)
		if err != nil {
			return fmt.Errorf("%s: upfactory: %w", s.name, err)
		}
		o, note, err := osvScannerHits(work, i, *osvBin, osvDB, s.files, aliases)
		if err != nil {
			return fmt.Errorf("%s: osv-scanner: %w", s.name, err)
		}
		both, uo, oo := 0, 0, 0
		for k := range u.keys {
			if _, ok := o.keys[k]; ok {
				both++
			} else {
				uo++
			}
		}
		for k := range o.keys {
			if _, ok := u.keys[k]; !ok {
				oo++
			}
		}
		fmt.Printf("%-34s %10d %12d %8d %8d %10d%s\n", s.name, len(u.keys), len(o.keys), both, uo, oo, noteSuffix(note))
		if i == len(sets)-1 {
			edgeU, edgeO = u, o
		}
		for k, v := range u.keys {
			up.keys[k], up.ver[k] = v, u.ver[k]
		}
		for k, v := range o.keys {
			os2.keys[k], os2.ver[k] = v, o.ver[k]
		}
	}

	byCluster := map[string][]*record{}
	for _, r := range recs {
		root := aliases.find(r.ID)
		byCluster[root] = append(byCluster[root], r)
	}
	var diffs []disagreement
	for k, id := range up.keys {
		if _, ok := os2.keys[k]; !ok {
			diffs = append(diffs, classify(k, "upfactory only", id, up.ver[k], byCluster[k.Vuln]))
		}
	}
	for k, id := range os2.keys {
		if _, ok := up.keys[k]; !ok {
			diffs = append(diffs, classify(k, "osv-scanner only", id, os2.ver[k], byCluster[k.Vuln]))
		}
	}
	printEdge(edgeFiles, edgeU, edgeO)
	report(diffs, *outFile)
	return nil
}

func upfactoryHits(work string, i int, bin, zipAbs string, files []string, aliases *aliasSet) (sideHits, error) {
	args := []string{"scan", "--db", zipAbs, "--fail-on", "none", "--format", "json"}
	for _, f := range files {
		args = append(args, "--sbom", f)
	}
	out := filepath.Join(work, fmt.Sprintf("upf-%d.json", i))
	m, err := runChild(work, out, bin, args...)
	if err != nil {
		return sideHits{}, err
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return sideHits{}, err
	}
	var res upfactoryOutput
	if err := json.Unmarshal(b, &res); err != nil {
		return sideHits{}, fmt.Errorf("exit %d, %v: %s", m.Exit, err, tail(out+".stderr", 3))
	}
	h := newSide()
	for _, f := range res.Findings {
		aliases.union(append([]string{f.ID}, f.Aliases...)...)
	}
	for _, f := range res.Findings {
		file := f.Source
		if j := strings.IndexByte(file, '#'); j >= 0 {
			file = file[:j]
		}
		if !filepath.IsAbs(file) {
			file = filepath.Join(work, f.File)
		}
		k := hit{file, f.Package, strings.TrimPrefix(f.Version, "v"), aliases.find(f.ID)}
		h.keys[k], h.ver[k] = f.ID, f.Version
	}
	return h, nil
}

func osvScannerHits(work string, i int, bin, db string, files []string, aliases *aliasSet) (sideHits, string, error) {
	args := []string{"scan", "source", "--offline", "--local-db-path", db, "--all-vulns", "--format", "json"}
	for _, f := range files {
		args = append(args, "-L", f)
	}
	out := filepath.Join(work, fmt.Sprintf("osv-%d.json", i))
	m, err := runChild(work, out, bin, args...)
	if err != nil {
		return sideHits{}, "", err
	}
	h := newSide()
	b, err := os.ReadFile(out)
	if err != nil {
		return h, "", err
	}
	note := ""
	if m.Exit > 1 {
		note = fmt.Sprintf("osv-scanner exit %d: %s", m.Exit, tail(out+".stderr", 2))
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return h, note, nil
	}
	var res osvScannerOutput
	if err := json.Unmarshal(b, &res); err != nil {
		return h, note, fmt.Errorf("exit %d, %v: %s", m.Exit, err, tail(out+".stderr", 3))
	}
	for _, r := range res.Results {
		for _, p := range r.Packages {
			for _, v := range p.Vulnerabilities {
				aliases.union(append([]string{v.ID}, v.Aliases...)...)
			}
			for _, g := range p.Groups {
				aliases.union(append(append([]string{}, g.IDs...), g.Aliases...)...)
			}
		}
	}
	for _, r := range res.Results {
		for _, p := range r.Packages {
			for _, v := range p.Vulnerabilities {
				k := hit{r.Source.Path, p.Package.Name, strings.TrimPrefix(p.Package.Version, "v"), aliases.find(v.ID)}
				h.keys[k], h.ver[k] = v.ID, p.Package.Version
			}
		}
	}
	return h, note, nil
}

// disagreement is one finding that only one tool reports, with the
// reference evaluation of the records behind it and the classified cause.
type disagreement struct {
	hit
	Side, ID, Version string
	Reference         string // "affected" / "not affected" / "no record"
	Why               string // the record, entry and events that decide it
	Cause             string // the classification, with the OSV schema section
	Wrong             string // which tool the reference evaluation says is wrong
}

// classify evaluates the records of d's vulnerability for d's package and
// version, independently of both tools, and names the cause.
func classify(k hit, side, id, ver string, recs []*record) disagreement {
	d := disagreement{hit: k, Side: side, ID: id, Version: ver}
	var whys []string
	affected, named := false, false
	var feats []string
	addFeat := func(f string) {
		if !contains(feats, f) {
			feats = append(feats, f)
		}
	}
	for _, r := range recs {
		for _, a := range r.Affected {
			if a.Package.Name != k.Pkg {
				continue
			}
			named = true
			if len(a.Versions) > 0 {
				addFeat("versions list")
			}
			for _, rg := range a.Ranges {
				for _, e := range rg.Events {
					switch {
					case e.Introduced == "0":
						addFeat(`introduced "0"`)
					case e.LastAffected != "":
						addFeat("last_affected")
					case e.Limit != "":
						addFeat("limit")
					}
					for _, v := range []string{e.Introduced, e.Fixed, e.LastAffected} {
						if strings.Contains(v, "+incompatible") {
							addFeat("+incompatible in the record's events")
						}
					}
				}
			}
		}
		if r.Withdrawn != "" {
			addFeat("withdrawn")
		}
		ok, why := reference(r, k.Pkg, ver)
		whys = append(whys, r.ID+": "+why)
		affected = affected || ok
	}
	// The version's own form first: it is what usually decides.
	var vf []string
	gv := goSemver(ver)
	switch {
	case gv == "":
		vf = append(vf, "version is not semver")
	case module.IsPseudoVersion(gv):
		vf = append(vf, "pseudo-version")
	}
	if strings.HasPrefix(ver, "go") {
		vf = append(vf, "go-prefixed version")
	}
	if strings.HasSuffix(ver, "+incompatible") {
		vf = append(vf, "+incompatible version")
	}
	if k.Pkg == "stdlib" || k.Pkg == "toolchain" {
		vf = append(vf, "Go "+k.Pkg+" module")
	}
	feats = append(vf, feats...)
	d.Why = strings.Join(whys, "; ")
	switch {
	case len(recs) == 0 || !named:
		d.Reference = "no record"
		d.Wrong = side[:strings.IndexByte(side, ' ')]
		d.Cause = fmt.Sprintf("no record in the zip names Go package %q for this vulnerability (affected[].package: ecosystem and name must match exactly for Go)", k.Pkg)
	case affected && side == "upfactory only":
		d.Reference = "affected"
		d.Wrong = "osv-scanner"
		d.Cause = "osv-scanner misses an affected version; " + schemaFor(feats)
	case affected:
		d.Reference = "affected"
		d.Wrong = "upfactory"
		d.Cause = "upfactory misses an affected version (upfactory wrong); " + schemaFor(feats)
	case side == "upfactory only":
		d.Reference = "not affected"
		d.Wrong = "upfactory"
		d.Cause = "upfactory reports a version outside every range (upfactory wrong); " + schemaFor(feats)
	default:
		d.Reference = "not affected"
		d.Wrong = "osv-scanner"
		d.Cause = "osv-scanner reports a version outside every range; " + schemaFor(feats)
	}
	return d
}

// schemaFor names the OSV schema sections (https://ossf.github.io/osv-schema/)
// that decide a case with these features.
func schemaFor(feats []string) string {
	if len(feats) == 0 {
		return "plain SEMVER range (“Evaluation”, affected[].ranges[].events)"
	}
	var s []string
	for _, f := range feats {
		switch f {
		case "withdrawn":
			s = append(s, "withdrawn (“withdrawn field”: a withdrawn entry affects nothing)")
		case "versions list":
			s = append(s, "affected[].versions (“Evaluation”: listed versions are affected)")
		case `introduced "0"`:
			s = append(s, `introduced "0" (“Evaluation”: "0" is before every version)`)
		case "last_affected":
			s = append(s, "last_affected (“Evaluation”: affected up to and including it)")
		case "limit":
			s = append(s, "limit (“Evaluation”: upper bound of the range)")
		case "+incompatible in the record's events", "+incompatible version":
			s = append(s, f+" (SEMVER type: build metadata is ignored in precedence; Go ecosystem: +incompatible modules)")
		case "pseudo-version":
			s = append(s, "Go pseudo-version (SEMVER precedence: v0.0.0-yyyymmdd… is a pre-release)")
		case "go-prefixed version":
			s = append(s, `version "go1.x.y" (Go ecosystem: the Go database writes stdlib/toolchain versions as SemVer "1.x.y"; go1.x.y is the same release)`)
		case "version is not semver":
			s = append(s, "version is not SemVer (SEMVER range type: versions must parse; purl/SBOM version)")
		default:
			s = append(s, f+" (Go ecosystem conventions of affected[].package.name)")
		}
	}
	return strings.Join(s, "; ")
}

func report(diffs []disagreement, outFile string) {
	sort.Slice(diffs, func(i, j int) bool {
		a, b := diffs[i], diffs[j]
		if a.Cause != b.Cause {
			return a.Cause < b.Cause
		}
		if a.Pkg != b.Pkg {
			return a.Pkg < b.Pkg
		}
		if a.Ver != b.Ver {
			return a.Ver < b.Ver
		}
		if a.Vuln != b.Vuln {
			return a.Vuln < b.Vuln
		}
		return a.File < b.File
	})
	fmt.Printf("\n%d disagreements (finding = file, package, version, vulnerability with aliases merged)\n", len(diffs))
	if len(diffs) == 0 {
		return
	}
	// Group the same (side, package, version, vulnerability) across files.
	type group struct {
		d     disagreement
		files []string
	}
	var groups []*group
	idx := map[string]*group{}
	for _, d := range diffs {
		key := d.Side + "|" + d.Pkg + "|" + d.Ver + "|" + d.Vuln
		g := idx[key]
		if g == nil {
			g = &group{d: d}
			idx[key] = g
			groups = append(groups, g)
		}
		g.files = append(g.files, filepath.Base(d.File))
	}
	causes := map[string]int{}
	wrong := map[string]int{}
	for _, d := range diffs {
		causes[d.Side+": "+d.Cause]++
		wrong[d.Wrong]++
	}
	fmt.Println("by cause:")
	var ck []string
	for c := range causes {
		ck = append(ck, c)
	}
	sort.Strings(ck)
	for _, c := range ck {
		fmt.Printf("  %6d  %s\n", causes[c], c)
	}
	fmt.Print("wrong by the reference evaluation:")
	for _, w := range []string{"upfactory", "osv-scanner"} {
		if wrong[w] > 0 {
			fmt.Printf("  %s %d", w, wrong[w])
		}
	}
	fmt.Println()
	var w *bufio.Writer
	var f *os.File
	if outFile != "" {
		var err error
		f, err = os.Create(outFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "intake:", err)
			return
		}
		defer f.Close()
		w = bufio.NewWriter(f)
		defer w.Flush()
		for _, d := range diffs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\treference: %s\twrong: %s\t%s\t%s\n", d.Side, filepath.Base(d.File), d.Pkg, d.Version, d.ID, d.Reference, d.Wrong, d.Cause, d.Why)
		}
	}
	fmt.Printf("%d distinct (side, package, version, vulnerability), by cause:\n", len(groups))
	shown, cause := 0, ""
	for i, g := range groups {
		if shown >= 200 {
			fmt.Printf("  … %d more (see the full list)\n", len(groups)-i)
			break
		}
		if g.d.Side+g.d.Cause != cause {
			cause = g.d.Side + g.d.Cause
			fmt.Printf("\n  %s: %s\n", g.d.Side, g.d.Cause)
		}
		files := strings.Join(g.files, ",")
		if len(g.files) > 3 {
			files = fmt.Sprintf("%s,… (%d files)", strings.Join(g.files[:3], ","), len(g.files))
		}
		fmt.Printf("    %s@%s %s (%s) reference: %s, wrong: %s — %s\n", g.d.Pkg, g.d.Version, g.d.ID, files, g.d.Reference, g.d.Wrong, g.d.Why)
		shown++
	}
	if outFile != "" {
		fmt.Printf("full list (%d lines, tab-separated): %s\n", len(diffs), outFile)
	}
}

// edgeCase is one single-component SBOM exercising a purl or version form.
type edgeCase struct {
	Label, Name, Version, Purl string
}

// edgeCases are forms real SBOM generators write (cyclonedx-gomod names
// the standard library "std" at "go1.x"), forms they get wrong (a purl
// version without "v", an unencoded "+"), and records that must not match
// (withdrawn). Each goes into its own SBOM so that findings keep apart.
var edgeCases = []edgeCase{
	{"baseline", "github.com/gin-gonic/gin", "v1.4.0", "pkg:golang/github.com/gin-gonic/gin@v1.4.0"},
	{"purl version without v", "github.com/gin-gonic/gin", "1.4.0", "pkg:golang/github.com/gin-gonic/gin@1.4.0"},
	{"module path in other case", "github.com/Gin-Gonic/gin", "v1.4.0", "pkg:golang/github.com/Gin-Gonic/gin@v1.4.0"},
	{"purl type in upper case", "github.com/gin-gonic/gin", "v1.4.0", "pkg:GOLANG/github.com/gin-gonic/gin@v1.4.0"},
	{"no purl, name and version only", "github.com/gin-gonic/gin", "v1.4.0", ""},
	{"+incompatible, + unencoded", "github.com/docker/distribution", "v2.6.0+incompatible", "pkg:golang/github.com/docker/distribution@v2.6.0+incompatible"},
	{"+incompatible, %2B", "github.com/docker/distribution", "v2.6.0+incompatible", "pkg:golang/github.com/docker/distribution@v2.6.0%2Bincompatible"},
	{"stdlib v1.20.1", "stdlib", "v1.20.1", "pkg:golang/stdlib@v1.20.1"},
	{"stdlib go1.20.1", "stdlib", "go1.20.1", "pkg:golang/stdlib@go1.20.1"},
	{"std go1.20.1 (cyclonedx-gomod)", "std", "go1.20.1", "pkg:golang/std@go1.20.1"},
	{"toolchain v1.21.0", "toolchain", "v1.21.0", "pkg:golang/toolchain@v1.21.0"},
	{"pseudo-version, module", "golang.org/x/net", "v0.0.0-20190620200207-3b0461eec859", "pkg:golang/golang.org/x/net@v0.0.0-20190620200207-3b0461eec859"},
	{"pseudo-version, package path", "golang.org/x/net/http2", "v0.0.0-20190620200207-3b0461eec859", "pkg:golang/golang.org/x/net/http2@v0.0.0-20190620200207-3b0461eec859"},
	{"purl subpath", "golang.org/x/net", "v0.0.0-20190620200207-3b0461eec859", "pkg:golang/golang.org/x/net@v0.0.0-20190620200207-3b0461eec859#http2"},
	{"withdrawn record only (GO-2026-6115)", "github.com/dslipak/pdf", "v0.0.2", "pkg:golang/github.com/dslipak/pdf@v0.0.2"},
	{"withdrawn and live records (lib/pq)", "github.com/lib/pq", "v1.11.0", "pkg:golang/github.com/lib/pq@v1.11.0"},
}

func writeEdgeSBOMs(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for i, c := range edgeCases {
		comp := map[string]string{"type": "library", "name": c.Name, "version": c.Version}
		if c.Purl != "" {
			comp["purl"], comp["bom-ref"] = c.Purl, c.Purl
		}
		bom := map[string]any{
			"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
			"serialNumber": fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", 900000+i),
			"components":   []map[string]string{comp},
		}
		b, err := json.MarshalIndent(bom, "", " ")
		if err != nil {
			return nil, err
		}
		f := filepath.Join(dir, fmt.Sprintf("edge-%02d.cdx.json", i+1))
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// printEdge prints, per edge case, how many findings each tool reported
// and under which package name and version.
func printEdge(files []string, u, o sideHits) {
	fmt.Printf("\nedge cases (one component per SBOM; findings by upfactory / osv-scanner, as each reported the package):\n")
	for i, c := range edgeCases {
		count := func(s sideHits) (int, string) {
			n, names := 0, map[string]bool{}
			for k := range s.keys {
				if k.File == files[i] {
					n++
					names[k.Pkg+"@"+s.ver[k]] = true
				}
			}
			var l []string
			for k := range names {
				l = append(l, k)
			}
			sort.Strings(l)
			return n, strings.Join(l, " ")
		}
		un, uname := count(u)
		on, oname := count(o)
		purl := c.Purl
		if purl == "" {
			purl = "(no purl) " + c.Name + "@" + c.Version
		}
		fmt.Printf("  %2d %-38s %-78s %4d / %-4d %s | %s\n", i+1, c.Label, purl, un, on, uname, oname)
	}
}
