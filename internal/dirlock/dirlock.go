// Package dirlock gives one process at a time a data dir: an OS file lock
// (flock) on a file inside it, which the kernel releases when the holder
// exits, so even a kill -9 leaves no stale lock behind.
//
// Written here rather than taken from a library: it is one system call and
// a few lines of who-holds-it bookkeeping.
package dirlock

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// FileName is the lock file inside the data dir.
const FileName = "serve.lock"

// Holder says who holds a data dir. It is written into the lock file for
// the next process that finds the dir taken.
type Holder struct {
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
	API   string    `json:"api,omitempty"`
	// Config is the config file the holder runs, ConfigSHA256 the SHA-256
	// of the content it last loaded, at ConfigLoadedAt: a command that
	// reads the file can tell that the server runs an older one.
	Config         string    `json:"config,omitempty"`
	ConfigSHA256   string    `json:"config_sha256,omitempty"`
	ConfigLoadedAt time.Time `json:"config_loaded_at,omitzero"`
}

// Lock is a held data dir. Release it, or exit: the kernel releases it too.
type Lock struct {
	f    *os.File
	path string
}

// HeldError is returned when another process holds the data dir.
type HeldError struct {
	Dir    string
	Holder Holder // zero when the holder wrote nothing yet
}

func (e *HeldError) Error() string {
	h := e.Holder
	if h.PID == 0 {
		return fmt.Sprintf("data dir %s is in use by another upfactory serve: one server per data dir", e.Dir)
	}
	msg := fmt.Sprintf("data dir %s is in use by upfactory serve, pid %d, since %s", e.Dir, h.PID, h.Since.Local().Format(time.DateTime))
	if h.API != "" {
		msg += ", API " + h.API
	}
	return msg + ": one server per data dir; stop that one or give this one another server.data_dir"
}

// Acquire takes dir for this process, or returns a *HeldError naming the
// process that holds it. It never waits.
func Acquire(dir string, h Holder) (*Lock, error) {
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			held := &HeldError{Dir: dir}
			if b, err := os.ReadFile(path); err == nil {
				_ = json.Unmarshal(b, &held.Holder) // an empty or half-written file names nobody
			}
			return nil, held
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	l := &Lock{f: f, path: path}
	if err := l.Update(h); err != nil {
		l.Release()
		return nil, err
	}
	return l, nil
}

// Peek tells whether a process holds dir, and who, without taking it.
func Peek(dir string) (h Holder, held bool, err error) {
	path := filepath.Join(dir, FileName)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return Holder{}, false, nil
	}
	if err != nil {
		return Holder{}, false, fmt.Errorf("opening lock file: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		return Holder{}, false, nil // closing f drops this shared lock
	} else if !errors.Is(err, syscall.EWOULDBLOCK) {
		return Holder{}, false, fmt.Errorf("locking %s: %w", path, err)
	}
	b, err := os.ReadFile(path)
	if err == nil {
		_ = json.Unmarshal(b, &h)
	}
	return h, true, nil
}

// Update rewrites who holds the lock, for instance once the API listens.
func (l *Lock) Update(h Holder) error {
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("writing lock file: %w", err)
	}
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("writing lock file: %w", err)
	}
	if _, err := l.f.WriteAt(append(b, '\n'), 0); err != nil {
		return fmt.Errorf("writing lock file: %w", err)
	}
	return nil
}

// Release gives the data dir up. The file stays: removing it would let a
// process that opened it before the removal lock an orphan.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor drops the flock
	l.f = nil
	return err
}
