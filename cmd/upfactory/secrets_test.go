package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory/config"
)

// Secrets planted in the environment and the config never show: not in
// any command's --help, not in any answer of the API, not in serve's log.
func TestSecretsAreNeverShown(t *testing.T) {
	const apiToken, promPassword, promToken = "planted-api-token-7f3a", "planted-prom-password-91c2", "planted-prom-token-44d0"
	t.Setenv("UPFACTORY_API_TOKEN", apiToken)
	t.Setenv("UPFACTORY_TEST_PROM_TOKEN", promToken)
	secrets := []string{apiToken, promPassword, promToken}
	leaks := func(where, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows the secret %q", where, s)
			}
		}
	}

	// Every command's help.
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.Fields(c.CommandPath())[1:]
		var out, errb bytes.Buffer
		Main(context.Background(), append(path, "--help"), &out, &errb)
		leaks("upfactory "+strings.Join(path, " ")+" --help", out.String()+errb.String())
		if out.Len()+errb.Len() == 0 {
			t.Errorf("upfactory %s --help printed nothing", strings.Join(path, " "))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(&globals{}))

	// Every GET of the API, and the log of a server that read them all.
	dir := t.TempDir()
	cfgPath, _, _ := writeConfig(t, dir, testSteps)
	withProm := func(auth string) {
		b, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfgPath, append(b, "prometheus: {address: http://127.0.0.1:1, "+auth+"}\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, auth := range []string{"username: ops, password: " + promPassword, `bearer_token: "${UPFACTORY_TEST_PROM_TOKEN}"`} {
		t.Run(strings.Fields(auth)[0], func(t *testing.T) {
			orig, _ := os.ReadFile(cfgPath)
			defer os.WriteFile(cfgPath, orig, 0o644)
			withProm(auth)
			cfg, err := config.Load(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			var logBuf bytes.Buffer
			s := &Server{Config: cfg, ConfigPath: cfgPath, Token: apiToken, Logger: slog.New(slog.NewJSONHandler(&logBuf, nil))}
			ctx := context.Background()
			if err := s.Open(ctx); err != nil {
				t.Fatal(err)
			}
			defer s.Close(ctx, true)
			for _, path := range []string{"/healthz", "/metrics", "/api/v1/services", "/api/v1/services/checkout", "/api/v1/log", "/api/v1/log/verify",
				"/api/v1/candidates", "/api/v1/intake/runs", "/api/v1/config"} {
				resp, err := http.Get(s.URL() + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: %s", path, resp.Status)
				}
				leaks("GET "+path, string(body))
			}
			// A failed authentication is logged without what was sent.
			req, _ := http.NewRequest(http.MethodPost, s.URL()+"/api/v1/config/reload", strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer "+promPassword)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
			s.Close(ctx, true)
			leaks("serve's log", logBuf.String())
			if !strings.Contains(logBuf.String(), "authentication failed") {
				t.Errorf("the failed authentication is not in serve's log:\n%s", logBuf.String())
			}
		})
	}
}
