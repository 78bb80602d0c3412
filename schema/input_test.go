package schema_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory/schema"
)

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestSchemaUnreachableDSN(t *testing.T) {
	ctx := context.Background()
	port := strconv.Itoa(closedPort(t))
	dsn := "postgres://bob:s3cret-Pw@127.0.0.1:" + port + "/app?sslmode=disable"
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "001.sql"), []byte("CREATE TABLE a (id int);"), 0o644)
	for name, call := range map[string]func() error{
		"Inspect":        func() error { _, err := schema.Inspect(ctx, dsn); return err },
		"FromMigrations": func() error { _, err := schema.FromMigrations(ctx, dsn, dir); return err },
	} {
		t.Run(name, func(t *testing.T) {
			err := call()
			if err == nil {
				t.Fatal("no error for a closed port")
			}
			msg := err.Error()
			if !strings.Contains(msg, "127.0.0.1:"+port) {
				t.Errorf("error %q does not name 127.0.0.1:%s", msg, port)
			}
			if strings.Contains(msg, "s3cret-Pw") {
				t.Errorf("error %q shows the password", msg)
			}
			if !strings.Contains(msg, "postgres://bob:xxxxx@127.0.0.1:"+port+"/app") {
				t.Errorf("error %q does not name the redacted DSN", msg)
			}
		})
	}
}

func TestSchemaMissingSQLiteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.db")
	_, err := schema.Inspect(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Inspect(%s) error = %v, want one naming the file", path, err)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v is not os.ErrNotExist", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Inspect created %s; it must open read-only", path)
	}
	if _, err := schema.Inspect(context.Background(), "mysql://x"); err == nil || !strings.Contains(err.Error(), "mysql://x") {
		t.Errorf("unknown DSN kind: error %v does not name it", err)
	}
}

func TestSchemaRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@db.example:5432/app?sslmode=disable": "postgres://u:xxxxx@db.example:5432/app?sslmode=disable",
		"postgresql://u@h/app":               "postgresql://u@h/app",
		"host=h user=u password=secret db=x": "host=h user=u password=xxxxx db=x",
		"sqlite:/tmp/x.db":                   "sqlite:/tmp/x.db",
	} {
		if got := schema.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSchemaBadExpectedFile(t *testing.T) {
	ctx := context.Background()
	live := MustSQLiteDB(t, "CREATE TABLE a (id integer);")
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	for _, tc := range []struct {
		name, path string
		want       []string
	}{
		{"missing", filepath.Join(dir, "absent.json"), []string{"absent.json", "no such file"}},
		{"syntax", write("syntax.json", "{\n  \"tables\": [\n    {\"name\": \"a\",, }\n  ]\n}"), []string{"syntax.json", "line 3"}},
		{"truncated", write("short.json", "{\"tables\": [\n"), []string{"short.json", "line 2"}},
		{"wrong type", write("type.json", "{\"tables\": [\n {\"name\": 5}]}"), []string{"type.json", "line 2"}},
		{"unknown field", write("field.json", `{"tables": [], "tabels": []}`), []string{"field.json", "tabels"}},
		{"invalid", write("invalid.json", `{"tables": [{"name": "a", "constraints": [{"type": "foreign_key", "columns": ["x"]}]}]}`), []string{"invalid.json", "ref_table"}},
		{"bad sql", write("bad.sql", "CREATE TABLE a (id integer);\nCREATE TABLE ((;"), []string{"bad.sql"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := schema.LoadExpected(ctx, tc.path, live)
			if err == nil {
				t.Fatalf("LoadExpected(%s) succeeded", tc.path)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestSchemaNormalizeType(t *testing.T) {
	for in, want := range map[string]string{
		"int4": "integer", "INT": "integer", "integer": "integer", "serial": "integer",
		"int8": "bigint", "character varying(20)": "varchar(20)", "VARCHAR( 20 )": "varchar(20)",
		"character(3)": "char(3)", "bpchar": "char", "bool": "boolean", "float8": "double precision",
		"timestamp with time zone": "timestamptz", "timestamp(3) with time zone": "timestamptz(3)",
		"timestamp without time zone": "timestamp", "decimal(10, 2)": "numeric(10,2)",
		"integer[]": "integer[]", "int4[3]": "integer[]", "": "", "BLOB": "blob", "unsigned big int": "unsigned big int",
	} {
		if got := schema.NormalizeType(in); got != want {
			t.Errorf("NormalizeType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSchemaNormalizeExpr(t *testing.T) {
	for in, want := range map[string]string{
		"'x'::text":                         "'x'",
		"'active'::character varying":       "'active'",
		"nextval('users_id_seq'::regclass)": "nextval('users_id_seq')",
		"'-1'::integer":                     "-1",
		"(-1)":                              "-1",
		"('2020-01-01 00:00:00'::timestamp without time zone)": "'2020-01-01 00:00:00'",
		"CURRENT_TIMESTAMP": "current_timestamp",
		"((score>=0))":      "score >= 0",
		"status = ANY (ARRAY['a'::text, 'b'::text])": "status = any(array['a', 'b'])",
		`"Weird Col" > 0`:     `"Weird Col" > 0`,
		`"plain" != 1`:        "plain <> 1",
		"[email] IS NOT NULL": "email is not null",
		"'It''s'":             "'It''s'",
		"lower(email)":        "lower(email)",
	} {
		if got := schema.NormalizeExpr(in); got != want {
			t.Errorf("NormalizeExpr(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSchemaParseJSON(f *testing.F) {
	f.Add([]byte(`{"tables": []}`))
	f.Add([]byte(`{"tables": [{"name": "users", "columns": [{"name": "id", "type": "int4", "nullable": false, "default": "nextval('s'::regclass)"}],
		"indexes": [{"name": "i", "columns": ["lower(email) DESC"], "unique": true, "where": "(status = 'a'::text)"}],
		"constraints": [{"type": "foreign_key", "columns": ["a"], "ref_table": "t", "ref_columns": ["b"], "on_delete": "cascade"},
		{"type": "check", "check": "((x > 0))"}, {"type": "primary_key", "columns": ["id"]}]}]}`))
	f.Add([]byte("{\n\"tables\": [\n{\"name\": \"a\",, }]}"))
	f.Add([]byte(`{"tables": [{"name": "a", "columns": [{"name": "c", "type": "timestamp(3) with time zone[]", "default": "'-1.5'::numeric"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := schema.ParseJSON(data)
		if err != nil {
			if s != nil {
				t.Fatal("ParseJSON returned a schema and an error")
			}
			return
		}
		// A parsed schema is normalised: writing it out and reading it
		// back changes nothing, and it does not differ from itself.
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		again, err := schema.ParseJSON(b)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", b, err)
		}
		if diff := cmp.Diff(s, again); diff != "" {
			t.Fatalf("normalisation is not stable (-first +second):\n%s", diff)
		}
		if d := schema.Diff(s, again); len(d) != 0 {
			t.Fatalf("a schema differs from itself: %v", d)
		}
	})
}

func FuzzSchemaNormalizeExpr(f *testing.F) {
	for _, s := range []string{"'x'::text", "((score>=0))", "status = ANY (ARRAY['a'::text, 'b'::text])", `"Weird" != [col]`, "'-1'::integer", "f(x) -- c\n/* d */", "a::timestamp(3) with time zone[]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, e string) {
		once := schema.NormalizeExpr(e)
		if twice := schema.NormalizeExpr(once); twice != once {
			t.Fatalf("NormalizeExpr is not idempotent: %q → %q → %q", e, once, twice)
		}
	})
}
