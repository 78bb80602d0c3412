package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/config"
	uhttp "github.com/upfactory/upfactory/http"
	"github.com/upfactory/upfactory/internal/dirlock"
)

// fileSum is the SHA-256 of a config file's content, how a reload and a
// command tell that the file changed.
func fileSum(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// cfg is the config in force: the one Open started with, or the last
// one a reload applied.
func (s *Server) cfg() *upfactory.Config { return s.current.Load() }

// ConfigStatus says which config the server runs and whether its file
// changed since.
func (s *Server) ConfigStatus() uhttp.ConfigStatus {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	st := uhttp.ConfigStatus{Path: s.ConfigPath, SHA256: s.configSum, LoadedAt: s.loadedAt}
	if s.ConfigPath != "" {
		if sum, err := fileSum(s.ConfigPath); err != nil {
			st.FileError = err.Error()
		} else {
			st.FileSHA256 = sum
			st.Changed = sum != s.configSum
		}
	}
	return st
}

// Reload reads the config file again and applies it the way Caddy does:
// the new config is loaded and validated whole, then swapped in at once;
// on any problem the running config stays in force and the error says
// why. Changes that need a restart (config.RestartNeeded) and changes to a
// service with a rollout going on are refused. Every reload, applied or
// refused, is in the operation log.
func (s *Server) Reload(ctx context.Context, actor string) (uhttp.ConfigStatus, error) {
	if s.ConfigPath == "" {
		return uhttp.ConfigStatus{}, upfactory.Errorf(upfactory.EINVALID, "this server was not started from a config file: nothing to reload")
	}
	err := s.reload(ctx, actor)
	if err != nil {
		s.Logger.Error("config reload refused: the running config stays in force", "config", s.ConfigPath, "by", actor, "err", err)
		if rerr := s.Store.AppendLog(ctx, []upfactory.LogEntry{{Time: time.Now(), Actor: actor, Action: "config.reload-refused",
			Subject: s.ConfigPath, Reason: err.Error()}}); rerr != nil {
			return s.ConfigStatus(), fmt.Errorf("%w (and recording the refusal failed: %v)", err, rerr)
		}
	}
	return s.ConfigStatus(), err
}

func (s *Server) reload(ctx context.Context, actor string) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	sum, err := fileSum(s.ConfigPath)
	if err != nil {
		return upfactory.Errorf(upfactory.EINVALID, "reading config: %v", err)
	}
	next, err := config.Load(s.ConfigPath)
	if err != nil {
		return upfactory.Errorf(upfactory.EINVALID, "%s cannot be used:\n%v", s.ConfigPath, err)
	}
	old := s.cfg()
	if keys := config.RestartNeeded(old, next); len(keys) > 0 {
		return upfactory.Errorf(upfactory.ECONFLICT, "the new config changes %s: restart serve to apply it", strings.Join(keys, ", "))
	}
	var delivered []*upfactory.Service
	for _, svc := range next.Services {
		if svc.Delivered() {
			delivered = append(delivered, svc)
		}
	}
	entry := upfactory.LogEntry{Time: time.Now(), Actor: actor, Action: "config.reload", Subject: s.ConfigPath,
		Reason: "config reloaded", Values: map[string]any{"sha256": sum, "previous_sha256": s.configSum}}
	// Written down before anything applies: a reload the log cannot record
	// does not happen.
	if err := s.Engine.Reconfigure(delivered, func() error {
		if err := s.Store.AppendLog(ctx, []upfactory.LogEntry{entry}); err != nil {
			return fmt.Errorf("recording the reload in the operation log: %w", err)
		}
		return nil
	}); err != nil {
		return err
	}
	s.current.Store(next)
	s.configSum, s.loadedAt, s.warnedSum = sum, time.Now(), ""
	s.holder.Config, s.holder.ConfigSHA256, s.holder.ConfigLoadedAt = s.ConfigPath, sum, s.loadedAt
	if err := s.lock.Update(s.holder); err != nil {
		s.Logger.Warn("data dir lock file", "err", err)
	}
	if old.Intake.Schedule != next.Intake.Schedule {
		select {
		case s.scheduleChanged <- struct{}{}:
		default:
		}
	}
	s.Logger.Info("config reloaded", "config", s.ConfigPath, "by", actor, "sha256", sum[:12])
	return nil
}

// watchConfigFile says once, in serve's output, when the config file has
// changed since it was loaded and was not reloaded.
func (s *Server) watchConfigFile(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st := s.ConfigStatus()
		s.reloadMu.Lock()
		if st.Changed && st.FileSHA256 != s.warnedSum {
			s.warnedSum = st.FileSHA256
			s.Logger.Warn("the config file changed since it was loaded: this server still runs the old one; apply it with `upfactory reload` or SIGHUP",
				"config", s.ConfigPath, "loaded_at", s.loadedAt.Format(time.RFC3339))
		}
		s.reloadMu.Unlock()
	}
}

// staleConfig is the warning a command that reads cfgPath prints when a
// running serve on the same data dir runs other content than the file has.
func staleConfig(cfgPath string, cfg *upfactory.Config) string {
	h, held, err := dirlock.Peek(cfg.Server.DataDir)
	if err != nil || !held || h.ConfigSHA256 == "" {
		return ""
	}
	sum, err := fileSum(cfgPath)
	if err != nil || sum == h.ConfigSHA256 {
		return ""
	}
	return fmt.Sprintf("warning: %s has changed since upfactory serve (pid %d) loaded it at %s; the server still runs the old config: `upfactory reload` or `kill -HUP %d` applies it",
		cfgPath, h.PID, h.ConfigLoadedAt.Local().Format(time.DateTime), h.PID)
}

// loadConfig loads cfgPath for a command and warns on stderr when a running
// server runs an older version of it.
func loadConfig(cfgPath string, stderr io.Writer) (*upfactory.Config, error) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, err
	}
	if w := staleConfig(cfgPath, cfg); w != "" {
		fmt.Fprintln(stderr, w)
	}
	return cfg, nil
}

func newReloadCmd(g *globals) *cobra.Command {
	var as string
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Make a running serve read its config file again (as SIGHUP does); the running config stays on any error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.client().ReloadConfig(cmd.Context(), as)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(st)
			}
			fmt.Fprintf(g.stdout, "reloaded %s (sha256 %s) at %s\n", st.Path, short(st.SHA256), st.LoadedAt.Local().Format(time.DateTime))
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", currentUser(), "who asks, for the operation log")
	return cmd
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12]
	}
	return sum
}
