package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/sqlite"
	"github.com/upfactory/upfactory/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) upfactory.Store {
		return MustOpen(t, filepath.Join(t.TempDir(), "upfactory.db"))
	})
}

func TestIntakeStore(t *testing.T) {
	storetest.RunIntake(t, func(t *testing.T) storetest.IntakeStore {
		return MustOpen(t, filepath.Join(t.TempDir(), "upfactory.db"))
	})
}

func TestPolicyStore(t *testing.T) {
	storetest.RunPolicy(t, func(t *testing.T) storetest.PolicyStore {
		return MustOpen(t, filepath.Join(t.TempDir(), "upfactory.db"))
	})
}

func TestCompatStore(t *testing.T) {
	storetest.RunCompat(t, func(t *testing.T) storetest.CompatStore {
		return MustOpen(t, filepath.Join(t.TempDir(), "upfactory.db"))
	})
}

// MustOpen opens the store at path and closes it when the test ends.
func MustOpen(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(tb.Context(), path)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// MustRaw opens the database file at path bypassing the store, as an
// operator with the sqlite3 shell would, and closes it when the test ends.
func MustRaw(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	return raw
}

func mustExec(tb testing.TB, db *sql.DB, query string, args ...any) {
	tb.Helper()
	if _, err := db.ExecContext(tb.Context(), query, args...); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
}

func entry(service, action string, i int) upfactory.LogEntry {
	return upfactory.LogEntry{
		Time:    time.Date(2025, 3, 14, 15, 9, 26, 535897932+i, time.UTC),
		Actor:   upfactory.ActorSystem,
		Action:  action,
		Service: service,
		Subject: fmt.Sprintf("step %d", i),
		Reason:  "scheduled",
		Values:  map[string]any{"i": i, "weight": float64(i) / 4, "ok": i%2 == 0},
	}
}

// seed writes a state and n log entries, half through Save and half through
// AppendLog, and returns the entries as the store handed them back.
func seed(t *testing.T, db *sqlite.DB, n int) []upfactory.LogEntry {
	t.Helper()
	entries := make([]upfactory.LogEntry, n)
	for i := range entries {
		entries[i] = entry("checkout", "step.advance", i)
	}
	if err := db.Save(t.Context(), &upfactory.ServiceState{Service: "checkout", StableVersion: "v1"}, entries[:n/2]); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendLog(t.Context(), entries[n/2:]); err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestOpen(t *testing.T) {
	t.Run("CreatesDirectory", func(t *testing.T) {
		// Characters that mean something in a URI must not confuse the DSN.
		path := filepath.Join(t.TempDir(), "a dir?with#odd%chars", "nested", "upfactory.db")
		db := MustOpen(t, path)
		if err := db.Save(t.Context(), &upfactory.ServiceState{Service: "checkout"}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("database file not created where asked: %v", err)
		}
	})
	t.Run("EmptyPath", func(t *testing.T) {
		_, err := sqlite.Open(t.Context(), "")
		if code := upfactory.ErrorCode(err); code != upfactory.EINVALID {
			t.Fatalf("Open(\"\"): %v, want code %s", err, upfactory.EINVALID)
		}
	})
	t.Run("PathIsADirectory", func(t *testing.T) {
		if _, err := sqlite.Open(t.Context(), t.TempDir()); err == nil {
			t.Fatal("Open of a directory succeeded")
		}
	})
}

func TestReopenPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "upfactory.db")
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	st := &upfactory.ServiceState{Service: "checkout", StableVersion: "v1.4.0", PreviousVersion: "v1.3.0"}
	entries := []upfactory.LogEntry{entry("checkout", "rollout.start", 1), entry("checkout", "rollout.complete", 2)}
	if err := db.Save(t.Context(), st, entries); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = MustOpen(t, path)
	got, err := db.State(t.Context(), "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(st, got); diff != "" {
		t.Errorf("State after reopening (-saved +got):\n%s", diff)
	}
	log, err := db.Log(t.Context(), upfactory.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(entries, log); diff != "" {
		t.Errorf("Log after reopening (-saved +got):\n%s", diff)
	}

	// Revisions and the chain carry on where they stopped.
	more := []upfactory.LogEntry{entry("checkout", "rollout.start", 3)}
	if err := db.Save(t.Context(), got, more); err != nil {
		t.Fatal(err)
	}
	if got.Rev != 2 || more[0].Seq != 3 || more[0].PrevHash != entries[1].Hash {
		t.Errorf("Save after reopening: Rev %d, Seq %d, PrevHash %q; want 2, 3, %q", got.Rev, more[0].Seq, more[0].PrevHash, entries[1].Hash)
	}
	mustVerify(t, db, 3)
}

func TestMigrationsIdempotent(t *testing.T) {
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migration files found: %v", err)
	}
	path := filepath.Join(t.TempDir(), "upfactory.db")

	type applied struct{ Name, At string }
	read := func() (migrations []applied, schema []string) {
		t.Helper()
		raw := MustRaw(t, path)
		defer raw.Close()
		rows, err := raw.QueryContext(t.Context(), `SELECT name, applied_at FROM schema_migrations ORDER BY name`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a applied
			if err := rows.Scan(&a.Name, &a.At); err != nil {
				t.Fatal(err)
			}
			migrations = append(migrations, a)
		}
		rows.Close()
		rows, err = raw.QueryContext(t.Context(), `SELECT type || ' ' || name FROM sqlite_schema ORDER BY name`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			schema = append(schema, s)
		}
		rows.Close()
		return migrations, schema
	}

	db := MustOpen(t, path)
	seed(t, db, 4)
	db.Close()
	firstMigrations, firstSchema := read()
	if len(firstMigrations) != len(files) {
		t.Fatalf("schema_migrations holds %v after the first Open, want one row for each of %v", firstMigrations, files)
	}

	for range 2 {
		db := MustOpen(t, path)
		mustVerify(t, db, 4)
		db.Close()
	}
	migrations, schema := read()
	if diff := cmp.Diff(firstMigrations, migrations); diff != "" {
		t.Errorf("schema_migrations changed by reopening (-first +now):\n%s", diff)
	}
	if diff := cmp.Diff(firstSchema, schema); diff != "" {
		t.Errorf("schema changed by reopening (-first +now):\n%s", diff)
	}
}

func mustVerify(t *testing.T, db *sqlite.DB, n int64) {
	t.Helper()
	v, err := db.VerifyLog(t.Context())
	if err != nil {
		t.Fatalf("VerifyLog: %v", err)
	}
	if diff := cmp.Diff(&upfactory.LogVerification{OK: true, Entries: n}, v); diff != "" {
		t.Fatalf("VerifyLog (-want +got):\n%s", diff)
	}
}

// TestVerifyLogTampered edits the log behind the store's back, as someone with
// the database file could, and checks that VerifyLog names the entry.
func TestVerifyLogTampered(t *testing.T) {
	const n = 10
	tests := []struct {
		name   string
		tamper func(t *testing.T, raw *sql.DB, entries []upfactory.LogEntry)
		badSeq int64
	}{{
		name: "EditReason",
		tamper: func(t *testing.T, raw *sql.DB, _ []upfactory.LogEntry) {
			mustExec(t, raw, `UPDATE oplog SET reason = 'nothing to see' WHERE seq = 4`)
		},
		badSeq: 4,
	}, {
		name: "EditValues",
		tamper: func(t *testing.T, raw *sql.DB, _ []upfactory.LogEntry) {
			mustExec(t, raw, `UPDATE oplog SET "values" = '{"i":4,"ok":true,"weight":0.5}' WHERE seq = 6`)
		},
		badSeq: 6,
	}, {
		name: "RemoveValues",
		tamper: func(t *testing.T, raw *sql.DB, _ []upfactory.LogEntry) {
			mustExec(t, raw, `UPDATE oplog SET "values" = NULL WHERE seq = 6`)
		},
		badSeq: 6,
	}, {
		name: "GarbleValues",
		tamper: func(t *testing.T, raw *sql.DB, _ []upfactory.LogEntry) {
			mustExec(t, raw, `UPDATE oplog SET "values" = 'not json' WHERE seq = 3`)
		},
		badSeq: 3,
	}, {
		name: "EditTime",
		tamper: func(t *testing.T, raw *sql.DB, _ []upfactory.LogEntry) {
			mustExec(t, raw, `UPDATE oplog SET time = '2025-03-14T15:09:27.535897933Z' WHERE seq = 2`)
		},
		badSeq: 2,
	}, {
		name: "GarbleTime",
		tamper: func(t *testing.T, raw *sql.DB, _ []upfactory.LogEntry) {
			mustExec(t, raw, `UPDATE oplog SET time = 'yesterday' WHERE seq = 2`)
		},
		badSeq: 2,
	}, {
		name: "DeleteFirst",
		tamper: func(t *testing.T, raw *sql.DB, _ []upfactory.LogEntry) {
			mustExec(t, raw, `DELETE FROM oplog WHERE seq = 1`)
		},
		badSeq: 1,
	}, {
		name: "DeleteMiddle",
		tamper: func(t *testing.T, raw *sql.DB, _ []upfactory.LogEntry) {
			mustExec(t, raw, `DELETE FROM oplog WHERE seq = 5`)
		},
		badSeq: 5,
	}, {
		name: "DeleteLastLeavingHead",
		tamper: func(t *testing.T, raw *sql.DB, _ []upfactory.LogEntry) {
			mustExec(t, raw, `DELETE FROM oplog WHERE seq = ?`, n)
		},
		badSeq: n,
	}, {
		name: "RenumberAfterDeleting",
		tamper: func(t *testing.T, raw *sql.DB, _ []upfactory.LogEntry) {
			mustExec(t, raw, `DELETE FROM oplog WHERE seq = 5`)
			mustExec(t, raw, `UPDATE oplog SET seq = seq - 1 WHERE seq > 5`)
		},
		badSeq: 5,
	}, {
		name: "RehashWithoutRelinking",
		tamper: func(t *testing.T, raw *sql.DB, entries []upfactory.LogEntry) {
			e := entries[3] // seq 4
			e.Reason = "nothing to see"
			mustExec(t, raw, `UPDATE oplog SET reason = ?, hash = ? WHERE seq = ?`, e.Reason, e.ComputeHash(), e.Seq)
		},
		badSeq: 5,
	}, {
		name: "RehashLastWithoutHead",
		tamper: func(t *testing.T, raw *sql.DB, entries []upfactory.LogEntry) {
			e := entries[n-1]
			e.Reason = "nothing to see"
			mustExec(t, raw, `UPDATE oplog SET reason = ?, hash = ? WHERE seq = ?`, e.Reason, e.ComputeHash(), e.Seq)
		},
		badSeq: n,
	}, {
		name: "AppendWithoutHead",
		tamper: func(t *testing.T, raw *sql.DB, entries []upfactory.LogEntry) {
			e := []upfactory.LogEntry{entry("checkout", "rollout.complete", n)}
			e[0].Values = nil
			upfactory.Chain(e, entries[n-1].Seq, entries[n-1].Hash)
			mustExec(t, raw, `INSERT INTO oplog (seq, time, actor, action, service, subject, reason, "values", prev_hash, hash)
				VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`, e[0].Seq, e[0].Time.Format(time.RFC3339Nano),
				e[0].Actor, e[0].Action, e[0].Service, e[0].Subject, e[0].Reason, e[0].PrevHash, e[0].ComputeHash())
		},
		badSeq: n + 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "upfactory.db")
			db := MustOpen(t, path)
			entries := seed(t, db, n)
			mustVerify(t, db, n)

			tt.tamper(t, MustRaw(t, path), entries)

			v, err := db.VerifyLog(t.Context())
			if err != nil {
				t.Fatalf("VerifyLog: %v", err)
			}
			if v.OK || v.BadSeq != tt.badSeq || v.Problem == "" {
				t.Fatalf("VerifyLog = %+v, want not OK naming entry %d", v, tt.badSeq)
			}
			t.Logf("VerifyLog: %s", v.Problem)
		})
	}
}

// TestFailedWritesLeaveNothing makes writes fail after they have begun and
// checks that nothing of them is kept, in the database or in the caller's
// values.
func TestFailedWritesLeaveNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "upfactory.db")
	db := MustOpen(t, path)
	raw := MustRaw(t, path)

	st := &upfactory.ServiceState{Service: "checkout", StableVersion: "v1"}
	if err := db.Save(t.Context(), st, []upfactory.LogEntry{entry("checkout", "rollout.start", 0)}); err != nil {
		t.Fatal(err)
	}
	before, err := db.State(t.Context(), "checkout")
	if err != nil {
		t.Fatal(err)
	}

	// The database refuses the second entry of a batch, after the state row
	// and the first entry were written in the same transaction.
	mustExec(t, raw, `CREATE TRIGGER refuse BEFORE INSERT ON oplog WHEN NEW.reason = 'refuse me'
		BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`)
	batch := func() []upfactory.LogEntry {
		e := []upfactory.LogEntry{entry("checkout", "step.advance", 1), entry("checkout", "step.advance", 2)}
		e[1].Reason = "refuse me"
		return e
	}

	t.Run("SaveExisting", func(t *testing.T) {
		st := *before
		st.StableVersion = "v2"
		entries := batch()
		if err := db.Save(t.Context(), &st, entries); err == nil {
			t.Fatal("Save succeeded despite the trigger")
		} else if code := upfactory.ErrorCode(err); code != upfactory.EINTERNAL {
			t.Fatalf("Save: %v, want code %s", err, upfactory.EINTERNAL)
		}
		if st.Rev != before.Rev {
			t.Errorf("failed Save changed the caller's Rev from %d to %d", before.Rev, st.Rev)
		}
		if diff := cmp.Diff(batch(), entries); diff != "" {
			t.Errorf("failed Save changed the caller's entries (-before +after):\n%s", diff)
		}
	})
	t.Run("SaveNew", func(t *testing.T) {
		if err := db.Save(t.Context(), &upfactory.ServiceState{Service: "search"}, batch()); err == nil {
			t.Fatal("Save succeeded despite the trigger")
		}
		if _, err := db.State(t.Context(), "search"); upfactory.ErrorCode(err) != upfactory.ENOTFOUND {
			t.Errorf("State of the service whose first Save failed: %v, want code %s", err, upfactory.ENOTFOUND)
		}
	})
	t.Run("AppendLog", func(t *testing.T) {
		if err := db.AppendLog(t.Context(), batch()); err == nil {
			t.Fatal("AppendLog succeeded despite the trigger")
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		st := *before
		st.StableVersion = "v3"
		entries := []upfactory.LogEntry{entry("checkout", "step.advance", 3)}
		if err := db.Save(ctx, &st, entries); !errors.Is(err, context.Canceled) {
			t.Fatalf("Save with a cancelled context: %v, want context.Canceled", err)
		}
		if err := db.AppendLog(ctx, entries); !errors.Is(err, context.Canceled) {
			t.Fatalf("AppendLog with a cancelled context: %v, want context.Canceled", err)
		}
		if st.Rev != before.Rev || entries[0].Seq != 0 {
			t.Errorf("cancelled writes changed the caller's Rev to %d and Seq to %d", st.Rev, entries[0].Seq)
		}
	})

	after, err := db.State(t.Context(), "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("failed writes changed the state (-before +after):\n%s", diff)
	}
	mustVerify(t, db, 1)

	// The failed attempts used up no sequence numbers.
	mustExec(t, raw, `DROP TRIGGER refuse`)
	entries := batch()
	if err := db.Save(t.Context(), after, entries); err != nil {
		t.Fatal(err)
	}
	if after.Rev != 2 || entries[0].Seq != 2 || entries[1].Seq != 3 {
		t.Errorf("Save after failures: Rev %d, Seq %d and %d; want 2, 2 and 3", after.Rev, entries[0].Seq, entries[1].Seq)
	}
	mustVerify(t, db, 3)
}

// TestLockedByAnotherProcess writes while another connection, as another
// process would, holds the database's write lock.
func TestLockedByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "upfactory.db")
	db := MustOpen(t, path)
	raw := MustRaw(t, path)
	lock := func(t *testing.T) (unlock func()) {
		t.Helper()
		conn, err := raw.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(t.Context(), `BEGIN IMMEDIATE`); err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		unlock = func() {
			once.Do(func() {
				if _, err := conn.ExecContext(context.Background(), `ROLLBACK`); err != nil {
					t.Error(err)
				}
				conn.Close()
			})
		}
		t.Cleanup(unlock)
		return unlock
	}

	t.Run("Released", func(t *testing.T) {
		unlock := lock(t)
		time.AfterFunc(100*time.Millisecond, unlock)
		st := &upfactory.ServiceState{Service: "checkout"}
		if err := db.Save(t.Context(), st, []upfactory.LogEntry{entry("checkout", "rollout.start", 0)}); err != nil {
			t.Fatalf("Save once the lock was released: %v", err)
		}
		mustVerify(t, db, 1)
	})

	t.Run("ReadWhileHeld", func(t *testing.T) {
		lock(t)
		// A second store, as a CLI command opening the file would be.
		other := MustOpen(t, path)
		if _, err := other.State(t.Context(), "checkout"); err != nil {
			t.Errorf("State while another process writes: %v", err)
		}
		if _, err := other.Log(t.Context(), upfactory.LogFilter{}); err != nil {
			t.Errorf("Log while another process writes: %v", err)
		}
		mustVerify(t, other, 1)
	})

	t.Run("Held", func(t *testing.T) {
		if testing.Short() {
			t.Skip("waits out the busy timeout")
		}
		before, err := db.State(t.Context(), "checkout")
		if err != nil {
			t.Fatal(err)
		}
		unlock := lock(t)
		st := *before
		st.StableVersion = "v2"
		entries := []upfactory.LogEntry{entry("checkout", "step.advance", 1)}
		err = db.Save(t.Context(), &st, entries)
		if code := upfactory.ErrorCode(err); code != upfactory.EUNAVAILABLE {
			t.Fatalf("Save while locked: %v, want code %s", err, upfactory.EUNAVAILABLE)
		}
		t.Logf("Save: %v", err)
		if st.Rev != before.Rev || entries[0].Seq != 0 {
			t.Errorf("failed Save changed the caller's Rev to %d and Seq to %d", st.Rev, entries[0].Seq)
		}
		unlock()
		after, err := db.State(t.Context(), "checkout")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("failed Save changed the state (-before +after):\n%s", diff)
		}
		mustVerify(t, db, 1)
	})
}

// TestSeveralHandles writes through stores open on one file, as the
// server and CLI commands would: SQLite's lock, not only the in-process
// one, must keep the log in one chain.
func TestSeveralHandles(t *testing.T) {
	storetest.RunSeveralWriters(t, func(t *testing.T) (*sqlite.DB, func(t *testing.T) *sqlite.DB) {
		path := filepath.Join(t.TempDir(), "upfactory.db")
		return MustOpen(t, path), func(t *testing.T) *sqlite.DB { return MustOpen(t, path) }
	})
}

func TestLineStore(t *testing.T) {
	storetest.RunLine(t, func(t *testing.T) storetest.LineStore {
		return MustOpen(t, filepath.Join(t.TempDir(), "upfactory.db"))
	})
}

func TestIncidentStore(t *testing.T) {
	storetest.RunIncident(t, func(t *testing.T) storetest.IncidentStore {
		return MustOpen(t, filepath.Join(t.TempDir(), "upfactory.db"))
	})
}

func TestReviewStore(t *testing.T) {
	storetest.RunReview(t, func(t *testing.T) storetest.ReviewStore {
		return MustOpen(t, filepath.Join(t.TempDir(), "upfactory.db"))
	})
}

func TestTokenStore(t *testing.T) {
	storetest.RunToken(t, func(t *testing.T) storetest.TokenStore {
		return MustOpen(t, filepath.Join(t.TempDir(), "upfactory.db"))
	})
}

func TestLeaseStore(t *testing.T) {
	storetest.RunLease(t, func(t *testing.T) (*sqlite.DB, func(t *testing.T) *sqlite.DB) {
		path := filepath.Join(t.TempDir(), "upfactory.db")
		return MustOpen(t, path), func(t *testing.T) *sqlite.DB { return MustOpen(t, path) }
	}, func(s *sqlite.DB, l upfactory.Lease) upfactory.Store { return s.Fenced(l) })
}
