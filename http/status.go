package http

import (
	"net/http"

	"github.com/upfactory/upfactory/comms"
)

// statusRoutes serves the status feed: JSON with the fields of
// Statuspage's scheduled maintenances, and Atom.
func (s *Server) statusRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, r *http.Request) {
		f, err := s.App.StatusFeed(r.Context())
		if err != nil {
			s.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, f)
	})
	mux.HandleFunc("GET /api/v1/status/feed.atom", func(w http.ResponseWriter, r *http.Request) {
		f, err := s.App.StatusFeed(r.Context())
		if err != nil {
			s.Error(w, r, err)
			return
		}
		self := "http://" + r.Host + r.URL.Path
		atom, err := comms.Atom(*f, self)
		if err != nil {
			s.Error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
		w.Write([]byte(atom))
	})
}
