package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
	_ "modernc.org/sqlite"
)

// The schema cell on real SQLite files: the live database against the
// migrations, and a throw-away copy migrated with the pending migrations.
func TestCompatSchemaCheck(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	db, err := sql.Open("sqlite", live)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	mig, pending := filepath.Join(dir, "migrations"), filepath.Join(dir, "pending")
	os.MkdirAll(mig, 0o755)
	os.MkdirAll(pending, 0o755)
	os.WriteFile(filepath.Join(mig, "001_users.sql"), []byte("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"), 0o644)
	add := "ALTER TABLE users ADD COLUMN email TEXT;\n"
	os.WriteFile(filepath.Join(mig, "002_email.sql"), []byte(add), 0o644)
	os.WriteFile(filepath.Join(pending, "002_email.sql"), []byte(add), 0o644)
	dsn := "sqlite:" + live

	// The live database is one migration behind: drift.
	diffs, err := schemaCheck(t.Context(), upfactory.SchemaSpec{DSN: dsn, Migrations: mig})
	if err != nil || len(diffs) != 1 || !strings.Contains(diffs[0], "email") {
		t.Fatalf("live vs migrations = %v, %v; want the missing email column", diffs, err)
	}
	// Its copy migrated with the pending migration is where the release expects.
	diffs, err = schemaCheck(t.Context(), upfactory.SchemaSpec{DSN: dsn, Migrations: mig, Pending: pending})
	if err != nil || len(diffs) != 0 {
		t.Errorf("migrated copy vs migrations = %v, %v; want none", diffs, err)
	}
	// The live database itself was not changed.
	diffs, _ = schemaCheck(t.Context(), upfactory.SchemaSpec{DSN: dsn, Migrations: mig})
	if len(diffs) != 1 {
		t.Errorf("the live database changed: %v", diffs)
	}
	// The DSN from the environment; unset is an error, not a pass.
	t.Setenv("UF_TEST_DSN", dsn)
	if diffs, err := schemaCheck(t.Context(), upfactory.SchemaSpec{DSN: "${UF_TEST_DSN}", Migrations: mig, Pending: pending}); err != nil || len(diffs) != 0 {
		t.Errorf("DSN from the environment: %v, %v", diffs, err)
	}
	if _, err := schemaCheck(t.Context(), upfactory.SchemaSpec{DSN: "${UF_UNSET_DSN}", Migrations: mig}); err == nil {
		t.Error("an unset DSN variable passed")
	}
}
