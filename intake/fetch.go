package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
)

// Fetcher downloads url feeds into a cache directory, asking the server
// with If-None-Match and If-Modified-Since whether its copy is still
// current, so that an unchanged feed is not downloaded again. When the
// server cannot be reached, the cached copy is used and the caller is told.
type Fetcher struct {
	// Dir holds one file per URL and a .meta.json beside it.
	Dir    string
	Client *http.Client
}

// fetchMeta is what the cache remembers of a download.
type fetchMeta struct {
	URL          string    `json:"url"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Fetched      time.Time `json:"fetched"`
}

// Fetched is the outcome of one Fetch.
type Fetched struct {
	// Path is the local copy.
	Path string
	// Status is "downloaded", "not modified" or "cached" (the server could
	// not be asked; Err says why).
	Status string
	// Fetched is when the copy was downloaded.
	Fetched time.Time
	Err     error
}

// Fetch makes sure Dir holds a current copy of rawURL and returns where.
// The error is for a URL that has no usable copy at all: the server failed
// and nothing is cached.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (Fetched, error) {
	sum := sha256.Sum256([]byte(rawURL))
	base := hex.EncodeToString(sum[:8])
	if u, err := url.Parse(rawURL); err == nil {
		// Keep the extension: formats are told apart by it (.zip, .gz).
		if ext := path.Ext(u.Path); ext != "" && len(ext) <= 8 {
			base += ext
		}
	}
	file := filepath.Join(f.Dir, base)
	metaFile := file + ".meta.json"
	var meta fetchMeta
	haveCopy := false
	if data, err := os.ReadFile(metaFile); err == nil && json.Unmarshal(data, &meta) == nil && meta.URL == rawURL {
		if _, err := os.Stat(file); err == nil {
			haveCopy = true
		}
	}
	res, err := f.download(ctx, rawURL, file, meta, haveCopy)
	if err == nil {
		return res, nil
	}
	if haveCopy {
		return Fetched{Path: file, Status: "cached", Fetched: meta.Fetched, Err: err}, nil
	}
	return Fetched{}, err
}

func (f *Fetcher) download(ctx context.Context, rawURL, file string, meta fetchMeta, haveCopy bool) (Fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return Fetched{}, err
	}
	if haveCopy {
		if meta.ETag != "" {
			req.Header.Set("If-None-Match", meta.ETag)
		}
		if meta.LastModified != "" {
			req.Header.Set("If-Modified-Since", meta.LastModified)
		}
	}
	client := f.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Minute}
	}
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error repeats the whole URL, token and all.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return Fetched{}, fmt.Errorf("fetching %s: %w", redact(rawURL), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified && haveCopy:
		return Fetched{Path: file, Status: "not modified", Fetched: meta.Fetched}, nil
	case resp.StatusCode != http.StatusOK:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return Fetched{}, fmt.Errorf("fetching %s: %s", redact(rawURL), resp.Status)
	}
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return Fetched{}, err
	}
	// Download beside the copy and rename over it: a failed download
	// leaves the previous copy whole.
	tmp, err := os.CreateTemp(f.Dir, ".download-*")
	if err != nil {
		return Fetched{}, err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Fetched{}, fmt.Errorf("fetching %s: %w", redact(rawURL), err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return Fetched{}, err
	}
	now := time.Now().UTC()
	meta = fetchMeta{URL: rawURL, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Fetched: now}
	data, _ := json.MarshalIndent(meta, "", "  ")
	if err := renameio.WriteFile(file+".meta.json", data, 0o644); err != nil {
		return Fetched{}, err
	}
	return Fetched{Path: file, Status: "downloaded", Fetched: now}, nil
}

// redact drops a query string, which may carry a token, from a URL that
// goes into an error message or the log.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparseable URL)"
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	u.User = nil
	return u.String()
}

var errNoFeed = errors.New("no path or url")

// local returns a local path for src, fetching it when it is a URL.
func (f *Fetcher) local(ctx context.Context, p, rawURL string) (string, Fetched, error) {
	switch {
	case p != "":
		return p, Fetched{Path: p, Status: "local"}, nil
	case rawURL != "":
		res, err := f.Fetch(ctx, rawURL)
		return res.Path, res, err
	}
	return "", Fetched{}, errNoFeed
}

func isZip(name string) bool { return strings.EqualFold(filepath.Ext(name), ".zip") }
