// Package http serves upfactory's JSON API and is its client: the CLI talks
// to a running server only through Client. Error codes map to HTTP statuses
// in one place, ErrorStatusCode.
package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/app"
	"github.com/upfactory/upfactory/rollout"
)

// Server is the API of a running `upfactory serve`.
type Server struct {
	// App decides and carries out every request that changes something.
	App   *app.App
	Store upfactory.Store
	// Token, when set, is the bearer token every mutating call must carry.
	Token    string
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// Intake, when set, serves candidates and runs intake.
	Intake *Intake
	// Config, when set, tells which config is in force and reloads it.
	Config *Config

	ln  net.Listener
	srv *http.Server
}

// Open listens on addr (host:port; port 0 picks one) and serves in the background.
func (s *Server) Open(addr string) error {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listening on %s: %w", addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("api server stopped", "err", err)
		}
	}()
	return nil
}

// URL is the base URL the server answers on.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops accepting requests and waits for those in flight.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	if s.Gatherer != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{}))
	}
	mux.HandleFunc("GET /api/v1/services", s.handleServices)
	mux.HandleFunc("GET /api/v1/services/{service}", s.handleStatus)
	mux.HandleFunc("POST /api/v1/services/{service}/rollouts", s.authorized(upfactory.RoleOperator, "rollout start", s.handleStart))
	mux.HandleFunc("POST /api/v1/services/{service}/actions/{action}", s.authorized(upfactory.RoleOperator, "rollout action", s.handleAction))
	mux.HandleFunc("GET /api/v1/log", s.handleLog)
	mux.HandleFunc("GET /api/v1/log/verify", s.handleVerify)
	s.intakeRoutes(mux)
	s.configRoutes(mux)
	s.lineRoutes(mux)
	s.statusRoutes(mux)
	return mux
}

// authorized guards a call that changes something. When the server has a
// bootstrap token (--api-token) or named tokens are live, the call must
// carry one (401 otherwise: the server log says who tried what, never
// what was sent); the token's identity goes into the request's context,
// and its role must allow need (403 otherwise, logged in the operation
// log with the identity and the action). The application layer then
// checks finer rules (approvals, four eyes) and takes the actor from the
// identity.
func (s *Server) authorized(need upfactory.Role, action string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		configured, err := s.App.TokensConfigured(ctx, s.Token)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		if !configured {
			h(w, r)
			return
		}
		header := r.Header.Get("Authorization")
		secret, ok := strings.CutPrefix(header, "Bearer ")
		var id upfactory.Identity
		switch {
		case header == "":
			err = upfactory.Errorf(upfactory.EUNAUTHORIZED, "this server requires a bearer token for changes and none was sent: set --api-token or UPFACTORY_API_TOKEN")
		case !ok:
			err = upfactory.Errorf(upfactory.EUNAUTHORIZED, "the Authorization header is not a bearer token: send \"Authorization: Bearer TOKEN\"")
		default:
			id, err = s.App.Authenticate(ctx, secret, s.Token)
		}
		if err != nil {
			if upfactory.ErrorCode(err) == upfactory.EUNAUTHORIZED {
				s.Logger.Warn("authentication failed", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "action", action, "reason", upfactory.ErrorMessage(err))
			}
			s.Error(w, r, err)
			return
		}
		ctx = app.WithIdentity(ctx, id)
		if _, err := s.App.Authorize(ctx, need, action, r.PathValue("service"), ""); err != nil {
			s.Logger.Warn("forbidden", "identity", id.Name, "role", id.Role, "method", r.Method, "path", r.URL.Path, "action", action)
			s.Error(w, r, err)
			return
		}
		h(w, r.WithContext(ctx))
	}
}

// actor is who a guarded call records: the identity of its token, or the
// name the request gives for the bootstrap token and when no token is
// configured.
func actor(r *http.Request, given string) string {
	if id, ok := app.IdentityFrom(r.Context()); ok && !id.Bootstrap {
		return id.Name
	}
	return given
}

func (s *Server) handleServices(w http.ResponseWriter, r *http.Request) {
	out, err := s.App.Services(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, err := s.App.Status(r.Context(), r.PathValue("service"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// StartRequest is the body of POST /api/v1/services/{service}/rollouts.
type StartRequest struct {
	Version string `json:"version"`
	Actor   string `json:"actor"`
	// Candidates are the IDs of the upgrades the rollout delivers besides
	// the service's own release.
	Candidates []string `json:"candidates,omitempty"`
}

// ActionRequest is the body of POST /api/v1/services/{service}/actions/{action}.
type ActionRequest struct {
	Actor   string `json:"actor"`
	Comment string `json:"comment,omitempty"`
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return upfactory.Errorf(upfactory.EINVALID, "reading request body: %v", err)
	}
	return nil
}

func (s *Server) handleStart(w http.ResponseWriter, r *http.Request) {
	var req StartRequest
	if err := decode(r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	if req.Version == "" {
		s.Error(w, r, upfactory.Errorf(upfactory.EINVALID, "a version is required"))
		return
	}
	st, err := s.App.StartRollout(r.Context(), app.StartRequest{Service: r.PathValue("service"), Version: req.Version, Actor: req.Actor, Candidates: req.Candidates})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, st)
}

func (s *Server) handleAction(w http.ResponseWriter, r *http.Request) {
	var req ActionRequest
	if err := decode(r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	st, err := s.App.Do(r.Context(), r.PathValue("service"), rollout.Command{Action: r.PathValue("action"), Actor: req.Actor, Comment: req.Comment})
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// LogResponse is the body of GET /api/v1/log.
type LogResponse struct {
	Entries []upfactory.LogEntry `json:"entries"`
}

func (s *Server) handleLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := upfactory.LogFilter{Service: q.Get("service")}
	for key, dst := range map[string]*int64{"after": &f.AfterSeq} {
		if v := q.Get(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				s.Error(w, r, upfactory.Errorf(upfactory.EINVALID, "query parameter %s=%q: want a whole number", key, v))
				return
			}
			*dst = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.Error(w, r, upfactory.Errorf(upfactory.EINVALID, "query parameter limit=%q: want a whole number", v))
			return
		}
		f.Limit = n
	}
	f.Newest = q.Get("newest") == "true"
	entries, err := s.Store.Log(r.Context(), f)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if entries == nil {
		entries = []upfactory.LogEntry{}
	}
	writeJSON(w, http.StatusOK, LogResponse{Entries: entries})
}

func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	v, err := s.Store.VerifyLog(r.Context())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details,omitempty"`
	} `json:"error"`
}

// Error writes err as JSON with the status its code maps to. Internal
// errors are logged and their details kept from the client.
func (s *Server) Error(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := upfactory.ErrorCode(err), upfactory.ErrorMessage(err)
	if code == upfactory.EINTERNAL {
		s.Logger.Error("api error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var body ErrorResponse
	body.Error.Code, body.Error.Message = code, msg
	if e, ok := errors.AsType[*upfactory.Error](err); ok && e.Details != nil && code != upfactory.EINTERNAL {
		if b, err := json.Marshal(e.Details); err == nil {
			body.Error.Details = b
		}
	}
	writeJSON(w, ErrorStatusCode(code), body)
}

var codes = map[string]int{
	upfactory.ECONFLICT:     http.StatusConflict,
	upfactory.EINVALID:      http.StatusBadRequest,
	upfactory.ENOTFOUND:     http.StatusNotFound,
	upfactory.EUNAUTHORIZED: http.StatusUnauthorized,
	upfactory.EFORBIDDEN:    http.StatusForbidden,
	upfactory.EUNAVAILABLE:  http.StatusServiceUnavailable,
	upfactory.EINTERNAL:     http.StatusInternalServerError,
}

// ErrorStatusCode maps an error code to its HTTP status.
func ErrorStatusCode(code string) int {
	if v, ok := codes[code]; ok {
		return v
	}
	return http.StatusInternalServerError
}

// FromErrorStatusCode maps an HTTP status back to an error code.
func FromErrorStatusCode(status int) string {
	for k, v := range codes {
		if v == status {
			return k
		}
	}
	return upfactory.EINTERNAL
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
