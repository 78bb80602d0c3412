package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/package-url/packageurl-go"
	"golang.org/x/mod/semver"
)

// component is one Go module at one version in a generated SBOM.
type component struct {
	Module, Version string
	Origin          string // "sbom" (a corpus SBOM) or "osv" (an event version of the zip)
}

type genOptions struct {
	Out                  string
	Services, Components int
	Seed                 uint64
	Zip, SBOMs           string
	VulnShare            float64 // share of the OSV-drawn components that are in a range
}

func genMain(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	var o genOptions
	fs.StringVar(&o.Out, "out", "", "directory to write upfactory.yaml and sboms/ into (required)")
	fs.IntVar(&o.Services, "services", 1000, "number of services")
	fs.IntVar(&o.Components, "components", 200, "components per service")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed (same seed, same files)")
	fs.StringVar(&o.Zip, "zip", defaultZip, "OSV zip export (Go vulnerability database)")
	fs.StringVar(&o.SBOMs, "sboms", defaultSBOMs, "directory of corpus SBOMs whose Go components are reused")
	fs.Float64Var(&o.VulnShare, "vulnerable-share", 0.5, "share of the OSV-drawn components at a version inside some range")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Out == "" {
		return fmt.Errorf("gen: -out is required")
	}
	st, err := generate(o)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %d SBOMs × %d components to %s (%d from corpus SBOMs, %d from OSV event versions; %d of all at a version inside some range by the reference evaluation)\n",
		o.Services, o.Components, o.Out, st.fromSBOM, st.fromOSV, st.vulnerable)
	return nil
}

type genStats struct{ fromSBOM, fromOSV, vulnerable int }

// generate writes DIR/sboms/svc-NNNN.cdx.json and DIR/upfactory.yaml.
//
// Each service gets 60% of its components from the Go components of the
// corpus SBOMs (proton-bridge: real module paths and versions, pseudo-
// versions and +incompatible included) and 40% from the module paths of
// the Go vulnerability database at versions its events name: introduced
// (vulnerable), fixed (not vulnerable by that range), last_affected, and
// the patch release before a fixed one (vX.Y.Z-1, usually vulnerable),
// stdlib and toolchain included. Those are drawn half (-vulnerable-share)
// from versions inside some range of the database and half from versions
// outside every range, by this program's own reference evaluation. One
// version per module per service, as in a Go build list. A fixed seed
// gives the same files.
func generate(o genOptions) (genStats, error) {
	var st genStats
	abs, err := filepath.Abs(o.Zip)
	if err != nil {
		return st, err
	}
	recs, err := readZip(abs)
	if err != nil {
		return st, err
	}
	sbomPool, err := corpusGoComponents(o.SBOMs)
	if err != nil {
		return st, err
	}
	byPkg := map[string][]*record{}
	for _, r := range recs {
		for _, a := range r.Affected {
			byPkg[a.Package.Name] = append(byPkg[a.Package.Name], r)
		}
	}
	inRange := func(c component) bool {
		for _, r := range byPkg[c.Module] {
			if ok, _ := reference(r, c.Module, c.Version); ok {
				return true
			}
		}
		return false
	}
	// The OSV-drawn pool in two halves, by the reference evaluation:
	// versions inside some range and versions outside every range.
	var vulnPool, cleanPool []component
	for _, c := range osvComponents(recs) {
		if inRange(c) {
			vulnPool = append(vulnPool, c)
		} else {
			cleanPool = append(cleanPool, c)
		}
	}
	if len(sbomPool) == 0 || len(vulnPool) == 0 || len(cleanPool) == 0 {
		return st, fmt.Errorf("gen: empty pool (corpus SBOMs %d, OSV in a range %d, outside %d)", len(sbomPool), len(vulnPool), len(cleanPool))
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x1a7a6e))
	if err := os.MkdirAll(filepath.Join(o.Out, "sboms"), 0o755); err != nil {
		return st, err
	}
	nSBOM := o.Components * 6 / 10
	if nSBOM > len(sbomPool) {
		nSBOM = len(sbomPool)
	}
	for s := 1; s <= o.Services; s++ {
		seen := map[string]bool{}
		var comps []component
		for _, i := range rng.Perm(len(sbomPool))[:nSBOM] {
			c := sbomPool[i]
			seen[c.Module] = true
			comps = append(comps, c)
		}
		for len(comps) < o.Components {
			pool := cleanPool
			if rng.Float64() < o.VulnShare {
				pool = vulnPool
			}
			c := pool[rng.IntN(len(pool))]
			if seen[c.Module] {
				continue
			}
			seen[c.Module] = true
			comps = append(comps, c)
		}
		for _, c := range comps {
			if c.Origin == "sbom" {
				st.fromSBOM++
			} else {
				st.fromOSV++
			}
			if inRange(c) {
				st.vulnerable++
			}
		}
		sort.Slice(comps, func(i, j int) bool { return comps[i].Module < comps[j].Module })
		if err := writeSBOM(filepath.Join(o.Out, "sboms", svcName(s)+".cdx.json"), svcName(s), s, comps); err != nil {
			return st, err
		}
	}
	return st, writeConfig(filepath.Join(o.Out, "upfactory.yaml"), abs, o.Services, rng)
}

func svcName(i int) string { return fmt.Sprintf("svc-%04d", i) }

// corpusGoComponents returns the pkg:golang components of the CycloneDX
// SBOMs in dir, deduplicated by module (first version wins).
func corpusGoComponents(dir string) ([]component, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.cdx.json"))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []component
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var bom struct {
			Components []struct {
				Name, Version, Purl string
			} `json:"components"`
		}
		if err := json.Unmarshal(b, &bom); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, c := range bom.Components {
			if !strings.HasPrefix(c.Purl, "pkg:golang/") || c.Version == "" || seen[c.Name] {
				continue
			}
			seen[c.Name] = true
			out = append(out, component{Module: c.Name, Version: c.Version, Origin: "sbom"})
		}
	}
	return out, nil
}

// osvComponents returns (module, version) pairs named by the Go records'
// SEMVER events, "v"-prefixed as in a go.mod, deduplicated, in a fixed order.
func osvComponents(recs []*record) []component {
	seen := map[component]bool{}
	var out []component
	add := func(mod, v string) {
		if v == "" || v == "0" {
			return
		}
		gv := goSemver(v)
		if gv == "" {
			return
		}
		if mod == "stdlib" || mod == "toolchain" {
			gv = strings.TrimSuffix(gv, "-0") // "1.21.0-0" is vulndb's pre-release floor
			if !semver.IsValid(gv) {
				return
			}
		}
		c := component{Module: mod, Version: gv, Origin: "osv"}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	for _, r := range recs {
		for _, a := range r.Affected {
			if a.Package.Ecosystem != "Go" {
				continue
			}
			for _, rg := range a.Ranges {
				for _, e := range rg.Events {
					add(a.Package.Name, e.Introduced)
					add(a.Package.Name, e.LastAffected)
					add(a.Package.Name, e.Fixed)
					add(a.Package.Name, patchBefore(e.Fixed))
				}
			}
		}
	}
	return out
}

// patchBefore returns "X.Y.(Z-1)" for a plain "X.Y.Z" with Z > 0, else "".
func patchBefore(v string) string {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return ""
	}
	z, err := strconv.Atoi(parts[2])
	if err != nil || z == 0 {
		return ""
	}
	return parts[0] + "." + parts[1] + "." + strconv.Itoa(z-1)
}

func purlOf(c component) string {
	ns, name := "", c.Module
	if i := strings.LastIndex(c.Module, "/"); i >= 0 {
		ns, name = c.Module[:i], c.Module[i+1:]
	}
	return packageurl.NewPackageURL("golang", ns, name, c.Version, nil, "").ToString()
}

func writeSBOM(path, name string, serial int, comps []component) error {
	type comp struct {
		BOMRef  string `json:"bom-ref"`
		Type    string `json:"type"`
		Name    string `json:"name"`
		Version string `json:"version"`
		Purl    string `json:"purl"`
	}
	type bom struct {
		BOMFormat    string `json:"bomFormat"`
		SpecVersion  string `json:"specVersion"`
		SerialNumber string `json:"serialNumber"`
		Version      int    `json:"version"`
		Metadata     struct {
			Component comp `json:"component"`
		} `json:"metadata"`
		Components []comp `json:"components"`
	}
	b := bom{
		BOMFormat:    "CycloneDX",
		SpecVersion:  "1.5",
		SerialNumber: fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", serial),
		Version:      1,
	}
	self := component{Module: "example.com/fleet/" + name, Version: "v1.0.0"}
	b.Metadata.Component = comp{BOMRef: purlOf(self), Type: "application", Name: self.Module, Version: self.Version, Purl: purlOf(self)}
	for _, c := range comps {
		p := purlOf(c)
		b.Components = append(b.Components, comp{BOMRef: p, Type: "library", Name: c.Module, Version: c.Version, Purl: p})
	}
	out, err := json.MarshalIndent(b, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(out, '\n'), 0o644)
}

// writeConfig writes the fleet's upfactory.yaml: intake-only services (no
// target), tiers 1–3, a few acyclic depends_on edges (always to a higher
// number), equal traffic shares, one CycloneDX inventory each.
func writeConfig(path, zipAbs string, n int, rng *rand.Rand) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "server: {data_dir: ./.upfactory}\nfeeds:\n  osv: [{path: %s}]\nservices:\n", zipAbs)
	share := strconv.FormatFloat(1/float64(n), 'g', 6, 64)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "  - name: %s\n    tier: %d\n", svcName(i), 1+rng.IntN(3))
		var deps []string
		if i < n {
			for range rng.IntN(3) {
				d := svcName(i + 1 + rng.IntN(n-i))
				if !contains(deps, d) {
					deps = append(deps, d)
				}
			}
		}
		if len(deps) > 0 {
			sort.Strings(deps)
			fmt.Fprintf(w, "    depends_on: [%s]\n", strings.Join(deps, ", "))
		}
		fmt.Fprintf(w, "    traffic_share: %s\n    inventory:\n      - {type: cyclonedx, path: sboms/%s.cdx.json}\n", share, svcName(i))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
