// Package shop is the small sample service that ships inside the upfactory
// binary so `upfactory demo` needs nothing installed. Some versions regress
// on purpose (see Profiles), which is what the demo's canary must catch.
package shop

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// Profile is how one version of the shop behaves.
type Profile struct {
	ErrorRate    float64       // share of API requests answered 500
	ExtraLatency time.Duration // added to every API request
	NeverReady   bool          // /healthz never answers 200
	Note         string
}

// Profiles lists the versions that behave differently from a healthy shop.
// Every other version is healthy.
var Profiles = map[string]Profile{
	"1.1.0": {ErrorRate: 0.08, ExtraLatency: 120 * time.Millisecond, Note: "regression: 8% of API calls fail and every call is 120ms slower"},
	"2.1.0": {ErrorRate: 0.08, ExtraLatency: 120 * time.Millisecond, Note: "regression: 8% of API calls fail and every call is 120ms slower"},
	"9.9.9": {NeverReady: true, Note: "broken build: never passes readiness"},
}

// Main runs the shop until SIGINT or SIGTERM. args are the flags without the
// program name.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8081", "address to serve on")
	version := fs.String("version", "1.0.0", "version this instance reports and behaves as")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("shop: %w", err)
	}
	s := &http.Server{Handler: Handler(*version), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(sctx)
	}()
	fmt.Fprintf(stderr, "shop %s listening on %s\n", *version, ln.Addr())
	if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Handler serves the shop's pages and API as version.
func Handler(version string) http.Handler {
	p := Profiles[version]
	var orders atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if p.NeverReady {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	api := func(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Shop-Version", version)
			// Real handlers take a little time; the jitter gives latency a shape.
			time.Sleep(time.Duration(1+rand.IntN(3))*time.Millisecond + p.ExtraLatency)
			if p.ErrorRate > 0 && rand.Float64() < p.ErrorRate {
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /{$}", api(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!doctype html><title>shop</title><h1>Shop %s</h1>\n", version)
	}))
	mux.HandleFunc("GET /api/version", api(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"version": version})
	}))
	mux.HandleFunc("GET /api/products", api(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, []map[string]any{{"id": 1, "name": "mug", "price": 9.5}, {"id": 2, "name": "shirt", "price": 21}})
	}))
	mux.HandleFunc("POST /api/checkout", api(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		writeJSON(w, map[string]any{"order": orders.Add(1), "version": version})
	}))
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
