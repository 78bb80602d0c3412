package http

import (
	"context"
	"net/http"
	"net/url"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/app"
)

// DismissRequest is the body of POST /api/v1/board/dismiss.
type DismissRequest struct {
	Upgrade string `json:"upgrade"`
	Actor   string `json:"actor"`
	Reason  string `json:"reason"`
}

func (s *Server) lineRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/board", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		b, err := s.App.Board(r.Context(), app.BoardFilter{Service: q.Get("service"), All: q.Get("all") == "true"})
		if err != nil {
			s.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, b)
	})
	mux.HandleFunc("GET /api/v1/servicemap", func(w http.ResponseWriter, r *http.Request) {
		m, err := s.App.ServiceMap(r.Context())
		if err != nil {
			s.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
	mux.HandleFunc("POST /api/v1/board/dismiss", s.authorized(upfactory.RoleOperator, "board dismiss", func(w http.ResponseWriter, r *http.Request) {
		var req DismissRequest
		if err := decode(r, &req); err != nil {
			s.Error(w, r, err)
			return
		}
		u, err := s.App.Dismiss(r.Context(), req.Upgrade, actor(r, req.Actor), req.Reason)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, u)
	}))
}

// Board returns the line's upgrades.
func (c *Client) Board(ctx context.Context, service string, all bool) (*app.Board, error) {
	q := url.Values{}
	if service != "" {
		q.Set("service", service)
	}
	if all {
		q.Set("all", "true")
	}
	var out app.Board
	return &out, c.do(ctx, http.MethodGet, "/api/v1/board?"+q.Encode(), nil, &out)
}

// Dismiss takes an upgrade off the line.
func (c *Client) Dismiss(ctx context.Context, upgrade, actor, reason string) (*upfactory.Upgrade, error) {
	var out upfactory.Upgrade
	return &out, c.do(ctx, http.MethodPost, "/api/v1/board/dismiss", DismissRequest{Upgrade: upgrade, Actor: actor, Reason: reason}, &out)
}
