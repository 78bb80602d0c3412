package schema

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// MigrateCopy copies the database dsn names to a throw-away one, applies
// the *.sql files of dir to the copy in lexical order, and returns the
// copy's schema; the live database is not changed. It is the compatibility
// check "do the pending migrations take this database where the release
// expects": Diff the result with the release's expected schema.
//
// SQLite: the copy is made with VACUUM INTO from a read-only connection.
// PostgreSQL: CREATE DATABASE upfactory_tmp_<random> TEMPLATE <the DSN's
// database>, which PostgreSQL refuses while other sessions are connected
// to it, so point dsn at a replica or a restored backup of a busy database.
// The copy is dropped afterwards.
func MigrateCopy(ctx context.Context, dsn, dir string, opts ...Option) (*Schema, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	scripts, err := readMigrations(dir)
	if err != nil {
		return nil, err
	}
	engine, err := EngineOf(dsn)
	if err != nil {
		return nil, err
	}
	var s *Schema
	if engine == SQLite {
		s, err = copySQLite(ctx, dsn, scripts)
	} else {
		s, err = copyPostgres(ctx, dsn, scripts, o)
	}
	if err != nil {
		return nil, fmt.Errorf("migrating a copy of %s: %w", Redact(dsn), scrub(err, dsn))
	}
	return s, nil
}

func copySQLite(ctx context.Context, dsn string, scripts []script) (*Schema, error) {
	path := sqlitePath(dsn)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("opening SQLite database: %w", err)
	}
	tmp, err := os.MkdirTemp("", "upfactory-schema-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	copyPath := filepath.Join(tmp, "copy.db")
	src, err := sql.Open("sqlite", sqliteURI(path, "ro"))
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, "VACUUM INTO ?", copyPath); err != nil {
		return nil, fmt.Errorf("copying %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", sqliteURI(copyPath, "rw"))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, sc := range scripts {
		if _, err := db.ExecContext(ctx, sc.sql); err != nil {
			return nil, fmt.Errorf("applying %s: %w", sc.name, err)
		}
	}
	return readSQLite(ctx, db)
}

func copyPostgres(ctx context.Context, dsn string, scripts []script, o options) (*Schema, error) {
	cfg, err := parsePostgres(dsn)
	if err != nil {
		return nil, err
	}
	// CREATE DATABASE … TEMPLATE cannot run while connected to the
	// template, so administer from the postgres database.
	acfg := cfg.Copy()
	if acfg.Database == "postgres" {
		acfg.Database = "template1"
	} else {
		acfg.Database = "postgres"
	}
	admin, err := connectPostgres(ctx, acfg)
	if err != nil {
		return nil, err
	}
	defer admin.Close(context.WithoutCancel(ctx))
	name := scratchName()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+pgx.Identifier{cfg.Database}.Sanitize()); err != nil {
		hint := ""
		if strings.Contains(err.Error(), "being accessed by other users") {
			hint = " (PostgreSQL copies a database only while no one else is connected to it: use a replica or a restored backup)"
		}
		return nil, fmt.Errorf("copying database %s to %s%s: %w", cfg.Database, name, hint, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		admin.Exec(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}()
	return migratePostgres(ctx, cfg, name, "copy", scripts, o)
}
