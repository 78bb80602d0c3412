package intake_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/intake"
)

const token = "SECRET-TOKEN-4711"

// zipDir builds an OSV all.zip of the *.json files of dir, plus extra
// members.
func zipDir(t *testing.T, dir string, extra map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	ms, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	add := func(name string, data []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range ms {
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		add(filepath.Base(m), data)
	}
	for name, data := range extra {
		add(name, []byte(data))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// feedServer serves files with an ETag and a Last-Modified and answers
// conditional requests with 304; it counts what it was asked.
type feedServer struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string][]byte
	requests map[string]int
	notMod   map[string]int
	ifNone   map[string][]string
	ifSince  map[string][]string
	tokens   map[string]bool
	// version is part of every ETag; bump it to change the content.
	version int
}

const lastModified = "Mon, 01 Jan 2026 00:00:00 GMT"

func newFeedServer(t *testing.T, files map[string][]byte) *feedServer {
	s := &feedServer{files: files, requests: map[string]int{}, notMod: map[string]int{}, ifNone: map[string][]string{}, ifSince: map[string][]string{}, tokens: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests[r.URL.Path]++
		s.tokens[r.URL.Path] = r.URL.Query().Get("token") == token
		data, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		etag := fmt.Sprintf(`"%s-v%d"`, r.URL.Path, s.version+1)
		s.ifNone[r.URL.Path] = append(s.ifNone[r.URL.Path], r.Header.Get("If-None-Match"))
		s.ifSince[r.URL.Path] = append(s.ifSince[r.URL.Path], r.Header.Get("If-Modified-Since"))
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastModified)
		if r.Header.Get("If-None-Match") == etag {
			s.notMod[r.URL.Path]++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *feedServer) counts(path string) (requests, notModified int, ifNoneMatch []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path], s.notMod[path], append([]string(nil), s.ifNone[path]...)
}

func feedStatus(rep *intake.Report, kind string) *intake.FeedStatus {
	for i, f := range rep.Feeds {
		if f.Kind == kind {
			return &rep.Feeds[i]
		}
	}
	return nil
}

func assertNoToken(t *testing.T, what string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(token)) {
		t.Errorf("%s prints the URL's query token: %s", what, data)
	}
}

const urlConfig = `
server:
  data_dir: ./data
services:
  - name: worker
    inventory:
      - {type: gomod, path: worker.go.mod}
feeds:
  osv:
    - url: OSVURL
  kev: {url: KEVURL}
`

// TestURLFeeds: download, then 304 with If-None-Match, then the cached copy
// when the server is gone; never the token.
func TestURLFeeds(t *testing.T) {
	ctx := context.Background()
	dir := workspace(t)
	kevData, err := os.ReadFile(filepath.Join(dir, "kev.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := newFeedServer(t, map[string][]byte{
		"/osv/all.zip": zipDir(t, filepath.Join(dir, "osv"), nil),
		"/kev.json":    kevData,
	})
	y := strings.NewReplacer(
		"OSVURL", srv.URL+"/osv/all.zip?token="+token,
		"KEVURL", srv.URL+"/kev.json?token="+token,
	).Replace(urlConfig)
	cfg := parseConfig(t, dir, y)
	st := openStore(t)
	now := clock(t0)
	records := osvRecordCount(t, dir)

	// First run: downloaded.
	r1 := runIntake(t, cfg, st, now)
	for _, kind := range []string{"osv", "kev"} {
		fs := feedStatus(r1, kind)
		if fs == nil || fs.Status != "downloaded" {
			t.Errorf("first run: %s feed %+v, want downloaded", kind, fs)
		}
	}
	if fs := feedStatus(r1, "osv"); fs != nil && fs.Records != records {
		t.Errorf("osv feed records %d, want %d", fs.Records, records)
	}
	if r1.Run.Records != records || r1.Run.AdvisoriesNew != records {
		t.Errorf("first run records %d new %d, want %d", r1.Run.Records, r1.Run.AdvisoriesNew, records)
	}
	xt := mustCandidate(t, r1.Candidates, "golang.org/x/text")
	if len(xt.Advisories) != 1 || !xt.Advisories[0].KEV {
		t.Errorf("x/text from the url feeds: %+v", xt.Advisories)
	}
	if len(r1.Problems) != 0 {
		t.Errorf("first run problems:\n%s", problemsText(r1.Problems))
	}
	if n, _, _ := srv.counts("/osv/all.zip"); n != 1 {
		t.Errorf("osv requested %d times, want 1", n)
	}
	if !srv.tokens["/osv/all.zip"] {
		t.Error("the server did not get the token: the URL was not fetched as written")
	}

	// Second run: conditional requests, 304, nothing downloaded.
	r2 := runIntake(t, cfg, st, now)
	for _, path := range []string{"/osv/all.zip", "/kev.json"} {
		n, nm, inm := srv.counts(path)
		if n != 2 || nm != 1 {
			t.Errorf("%s: %d requests, %d not modified; want 2 and 1", path, n, nm)
		}
		if len(inm) != 2 || inm[0] != "" || inm[1] != `"`+path+`-v1"` {
			t.Errorf("%s If-None-Match headers %q, want none then the ETag", path, inm)
		}
		srv.mu.Lock()
		ims := srv.ifSince[path]
		srv.mu.Unlock()
		if len(ims) != 2 || ims[1] != lastModified {
			t.Errorf("%s If-Modified-Since headers %q, want the Last-Modified on the second request", path, ims)
		}
	}
	for _, kind := range []string{"osv", "kev"} {
		if fs := feedStatus(r2, kind); fs == nil || fs.Status != "not modified" {
			t.Errorf("second run: %s feed %+v, want not modified", kind, fs)
		}
	}
	if r2.Run.Records != records || r2.Run.AdvisoriesNew+r2.Run.AdvisoriesChanged+r2.Run.AdvisoriesRemoved != 0 {
		t.Errorf("second run: %+v", r2.Run)
	}
	if len(r2.Problems) != 0 || len(r2.New)+len(r2.Resolved) != 0 {
		t.Errorf("second run: problems %v new %v resolved %v", r2.Problems, r2.New, r2.Resolved)
	}

	// The database changes on the server (a new ETag, one record fewer):
	// it is downloaded again and the removal is seen.
	srv.mu.Lock()
	srv.version++
	srv.files["/osv/all.zip"] = zipDir(t, filepath.Join(dir, "osv"), nil)
	srv.mu.Unlock()
	if err := os.Remove(filepath.Join(dir, "osv", "GHSA-dbg1-aaaa-0005.json")); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	srv.files["/osv/all.zip"] = zipDir(t, filepath.Join(dir, "osv"), nil)
	srv.mu.Unlock()
	r2b := runIntake(t, cfg, st, now)
	if fs := feedStatus(r2b, "osv"); fs == nil || fs.Status != "downloaded" {
		t.Errorf("changed feed: %+v, want downloaded", fs)
	}
	if fs := feedStatus(r2b, "kev"); fs == nil || fs.Status != "downloaded" {
		t.Errorf("kev with a new ETag: %+v, want downloaded", fs)
	}
	if r2b.Run.AdvisoriesRemoved != 1 || r2b.Run.Records != records-1 {
		t.Errorf("changed feed: records %d removed %d, want %d and 1", r2b.Run.Records, r2b.Run.AdvisoriesRemoved, records-1)
	}
	records--

	// The server goes away: the cached copies are used, with a problem
	// saying so.
	srv.Close()
	r3 := runIntake(t, cfg, st, now)
	for _, kind := range []string{"osv", "kev"} {
		if fs := feedStatus(r3, kind); fs == nil || fs.Status != "cached" {
			t.Errorf("third run: %s feed %+v, want cached", kind, fs)
		}
		p := findProblem(r3.Problems, "feed", srv.URL)
		if p == nil || !strings.Contains(p.Message, "using the copy fetched") {
			t.Errorf("third run: no feed problem saying the cached copy is used:\n%s", problemsText(r3.Problems))
		}
	}
	if r3.Run.Records != records || len(r3.Resolved) != 0 {
		t.Errorf("third run from the cache: records %d resolved %v", r3.Run.Records, r3.Resolved)
	}
	if c := mustCandidate(t, r3.Candidates, "golang.org/x/text"); !c.Advisories[0].KEV {
		t.Error("KEV lost when read from the cache")
	}

	for i, r := range []*intake.Report{r1, r2, r2b, r3} {
		assertNoToken(t, "report "+string(rune('1'+i))+" feeds", r.Feeds)
		assertNoToken(t, "report "+string(rune('1'+i))+" problems", r.Problems)
	}
	entries, err := st.Log(ctx, upfactory.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	assertNoToken(t, "operation log", entries)
}

// TestURLTokenNeverPrinted: problems about a url feed's content or its
// unavailability do not print the query token either.
func TestURLTokenNeverPrinted(t *testing.T) {
	dir := workspace(t)
	// A zip with one malformed member; the good records are read.
	srv := newFeedServer(t, map[string][]byte{
		"/osv/all.zip": zipDir(t, filepath.Join(dir, "osv"), map[string]string{"GHSA-bad0-aaaa-0000.json": `{"id": 1}`}),
		// A catalog with one unusable entry, and scores with one bad line.
		"/kev.json": []byte(`{"catalogVersion": "2026.01.01", "dateReleased": "2026-01-01T00:00:00.000Z", "count": 2,
  "vulnerabilities": [{"cveID": "not-a-cve"}, 
    {"cveID": "CVE-2021-38561", "vendorProject": "golang", "product": "x/text", "vulnerabilityName": "test entry",
     "dateAdded": "2026-01-01", "shortDescription": "test entry", "requiredAction": "Apply updates.", "dueDate": "2026-01-22",
     "knownRansomwareCampaignUse": "Unknown", "notes": ""}]}`),
		"/epss.csv": []byte("cve,epss,percentile\nCVE-2021-38561,0.25,0.96\nCVE-2020-8203,lots,0.5\n"),
	})
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()

	y := `
server:
  data_dir: ./data
services:
  - name: worker
    inventory:
      - {type: gomod, path: worker.go.mod}
feeds:
  osv:
    - url: ` + srv.URL + `/osv/all.zip?token=` + token + `
    - url: ` + dead + `/osv/all.zip?token=` + token + `
  kev: {url: ` + srv.URL + `/kev.json?token=` + token + `}
  epss: {url: ` + srv.URL + `/epss.csv?token=` + token + `}
`
	cfg := parseConfig(t, dir, y)
	rep := runIntake(t, cfg, openStore(t), clock(t0))
	t.Logf("problems:\n%s", problemsText(rep.Problems))
	if p := findProblem(rep.Problems, "advisory", "GHSA-bad0-aaaa-0000.json"); p == nil {
		t.Error("no problem for the malformed zip member")
	}
	if p := findProblem(rep.Problems, "feed", strings.TrimPrefix(dead, "http://")); p == nil {
		t.Error("no problem for the unreachable feed")
	}
	for _, kind := range []string{"kev", "epss"} {
		if p := findProblem(rep.Problems, kind); p == nil {
			t.Errorf("no %s problem for the feed's bad entry", kind)
		}
	}
	xt := mustCandidate(t, rep.Candidates, "golang.org/x/text")
	if a := xt.Advisories[0]; !a.KEV || a.EPSS == nil {
		t.Errorf("the good KEV entry and EPSS line were not used: %+v", a)
	}
	if rep.Run.Records != osvRecordCount(t, dir) {
		t.Errorf("records %d, want the %d good ones", rep.Run.Records, osvRecordCount(t, dir))
	}
	assertNoToken(t, "feeds", rep.Feeds)
	for _, p := range rep.Problems {
		assertNoToken(t, p.Kind+" problem", p)
	}
}

// TestFetcherServerError: a server error with a cached copy gives the
// copy ("cached", with the error); without a copy it is an error, which
// does not print the token.
func TestFetcherServerError(t *testing.T) {
	ctx := context.Background()
	fail := false
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Header().Set("ETag", `"x"`)
		w.Write([]byte("payload"))
	}))
	defer srv.Close()
	f := &intake.Fetcher{Dir: t.TempDir()}
	u := srv.URL + "/feed.json?token=" + token

	res, err := f.Fetch(ctx, u)
	if err != nil || res.Status != "downloaded" {
		t.Fatalf("first fetch: %+v, %v", res, err)
	}
	if data, err := os.ReadFile(res.Path); err != nil || string(data) != "payload" {
		t.Fatalf("cached copy %q, %v", data, err)
	}
	if filepath.Ext(res.Path) != ".json" {
		t.Errorf("cached copy %s lost the URL's extension", res.Path)
	}
	mu.Lock()
	fail = true
	mu.Unlock()
	res2, err := f.Fetch(ctx, u)
	if err != nil || res2.Status != "cached" || res2.Err == nil || res2.Path != res.Path || !res2.Fetched.Equal(res.Fetched) {
		t.Errorf("fetch with a server error and a copy: %+v, %v; want cached from %v", res2, err, res.Fetched)
	}
	if res2.Err != nil && strings.Contains(res2.Err.Error(), token) {
		t.Errorf("error prints the token: %v", res2.Err)
	}

	_, err = (&intake.Fetcher{Dir: t.TempDir()}).Fetch(ctx, u)
	if err == nil {
		t.Error("fetch with a server error and no copy succeeded")
	} else if strings.Contains(err.Error(), token) {
		t.Errorf("error prints the token: %v", err)
	}
}
