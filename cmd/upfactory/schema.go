package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory/schema"
)

func newSchemaCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Compare a live database schema with the expected one (schema drift)",
	}
	cmd.AddCommand(newSchemaDiffCmd(g), newSchemaDumpCmd(g))
	return cmd
}

func newSchemaDiffCmd(g *globals) *cobra.Command {
	var dsn, expected, migrations, pgSchema string
	var ignore []string
	cmd := &cobra.Command{
		Use:   "diff --dsn DSN (--expected FILE | --migrations DIR)",
		Short: "List every difference between a live schema and the expected one; exit 1 on drift",
		Long: "Compare the tables, columns (type, nullability, default), indexes and constraints\n" +
			"of a live PostgreSQL (postgres://…) or SQLite (sqlite:PATH, file:PATH, *.db) database\n" +
			"with the expected schema: a JSON file (see `schema dump`), a .sql file of DDL, or a\n" +
			"directory of *.sql migrations applied in name order to a throw-away database of the\n" +
			"same kind (for PostgreSQL a temporary database on the same server).\n" +
			"Exit codes: 0 no drift, 1 drift, 2 usage or input error.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if dsn == "" {
				return usageErr("schema diff needs --dsn")
			}
			if (expected == "") == (migrations == "") {
				return usageErr("schema diff needs exactly one of --expected FILE and --migrations DIR")
			}
			var opts []schema.Option
			if pgSchema != "" {
				opts = append(opts, schema.WithPostgresSchema(pgSchema))
			}
			var want *schema.Schema
			var err error
			if expected != "" {
				want, err = schema.LoadExpected(ctx, expected, dsn, opts...)
			} else {
				want, err = schema.FromMigrations(ctx, dsn, migrations, opts...)
			}
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			got, err := schema.Inspect(ctx, dsn, opts...)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			diffs := schema.Diff(want.Without(ignore...), got.Without(ignore...))
			if g.json() {
				if diffs == nil {
					diffs = []schema.Difference{}
				}
				if err := printSchemaJSON(g, map[string]any{"differences": diffs}); err != nil {
					return err
				}
			} else if err := printDifferences(g, diffs); err != nil {
				return err
			}
			if len(diffs) > 0 {
				return &exitError{code: exitRefused, err: fmt.Errorf("schema drift: %d difference(s) in %s", len(diffs), schema.Redact(dsn)), reported: true}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dsn, "dsn", "", "the live database: postgres://…, sqlite:PATH, file:PATH or a .db/.sqlite path")
	f.StringVar(&expected, "expected", "", "the expected schema: a JSON file (as `schema dump` prints) or a .sql file of DDL")
	f.StringVar(&migrations, "migrations", "", "a directory of *.sql migrations that build the expected schema")
	f.StringVar(&pgSchema, "pg-schema", "", "PostgreSQL schema to compare (default: the DSN's search_path, else public)")
	f.StringSliceVar(&ignore, "ignore-table", nil, "a table to leave out on both sides, such as a migration tool's version table (repeatable)")
	return cmd
}

func printDifferences(g *globals, diffs []schema.Difference) error {
	if len(diffs) == 0 {
		_, err := fmt.Fprintln(g.stdout, "no drift")
		return err
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tTABLE\tOBJECT\tEXPECTED\tACTUAL")
	for _, d := range diffs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Kind, d.Table, dash(d.Object), dash(d.Expected), dash(d.Actual))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(g.stdout, "%d difference(s)\n", len(diffs))
	return err
}

// printSchemaJSON is printJSON without HTML escaping, so that expressions
// read "x > 0" rather than "x \u003e 0" in a file a person edits.
func printSchemaJSON(g *globals, v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newSchemaDumpCmd(g *globals) *cobra.Command {
	var dsn, pgSchema string
	cmd := &cobra.Command{
		Use:   "dump --dsn DSN",
		Short: "Print a live database's schema as JSON, the format of `schema diff --expected`",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dsn == "" {
				return usageErr("schema dump needs --dsn")
			}
			var opts []schema.Option
			if pgSchema != "" {
				opts = append(opts, schema.WithPostgresSchema(pgSchema))
			}
			s, err := schema.Inspect(cmd.Context(), dsn, opts...)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			return printSchemaJSON(g, s)
		},
	}
	cmd.Flags().StringVar(&dsn, "dsn", "", "the live database: postgres://…, sqlite:PATH, file:PATH or a .db/.sqlite path")
	cmd.Flags().StringVar(&pgSchema, "pg-schema", "", "PostgreSQL schema to read (default: the DSN's search_path, else public)")
	return cmd
}
