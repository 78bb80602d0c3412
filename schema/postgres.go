package schema

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgConnectTimeout bounds a connection attempt when the DSN sets no
// connect_timeout, so an address that drops packets fails instead of
// hanging.
const pgConnectTimeout = 10 * time.Second

func parsePostgres(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing the address: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = pgConnectTimeout
	}
	return cfg, nil
}

func connectPostgres(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", pgAddr(cfg), err)
	}
	return conn, nil
}

func pgAddr(cfg *pgx.ConnConfig) string {
	if strings.HasPrefix(cfg.Host, "/") {
		return fmt.Sprintf("%s (port %d)", cfg.Host, cfg.Port)
	}
	return fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
}

// pgSchemaName is the schema to read: the option, else the first schema of
// the search_path parameter, else public.
func pgSchemaName(cfg *pgx.ConnConfig, o options) string {
	if o.pgSchema != "" {
		return o.pgSchema
	}
	for _, p := range strings.Split(cfg.RuntimeParams["search_path"], ",") {
		p = strings.Trim(strings.TrimSpace(p), `"`)
		if p != "" && p != "$user" {
			return p
		}
	}
	return "public"
}

func inspectPostgres(ctx context.Context, dsn string, o options) (*Schema, error) {
	cfg, err := parsePostgres(dsn)
	if err != nil {
		return nil, err
	}
	conn, err := connectPostgres(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return readPostgres(ctx, conn, pgSchemaName(cfg, o))
}

const pgTablesQuery = `
SELECT c.oid, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname`

const pgColumnsQuery = `
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       COALESCE(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text, a.attgenerated::text
FROM pg_attribute a
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`

const pgConstraintsQuery = `
SELECT con.conrelid, con.conname, con.contype::text,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o),
       COALESCE(CASE WHEN fn.nspname = $2 THEN fc.relname::text ELSE fn.nspname || '.' || fc.relname END, ''),
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o),
       con.confdeltype::text,
       CASE WHEN con.contype = 'c' THEN pg_get_expr(con.conbin, con.conrelid, true) ELSE '' END
FROM pg_constraint con
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.conrelid = ANY($1) AND con.contype IN ('p', 'u', 'f', 'c')`

// Indexes that back a primary key, unique or exclusion constraint are the
// constraint's business, not listed as indexes.
const pgIndexesQuery = `
SELECT i.indrelid, ic.relname, i.indisunique, COALESCE(pg_get_expr(i.indpred, i.indrelid, true), ''),
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true) ||
                    CASE WHEN i.indoption[k - 1] & 1 = 1 THEN ' DESC' ELSE '' END
             FROM generate_series(1, i.indnkeyatts) k ORDER BY k)
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = ANY($1)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))`

var pgActions = map[string]string{"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

var pgConstraintTypes = map[string]string{"p": PrimaryKey, "u": Unique, "f": ForeignKey, "c": Check}

// readPostgres reads the base tables of one schema from pg_catalog.
func readPostgres(ctx context.Context, conn *pgx.Conn, nsp string) (*Schema, error) {
	s := &Schema{Tables: []Table{}}
	byOID := map[uint32]*Table{}
	var oids []uint32

	rows, err := conn.Query(ctx, pgTablesQuery, nsp)
	if err != nil {
		return nil, fmt.Errorf("listing tables of schema %s: %w", nsp, err)
	}
	defer rows.Close()
	var tables []struct {
		oid  uint32
		name string
	}
	for rows.Next() {
		var t struct {
			oid  uint32
			name string
		}
		if err := rows.Scan(&t.oid, &t.name); err != nil {
			return nil, fmt.Errorf("listing tables of schema %s: %w", nsp, err)
		}
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing tables of schema %s: %w", nsp, err)
	}
	s.Tables = make([]Table, len(tables))
	for i, t := range tables {
		s.Tables[i] = Table{Name: t.name, Columns: []Column{}}
		byOID[t.oid] = &s.Tables[i]
		oids = append(oids, t.oid)
	}
	if len(oids) == 0 {
		return s, nil
	}

	rows, err = conn.Query(ctx, pgColumnsQuery, oids)
	if err != nil {
		return nil, fmt.Errorf("reading columns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var oid uint32
		var c Column
		var identity, generated string
		if err := rows.Scan(&oid, &c.Name, &c.Type, &c.Nullable, &c.Default, &identity, &generated); err != nil {
			return nil, fmt.Errorf("reading columns: %w", err)
		}
		switch {
		case identity == "a":
			c.Default = "generated always as identity"
		case identity == "d":
			c.Default = "generated by default as identity"
		case generated == "s":
			c.Default = "generated always as (" + c.Default + ") stored"
		}
		byOID[oid].Columns = append(byOID[oid].Columns, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading columns: %w", err)
	}

	rows, err = conn.Query(ctx, pgConstraintsQuery, oids, nsp)
	if err != nil {
		return nil, fmt.Errorf("reading constraints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var oid uint32
		var c Constraint
		var typ, onDelete string
		if err := rows.Scan(&oid, &c.Name, &typ, &c.Columns, &c.RefTable, &c.RefColumns, &onDelete, &c.Check); err != nil {
			return nil, fmt.Errorf("reading constraints: %w", err)
		}
		c.Type = pgConstraintTypes[typ]
		if c.Type == ForeignKey {
			c.OnDelete = pgActions[onDelete]
		} else {
			c.RefTable, c.RefColumns = "", nil
		}
		if c.Type == Check {
			c.Columns = nil
		}
		byOID[oid].Constraints = append(byOID[oid].Constraints, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading constraints: %w", err)
	}

	rows, err = conn.Query(ctx, pgIndexesQuery, oids)
	if err != nil {
		return nil, fmt.Errorf("reading indexes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var oid uint32
		var ix Index
		if err := rows.Scan(&oid, &ix.Name, &ix.Unique, &ix.Where, &ix.Columns); err != nil {
			return nil, fmt.Errorf("reading indexes: %w", err)
		}
		byOID[oid].Indexes = append(byOID[oid].Indexes, ix)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading indexes: %w", err)
	}
	s.Normalize()
	return s, nil
}
