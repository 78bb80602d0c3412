package comms_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory/comms"
)

var t0 = time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)

func note() comms.Note {
	return comms.Note{Service: "shop", From: "1.0.0", Version: "1.2.0", Start: t0, End: t0.Add(time.Hour),
		Changes: []string{"The legacy /api/v0/cart endpoint is removed; use /api/cart."}, Impact: comms.DefaultImpact, Contact: "#shop-releases"}
}

func TestMaintenanceNotes(t *testing.T) {
	md, err := comms.Markdown(note(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Scheduled maintenance: shop", "Sunday 6 December 2026, 22:00 – 23:00 UTC", "from 1.0.0 to 1.2.0",
		"no downtime is expected", "- The legacy /api/v0/cart endpoint is removed", "**Questions:** #shop-releases"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	n := note()
	n.Start, n.End, n.Changes = time.Time{}, time.Time{}, nil
	if md, _ := comms.Markdown(n, ""); strings.Contains(md, "When:") || strings.Contains(md, "What changes") {
		t.Errorf("an unplanned note without changes says when and what changes:\n%s", md)
	}
	n = note()
	n.Changes = []string{"<script>alert(1)</script>"}
	html, err := comms.HTML(n, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;") || !strings.Contains(html, "<h1>Scheduled maintenance: shop</h1>") {
		t.Errorf("html:\n%s", html)
	}
	custom, err := comms.Markdown(note(), "{{.Service}} goes to {{.Version}} at {{.Start.Format \"15:04\"}}")
	if err != nil || custom != "shop goes to 1.2.0 at 22:00" {
		t.Errorf("custom template: %q, %v", custom, err)
	}
	if _, err := comms.Markdown(note(), "{{.Nope}}"); err == nil || !strings.Contains(err.Error(), "note template") {
		t.Errorf("a template naming an unknown field: %v", err)
	}
}

// The Atom feed is read by a real feed parser: Python's feedparser, as
// many status-page and chat integrations do.
func TestAtomFeedReadsInFeedparser(t *testing.T) {
	if exec.Command("/usr/bin/python3", "-c", "import feedparser").Run() != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3-feedparser is missing (scripts/test.sh installs it)")
		}
		t.Skip("python3 cannot import feedparser (Debian package python3-feedparser)")
	}
	f := comms.Feed{UpdatedAt: t0, ScheduledMaintenances: []comms.Maintenance{
		{ID: "shop-1.2.0-1", Name: "shop: 1.0.0 → 1.2.0", Status: comms.Verifying, ScheduledFor: t0, Components: []string{"shop"}, Body: "verifying <carefully> & more", UpdatedAt: t0.Add(time.Minute)},
		{ID: "window-nightly-1", Name: "change window nightly", Status: comms.Scheduled, ScheduledFor: t0.Add(24 * time.Hour), Components: []string{"shop"}, UpdatedAt: t0},
	}}
	atom, err := comms.Atom(f, "http://127.0.0.1:7070/api/v1/status/feed.atom")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "feed.atom")
	if err := os.WriteFile(path, []byte(atom), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/python3", "-c", `import feedparser, json, sys
d = feedparser.parse(sys.argv[1])
print(json.dumps({"bozo": int(d.bozo), "version": d.version, "title": d.feed.get("title"), "entries": [[e.get("id"), e.get("title"), e.get("summary")] for e in d.entries]}))`, path).Output()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Bozo    int
		Version string
		Title   string
		Entries [][3]string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Bozo != 0 || got.Version != "atom10" || len(got.Entries) != 2 {
		t.Fatalf("feedparser read %+v", got)
	}
	if e := got.Entries[0]; e[0] != "http://127.0.0.1:7070/api/v1/status/feed.atom#shop-1.2.0-1" || e[1] != "[verifying] shop: 1.0.0 → 1.2.0" || e[2] != "verifying &lt;carefully&gt; &amp; more" /* the summary is HTML: the text, escaped */ {
		t.Errorf("first entry %q", e)
	}
}
