package schema_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/upfactory/upfactory/schema"
)

// The same schema in two spellings per engine: aliases of types, quoted
// and unquoted names, casts, parentheses, inline and table constraints,
// constraint names, keyword case.
var sameSchema = map[string][2]string{
	"sqlite": {`
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  email VARCHAR(255) NOT NULL UNIQUE,
  status TEXT DEFAULT 'active',
  score NUMERIC(10,2) DEFAULT -1,
  created TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
  CHECK (score >= 0)
);
CREATE INDEX users_created_idx ON users (created DESC) WHERE status = 'active';
CREATE INDEX users_lower_email ON users (lower(email));
CREATE TABLE orders (
  id INT PRIMARY KEY NOT NULL,
  user_id INTEGER REFERENCES users ON DELETE CASCADE,
  note TEXT DEFAULT NULL
);`, `
create table "users" (
  "id" integer not null,
  [email] character varying(255) not null,
  status text default ('active'),
  score decimal(10, 2) default (-1),
  created timestamp default current_timestamp,
  primary key (id),
  constraint email_unique unique (email),
  constraint score_positive check ((score>=0))
);
create index users_created_idx on users(created desc) where (status='active');
create index users_lower_email on users (LOWER(email));
create table orders (id integer, user_id int, note text,
  primary key (id),
  foreign key (user_id) references users (id) on delete cascade);`},
	"postgres": {`
CREATE TABLE users (
  id int4 PRIMARY KEY,
  email character varying(255) NOT NULL UNIQUE,
  status text DEFAULT 'active'::text,
  score numeric(10,2) DEFAULT -1,
  created timestamp with time zone DEFAULT now(),
  CHECK (score >= 0)
);
CREATE INDEX users_created_idx ON users (created DESC) WHERE status = 'active';
CREATE INDEX users_lower_email ON users (lower(email));
CREATE TABLE orders (
  id int8 PRIMARY KEY,
  user_id integer REFERENCES users ON DELETE CASCADE,
  note text DEFAULT NULL
);`, `
create table "users" (
  "id" integer not null,
  email varchar(255) not null,
  status text default ('active'),
  score decimal(10, 2) default (-1)::numeric,
  created timestamptz default now(),
  primary key (id),
  constraint email_unique unique (email),
  constraint score_positive check ((score>=0))
);
create index users_created_idx on users(created desc) where (status='active');
create index users_lower_email on users (LOWER(email));
create table orders (id bigint, user_id int4, note text,
  primary key (id),
  constraint fk foreign key (user_id) references users (id) on delete cascade);`},
}

func TestSchemaSameWrittenTwoWays(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			a := MustInspect(t, e.MustDB(t, sameSchema[e.name][0]))
			b := MustInspect(t, e.MustDB(t, sameSchema[e.name][1]))
			if d := schema.Diff(a, b); len(d) != 0 {
				t.Errorf("the same schema written two ways differs:\n%s", strings.Join(strs(d), "\n"))
			}
			// And the inspection saw the schema, not two empty ones.
			users := a.Table("users")
			if users == nil || len(a.Tables) != 2 {
				t.Fatalf("tables = %+v, want orders and users", a.Tables)
			}
			wantCols := []schema.Column{
				{Name: "id", Type: "integer", Nullable: false},
				{Name: "email", Type: "varchar(255)", Nullable: false},
				{Name: "status", Type: "text", Nullable: true, Default: "'active'"},
				{Name: "score", Type: "numeric(10,2)", Nullable: true, Default: "-1"},
			}
			if diff := cmp.Diff(wantCols, users.Columns[:4]); diff != "" {
				t.Errorf("users columns (-want +got):\n%s", diff)
			}
			wantIdx := []schema.Index{
				{Name: "users_created_idx", Columns: []string{"created DESC"}, Where: "status = 'active'"},
				{Name: "users_lower_email", Columns: []string{"lower(email)"}},
			}
			if diff := cmp.Diff(wantIdx, users.Indexes); diff != "" {
				t.Errorf("users indexes (-want +got):\n%s", diff)
			}
			var types []string
			for _, c := range users.Constraints {
				types = append(types, c.Type)
			}
			if diff := cmp.Diff([]string{"check", "primary_key", "unique"}, types); diff != "" {
				t.Errorf("users constraint types (-want +got):\n%s", diff)
			}
			fk := a.Table("orders").Constraints[0]
			wantFK := schema.Constraint{Name: fk.Name, Type: "foreign_key", Columns: []string{"user_id"}, RefTable: "users", RefColumns: []string{"id"}, OnDelete: "CASCADE"}
			if diff := cmp.Diff(wantFK, fk); diff != "" {
				t.Errorf("orders foreign key (-want +got):\n%s", diff)
			}
		})
	}
}

const driftExpected = `
CREATE TABLE users (id integer PRIMARY KEY, email varchar(100) NOT NULL, name text, status text DEFAULT 'new', age integer CHECK (age > 0));
CREATE UNIQUE INDEX users_email_idx ON users (email);
CREATE INDEX users_name_idx ON users (name);
CREATE TABLE orders (id integer PRIMARY KEY, user_id integer REFERENCES users (id) ON DELETE CASCADE, code text, UNIQUE (code));
CREATE TABLE gone (id integer);
`

const driftActual = `
CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL, name text NOT NULL, status text DEFAULT 'old', nickname text, CHECK (length(email) > 3));
CREATE INDEX users_email_idx ON users (email);
CREATE INDEX users_nick_idx ON users (nickname);
CREATE TABLE orders (id integer PRIMARY KEY, user_id integer REFERENCES users (id) ON DELETE SET NULL, code text, UNIQUE (code));
CREATE TABLE extra (id integer);
`

// driftWant is what Diff(driftExpected, driftActual) reports; constraint
// labels are names on PostgreSQL, which names every constraint, and
// definitions on SQLite, which does not.
func driftWant(engine string) []schema.Difference {
	label := map[string][3]string{
		"sqlite":   {"foreign key (user_id)", "check (age > 0)", "check (length(email) > 3)"},
		"postgres": {"orders_user_id_fkey", "users_age_check", "users_email_check"},
	}[engine]
	return []schema.Difference{
		{Kind: "extra_table", Table: "extra", Actual: "table"},
		{Kind: "missing_table", Table: "gone", Expected: "table"},
		{Kind: "constraint", Table: "orders", Object: label[0],
			Expected: "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE",
			Actual:   "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE SET NULL"},
		{Kind: "type", Table: "users", Object: "email", Expected: "varchar(100)", Actual: "text"},
		{Kind: "nullable", Table: "users", Object: "name", Expected: "NULL", Actual: "NOT NULL"},
		{Kind: "default", Table: "users", Object: "status", Expected: "'new'", Actual: "'old'"},
		{Kind: "missing_column", Table: "users", Object: "age", Expected: "integer NULL"},
		{Kind: "extra_column", Table: "users", Object: "nickname", Actual: "text NULL"},
		{Kind: "index", Table: "users", Object: "users_email_idx", Expected: "UNIQUE (email)", Actual: "(email)"},
		{Kind: "missing_index", Table: "users", Object: "users_name_idx", Expected: "(name)"},
		{Kind: "extra_index", Table: "users", Object: "users_nick_idx", Actual: "(nickname)"},
		{Kind: "missing_constraint", Table: "users", Object: label[1], Expected: "CHECK (age > 0)"},
		{Kind: "extra_constraint", Table: "users", Object: label[2], Actual: "CHECK (length(email) > 3)"},
	}
}

func TestSchemaEveryDifferenceKind(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			want := driftWant(e.name)
			kinds := map[string]bool{}
			for _, d := range want {
				kinds[d.Kind] = true
			}
			if len(kinds) != 13 {
				t.Fatalf("the test covers %d kinds, want all 13", len(kinds))
			}
			got := schema.Diff(MustInspect(t, e.MustDB(t, driftExpected)), MustInspect(t, e.MustDB(t, driftActual)))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
			// Swapping the sides swaps missing and extra.
			back := schema.Diff(MustInspect(t, e.MustDB(t, driftActual)), MustInspect(t, e.MustDB(t, driftExpected)))
			if len(back) != len(want) {
				t.Errorf("reverse Diff has %d differences, want %d:\n%s", len(back), len(want), strings.Join(strs(back), "\n"))
			}
		})
	}
}

func TestSchemaDifferenceString(t *testing.T) {
	for _, tc := range []struct {
		d    schema.Difference
		want string
	}{
		{schema.Difference{Kind: "missing_table", Table: "gone", Expected: "table"}, "table gone is missing"},
		{schema.Difference{Kind: "type", Table: "users", Object: "email", Expected: "varchar(100)", Actual: "text"}, "column users.email has type text, expected varchar(100)"},
		{schema.Difference{Kind: "default", Table: "users", Object: "status", Expected: "'new'"}, "column users.status has default (none), expected 'new'"},
		{schema.Difference{Kind: "missing_index", Table: "users", Object: "users_name_idx", Expected: "(name)"}, "index users_name_idx on users is missing (expected (name))"},
		{schema.Difference{Kind: "constraint", Table: "orders", Object: "fk", Expected: "A", Actual: "B"}, "constraint fk on orders is B, expected A"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

// The expected schema from a .sql file of DDL, built on a throw-away
// database of the live one's kind, matches the live database built from
// the same DDL; and a JSON dump of the live schema round-trips.
func TestSchemaExpectedSQLAndJSON(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			dsn := e.MustDB(t, driftExpected)
			dir := t.TempDir()
			sqlFile := filepath.Join(dir, "expected.sql")
			os.WriteFile(sqlFile, []byte(driftExpected), 0o644)
			want, err := schema.LoadExpected(ctx, sqlFile, dsn)
			if err != nil {
				t.Fatal(err)
			}
			live := MustInspect(t, dsn)
			if d := schema.Diff(want, live); len(d) != 0 {
				t.Errorf("expected.sql vs live:\n%s", strings.Join(strs(d), "\n"))
			}
			b, err := json.MarshalIndent(live, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			jsonFile := filepath.Join(dir, "expected.json")
			os.WriteFile(jsonFile, b, 0o644)
			fromJSON, err := schema.LoadExpected(ctx, jsonFile, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(live, fromJSON); diff != "" {
				t.Errorf("JSON round trip (-live +json):\n%s", diff)
			}
			// The live database against the other DDL drifts.
			drift := e.MustDB(t, driftActual)
			if d := schema.Diff(want, MustInspect(t, drift)); len(d) != 13 {
				t.Errorf("expected.sql vs drifted database: %d differences, want 13", len(d))
			}
		})
	}
}

var migrations = map[string]string{
	"001_users.sql":  "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);\nCREATE UNIQUE INDEX users_email ON users (email);",
	"002_orders.sql": "CREATE TABLE orders (id integer PRIMARY KEY, user_id integer NOT NULL REFERENCES users (id));",
	// 010 sorts after 002 (lexical order), and needs orders to exist.
	"010_total.sql": "ALTER TABLE orders ADD COLUMN total integer DEFAULT 0;\nCREATE INDEX orders_user ON orders (user_id);",
	"README.md":     "not a migration",
}

func mustMigrationsDir(t *testing.T) string {
	dir := t.TempDir()
	for name, text := range migrations {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSchemaMigrationsVsLive(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			dir := mustMigrationsDir(t)
			all := migrations["001_users.sql"] + "\n" + migrations["002_orders.sql"] + "\n" + migrations["010_total.sql"]
			live := e.MustDB(t, all)
			want, err := schema.FromMigrations(ctx, live, dir)
			if err != nil {
				t.Fatal(err)
			}
			if d := schema.Diff(want, MustInspect(t, live)); len(d) != 0 {
				t.Errorf("migrations vs a live database that ran them all:\n%s", strings.Join(strs(d), "\n"))
			}
			behind := e.MustDB(t, migrations["001_users.sql"]+"\n"+migrations["002_orders.sql"])
			got := schema.Diff(want, MustInspect(t, behind))
			wantDiffs := []schema.Difference{
				{Kind: "missing_column", Table: "orders", Object: "total", Expected: "integer NULL DEFAULT 0"},
				{Kind: "missing_index", Table: "orders", Object: "orders_user", Expected: "(user_id)"},
			}
			if diff := cmp.Diff(wantDiffs, got); diff != "" {
				t.Errorf("migrations vs a database one migration behind (-want +got):\n%s", diff)
			}
			if e.name == "postgres" {
				assertNoScratchDatabases(t, live)
			}
		})
	}
}

func TestSchemaMigrationErrorNamesFileAndLine(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "001_ok.sql"), []byte("CREATE TABLE a (id integer);"), 0o644)
			os.WriteFile(filepath.Join(dir, "002_bad.sql"), []byte("CREATE TABLE b (id integer);\n\nCREATE TABLE c (id integer REFERENCES nowhere_at_all (id) SYNTAX ERROR);"), 0o644)
			live := e.MustDB(t, "CREATE TABLE a (id integer);")
			_, err := schema.FromMigrations(ctx, live, dir)
			if err == nil {
				t.Fatal("FromMigrations with a broken migration succeeded")
			}
			if !strings.Contains(err.Error(), "002_bad.sql") {
				t.Errorf("error %q does not name 002_bad.sql", err)
			}
			if e.name == "postgres" {
				if !strings.Contains(err.Error(), "line 3") {
					t.Errorf("error %q does not name line 3", err)
				}
				assertNoScratchDatabases(t, live)
			}
			if _, err := schema.FromMigrations(ctx, live, filepath.Join(dir, "nope")); err == nil || !strings.Contains(err.Error(), "nope") {
				t.Errorf("missing migrations dir: error %v does not name it", err)
			}
		})
	}
}

func assertNoScratchDatabases(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname LIKE 'upfactory_tmp_%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d throw-away upfactory_tmp_ databases left on the server", n)
	}
}

func TestSchemaPostgresOtherSchema(t *testing.T) {
	server := postgresDSN(t, true)
	dsn := MustPostgresDB(t, server, "CREATE SCHEMA app; CREATE TABLE app.things (id integer PRIMARY KEY); CREATE TABLE public.other (id integer);")
	for _, tc := range []struct {
		name string
		dsn  string
		opts []schema.Option
	}{
		{"search_path", dsn + "&search_path=app", nil},
		{"option", dsn, []schema.Option{schema.WithPostgresSchema("app")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := schema.Inspect(context.Background(), tc.dsn, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Tables) != 1 || s.Tables[0].Name != "things" {
				t.Errorf("tables = %+v, want only things", s.Tables)
			}
		})
	}
	s := MustInspect(t, dsn)
	if len(s.Tables) != 1 || s.Tables[0].Name != "other" {
		t.Errorf("default schema: tables = %+v, want only other (public)", s.Tables)
	}
}

func strs(ds []schema.Difference) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

// The matrix check: a copy of a database one migration behind, with the
// pending migration applied, has the schema the whole set of migrations
// builds; the live database is left as it was.
func TestSchemaMigrateCopy(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			all := mustMigrationsDir(t)
			pending := t.TempDir()
			os.WriteFile(filepath.Join(pending, "010_total.sql"), []byte(migrations["010_total.sql"]), 0o644)
			live := e.MustDB(t, migrations["001_users.sql"]+"\n"+migrations["002_orders.sql"])
			before := MustInspect(t, live)

			want, err := schema.FromMigrations(ctx, live, all)
			if err != nil {
				t.Fatal(err)
			}
			got, err := schema.MigrateCopy(ctx, live, pending)
			if err != nil {
				t.Fatal(err)
			}
			if d := schema.Diff(want, got); len(d) != 0 {
				t.Errorf("migrated copy vs all migrations:\n%s", strings.Join(strs(d), "\n"))
			}
			if d := schema.Diff(before, MustInspect(t, live)); len(d) != 0 {
				t.Errorf("MigrateCopy changed the live database:\n%s", strings.Join(strs(d), "\n"))
			}

			// Applying a migration the database already has fails, naming it.
			again := t.TempDir()
			os.WriteFile(filepath.Join(again, "002_orders.sql"), []byte(migrations["002_orders.sql"]), 0o644)
			if _, err := schema.MigrateCopy(ctx, live, again); err == nil || !strings.Contains(err.Error(), "002_orders.sql") {
				t.Errorf("re-applying 002_orders.sql: error %v, want one naming the file", err)
			}
			if e.name == "postgres" {
				assertNoScratchDatabases(t, live)
			}
		})
	}
}
