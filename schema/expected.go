package schema

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ParseJSON reads a schema in the JSON form Inspect's result marshals to
// (the --expected file format). Unknown fields are errors; a syntax error
// names its line and column. The result is normalised, so an expected file
// may spell types and defaults any way Normalize folds.
func ParseJSON(data []byte) (*Schema, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Schema
	if err := dec.Decode(&s); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := position(data, se.Offset)
			return nil, fmt.Errorf("line %d, column %d: %w", line, col, err)
		case errors.As(err, &te):
			line, col := position(data, te.Offset)
			return nil, fmt.Errorf("line %d, column %d: %w", line, col, err)
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			line, col := position(data, int64(len(data)))
			return nil, fmt.Errorf("line %d, column %d: unexpected end of JSON", line, col)
		}
		return nil, err
	}
	if dec.More() {
		line, col := position(data, dec.InputOffset())
		return nil, fmt.Errorf("line %d, column %d: text after the schema object", line, col)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s.Normalize()
	return &s, nil
}

func position(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// Validate reports every problem of a schema at once: nameless or repeated
// tables, columns and indexes, unknown constraint types, foreign keys
// without a referenced table or with mismatched column counts.
func (s *Schema) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, t := range s.Tables {
		where := fmt.Sprintf("tables[%d]", i)
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("%s: no name", where))
		} else {
			where = "table " + t.Name
		}
		if seen[t.Name] {
			errs = append(errs, fmt.Errorf("%s: listed twice", where))
		}
		seen[t.Name] = true
		cols := map[string]bool{}
		for j, c := range t.Columns {
			if c.Name == "" {
				errs = append(errs, fmt.Errorf("%s: columns[%d]: no name", where, j))
			} else if cols[c.Name] {
				errs = append(errs, fmt.Errorf("%s: column %s listed twice", where, c.Name))
			}
			cols[c.Name] = true
		}
		idx := map[string]bool{}
		for j, ix := range t.Indexes {
			switch {
			case ix.Name == "":
				errs = append(errs, fmt.Errorf("%s: indexes[%d]: no name", where, j))
			case idx[ix.Name]:
				errs = append(errs, fmt.Errorf("%s: index %s listed twice", where, ix.Name))
			case len(ix.Columns) == 0:
				errs = append(errs, fmt.Errorf("%s: index %s: no columns", where, ix.Name))
			}
			idx[ix.Name] = true
		}
		for j, c := range t.Constraints {
			cw := fmt.Sprintf("%s: constraints[%d]", where, j)
			switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(c.Type), " ", "_")) {
			case PrimaryKey, Unique:
				if len(c.Columns) == 0 {
					errs = append(errs, fmt.Errorf("%s: %s without columns", cw, c.Type))
				}
			case ForeignKey:
				if len(c.Columns) == 0 || c.RefTable == "" || len(c.RefColumns) != len(c.Columns) {
					errs = append(errs, fmt.Errorf("%s: a foreign key needs columns, ref_table and as many ref_columns as columns", cw))
				}
				switch normalizeAction(c.OnDelete) {
				case "NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT":
				default:
					errs = append(errs, fmt.Errorf("%s: on_delete %q is not NO ACTION, RESTRICT, CASCADE, SET NULL or SET DEFAULT", cw, c.OnDelete))
				}
			case Check:
				if NormalizeExpr(c.Check) == "" {
					errs = append(errs, fmt.Errorf("%s: a check constraint needs check (an expression, not %q)", cw, c.Check))
				}
			default:
				errs = append(errs, fmt.Errorf("%s: type %q is not primary_key, unique, foreign_key or check", cw, c.Type))
			}
		}
	}
	return errors.Join(errs...)
}

// LoadExpected reads the expected schema from path: a .sql file of DDL is
// applied to a throw-away database of the kind (and for PostgreSQL on the
// server) dsn names, then inspected; any other file is read as JSON (see
// ParseJSON). Errors name the file.
func LoadExpected(ctx context.Context, path, dsn string, opts ...Option) (*Schema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading expected schema: %w", err)
	}
	if strings.EqualFold(filepath.Ext(path), ".sql") {
		s, err := fromScripts(ctx, dsn, []script{{name: path, sql: string(data)}}, opts)
		if err != nil {
			return nil, fmt.Errorf("expected schema %s: %w", path, err)
		}
		return s, nil
	}
	s, err := ParseJSON(data)
	if err != nil {
		return nil, fmt.Errorf("expected schema %s: %w", path, err)
	}
	return s, nil
}

// FromMigrations applies the *.sql files of dir, in lexical order of their
// names, to a throw-away database and returns its schema. The database is
// of the kind dsn names: for SQLite a temporary file; for PostgreSQL a
// database upfactory_tmp_<random> created on dsn's server and dropped
// afterwards. An error names the file that failed, and the line when the
// server says where.
func FromMigrations(ctx context.Context, dsn, dir string, opts ...Option) (*Schema, error) {
	scripts, err := readMigrations(dir)
	if err != nil {
		return nil, err
	}
	return fromScripts(ctx, dsn, scripts, opts)
}

// readMigrations reads the *.sql files of dir, sorted by name.
func readMigrations(dir string) ([]script, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading migrations: %w", err)
	}
	var scripts []script
	for _, e := range entries {
		if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".sql") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading migrations: %w", err)
		}
		scripts = append(scripts, script{name: p, sql: string(data)})
	}
	if len(scripts) == 0 {
		return nil, fmt.Errorf("reading migrations: no *.sql file in %s", dir)
	}
	slices.SortFunc(scripts, func(a, b script) int { return strings.Compare(filepath.Base(a.name), filepath.Base(b.name)) })
	return scripts, nil
}

// scratchName is the name of a throw-away PostgreSQL database.
func scratchName() string {
	var b [6]byte
	rand.Read(b[:])
	return "upfactory_tmp_" + hex.EncodeToString(b[:])
}

type script struct {
	name, sql string
}

func fromScripts(ctx context.Context, dsn string, scripts []script, opts []Option) (*Schema, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	engine, err := EngineOf(dsn)
	if err != nil {
		return nil, err
	}
	if engine == SQLite {
		return scratchSQLite(ctx, scripts)
	}
	s, err := scratchPostgres(ctx, dsn, scripts, o)
	if err != nil {
		return nil, fmt.Errorf("building the expected schema on the server of %s: %w", Redact(dsn), scrub(err, dsn))
	}
	return s, nil
}

func scratchSQLite(ctx context.Context, scripts []script) (*Schema, error) {
	dir, err := os.MkdirTemp("", "upfactory-schema-")
	if err != nil {
		return nil, fmt.Errorf("creating a throw-away SQLite database: %w", err)
	}
	defer os.RemoveAll(dir)
	db, err := sql.Open("sqlite", sqliteURI(filepath.Join(dir, "scratch.db"), "rwc"))
	if err != nil {
		return nil, fmt.Errorf("creating a throw-away SQLite database: %w", err)
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

func scratchPostgres(ctx context.Context, dsn string, scripts []script, o options) (*Schema, error) {
	cfg, err := parsePostgres(dsn)
	if err != nil {
		return nil, err
	}
	admin, err := connectPostgres(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer admin.Close(context.WithoutCancel(ctx))

	name := scratchName()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("creating throw-away database %s: %w", name, err)
	}
	defer func() {
		// Drop it even when ctx was cancelled, but do not wait forever.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		admin.Exec(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}()

	return migratePostgres(ctx, cfg, name, "throw-away database", scripts, o)
}

// migratePostgres connects to database name on cfg's server, applies
// scripts to it in order and reads its schema. what names the database in
// errors ("copy", "throw-away database").
func migratePostgres(ctx context.Context, cfg *pgx.ConnConfig, name, what string, scripts []script, o options) (*Schema, error) {
	dcfg := cfg.Copy()
	dcfg.Database = name
	conn, err := connectPostgres(ctx, dcfg)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, sc := range scripts {
		// No arguments: pgx sends the file with the simple protocol, which
		// runs every statement of it.
		if _, err := conn.Exec(ctx, sc.sql, pgx.QueryExecModeSimpleProtocol); err != nil {
			return nil, fmt.Errorf("applying %s%s: %w", sc.name, pgLine(sc.sql, err), err)
		}
	}
	return readPostgres(ctx, conn, pgSchemaName(dcfg, o))
}

// pgLine is ", line N" when the server said where in the script it failed.
func pgLine(text string, err error) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Position <= 0 {
		return ""
	}
	// Position counts characters from 1.
	r := []rune(text)
	pos := min(int(pe.Position)-1, len(r))
	return fmt.Sprintf(", line %d", strings.Count(string(r[:pos]), "\n")+1)
}
