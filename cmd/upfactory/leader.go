package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/upfactory/upfactory"
)

// leaseName is the lease the servers sharing a store elect their leader
// by: the one that runs the engine.
const leaseName = "engine"

// forwardedHeader marks a request a follower forwarded, so that two
// followers that each think the other leads do not pass it back and forth.
const forwardedHeader = "X-Upfactory-Forwarded-By"

// defaultReplica names a server by its host and data dir: unique among the
// servers of one machine (each holds its own data dir) and the same after
// a restart, so a server that comes back before its lease expired leads
// again at once.
func defaultReplica(dataDir string) string {
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	return host + ":" + dataDir
}

// URL is the base URL the server's API answers on.
func (s *Server) URL() string { return "http://" + s.frontLn.Addr().String() }

// openFront listens on addr and answers there from now on: health
// itself, the API once this server leads, and until then by forwarding
// to the leader.
func (s *Server) openFront(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listening on %s: %w", addr, err)
	}
	s.frontLn = ln
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /api/v1/health", s.handleHealth)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if h := s.leading.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		s.forward(w, r)
	})
	s.front = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.front.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("api server stopped", "err", err)
		}
	}()
	return nil
}

// Health is what GET /api/v1/health answers.
type Health struct {
	Leader        bool      `json:"leader"`
	Replica       string    `json:"replica"`
	LeaderReplica string    `json:"leader_replica"`
	LeaderAPI     string    `json:"leader_api"`
	LeaseToken    int64     `json:"lease_token"`
	LeaseExpires  time.Time `json:"lease_expires"`
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	h := Health{Leader: s.leading.Load() != nil, Replica: s.Replica}
	if l := s.lease.Load(); l != nil {
		h.LeaderReplica, h.LeaderAPI, h.LeaseToken, h.LeaseExpires = l.Holder, l.Addr, l.Token, l.Expires
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(h)
}

// forward passes a request to the leader's API, as it is (its token
// included); 503 while no other server is known to lead.
func (s *Server) forward(w http.ResponseWriter, r *http.Request) {
	l := s.lease.Load()
	if l == nil || l.Addr == "" || l.Holder == s.Replica || r.Header.Get(forwardedHeader) != "" {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": upfactory.EUNAVAILABLE,
			"message": "no server leads yet: this one (" + s.Replica + ") follows and has no leader to forward to; try again"}})
		return
	}
	target := &url.URL{Scheme: "http", Host: l.Addr}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set(forwardedHeader, s.Replica)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.Logger.Warn("forwarding to the leader failed", "leader", l.Holder, "api", l.Addr, "err", err)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": upfactory.EUNAVAILABLE,
				"message": fmt.Sprintf("the leader %s at %s did not answer: %v", l.Holder, l.Addr, err)}})
		},
	}
	p.ServeHTTP(w, r)
}

// campaign renews the lease while this server leads, and tries to take it
// while it follows, every third of its time to live. A leader that cannot
// renew for a whole lease time, or finds another holder, has lost it: it
// says so on Lost and leads no more (its store's writes are fenced).
func (s *Server) campaign(ctx context.Context, leading bool) {
	ttl := s.cfg().Server.Lease.D()
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-ctx.Done():
			if leading {
				// Let a follower take over at once rather than after the lease time.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				s.Store.ReleaseLease(rctx, leaseName, s.Replica)
				cancel()
			}
			return
		case <-t.C:
		}
		l, held, err := s.Store.AcquireLease(ctx, leaseName, s.Replica, s.frontLn.Addr().String(), ttl)
		switch {
		case err != nil && leading:
			if time.Since(renewed) < ttl {
				s.Logger.Warn("renewing the lease failed; trying again", "err", err)
				continue
			}
			s.lost(fmt.Errorf("the lease could not be renewed for %v: %w", ttl, err))
			return
		case err != nil:
			s.Logger.Warn("reading the lease failed; trying again", "err", err)
			continue
		}
		s.lease.Store(&l)
		switch {
		case leading && !held:
			s.lost(fmt.Errorf("%s holds it now (token %d)", l.Holder, l.Token))
			return
		case leading:
			renewed = time.Now()
		case held:
			s.Logger.Info("the lease was free: taking over", "replica", s.Replica, "lease_token", l.Token)
			if err := s.lead(ctx, l); err != nil {
				s.lost(fmt.Errorf("taking over: %w", err))
				return
			}
			leading, renewed = true, time.Now()
		}
	}
}

func (s *Server) lost(err error) {
	s.leading.Store(nil) // no more API answers from this server's engine
	select {
	case s.Lost <- err:
	default:
	}
}
