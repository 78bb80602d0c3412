package flagd_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/upfactory/upfactory/flagd"
)

// evaluator runs flagd's own evaluator, @openfeature/flagd-core, on the
// flag file for 1,000 users and returns how many get "on". The package
// is installed by scripts/test.sh into UPFACTORY_FLAGD_CORE.
func evaluator(t *testing.T, file, flag string) int {
	t.Helper()
	dir := os.Getenv("UPFACTORY_FLAGD_CORE")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@openfeature", "flagd-core")); dir == "" || err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("flagd's evaluator is missing: scripts/test.sh installs @openfeature/flagd-core into UPFACTORY_FLAGD_CORE")
		}
		t.Skip("flagd's evaluator is not installed (npm @openfeature/flagd-core; scripts/test.sh installs it)")
	}
	script := `const { FlagdCore } = require('@openfeature/flagd-core');
const core = new FlagdCore();
core.setConfigurations(require('fs').readFileSync(process.argv[1], 'utf8'));
let on = 0;
for (let i = 0; i < 1000; i++) {
  if (core.resolveBooleanEvaluation(process.argv[2], false, {targetingKey: 'user-' + i}, console).value) on++;
}
console.log(on);`
	cmd := exec.Command("node", "-e", script, file, flag)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("flagd-core: %v: %s", err, out)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("flagd-core printed %q", out)
	}
	return n
}

// What upfactory writes, flagd's evaluator reads: the percent of users
// that get the flag follows the ramp, and a rollback's 0 turns it off.
func TestFlagdReadsThePercentages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.json")
	// A flag the user keeps in the same file stays as it is.
	if err := os.WriteFile(path, []byte(`{"flags": {"dark-mode": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		percent int
		lo, hi  int
	}{{0, 0, 0}, {1, 1, 30}, {10, 60, 140}, {50, 430, 570}, {100, 1000, 1000}, {0, 0, 0}} {
		if err := flagd.Write(path, map[string]int{"new-checkout": tc.percent}); err != nil {
			t.Fatal(err)
		}
		if got := evaluator(t, path, "new-checkout"); got < tc.lo || got > tc.hi {
			t.Errorf("at %d%%: %d of 1000 users on, want %d to %d", tc.percent, got, tc.lo, tc.hi)
		}
	}
	if got := evaluator(t, path, "dark-mode"); got != 1000 {
		t.Errorf("the user's own flag: %d of 1000 on, want it untouched", got)
	}
}

func TestMergeRefusesWhatIsNotAFlagFile(t *testing.T) {
	for _, bad := range []string{`not json`, `{"flags": [1, 2]}`} {
		if _, err := flagd.Merge([]byte(bad), map[string]int{"x": 5}); err == nil {
			t.Errorf("Merge(%s) accepted it", bad)
		}
	}
	path := filepath.Join(t.TempDir(), "flags.json")
	os.WriteFile(path, []byte(`{"flags": 7}`), 0o644)
	if err := flagd.Write(path, map[string]int{"x": 5}); err == nil {
		t.Error("Write over a broken flag file succeeded")
	}
	if b, _ := os.ReadFile(path); string(b) != `{"flags": 7}` {
		t.Errorf("the broken file was changed: %s", b)
	}
}

func FuzzMerge(f *testing.F) {
	f.Add([]byte(`{"flags": {"a": {"state": "ENABLED"}}}`), "new-checkout", 10)
	f.Add([]byte(``), "x", 100)
	f.Add([]byte(`null`), "x", -5)
	f.Fuzz(func(t *testing.T, existing []byte, name string, percent int) {
		if !utf8.ValidString(name) {
			return // flag names come from the YAML config: valid UTF-8
		}
		out, err := flagd.Merge(existing, map[string]int{name: percent})
		if err != nil {
			return
		}
		var doc struct {
			Flags map[string]json.RawMessage `json:"flags"`
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("Merge wrote what is not JSON: %v", err)
		}
		if _, ok := doc.Flags[name]; !ok {
			t.Fatalf("flag %q missing from %s", name, out)
		}
	})
}
