package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory/schema"
)

// runSchema runs `upfactory schema ARGS…` in process the way Main does:
// the root's --output flag, the exit code mapping and the error message.
func runSchema(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	g := &globals{stdout: &out, stderr: &errb, output: "text"}
	root := &cobra.Command{Use: "upfactory", SilenceUsage: true, SilenceErrors: true}
	root.PersistentFlags().StringVarP(&g.output, "output", "o", "text", "")
	root.SetOut(&out)
	root.SetErr(&errb)
	root.AddCommand(newSchemaCmd(g))
	root.SetArgs(append([]string{"schema"}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := root.ExecuteContext(ctx); err != nil {
		errb.WriteString("upfactory: " + message(err) + "\n")
		return exitCode(err), out.String(), errb.String()
	}
	return exitOK, out.String(), errb.String()
}

func mustSQLiteFile(t *testing.T, ddl string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ddl); err != nil {
		t.Fatalf("applying DDL: %v", err)
	}
	return path
}

func mustWrite(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const cliMigration1 = "CREATE TABLE users (id integer PRIMARY KEY, email text NOT NULL);\nCREATE UNIQUE INDEX users_email ON users (email);\n"
const cliMigration2 = "ALTER TABLE users ADD COLUMN plan text DEFAULT 'free';\n"

// schemaCLIScenario is the same story on each engine: dump a database,
// diff it against its own dump (no drift), against migrations it is behind
// (drift, text and JSON), and with a table ignored.
func schemaCLIScenario(t *testing.T, dsn string, exec func(ddl string)) {
	dir := t.TempDir()
	code, dump, stderr := runSchema(t, "dump", "--dsn", dsn)
	if code != 0 {
		t.Fatalf("schema dump: exit %d: %s", code, stderr)
	}
	var dumped schema.Schema
	if err := json.Unmarshal([]byte(dump), &dumped); err != nil || dumped.Table("users") == nil {
		t.Fatalf("schema dump printed %q (%v), want a schema with table users", dump, err)
	}
	expected := mustWrite(t, filepath.Join(dir, "expected.json"), dump)

	code, out, stderr := runSchema(t, "diff", "--dsn", dsn, "--expected", expected)
	if code != 0 || out != "no drift\n" {
		t.Fatalf("diff against its own dump: exit %d, stdout %q, stderr %q; want 0 and \"no drift\"", code, out, stderr)
	}

	migrations := filepath.Join(dir, "migrations")
	mustWrite(t, filepath.Join(migrations, "001_users.sql"), cliMigration1)
	mustWrite(t, filepath.Join(migrations, "002_plan.sql"), cliMigration2)
	code, out, stderr = runSchema(t, "diff", "--dsn", dsn, "--migrations", migrations)
	if code != 1 {
		t.Fatalf("diff against newer migrations: exit %d (stdout %q, stderr %q), want 1", code, out, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "KIND") ||
		strings.Join(strings.Fields(lines[1]), " ") != "missing_column users plan text NULL DEFAULT 'free' -" ||
		lines[2] != "1 difference(s)" {
		t.Errorf("drift table:\n%s", out)
	}
	if !strings.Contains(stderr, "schema drift: 1 difference(s)") {
		t.Errorf("stderr %q does not say there is drift", stderr)
	}

	code, out, _ = runSchema(t, "diff", "-o", "json", "--dsn", dsn, "--migrations", migrations)
	var got struct {
		Differences []schema.Difference `json:"differences"`
	}
	if err := json.Unmarshal([]byte(out), &got); code != 1 || err != nil {
		t.Fatalf("-o json: exit %d, %v, output %q", code, err, out)
	}
	want := []schema.Difference{{Kind: "missing_column", Table: "users", Object: "plan", Expected: "text NULL DEFAULT 'free'"}}
	if diff := cmp.Diff(want, got.Differences); diff != "" {
		t.Errorf("-o json differences (-want +got):\n%s", diff)
	}

	exec(cliMigration2 + "CREATE TABLE schema_migrations (version integer);")
	code, out, _ = runSchema(t, "diff", "--dsn", dsn, "--migrations", migrations)
	if code != 1 || !strings.Contains(out, "extra_table") {
		t.Errorf("a live table the migrations lack: exit %d, stdout %q; want 1 and extra_table", code, out)
	}
	code, out, stderr = runSchema(t, "diff", "--dsn", dsn, "--migrations", migrations, "--ignore-table", "schema_migrations")
	if code != 0 || out != "no drift\n" {
		t.Errorf("with --ignore-table: exit %d, stdout %q, stderr %q; want 0 and no drift", code, out, stderr)
	}
	code, out, _ = runSchema(t, "diff", "-o", "json", "--dsn", dsn, "--migrations", migrations, "--ignore-table", "schema_migrations")
	if code != 0 || strings.TrimSpace(out) != `{
  "differences": []
}` {
		t.Errorf("no drift as JSON: exit %d, %q", code, out)
	}
}

func TestSchemaCLISQLite(t *testing.T) {
	for name, dsnOf := range map[string]func(path string) string{
		"sqlite: prefix": func(p string) string { return "sqlite:" + p },
		"file: prefix":   func(p string) string { return "file:" + p },
		"plain path":     func(p string) string { return p },
	} {
		t.Run(name, func(t *testing.T) {
			path := mustSQLiteFile(t, cliMigration1)
			schemaCLIScenario(t, dsnOf(path), func(ddl string) {
				db, err := sql.Open("sqlite", path)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if _, err := db.Exec(ddl); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func TestSchemaCLIPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := freshPostgres(t, "schema_cli")
	exec := func(ddl string) {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, ddl); err != nil {
			t.Fatal(err)
		}
	}
	exec(cliMigration1)
	schemaCLIScenario(t, dsn, exec)
}

func TestSchemaCLIInputErrors(t *testing.T) {
	dir := t.TempDir()
	live := mustSQLiteFile(t, cliMigration1)
	badJSON := mustWrite(t, filepath.Join(dir, "bad.json"), "{\n  \"tables\": [\n    {\"name\": \"users\"\n  ]\n}\n")
	good := mustWrite(t, filepath.Join(dir, "good.json"), `{"tables": []}`)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	unreachable := "postgres://admin:hunter2-Secret@127.0.0.1:" + port + "/app?sslmode=disable"

	for _, tc := range []struct {
		name   string
		args   []string
		want   []string
		absent string
	}{
		{"no flags", []string{"diff"}, []string{"--dsn"}, ""},
		{"no expectation", []string{"diff", "--dsn", live}, []string{"--expected", "--migrations"}, ""},
		{"both expectations", []string{"diff", "--dsn", live, "--expected", good, "--migrations", dir}, []string{"exactly one"}, ""},
		{"unknown flag", []string{"diff", "--nope"}, []string{"unknown flag"}, ""},
		{"unreadable file", []string{"diff", "--dsn", live, "--expected", filepath.Join(dir, "absent.json")}, []string{"absent.json"}, ""},
		{"JSON syntax error", []string{"diff", "--dsn", live, "--expected", badJSON}, []string{"bad.json", "line 4"}, ""},
		{"no migrations", []string{"diff", "--dsn", live, "--migrations", dir + "/none"}, []string{"none"}, ""},
		{"missing database file", []string{"diff", "--dsn", filepath.Join(dir, "gone.db"), "--expected", good}, []string{"gone.db"}, ""},
		{"unreachable DSN", []string{"diff", "--dsn", unreachable, "--expected", good}, []string{"127.0.0.1:" + port, "admin:xxxxx@"}, "hunter2-Secret"},
		{"unreachable DSN, migrations", []string{"diff", "--dsn", unreachable, "--migrations", dir}, []string{"127.0.0.1:" + port}, "hunter2-Secret"},
		{"dump unreachable", []string{"dump", "--dsn", unreachable}, []string{"127.0.0.1:" + port}, "hunter2-Secret"},
		{"dump without DSN", []string{"dump"}, []string{"--dsn"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "unreachable DSN, migrations" {
				mustWrite(t, filepath.Join(dir, "001.sql"), "CREATE TABLE a (id integer);")
			}
			code, out, stderr := runSchema(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stdout %q, stderr %q)", code, out, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not contain %q", stderr, w)
				}
			}
			if tc.absent != "" && strings.Contains(stderr+out, tc.absent) {
				t.Errorf("output shows %q: %s", tc.absent, stderr)
			}
		})
	}
}
