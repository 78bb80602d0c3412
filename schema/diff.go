package schema

import (
	"fmt"
	"slices"
	"strings"
)

// Kinds of Difference.
const (
	MissingTable      = "missing_table"
	ExtraTable        = "extra_table"
	MissingColumn     = "missing_column"
	ExtraColumn       = "extra_column"
	TypeDiff          = "type"
	NullableDiff      = "nullable"
	DefaultDiff       = "default"
	MissingIndex      = "missing_index"
	ExtraIndex        = "extra_index"
	IndexDiff         = "index"
	MissingConstraint = "missing_constraint"
	ExtraConstraint   = "extra_constraint"
	ConstraintDiff    = "constraint"
)

// Difference is one way the actual schema differs from the expected one.
type Difference struct {
	Kind  string `json:"kind"`
	Table string `json:"table"`
	// Object is the column, index or constraint concerned; empty for a
	// table.
	Object string `json:"object,omitempty"`
	// Expected and Actual describe the object on each side; empty on the
	// side where it does not exist.
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
}

// String is the difference as a person reads it.
func (d Difference) String() string {
	where := d.Table
	if d.Object != "" {
		where += "." + d.Object
	}
	switch d.Kind {
	case MissingTable:
		return fmt.Sprintf("table %s is missing", d.Table)
	case ExtraTable:
		return fmt.Sprintf("table %s is not expected", d.Table)
	case MissingColumn:
		return fmt.Sprintf("column %s is missing (expected %s)", where, d.Expected)
	case ExtraColumn:
		return fmt.Sprintf("column %s is not expected (found %s)", where, d.Actual)
	case TypeDiff:
		return fmt.Sprintf("column %s has type %s, expected %s", where, d.Actual, d.Expected)
	case NullableDiff:
		return fmt.Sprintf("column %s is %s, expected %s", where, d.Actual, d.Expected)
	case DefaultDiff:
		return fmt.Sprintf("column %s has default %s, expected %s", where, orNone(d.Actual), orNone(d.Expected))
	case MissingIndex:
		return fmt.Sprintf("index %s on %s is missing (expected %s)", d.Object, d.Table, d.Expected)
	case ExtraIndex:
		return fmt.Sprintf("index %s on %s is not expected (found %s)", d.Object, d.Table, d.Actual)
	case IndexDiff:
		return fmt.Sprintf("index %s on %s is %s, expected %s", d.Object, d.Table, d.Actual, d.Expected)
	case MissingConstraint:
		return fmt.Sprintf("constraint %s on %s is missing (expected %s)", d.Object, d.Table, d.Expected)
	case ExtraConstraint:
		return fmt.Sprintf("constraint %s on %s is not expected (found %s)", d.Object, d.Table, d.Actual)
	case ConstraintDiff:
		return fmt.Sprintf("constraint %s on %s is %s, expected %s", d.Object, d.Table, d.Actual, d.Expected)
	}
	return fmt.Sprintf("%s %s: expected %s, found %s", d.Kind, where, d.Expected, d.Actual)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func nullability(nullable bool) string {
	if nullable {
		return "NULL"
	}
	return "NOT NULL"
}

// Diff lists how actual differs from expected, table by table in name
// order; within a table columns, then indexes, then constraints. Both are
// normalised first (copies; the arguments are not changed). Columns and
// indexes are matched by name, constraints by what they constrain (see
// Constraint), so generated constraint names never differ.
func Diff(expected, actual *Schema) []Difference {
	exp, act := clone(expected), clone(actual)
	exp.Normalize()
	act.Normalize()
	var out []Difference
	names := tableNames(exp, act)
	for _, name := range names {
		et, at := exp.Table(name), act.Table(name)
		switch {
		case at == nil:
			out = append(out, Difference{Kind: MissingTable, Table: name, Expected: "table"})
		case et == nil:
			out = append(out, Difference{Kind: ExtraTable, Table: name, Actual: "table"})
		default:
			out = append(out, diffTable(et, at)...)
		}
	}
	return out
}

func tableNames(a, b *Schema) []string {
	var names []string
	for _, s := range []*Schema{a, b} {
		for _, t := range s.Tables {
			if !slices.Contains(names, t.Name) {
				names = append(names, t.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}

func diffTable(et, at *Table) []Difference {
	var out []Difference
	add := func(kind, object, exp, act string) {
		out = append(out, Difference{Kind: kind, Table: et.Name, Object: object, Expected: exp, Actual: act})
	}
	for _, ec := range et.Columns {
		i := slices.IndexFunc(at.Columns, func(c Column) bool { return c.Name == ec.Name })
		if i < 0 {
			add(MissingColumn, ec.Name, ec.Definition(), "")
			continue
		}
		ac := at.Columns[i]
		if ec.Type != ac.Type {
			add(TypeDiff, ec.Name, ec.Type, ac.Type)
		}
		if ec.Nullable != ac.Nullable {
			add(NullableDiff, ec.Name, nullability(ec.Nullable), nullability(ac.Nullable))
		}
		if ec.Default != ac.Default {
			add(DefaultDiff, ec.Name, ec.Default, ac.Default)
		}
	}
	for _, ac := range at.Columns {
		if !slices.ContainsFunc(et.Columns, func(c Column) bool { return c.Name == ac.Name }) {
			add(ExtraColumn, ac.Name, "", ac.Definition())
		}
	}

	for _, ei := range et.Indexes {
		i := slices.IndexFunc(at.Indexes, func(x Index) bool { return x.Name == ei.Name })
		if i < 0 {
			add(MissingIndex, ei.Name, ei.Definition(), "")
		} else if ai := at.Indexes[i]; ei.Definition() != ai.Definition() {
			add(IndexDiff, ei.Name, ei.Definition(), ai.Definition())
		}
	}
	for _, ai := range at.Indexes {
		if !slices.ContainsFunc(et.Indexes, func(x Index) bool { return x.Name == ai.Name }) {
			add(ExtraIndex, ai.Name, "", ai.Definition())
		}
	}

	for _, ec := range et.Constraints {
		i := slices.IndexFunc(at.Constraints, func(c Constraint) bool { return c.key() == ec.key() })
		if i < 0 {
			add(MissingConstraint, constraintLabel(ec), ec.Definition(), "")
		} else if ac := at.Constraints[i]; ec.Definition() != ac.Definition() {
			add(ConstraintDiff, constraintLabel(ec), ec.Definition(), ac.Definition())
		}
	}
	for _, ac := range at.Constraints {
		if !slices.ContainsFunc(et.Constraints, func(c Constraint) bool { return c.key() == ac.key() }) {
			add(ExtraConstraint, constraintLabel(ac), "", ac.Definition())
		}
	}
	return out
}

// constraintLabel names a constraint in a Difference: its name when it has
// one, else what identifies it.
func constraintLabel(c Constraint) string {
	if c.Name != "" {
		return c.Name
	}
	return strings.ReplaceAll(c.key(), "primary key", "PRIMARY KEY")
}

func clone(s *Schema) *Schema {
	out := &Schema{}
	if s == nil {
		return out
	}
	for _, t := range s.Tables {
		nt := Table{Name: t.Name, Columns: slices.Clone(t.Columns)}
		for _, ix := range t.Indexes {
			ix.Columns = slices.Clone(ix.Columns)
			nt.Indexes = append(nt.Indexes, ix)
		}
		for _, c := range t.Constraints {
			c.Columns = slices.Clone(c.Columns)
			c.RefColumns = slices.Clone(c.RefColumns)
			nt.Constraints = append(nt.Constraints, c)
		}
		out.Tables = append(out.Tables, nt)
	}
	return out
}
