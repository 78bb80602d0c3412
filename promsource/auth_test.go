package promsource_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/promsource"
)

// fakePrometheus stands in for Prometheus only where the real one cannot
// show what a test needs: the request headers it received, and answers that
// echo credentials back. Query behaviour is tested against the real thing.
type fakePrometheus struct {
	*httptest.Server
	mu    sync.Mutex
	auths []string
}

func newFakePrometheus(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *fakePrometheus {
	t.Helper()
	f := &fakePrometheus{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auths = append(f.auths, r.Header.Get("Authorization"))
		f.mu.Unlock()
		if answer != nil {
			answer(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"scalar","result":[1700000000,"7"]}}`))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakePrometheus) lastAuth() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.auths) == 0 {
		return "<no request>"
	}
	return f.auths[len(f.auths)-1]
}

func MustNew(tb testing.TB, c promsource.Config) *promsource.Source {
	tb.Helper()
	s, err := promsource.New(c)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestCredentialsAreSent(t *testing.T) {
	fake := newFakePrometheus(t, nil)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROMSOURCE_TEST_TOKEN", "env-token")
	t.Setenv("PROMSOURCE_TEST_PASSWORD", "env-pw")
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	for _, tc := range []struct {
		name string
		cfg  promsource.Config
		want string
	}{
		{"none", promsource.Config{}, ""},
		{"bearer token", promsource.Config{BearerToken: "lit-token"}, "Bearer lit-token"},
		{"bearer token from the environment", promsource.Config{BearerToken: "${PROMSOURCE_TEST_TOKEN}"}, "Bearer env-token"},
		{"bearer token file", promsource.Config{BearerTokenFile: tokenFile}, "Bearer file-token"},
		{"basic auth", promsource.Config{Username: "alice", Password: "pw"}, basic("alice", "pw")},
		{"basic auth, password from the environment", promsource.Config{Username: "alice", Password: "${PROMSOURCE_TEST_PASSWORD}"}, basic("alice", "env-pw")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Address = fake.URL
			s := MustNew(t, tc.cfg)
			got, err := s.Value(t.Context(), promsource.Query{Expr: "vector(7)"}, promsource.Vars{}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got != 7 {
				t.Errorf("value %v, want 7", got)
			}
			if a := fake.lastAuth(); a != tc.want {
				t.Errorf("Authorization %q, want %q", a, tc.want)
			}
		})
	}
}

func TestUnsetTokenVariable(t *testing.T) {
	fake := newFakePrometheus(t, nil)
	s := MustNew(t, promsource.Config{Address: fake.URL, BearerToken: "${PROMSOURCE_TEST_UNSET_TOKEN}"})
	_, err := s.Value(t.Context(), promsource.Query{Expr: "vector(1)"}, promsource.Vars{}, time.Time{})
	if err == nil || !strings.Contains(err.Error(), "PROMSOURCE_TEST_UNSET_TOKEN") {
		t.Fatalf("error %v, want one naming the variable", err)
	}
	if a := fake.lastAuth(); a != "<no request>" {
		t.Errorf("a request was sent without its token (Authorization %q)", a)
	}
}

// TestSecretsNeverInErrors has the fake echo the credentials back in every
// place an answer can carry text.
func TestSecretsNeverInErrors(t *testing.T) {
	const token, password = "tok-0123456789", "pw-0123456789"
	basicB64 := base64.StdEncoding.EncodeToString([]byte("alice:" + password))
	answers := map[string]func(w http.ResponseWriter, r *http.Request){
		"api error": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"rejected ` + r.Header.Get("Authorization") + `","warnings":["saw ` + r.Header.Get("Authorization") + `"]}`))
		},
		"proxy 401": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "unauthorized: "+r.Header.Get("Authorization"), http.StatusUnauthorized)
		},
	}
	for name, answer := range answers {
		for _, cfg := range []promsource.Config{{BearerToken: token}, {Username: "alice", Password: password}} {
			t.Run(name, func(t *testing.T) {
				fake := newFakePrometheus(t, answer)
				cfg.Address = fake.URL
				s := MustNew(t, cfg)
				_, err := s.Value(t.Context(), promsource.Query{Expr: "up"}, promsource.Vars{}, time.Now())
				if err == nil {
					t.Fatal("no error")
				}
				for _, secret := range []string{token, password, basicB64} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error holds a secret: %v", err)
					}
				}
				if !strings.Contains(err.Error(), "[redacted]") {
					t.Errorf("error %q: want the echoed secret replaced by [redacted]", err)
				}
			})
		}
	}
}

func TestNoCredentialsOnRedirectElsewhere(t *testing.T) {
	elsewhere := newFakePrometheus(t, nil)
	origin := newFakePrometheus(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	s := MustNew(t, promsource.Config{Address: origin.URL, BearerToken: "tok"})
	if _, err := s.Value(t.Context(), promsource.Query{Expr: "vector(7)"}, promsource.Vars{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if a := origin.lastAuth(); a != "Bearer tok" {
		t.Errorf("origin got Authorization %q", a)
	}
	if a := elsewhere.lastAuth(); a != "" {
		t.Errorf("the redirect target got Authorization %q", a)
	}
}

func TestNewValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  promsource.Config
		want []string
	}{
		{"no address", promsource.Config{}, []string{"address is required"}},
		{"ftp", promsource.Config{Address: "ftp://127.0.0.1:9090"}, []string{"http or https"}},
		{"no scheme", promsource.Config{Address: "127.0.0.1:9090"}, []string{"http or https"}},
		{"credentials in the address", promsource.Config{Address: "http://bob:hunter2@127.0.0.1:9090"}, []string{"not in the address"}},
		{"token and basic auth", promsource.Config{Address: "http://p:9090", BearerToken: "t", Username: "u", Password: "hunter2"}, []string{"bearer_token and username/password are exclusive"}},
		{"token and file", promsource.Config{Address: "http://p:9090", BearerToken: "t", BearerTokenFile: "/f"}, []string{"bearer_token and bearer_token_file are exclusive"}},
		{"password alone", promsource.Config{Address: "http://p:9090", Password: "hunter2"}, []string{"password needs a username"}},
		{"bad variable", promsource.Config{Address: "http://p:9090", BearerToken: "${1X}"}, []string{"${1X} is not an environment variable name"}},
		{"every problem at once", promsource.Config{Address: "ftp://x", BearerToken: "t", Password: "hunter2"}, []string{"http or https", "exclusive", "needs a username"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := promsource.New(tc.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error holds the password: %v", err)
			}
		})
	}
	if _, err := promsource.New(promsource.Config{Address: "https://prom.example.com/prefix/", Timeout: upfactory.Duration(time.Second)}); err != nil {
		t.Errorf("a valid config: %v", err)
	}
}

func TestCancelledContextIsNotATimeout(t *testing.T) {
	fake := newFakePrometheus(t, nil)
	s := MustNew(t, promsource.Config{Address: fake.URL})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Value(ctx, promsource.Query{Expr: "up"}, promsource.Vars{}, time.Now())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
