package schema

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// sqlitePath returns the file a SQLite DSN names.
func sqlitePath(dsn string) string {
	p := dsn
	switch lower := strings.ToLower(p); {
	case strings.HasPrefix(lower, "sqlite:"):
		p = p[len("sqlite:"):]
	case strings.HasPrefix(lower, "file:"):
		p = p[len("file:"):]
	}
	if strings.HasPrefix(p, "//") {
		p = p[2:] // sqlite:///abs/path and file:///abs/path
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

// sqliteURI is a URI that opens path with the given mode (ro, rw, rwc).
func sqliteURI(path, mode string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(path) + "?mode=" + mode
}

func inspectSQLiteFile(ctx context.Context, dsn string) (*Schema, error) {
	path := sqlitePath(dsn)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("opening SQLite database: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("opening SQLite database: %s is a directory", path)
	}
	db, err := sql.Open("sqlite", sqliteURI(path, "ro"))
	if err != nil {
		return nil, fmt.Errorf("opening SQLite database %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	return readSQLite(ctx, db)
}

type sqliteTable struct {
	name         string
	withoutRowid bool
}

// readSQLite reads the tables of the main schema with PRAGMAs, and the
// check constraints and index expressions from the stored CREATE
// statements, which no PRAGMA reports.
func readSQLite(ctx context.Context, db *sql.DB) (*Schema, error) {
	var tables []sqliteTable
	err := query(ctx, db, `SELECT name, wr FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`,
		func(rows *sql.Rows) error {
			var t sqliteTable
			if err := rows.Scan(&t.name, &t.withoutRowid); err != nil {
				return err
			}
			tables = append(tables, t)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	s := &Schema{Tables: []Table{}}
	pks := map[string][]string{}
	for _, st := range tables {
		t, pk, err := readSQLiteTable(ctx, db, st)
		if err != nil {
			return nil, fmt.Errorf("reading table %s: %w", st.name, err)
		}
		pks[st.name] = pk
		s.Tables = append(s.Tables, t)
	}
	// A foreign key without referenced columns references the primary key.
	for i := range s.Tables {
		for j := range s.Tables[i].Constraints {
			c := &s.Tables[i].Constraints[j]
			if c.Type == ForeignKey && len(c.RefColumns) == 0 {
				c.RefColumns = slices.Clone(pks[c.RefTable])
			}
		}
	}
	s.Normalize()
	return s, nil
}

func query(ctx context.Context, db *sql.DB, q string, each func(*sql.Rows) error, args ...any) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func readSQLiteTable(ctx context.Context, db *sql.DB, st sqliteTable) (Table, []string, error) {
	t := Table{Name: st.name, Columns: []Column{}}
	var createSQL string
	if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`, st.name).Scan(&createSQL); err != nil {
		return t, nil, err
	}

	type pkCol struct {
		name string
		pos  int
		typ  string
	}
	var pk []pkCol
	err := query(ctx, db, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_xinfo(?) WHERE hidden IN (0, 2, 3)`, func(rows *sql.Rows) error {
		var c Column
		var notNull bool
		var dflt sql.NullString
		var pos int
		if err := rows.Scan(&c.Name, &c.Type, &notNull, &dflt, &pos); err != nil {
			return err
		}
		c.Nullable = !notNull
		c.Default = dflt.String
		if pos > 0 {
			pk = append(pk, pkCol{c.Name, pos, c.Type})
		}
		t.Columns = append(t.Columns, c)
		return nil
	}, st.name)
	if err != nil {
		return t, nil, fmt.Errorf("reading columns: %w", err)
	}
	slices.SortFunc(pk, func(a, b pkCol) int { return a.pos - b.pos })
	var pkCols []string
	for _, c := range pk {
		pkCols = append(pkCols, c.name)
	}
	if len(pkCols) > 0 {
		t.Constraints = append(t.Constraints, Constraint{Type: PrimaryKey, Columns: pkCols})
		// SQLite lets NULL into a primary key column except the rowid
		// alias (a lone INTEGER PRIMARY KEY) and in a WITHOUT ROWID table.
		rowidAlias := len(pk) == 1 && strings.EqualFold(strings.TrimSpace(pk[0].typ), "integer") && !st.withoutRowid
		if rowidAlias || st.withoutRowid {
			for i := range t.Columns {
				if slices.Contains(pkCols, t.Columns[i].Name) {
					t.Columns[i].Nullable = false
				}
			}
		}
	}

	type idx struct {
		name, origin string
		unique       bool
	}
	var idxs []idx
	err = query(ctx, db, `SELECT name, "unique", origin FROM pragma_index_list(?)`, func(rows *sql.Rows) error {
		var x idx
		if err := rows.Scan(&x.name, &x.unique, &x.origin); err != nil {
			return err
		}
		idxs = append(idxs, x)
		return nil
	}, st.name)
	if err != nil {
		return t, nil, fmt.Errorf("listing indexes: %w", err)
	}
	for _, x := range idxs {
		if x.origin == "pk" {
			continue // the primary key, read from table_info
		}
		cols, where, err := readSQLiteIndex(ctx, db, x.name)
		if err != nil {
			return t, nil, fmt.Errorf("reading index %s: %w", x.name, err)
		}
		if x.origin == "u" {
			t.Constraints = append(t.Constraints, Constraint{Type: Unique, Columns: cols})
			continue
		}
		t.Indexes = append(t.Indexes, Index{Name: x.name, Columns: cols, Unique: x.unique, Where: where})
	}

	fks := map[int]*Constraint{}
	var fkOrder []int
	err = query(ctx, db, `SELECT id, "table", "from", "to", on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq`, func(rows *sql.Rows) error {
		var id int
		var ref, from, onDelete string
		var to sql.NullString
		if err := rows.Scan(&id, &ref, &from, &to, &onDelete); err != nil {
			return err
		}
		c, ok := fks[id]
		if !ok {
			c = &Constraint{Type: ForeignKey, RefTable: ref, OnDelete: onDelete}
			fks[id] = c
			fkOrder = append(fkOrder, id)
		}
		c.Columns = append(c.Columns, from)
		if to.Valid {
			c.RefColumns = append(c.RefColumns, to.String)
		}
		return nil
	}, st.name)
	if err != nil {
		return t, nil, fmt.Errorf("reading foreign keys: %w", err)
	}
	for _, id := range fkOrder {
		t.Constraints = append(t.Constraints, *fks[id])
	}

	t.Constraints = append(t.Constraints, sqliteChecks(createSQL)...)
	return t, pkCols, nil
}

// readSQLiteIndex returns an index's key columns (expressions from its
// CREATE INDEX statement) and the predicate of a partial index.
func readSQLiteIndex(ctx context.Context, db *sql.DB, name string) ([]string, string, error) {
	var createSQL sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?`, name).Scan(&createSQL); err != nil {
		return nil, "", err
	}
	exprs, where := parseCreateIndex(createSQL.String)
	var cols []string
	k := 0
	err := query(ctx, db, `SELECT cid, name, "desc" FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno`, func(rows *sql.Rows) error {
		var cid int
		var col sql.NullString
		var desc bool
		if err := rows.Scan(&cid, &col, &desc); err != nil {
			return err
		}
		c := col.String
		if !col.Valid || cid == -2 {
			c = "(expression)"
			if k < len(exprs) {
				c = exprs[k]
			}
		}
		if desc {
			c += " DESC"
		}
		cols = append(cols, c)
		k++
		return nil
	}, name)
	return cols, where, err
}

// parseCreateIndex splits a CREATE INDEX statement into the text of its key
// terms (without ASC/DESC and COLLATE) and its WHERE predicate.
func parseCreateIndex(stmt string) (terms []string, where string) {
	toks, spans := tokenizeSpans(stmt)
	on := slices.Index(toks, "on")
	if on < 0 {
		return nil, ""
	}
	open := slices.Index(toks[on:], "(")
	if open < 0 {
		return nil, ""
	}
	open += on
	closing := matching(toks, open)
	if closing < 0 {
		return nil, ""
	}
	start := open + 1
	depth := 0
	for i := open + 1; i <= closing; i++ {
		switch toks[i] {
		case "(":
			depth++
		case ")":
			depth--
		}
		if (toks[i] == "," && depth == 0) || i == closing {
			end := i
			for end > start && (toks[end-1] == "asc" || toks[end-1] == "desc") {
				end--
			}
			if end-2 >= start && toks[end-2] == "collate" {
				end -= 2
			}
			if end > start {
				terms = append(terms, stmt[spans[start][0]:spans[end-1][1]])
			}
			start = i + 1
		}
	}
	if closing+1 < len(toks) && toks[closing+1] == "where" && closing+2 < len(toks) {
		where = stmt[spans[closing+2][0]:]
	}
	return terms, where
}

// sqliteChecks finds the CHECK constraints, named or not, of a CREATE TABLE
// statement.
func sqliteChecks(stmt string) []Constraint {
	toks, spans := tokenizeSpans(stmt)
	var out []Constraint
	for i := 0; i+1 < len(toks); i++ {
		if toks[i] != "check" || toks[i+1] != "(" || isQuoted(stmt, spans[i]) {
			continue
		}
		closing := matching(toks, i+1)
		if closing < 0 || closing == i+2 {
			continue
		}
		c := Constraint{Type: Check, Check: stmt[spans[i+2][0]:spans[closing-1][1]]}
		if i >= 2 && toks[i-2] == "constraint" {
			c.Name = toks[i-1]
		}
		out = append(out, c)
		i = closing
	}
	return out
}

func isQuoted(stmt string, span [2]int) bool {
	return strings.IndexByte("\"`[", stmt[span[0]]) >= 0
}
