package main

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"
)

// measurement is one timed child process.
type measurement struct {
	Wall, CPU time.Duration // wall clock; user+sys from the child's rusage
	MaxRSSKB  int64         // peak resident set size (rusage ru_maxrss, KiB)
	Exit      int
	Findings  int // -1 when the output could not be counted
	Note      string
	// IngestMatch is intake's own timing of reading the feeds (ingest and
	// index of all.zip), the inventories and matching, from the report's
	// "timings"; 0 for other peers.
	IngestMatch time.Duration
}

// runChild runs bin with args in dir, stdout to outPath, stderr to
// outPath+".stderr", and measures it.
func runChild(dir, outPath, bin string, args ...string) (measurement, error) {
	out, err := os.Create(outPath)
	if err != nil {
		return measurement{}, err
	}
	defer out.Close()
	errf, err := os.Create(outPath + ".stderr")
	if err != nil {
		return measurement{}, err
	}
	defer errf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, errf
	start := time.Now()
	err = cmd.Run()
	m := measurement{Wall: time.Since(start), Findings: -1}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return m, err
	}
	if ps := cmd.ProcessState; ps != nil {
		m.Exit = ps.ExitCode()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			m.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			m.MaxRSSKB = ru.Maxrss
		}
	}
	return m, nil
}

func runMain(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	upf := fs.String("upfactory", "", "upfactory binary (required)")
	osvBin := fs.String("osv-scanner", "", "osv-scanner binary; empty skips that peer")
	osvMissing := fs.String("osv-scanner-missing", "", "message to print when osv-scanner is skipped")
	fixtures := fs.String("fixtures", "", "directory from `intake gen` (upfactory.yaml, sboms/); generated there when absent")
	rounds := fs.Int("rounds", 3, "interleaved rounds (medians are printed)")
	zipPath := fs.String("zip", defaultZip, "OSV zip export (Go vulnerability database)")
	services := fs.Int("services", 1000, "services to generate when -fixtures is empty")
	components := fs.Int("components", 200, "components per service when generating")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *upf == "" || *fixtures == "" {
		return fmt.Errorf("run: -upfactory and -fixtures are required")
	}
	zipAbs, err := filepath.Abs(*zipPath)
	if err != nil {
		return err
	}
	fix, err := filepath.Abs(*fixtures)
	if err != nil {
		return err
	}
	sboms, _ := filepath.Glob(filepath.Join(fix, "sboms", "*.cdx.json"))
	if len(sboms) == 0 {
		st, err := generate(genOptions{Out: fix, Services: *services, Components: *components, Seed: 1, Zip: zipAbs, SBOMs: defaultSBOMs, VulnShare: 0.5})
		if err != nil {
			return err
		}
		fmt.Printf("generated %d services × %d components in %s (%d in a vulnerable range by the reference evaluation)\n", *services, *components, fix, st.vulnerable)
		sboms, _ = filepath.Glob(filepath.Join(fix, "sboms", "*.cdx.json"))
	}
	sort.Strings(sboms)
	ncomp := countComponents(sboms)

	work, err := os.MkdirTemp("", "intake-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	osvDB, err := osvScannerDB(work, zipAbs)
	if err != nil {
		return err
	}

	fmt.Printf("machine: %d CPUs (runtime.NumCPU), GOMAXPROCS %d (children inherit the environment: GOMAXPROCS=%q), %s/%s, %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), os.Getenv("GOMAXPROCS"), runtime.GOOS, runtime.GOARCH, loadavg())
	fmt.Printf("input: %d SBOMs, %d components, database %s\n", len(sboms), ncomp, zipAbs)
	if v, err := exec.Command(*upf, "version").CombinedOutput(); err == nil {
		fmt.Printf("upfactory: %s\n", strings.TrimSpace(string(v)))
	}

	type peer struct {
		name string
		run  func(round int) (measurement, error)
	}
	var peers []peer

	scanArgs := []string{"scan", "--db", zipAbs, "--fail-on", "none", "-o", "json"}
	for _, s := range sboms {
		scanArgs = append(scanArgs, "--sbom", s)
	}
	peers = append(peers, peer{"upfactory scan", func(r int) (measurement, error) {
		out := filepath.Join(work, fmt.Sprintf("scan-%d.json", r))
		m, err := runChild(fix, out, *upf, scanArgs...)
		if err == nil {
			m.Findings, m.Note = countUpfactory(out)
		}
		return m, err
	}})

	if *osvBin != "" {
		if v, err := exec.Command(*osvBin, "--version").CombinedOutput(); err == nil {
			fmt.Printf("osv-scanner: %s\n", firstLine(string(v)))
		}
		oArgs := []string{"scan", "source", "--offline", "--local-db-path", osvDB, "--format", "json"}
		for _, s := range sboms {
			oArgs = append(oArgs, "-L", s)
		}
		peers = append(peers, peer{"osv-scanner", func(r int) (measurement, error) {
			out := filepath.Join(work, fmt.Sprintf("osv-%d.json", r))
			m, err := runChild(fix, out, *osvBin, oArgs...)
			if err == nil {
				m.Findings, m.Note = countOSVScanner(out)
			}
			return m, err
		}})
	} else {
		msg := *osvMissing
		if msg == "" {
			msg = "osv-scanner: not found; skipped (bench/intake.sh --install installs it)"
		}
		fmt.Println(msg)
	}

	intake := exec.Command(*upf, "intake", "run", "--help")
	if err := intake.Run(); err != nil {
		fmt.Println("intake run: not available in this build")
	} else {
		dataDir := filepath.Join(fix, ".upfactory")
		intakeArgs := []string{"intake", "run", "-c", filepath.Join(fix, "upfactory.yaml"), "-o", "json"}
		peers = append(peers, peer{"intake run (fresh)", func(r int) (measurement, error) {
			if err := os.RemoveAll(dataDir); err != nil {
				return measurement{}, err
			}
			out := filepath.Join(work, fmt.Sprintf("intake-fresh-%d.json", r))
			m, err := runChild(fix, out, *upf, intakeArgs...)
			if err == nil {
				m.Findings, m.Note = countIntake(out)
				m.IngestMatch = intakeIngestMatch(out)
			}
			return m, err
		}}, peer{"intake run (again)", func(r int) (measurement, error) {
			out := filepath.Join(work, fmt.Sprintf("intake-again-%d.json", r))
			m, err := runChild(fix, out, *upf, intakeArgs...)
			if err == nil {
				m.Findings, m.Note = countIntake(out)
				m.IngestMatch = intakeIngestMatch(out)
			}
			return m, err
		}})
	}

	results := make([][]measurement, len(peers))
	for r := 1; r <= *rounds; r++ {
		fmt.Printf("\nround %d\n", r)
		for i, p := range peers {
			m, err := p.run(r)
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			results[i] = append(results[i], m)
			fmt.Printf("  %-20s wall %8s  cpu %8s  maxrss %7.1f MiB  exit %d  findings %d%s\n",
				p.name, ms(m.Wall), ms(m.CPU), float64(m.MaxRSSKB)/1024, m.Exit, m.Findings, noteSuffix(m.Note))
			if m.IngestMatch > 0 {
				fmt.Printf("  %-20s ingest + match (intake's own timings): %s\n", "", ms(m.IngestMatch))
			}
			if m.Findings < 0 || (p.name == "osv-scanner" && m.Exit > 1) {
				fmt.Printf("  %-20s stderr: %s\n", "", tail(filepath.Join(work, lastOut(p.name, r))+".stderr", 5))
			}
		}
	}

	fmt.Printf("\nmedians over %d rounds (%d SBOMs, %d components)\n", *rounds, len(sboms), ncomp)
	fmt.Printf("  %-20s %10s %10s %10s %9s\n", "", "wall", "user+sys", "peak RSS", "findings")
	med := make([]measurement, len(peers))
	for i, p := range peers {
		med[i] = median(results[i])
		fmt.Printf("  %-20s %10s %10s %7.1f MiB %9d\n", p.name, ms(med[i].Wall), ms(med[i].CPU), float64(med[i].MaxRSSKB)/1024, med[i].Findings)
	}
	for i, p := range peers {
		if p.name == "osv-scanner" {
			fmt.Printf("  osv-scanner / upfactory scan: wall %.1f×, user+sys %.1f×, peak RSS %.1f×\n",
				ratio(med[i].Wall, med[0].Wall), ratio(med[i].CPU, med[0].CPU), float64(med[i].MaxRSSKB)/float64(med[0].MaxRSSKB))
			for j, q := range peers {
				if q.name == "intake run (fresh)" {
					fmt.Printf("  osv-scanner / intake run (fresh): wall %.1f×, user+sys %.1f×\n",
						ratio(med[i].Wall, med[j].Wall), ratio(med[i].CPU, med[j].CPU))
				}
			}
		}
	}
	for i, p := range peers {
		if p.name == "intake run (fresh)" {
			var im []time.Duration
			for _, m := range results[i] {
				im = append(im, m.IngestMatch)
			}
			slices.Sort(im)
			fmt.Printf("  goal: ingest of all.zip + matching %d services under 2 s: median %s by intake's own timings (the whole intake run, with candidates scored, stored and printed as JSON: median wall %s)\n",
				len(sboms), ms(im[len(im)/2]), ms(med[i].Wall))
		}
	}
	return nil
}

func lastOut(name string, r int) string {
	switch name {
	case "upfactory scan":
		return fmt.Sprintf("scan-%d.json", r)
	case "osv-scanner":
		return fmt.Sprintf("osv-%d.json", r)
	case "intake run (fresh)":
		return fmt.Sprintf("intake-fresh-%d.json", r)
	}
	return fmt.Sprintf("intake-again-%d.json", r)
}

// osvScannerDB lays out DIR/osv-scalibr/Go/all.zip (a symlink to the zip),
// the offline database layout of osv-scanner v2, and an empty all.zip for
// the other ecosystems of the corpus SBOMs: upfactory is given the Go
// database only, and osv-scanner offline stops (exit 127) on an ecosystem
// without a local database.
func osvScannerDB(work, zipAbs string) (string, error) {
	db := filepath.Join(work, "osvdb")
	goDir := filepath.Join(db, "osv-scalibr", "Go")
	if err := os.MkdirAll(goDir, 0o755); err != nil {
		return "", err
	}
	for _, eco := range []string{"npm", "Maven", "Packagist", "PyPI", "RubyGems", "crates.io", "NuGet"} {
		dir := filepath.Join(db, "osv-scalibr", eco)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		f, err := os.Create(filepath.Join(dir, "all.zip"))
		if err != nil {
			return "", err
		}
		if err := zip.NewWriter(f).Close(); err != nil {
			f.Close()
			return "", err
		}
		if err := f.Close(); err != nil {
			return "", err
		}
	}
	return db, os.Symlink(zipAbs, filepath.Join(goDir, "all.zip"))
}

func countComponents(files []string) int {
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var bom struct {
			Components []json.RawMessage `json:"components"`
		}
		if json.Unmarshal(b, &bom) == nil {
			n += len(bom.Components)
		}
	}
	return n
}

func countUpfactory(path string) (int, string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1, err.Error()
	}
	var out struct {
		Findings []json.RawMessage `json:"findings"`
		Problems []json.RawMessage `json:"problems"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return -1, "output is not JSON: " + err.Error()
	}
	if len(out.Problems) > 0 {
		return len(out.Findings), fmt.Sprintf("%d problems", len(out.Problems))
	}
	return len(out.Findings), ""
}

// countOSVScanner counts (source, package, vulnerability) triples.
func countOSVScanner(path string) (int, string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1, err.Error()
	}
	var out osvScannerOutput
	if err := json.Unmarshal(b, &out); err != nil {
		return -1, "output is not JSON: " + err.Error()
	}
	n := 0
	for _, r := range out.Results {
		for _, p := range r.Packages {
			n += len(p.Vulnerabilities)
		}
	}
	return n, ""
}

// intakeIngestMatch reads feeds + inventory + match from the report's
// timings (seconds); 0 when absent.
func intakeIngestMatch(path string) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var rep struct {
		Timings struct{ Feeds, Inventory, Match float64 } `json:"timings"`
	}
	if json.Unmarshal(b, &rep) != nil {
		return 0
	}
	t := rep.Timings
	return time.Duration((t.Feeds + t.Inventory + t.Match) * float64(time.Second))
}

// countIntake counts what `upfactory intake run -o json` reports. Its
// shape belongs to another package; this looks for the usual names.
func countIntake(path string) (int, string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1, err.Error()
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return -1, "output is not a JSON object: " + err.Error()
	}
	for _, k := range []string{"findings", "candidates", "matches"} {
		raw, ok := top[k]
		if !ok {
			continue
		}
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) == nil {
			return len(arr), k
		}
		var n int
		if json.Unmarshal(raw, &n) == nil {
			return n, k
		}
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return -1, "keys: " + strings.Join(keys, ",")
}

func median(ms []measurement) measurement {
	pick := func(get func(measurement) int64) int64 {
		v := make([]int64, len(ms))
		for i, m := range ms {
			v[i] = get(m)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return measurement{
		Wall:     time.Duration(pick(func(m measurement) int64 { return int64(m.Wall) })),
		CPU:      time.Duration(pick(func(m measurement) int64 { return int64(m.CPU) })),
		MaxRSSKB: pick(func(m measurement) int64 { return m.MaxRSSKB }),
		Findings: int(pick(func(m measurement) int64 { return int64(m.Findings) })),
	}
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func noteSuffix(n string) string {
	if n == "" {
		return ""
	}
	return " (" + n + ")"
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "load average unknown"
	}
	return "load average " + strings.Join(f[:3], " ")
}
