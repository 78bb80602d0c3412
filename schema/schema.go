// Package schema reads the schema of a live PostgreSQL or SQLite database,
// builds the expected one from a file or migrations, and lists the drift.
package schema

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Schema is the structure of one database schema: what Inspect reads, what
// an expected file holds (as JSON), and what Diff compares. Table, index and
// constraint order is sorted by Normalize; columns keep their ordinal order.
type Schema struct {
	// Tables are the base tables of the schema (no views), sorted by name.
	Tables []Table `json:"tables"`
}

// Table is one base table.
type Table struct {
	Name string `json:"name"`
	// Columns in ordinal order. Diff matches them by name, so order is not
	// a difference.
	Columns []Column `json:"columns"`
	// Indexes are the indexes created with CREATE INDEX; those that only
	// back a primary key or unique constraint are listed as constraints.
	Indexes []Index `json:"indexes,omitempty"`
	// Constraints: the primary key, unique constraints, foreign keys and
	// check constraints.
	Constraints []Constraint `json:"constraints,omitempty"`
}

// Column is one column of a table.
type Column struct {
	Name string `json:"name"`
	// Type is the normalised type: "integer" for int4 and int, "varchar(20)"
	// for character varying(20), "timestamptz", … (see NormalizeType). For
	// SQLite it is the declared type, normalised the same way.
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
	// Default is the normalised default expression, "" when there is none.
	Default string `json:"default,omitempty"`
}

// Index is one index.
type Index struct {
	Name string `json:"name"`
	// Columns are column names or expressions, each followed by " DESC"
	// when descending.
	Columns []string `json:"columns"`
	Unique  bool     `json:"unique,omitempty"`
	// Where is the predicate of a partial index, normalised.
	Where string `json:"where,omitempty"`
}

// Constraint types.
const (
	PrimaryKey = "primary_key"
	Unique     = "unique"
	ForeignKey = "foreign_key"
	Check      = "check"
)

// Constraint is a primary key, unique, foreign key or check constraint.
// Diff identifies a constraint by what it constrains, not by its name, which
// databases often generate: the primary key by being the primary key, a
// unique constraint and a foreign key by their columns, a check by its
// expression.
type Constraint struct {
	// Name is informational; SQLite has none for most constraints.
	Name    string   `json:"name,omitempty"`
	Type    string   `json:"type"`
	Columns []string `json:"columns,omitempty"`
	// RefTable, RefColumns and OnDelete describe a foreign key. OnDelete is
	// one of NO ACTION (the default when empty), RESTRICT, CASCADE, SET NULL,
	// SET DEFAULT.
	RefTable   string   `json:"ref_table,omitempty"`
	RefColumns []string `json:"ref_columns,omitempty"`
	OnDelete   string   `json:"on_delete,omitempty"`
	// Check is the normalised expression of a check constraint.
	Check string `json:"check,omitempty"`
}

// Table returns the table called name, or nil.
func (s *Schema) Table(name string) *Table {
	for i := range s.Tables {
		if s.Tables[i].Name == name {
			return &s.Tables[i]
		}
	}
	return nil
}

// Without returns a copy of s without the named tables (a migration tool's
// own bookkeeping table, for instance).
func (s *Schema) Without(names ...string) *Schema {
	out := &Schema{Tables: []Table{}}
	for _, t := range s.Tables {
		if !slices.Contains(names, t.Name) {
			out.Tables = append(out.Tables, t)
		}
	}
	return out
}

// Normalize normalises every type, default and expression and sorts tables,
// indexes and constraints, so that the same schema written two ways is
// equal. Inspect and ParseJSON return normalised schemas.
func (s *Schema) Normalize() {
	if s.Tables == nil {
		s.Tables = []Table{}
	}
	for i := range s.Tables {
		t := &s.Tables[i]
		if t.Columns == nil {
			t.Columns = []Column{}
		}
		for j := range t.Columns {
			c := &t.Columns[j]
			c.Type = NormalizeType(c.Type)
			c.Default = NormalizeExpr(c.Default)
			if c.Default == "null" {
				c.Default = "" // DEFAULT NULL is no default
			}
		}
		for j := range t.Indexes {
			ix := &t.Indexes[j]
			for k, col := range ix.Columns {
				ix.Columns[k] = normalizeIndexColumn(col)
			}
			ix.Where = NormalizeExpr(ix.Where)
		}
		for j := range t.Constraints {
			c := &t.Constraints[j]
			c.Type = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(c.Type), " ", "_"))
			if c.Type == ForeignKey {
				c.OnDelete = normalizeAction(c.OnDelete)
			} else {
				c.OnDelete = ""
			}
			c.Check = NormalizeExpr(c.Check)
		}
		// Empty and absent lists are the same (JSON omits both).
		if len(t.Indexes) == 0 {
			t.Indexes = nil
		}
		if len(t.Constraints) == 0 {
			t.Constraints = nil
		}
		for j := range t.Constraints {
			c := &t.Constraints[j]
			if len(c.Columns) == 0 {
				c.Columns = nil
			}
			if len(c.RefColumns) == 0 {
				c.RefColumns = nil
			}
		}
		slices.SortFunc(t.Indexes, func(a, b Index) int { return cmp.Compare(a.Name, b.Name) })
		slices.SortFunc(t.Constraints, func(a, b Constraint) int { return cmp.Compare(a.key(), b.key()) })
	}
	slices.SortFunc(s.Tables, func(a, b Table) int { return cmp.Compare(a.Name, b.Name) })
}

func normalizeIndexColumn(col string) string {
	col = NormalizeExpr(col)
	desc, decided := false, false
	for {
		switch {
		case strings.HasSuffix(col, " desc"):
			desc = desc || !decided
			col = NormalizeExpr(strings.TrimSuffix(col, " desc"))
		case strings.HasSuffix(col, " asc"):
			col = NormalizeExpr(strings.TrimSuffix(col, " asc"))
		default:
			if desc {
				col += " DESC"
			}
			return col
		}
		decided = true
	}
}

func normalizeAction(a string) string {
	a = strings.ToUpper(strings.Join(strings.Fields(strings.ReplaceAll(a, "_", " ")), " "))
	if a == "" {
		return "NO ACTION"
	}
	return a
}

// key identifies a constraint within its table for Diff.
func (c Constraint) key() string {
	switch c.Type {
	case PrimaryKey:
		return "primary key"
	case Unique:
		return "unique (" + strings.Join(c.Columns, ", ") + ")"
	case ForeignKey:
		return "foreign key (" + strings.Join(c.Columns, ", ") + ")"
	case Check:
		return "check (" + c.Check + ")"
	}
	return c.Type + " " + c.Name
}

// Definition is the constraint as a person reads it.
func (c Constraint) Definition() string {
	cols := "(" + strings.Join(c.Columns, ", ") + ")"
	switch c.Type {
	case PrimaryKey:
		return "PRIMARY KEY " + cols
	case Unique:
		return "UNIQUE " + cols
	case ForeignKey:
		return fmt.Sprintf("FOREIGN KEY %s REFERENCES %s(%s) ON DELETE %s", cols, c.RefTable, strings.Join(c.RefColumns, ", "), normalizeAction(c.OnDelete))
	case Check:
		return "CHECK (" + c.Check + ")"
	}
	return c.Type
}

// Definition is the index as a person reads it.
func (ix Index) Definition() string {
	s := "(" + strings.Join(ix.Columns, ", ") + ")"
	if ix.Unique {
		s = "UNIQUE " + s
	}
	if ix.Where != "" {
		s += " WHERE " + ix.Where
	}
	return s
}

// Definition is the column as a person reads it: type, nullability, default.
func (c Column) Definition() string {
	s := c.Type
	if s == "" {
		s = "(no type)"
	}
	if c.Nullable {
		s += " NULL"
	} else {
		s += " NOT NULL"
	}
	if c.Default != "" {
		s += " DEFAULT " + c.Default
	}
	return s
}
