package http

import (
	"context"
	"net/http"
	"time"

	"github.com/upfactory/upfactory"
)

// Config is the config file of a running server as the API offers it.
type Config struct {
	Status func() ConfigStatus
	// Reload reads the file again and applies it, or keeps the running
	// config and says why.
	Reload func(ctx context.Context, actor string) (ConfigStatus, error)
}

// ConfigStatus is the body of GET /api/v1/config and of a reload's answer.
type ConfigStatus struct {
	Path     string    `json:"path"`
	SHA256   string    `json:"sha256"` // of the config in force
	LoadedAt time.Time `json:"loaded_at"`
	// FileSHA256 is the file's content now; Changed says it differs from
	// the config in force: a reload would apply it.
	FileSHA256 string `json:"file_sha256,omitempty"`
	Changed    bool   `json:"changed"`
	FileError  string `json:"file_error,omitempty"`
}

// ReloadRequest is the body of POST /api/v1/config/reload.
type ReloadRequest struct {
	Actor string `json:"actor"`
}

func (s *Server) configRoutes(mux *http.ServeMux) {
	if s.Config == nil {
		return
	}
	mux.HandleFunc("GET /api/v1/config", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Config.Status())
	})
	mux.HandleFunc("POST /api/v1/config/reload", s.authorized(upfactory.RoleAdmin, "config reload", func(w http.ResponseWriter, r *http.Request) {
		var req ReloadRequest
		if err := decode(r, &req); err != nil {
			s.Error(w, r, err)
			return
		}
		st, err := s.Config.Reload(r.Context(), orSystem(actor(r, req.Actor)))
		if err != nil {
			s.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	}))
}

func orSystem(actor string) string {
	if actor == "" {
		return "api"
	}
	return actor
}

// ConfigStatus says which config the server runs.
func (c *Client) ConfigStatus(ctx context.Context) (*ConfigStatus, error) {
	var out ConfigStatus
	return &out, c.do(ctx, http.MethodGet, "/api/v1/config", nil, &out)
}

// ReloadConfig makes the server read its config file again.
func (c *Client) ReloadConfig(ctx context.Context, actor string) (*ConfigStatus, error) {
	var out ConfigStatus
	return &out, c.do(ctx, http.MethodPost, "/api/v1/config/reload", ReloadRequest{Actor: actor}, &out)
}
