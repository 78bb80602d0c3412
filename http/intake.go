package http

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/intake"
)

// Intake is the intake stage as the API offers it.
type Intake struct {
	Store upfactory.IntakeStore
	// Run runs intake once; trigger is "api".
	Run func(ctx context.Context, trigger string) (*intake.Report, error)
	// Now is the clock of acknowledgements; nil is time.Now.
	Now func() time.Time
}

// CandidatesResponse is the body of GET /api/v1/candidates.
type CandidatesResponse struct {
	Candidates []*upfactory.Candidate `json:"candidates"`
}

// AckRequest is the body of POST /api/v1/candidates/{id}/ack.
type AckRequest struct {
	Actor string `json:"actor"`
}

func (s *Server) intakeRoutes(mux *http.ServeMux) {
	if s.Intake == nil {
		return
	}
	mux.HandleFunc("GET /api/v1/candidates", s.handleCandidates)
	mux.HandleFunc("GET /api/v1/candidates/{id}", s.handleCandidate)
	mux.HandleFunc("POST /api/v1/candidates/{id}/ack", s.authorized(upfactory.RoleOperator, "candidate ack", s.handleAck))
	mux.HandleFunc("GET /api/v1/intake/runs", s.handleIntakeRuns)
	mux.HandleFunc("POST /api/v1/intake/runs", s.authorized(upfactory.RoleOperator, "intake run", s.handleIntakeRun))
}

func (s *Server) handleCandidates(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := upfactory.CandidateFilter{Service: q.Get("service"), Resolved: q.Get("all") == "true" || q.Get("all") == "1"}
	cands, err := s.Intake.Store.Candidates(r.Context(), f)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, CandidatesResponse{Candidates: cands})
}

func (s *Server) handleCandidate(w http.ResponseWriter, r *http.Request) {
	c, err := s.Intake.Store.Candidate(r.Context(), r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) handleAck(w http.ResponseWriter, r *http.Request) {
	var req AckRequest
	if err := decode(r, &req); err != nil {
		s.Error(w, r, err)
		return
	}
	now := time.Now
	if s.Intake.Now != nil {
		now = s.Intake.Now
	}
	c, err := intake.Ack(r.Context(), s.Intake.Store, r.PathValue("id"), actor(r, req.Actor), now())
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) handleIntakeRuns(w http.ResponseWriter, r *http.Request) {
	runs, err := s.Intake.Store.IntakeRuns(r.Context(), 50)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

func (s *Server) handleIntakeRun(w http.ResponseWriter, r *http.Request) {
	rep, err := s.Intake.Run(r.Context(), "api")
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, rep)
}

// Candidates lists candidates; all includes resolved ones.
func (c *Client) Candidates(ctx context.Context, service string, all bool) ([]*upfactory.Candidate, error) {
	path := "/api/v1/candidates?service=" + url.QueryEscape(service)
	if all {
		path += "&all=true"
	}
	var out CandidatesResponse
	err := c.do(ctx, http.MethodGet, path, nil, &out)
	return out.Candidates, err
}

// Candidate returns one candidate.
func (c *Client) Candidate(ctx context.Context, id string) (*upfactory.Candidate, error) {
	var out upfactory.Candidate
	if err := c.do(ctx, http.MethodGet, "/api/v1/candidates/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Ack acknowledges a candidate's breaking items as actor.
func (c *Client) Ack(ctx context.Context, id, actor string) (*upfactory.Candidate, error) {
	var out upfactory.Candidate
	if err := c.do(ctx, http.MethodPost, "/api/v1/candidates/"+url.PathEscape(id)+"/ack", AckRequest{Actor: actor}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RunIntake asks the server to run intake now.
func (c *Client) RunIntake(ctx context.Context) (*intake.Report, error) {
	var out intake.Report
	if err := c.do(ctx, http.MethodPost, "/api/v1/intake/runs", struct{}{}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
