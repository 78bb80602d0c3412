// Package app is the application layer: the one place the CLI, the API
// and (later) the dashboard ask when they change what the factory does.
// It reads the config in force and the stores, has gates decided by the
// pure packages (policy, gate), and acts through the engine. A gate is
// therefore decided the same way whoever asks, and a refusal lists every
// closed gate at once. App holds no state of its own.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/upfactory/upfactory/gate"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/rollout"
)

// Store is every store the application layer reads and writes.
type Store interface {
	upfactory.Store
	upfactory.IntakeStore
	upfactory.CompatStore
	upfactory.PolicyStore
	upfactory.LineStore
	upfactory.IncidentStore
	upfactory.ReviewStore
	upfactory.TokenStore
}

// App answers the CLI's and the API's requests.
type App struct {
	// Config returns the config in force (a reload may replace it).
	Config func() *upfactory.Config
	Store  Store
	// Engine delivers rollouts; nil where this process delivers nothing
	// (a CLI command reading the store), and then the calls that need it
	// answer EINVALID.
	Engine *engine.Engine
	// Now is the clock; nil for time.Now.
	Now func() time.Time
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *App) engine() (*engine.Engine, error) {
	if a.Engine == nil {
		return nil, upfactory.Errorf(upfactory.EINVALID, "no server delivers rollouts from this process: run upfactory serve, and use the commands that talk to it")
	}
	return a.Engine, nil
}

// Services returns the status of every delivered service.
func (a *App) Services(ctx context.Context) ([]*engine.Status, error) {
	eng, err := a.engine()
	if err != nil {
		return nil, err
	}
	var out []*engine.Status
	for _, name := range eng.Services() {
		st, err := eng.Status(ctx, name)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Status returns the status of one service's rollout.
func (a *App) Status(ctx context.Context, service string) (*engine.Status, error) {
	eng, err := a.engine()
	if err != nil {
		return nil, err
	}
	return eng.Status(ctx, service)
}

// Do carries out a person's command on a service's rollout.
func (a *App) Do(ctx context.Context, service string, cmd rollout.Command) (*engine.Status, error) {
	eng, err := a.engine()
	if err != nil {
		return nil, err
	}
	need := upfactory.RoleOperator
	if cmd.Action == "approve" || cmd.Action == "promote" {
		need = upfactory.RoleApprover
	}
	if cmd.Actor, err = a.Authorize(ctx, need, "rollout "+cmd.Action, service, cmd.Actor); err != nil {
		return nil, err
	}
	if need == upfactory.RoleApprover {
		if err := a.mayApprove(ctx, eng, service, cmd); err != nil {
			return nil, err
		}
	}
	return eng.Do(ctx, service, cmd)
}

// mayApprove enforces an approval gate's role on the identity that
// approves, and four eyes: with roles.four_eyes the person who started a
// rollout may not approve or promote it.
func (a *App) mayApprove(ctx context.Context, eng *engine.Engine, service string, cmd rollout.Command) error {
	st, err := eng.Status(ctx, service)
	if err != nil {
		return err
	}
	if err := greenReady(a.Config().Service(service), st); err != nil {
		return err
	}
	id, hasID := IdentityFrom(ctx)
	if g := st.Gate; hasID && cmd.Action == "approve" && g != nil && g.Kind == "approval" {
		if need := upfactory.Role(g.Role); need.Known() && !id.Role.Allows(need) {
			err := upfactory.Errorf(upfactory.EFORBIDDEN, "this approval gate needs role %s; %s has %s", need, cmd.Actor, id.Role)
			return a.denied(ctx, cmd.Actor, "rollout approve", service, err)
		}
	}
	if a.Config().Roles.FourEyes && st.RolloutID != "" && !st.Phase.Done() && st.StartedBy == cmd.Actor {
		err := upfactory.Errorf(upfactory.EFORBIDDEN, "four eyes: %s started this rollout of %s and may not %s it; another person must", cmd.Actor, service, cmd.Action)
		return a.denied(ctx, cmd.Actor, "rollout "+cmd.Action, service, err)
	}
	return nil
}

// denied logs a refusal and returns it.
func (a *App) denied(ctx context.Context, actor, action, service string, err error) error {
	entry := upfactory.LogEntry{Time: a.now(), Actor: actor, Action: "auth.denied", Service: service, Subject: action, Reason: upfactory.ErrorMessage(err)}
	if lerr := a.Store.AppendLog(ctx, []upfactory.LogEntry{entry}); lerr != nil {
		return lerr
	}
	return err
}

// StartRequest asks for a rollout of Version to Service, delivering
// Candidates (IDs) besides the service's own release.
type StartRequest struct {
	Service    string   `json:"service"`
	Version    string   `json:"version"`
	Candidates []string `json:"candidates,omitempty"`
	Actor      string   `json:"actor"`
}

// StartRollout starts a rollout once every gate on the way into canary is
// open, or refuses (ECONFLICT) listing every closed gate. The version's
// own-release candidate is the one intake found, or is made now (logged)
// so that the release goes through the same gates. The service's config
// is snapshotted with the start.
func (a *App) StartRollout(ctx context.Context, req StartRequest) (*engine.Status, error) {
	eng, err := a.engine()
	if err != nil {
		return nil, err
	}
	if req.Actor, err = a.Authorize(ctx, upfactory.RoleOperator, "rollout start", req.Service, req.Actor); err != nil {
		return nil, err
	}
	svc, err := a.delivered(req.Service)
	if err != nil {
		return nil, err
	}
	if req.Version == "" {
		return nil, upfactory.Errorf(upfactory.EINVALID, "a version is required")
	}
	if err := upfactory.ValidVersion(req.Version); err != nil {
		return nil, upfactory.Errorf(upfactory.EINVALID, "version %q: %s", req.Version, upfactory.ErrorMessage(err))
	}
	if req.Actor == "" {
		req.Actor = "anonymous"
	}
	st, err := a.Store.State(ctx, svc.Name)
	if err != nil {
		return nil, err
	}
	switch {
	case rollout.Active(st):
		return nil, upfactory.Errorf(upfactory.ECONFLICT, "a rollout of %s %s is already in progress (phase %s, step %d); abort it or wait for it to finish",
			svc.Name, st.Rollout.CanaryVersion, st.Rollout.Phase, st.Rollout.StepIndex)
	case req.Version == st.StableVersion:
		return nil, upfactory.Errorf(upfactory.ECONFLICT, "version %s is already the stable version of %s", req.Version, svc.Name)
	}
	delivered, err := a.candidatesFor(ctx, svc, req.Candidates)
	if err != nil {
		return nil, err
	}
	now := a.now()
	appc, err := a.appCandidate(ctx, svc, req.Version)
	if err != nil {
		return nil, err
	}
	if appc == nil {
		if appc, err = a.newAppCandidate(ctx, svc, req.Version, now); err != nil {
			return nil, err
		}
		entry := upfactory.LogEntry{Time: now, Actor: req.Actor, Action: "candidate.add", Service: svc.Name, Subject: appc.ID,
			Reason: fmt.Sprintf("rollout start names %s %s, which no candidate named: it enters the line as %s's own release", svc.Name, req.Version, svc.Name),
			Values: map[string]any{"component": svc.Name, "from": appc.Current, "to": req.Version}}
		if err := a.Store.AddCandidate(ctx, appc, entry); err != nil {
			return nil, err
		}
		if appc, err = a.Store.Candidate(ctx, appc.ID); err != nil {
			return nil, err
		}
	}
	if err := a.SyncLine(ctx); err != nil {
		return nil, err
	}
	f, err := a.gather(ctx, svc, req.Version, appc, delivered, now)
	if err != nil {
		return nil, err
	}
	if closed := gate.Closed(canaryGates(f, a.Config().Policies, now)); len(closed) > 0 {
		return nil, refused(svc.Name, req.Version, closed)
	}
	snap, err := snapshot(svc, req.Version, now)
	if err != nil {
		return nil, err
	}
	if err := a.Store.SaveSnapshot(ctx, snap); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(f.delivered))
	for _, c := range f.delivered {
		ids = append(ids, c.ID)
	}
	out, err := eng.StartRollout(ctx, svc.Name, req.Version, req.Actor, ids...)
	if err != nil {
		return nil, err
	}
	// The line follows the log; a failure here is caught up by the next sync.
	_ = a.SyncLine(ctx)
	return out, nil
}

// snapshot is svc's config as JSON, with its SHA-256.
func snapshot(svc *upfactory.Service, version string, now time.Time) (upfactory.ConfigSnapshot, error) {
	b, err := json.Marshal(svc)
	if err != nil {
		return upfactory.ConfigSnapshot{}, fmt.Errorf("snapshotting the config of %s: %w", svc.Name, err)
	}
	sum := sha256.Sum256(b)
	return upfactory.ConfigSnapshot{Service: svc.Name, Version: version, At: now, SHA256: hex.EncodeToString(sum[:]), Config: string(b)}, nil
}

// greenReady refuses a blue-green promotion while an instance of the new
// version is not ready, naming them: promotion moves all traffic at once.
func greenReady(svc *upfactory.Service, st *engine.Status) error {
	if svc == nil || svc.Strategy.BlueGreen == nil || st.Gate == nil || st.Gate.Kind != "approval" {
		return nil
	}
	var notReady []string
	for _, v := range st.Versions {
		if v.Version != st.CanaryVersion {
			continue
		}
		for _, in := range v.Instances {
			if in.State != upfactory.InstanceReady {
				notReady = append(notReady, fmt.Sprintf("%s (%s)", in.ID, in.State))
			}
		}
	}
	if len(notReady) > 0 {
		return upfactory.Errorf(upfactory.ECONFLICT, "promotion of %s refused: not every instance is ready, and all traffic moves at once: %s", st.CanaryVersion, strings.Join(notReady, ", "))
	}
	return nil
}
