package config

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
)

// pos is a place in the file; line 0 means none.
type pos struct{ line, col int }

// loader decodes the AST into Go values itself rather than through goccy's
// decoder: goccy stops at the first type error, and it turns the YAML number
// 1.10 into the string "1.1", which is a different version.
type loader struct {
	file    string
	anchors map[string][]*ast.AnchorNode
	pos     map[string]pos    // key path → where its value is written
	parent  map[string]string // key path → enclosing key path
	bad     map[string]bool   // key paths that already have a decoding problem
	unknown map[string]bool   // key paths of mappings holding an unknown key
	probs   []Problem
	budget  int // node visits left; aliases can make a small file expand enormously
	merges  int // depth of nested merge keys, which may refer to themselves
	cfg     *upfactory.Config
	// checkFiles: look at the files the config names (Load), not only at
	// the config itself (Parse).
	checkFiles bool
}

const maxVisits = 1 << 20

func newLoader(file string) *loader {
	return &loader{
		file:    file,
		anchors: map[string][]*ast.AnchorNode{},
		pos:     map[string]pos{},
		parent:  map[string]string{},
		bad:     map[string]bool{},
		unknown: map[string]bool{},
		budget:  maxVisits,
	}
}

// problem records a decoding problem at p and marks path so validation does
// not pile a second complaint on the same value.
func (l *loader) problem(path string, p pos, format string, args ...any) {
	l.bad[path] = true
	l.probs = append(l.probs, Problem{File: l.file, Line: p.line, Column: p.col, Key: path, Message: fmt.Sprintf(format, args...)})
}

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType        = reflect.TypeFor[upfactory.Duration]()
)

// decode stores n into v, which must be settable, reporting every mismatch
// between the YAML and v's type under path.
func (l *loader) decode(n ast.Node, v reflect.Value, path string) {
	if l.budget--; l.budget < 0 {
		if l.budget == -1 {
			l.probs = append(l.probs, Problem{File: l.file,
				Message: fmt.Sprintf("more than %d values after expanding aliases; not reading further", maxVisits)})
		}
		return
	}
	n, ok := l.resolve(n, path)
	if !ok {
		return
	}
	t := v.Type()
	if n == nil {
		// "- pause:" reads as a pause with no duration, and a null service
		// should be validated rather than crash whoever reads the config.
		if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return
	}
	if t.Kind() == reflect.Pointer {
		// Set the pointer only when its value decoded, so a bad weight
		// stays nil rather than becoming 0.
		elem := reflect.New(t.Elem())
		before := len(l.probs)
		l.decode(n, elem.Elem(), path)
		if len(l.probs) == before || t.Elem().Kind() == reflect.Struct {
			v.Set(elem)
		}
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		s, ok := scalarText(n)
		if !ok {
			l.typeProblem(path, n, t)
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			l.problem(path, nodePos(n), "%v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		l.decodeStruct(n, v, path)
	case reflect.Slice:
		l.decodeSlice(n, v, path)
	case reflect.Map:
		l.decodeMap(n, v, path)
	case reflect.String:
		// Any scalar will do, in its source text, so versions such as 2 or
		// 1.10 stay as written.
		s, ok := scalarText(n)
		if !ok {
			l.typeProblem(path, n, t)
			return
		}
		v.SetString(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := n.(*ast.IntegerNode)
		if !ok {
			// goccy reads integers beyond 64 bits as strings.
			if s, isStr := n.(*ast.StringNode); isStr && plain(s) && bigInt.MatchString(s.Value) {
				l.problem(path, nodePos(n), "%s is too large", s.Value)
				return
			}
			l.typeProblem(path, n, t)
			return
		}
		var x int64
		switch iv := i.Value.(type) {
		case int64:
			x = iv
		case uint64:
			if iv > math.MaxInt64 {
				l.problem(path, nodePos(n), "%s is too large", i.GetToken().Value)
				return
			}
			x = int64(iv)
		}
		if v.OverflowInt(x) {
			l.problem(path, nodePos(n), "%s is too large", i.GetToken().Value)
			return
		}
		v.SetInt(x)
	case reflect.Float32, reflect.Float64:
		f, ok := number(n)
		if !ok {
			l.typeProblem(path, n, t)
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			l.typeProblem(path, n, t)
			return
		}
		v.SetBool(b.Value)
	default:
		l.problem(path, nodePos(n), "cannot hold a value of Go type %s", t)
	}
}

func (l *loader) typeProblem(path string, n ast.Node, t reflect.Type) {
	l.problem(path, nodePos(n), "expected %s, got %s", describeType(t), describeNode(n))
}

func (l *loader) decodeStruct(n ast.Node, v reflect.Value, path string) {
	entries, ok := l.mapping(n, path)
	if !ok {
		l.typeProblem(path, n, v.Type())
		return
	}
	names, index := yamlFields(v.Type())
	for _, e := range entries {
		p := provider.JoinKey(path, e.key)
		l.record(p, path, e)
		i, ok := index[e.key]
		if !ok {
			hint := ""
			if s := closest(e.key, names); s != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", s)
			}
			l.unknown[path] = true
			l.problem(p, e.keyPos, "unknown key %q%s; expected one of: %s", e.key, hint, strings.Join(names, ", "))
			continue
		}
		l.decode(e.value, v.Field(i), p)
	}
}

func (l *loader) decodeSlice(n ast.Node, v reflect.Value, path string) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		l.typeProblem(path, n, v.Type())
		return
	}
	s := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
	for i, el := range seq.Values {
		p := fmt.Sprintf("%s[%d]", path, i)
		l.parent[p] = path
		if !isNil(el) {
			l.pos[p] = nodePos(el)
		}
		l.decode(el, s.Index(i), p)
	}
	v.Set(s)
}

func (l *loader) decodeMap(n ast.Node, v reflect.Value, path string) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		l.problem(path, nodePos(n), "cannot hold a map keyed by Go type %s", t.Key())
		return
	}
	entries, ok := l.mapping(n, path)
	if !ok {
		l.typeProblem(path, n, t)
		return
	}
	m := reflect.MakeMapWithSize(t, len(entries))
	for _, e := range entries {
		p := provider.JoinKey(path, e.key)
		l.record(p, path, e)
		elem := reflect.New(t.Elem()).Elem()
		l.decode(e.value, elem, p)
		m.SetMapIndex(reflect.ValueOf(e.key).Convert(t.Key()), elem)
	}
	v.Set(m)
}

// entry is one key of a mapping, after merge keys are expanded.
type entry struct {
	key    string
	keyPos pos
	value  ast.Node
}

// record notes where the value of entry e, at path p, is written: at the
// value for a scalar, at the key for a collection or an empty value, so a
// problem about "router" points at "router:".
func (l *loader) record(p, parent string, e entry) {
	l.parent[p] = parent
	l.pos[p] = e.keyPos
	if n, ok := l.peek(e.value); ok && n != nil {
		if _, scalar := scalarText(n); scalar {
			l.pos[p] = nodePos(e.value)
		}
	}
}

// mapping returns the entries of n, or false when n is not a mapping.
// Explicit keys win over merged ones, and earlier merge sources over later
// ones, as YAML's merge key specifies.
func (l *loader) mapping(n ast.Node, path string) ([]entry, bool) {
	var values []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		values = m.Values
	case *ast.MappingValueNode:
		values = []*ast.MappingValueNode{m}
	default:
		return nil, false
	}
	seen := map[string]pos{}
	var entries, merged []entry
	for _, mv := range values {
		if mv == nil || isNil(mv.Key) {
			continue
		}
		kp := nodePos(mv.Key)
		if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
			merged = append(merged, l.merge(mv.Value, path, kp)...)
			continue
		}
		key, ok := l.keyText(mv.Key)
		if !ok {
			l.problem(path, kp, "a key must be a string, got %s", describeNode(mv.Key))
			continue
		}
		if first, dup := seen[key]; dup {
			l.problem(provider.JoinKey(path, key), kp, "duplicate key %q; first set at line %d", key, first.line)
			continue
		}
		seen[key] = kp
		entries = append(entries, entry{key: key, keyPos: kp, value: mv.Value})
	}
	for _, e := range merged {
		if _, ok := seen[e.key]; ok {
			continue
		}
		seen[e.key] = e.keyPos
		entries = append(entries, e)
	}
	return entries, true
}

// merge expands the value of a "<<" key: a mapping or a list of them.
func (l *loader) merge(v ast.Node, path string, at pos) []entry {
	if l.merges >= 16 {
		l.problem(path, at, "merge keys (<<) nested more than 16 deep; does an anchor merge itself?")
		return nil
	}
	l.merges++
	defer func() { l.merges-- }()
	if l.budget--; l.budget < 0 {
		return nil
	}
	n, ok := l.resolve(v, path)
	if !ok {
		return nil
	}
	if seq, isSeq := n.(*ast.SequenceNode); isSeq {
		var all []entry
		for _, el := range seq.Values {
			m, ok := l.resolve(el, path)
			if !ok {
				continue
			}
			es, ok := l.mapping(m, path)
			if !ok {
				l.problem(path, nodePos(el), "a merge key (<<) takes a mapping or a list of mappings, got a list holding %s", describeNode(m))
				continue
			}
			// Earlier sources win, so they go first.
			all = append(all, es...)
		}
		return all
	}
	es, ok := l.mapping(n, path)
	if !ok {
		l.problem(path, at, "a merge key (<<) takes a mapping or a list of mappings, got %s", describeNode(n))
	}
	return es
}

func (l *loader) keyText(k ast.Node) (string, bool) {
	if mk, ok := k.(*ast.MappingKeyNode); ok {
		k = mk.Value
	}
	n, ok := l.peek(k)
	if !ok || n == nil {
		return "", false
	}
	return scalarText(n)
}

// resolve looks through anchors, tags and aliases to the node that holds
// the value; nil stands for null. An alias to nothing is reported.
func (l *loader) resolve(n ast.Node, path string) (ast.Node, bool) {
	return l.follow(n, path, true)
}

// peek is resolve without reporting.
func (l *loader) peek(n ast.Node) (ast.Node, bool) {
	return l.follow(n, "", false)
}

func (l *loader) follow(n ast.Node, path string, report bool) (ast.Node, bool) {
	for range 64 {
		if isNil(n) {
			return nil, true
		}
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		case *ast.AliasNode:
			a := l.anchorFor(x)
			if a == nil {
				if !report {
					return nil, false
				}
				l.problem(path, nodePos(x), "alias *%s refers to no anchor &%s before it", nameOf(x.Value), nameOf(x.Value))
				return nil, false
			}
			n = a.Value
		case *ast.NullNode:
			return nil, true
		default:
			return n, true
		}
	}
	if report {
		l.problem(path, nodePos(n), "aliases refer to each other in a loop")
	}
	return nil, false
}

// anchorFor returns the anchor alias a refers to: the last one of its name
// defined before it.
func (l *loader) anchorFor(a *ast.AliasNode) *ast.AnchorNode {
	name := nameOf(a.Value)
	at := offset(a)
	var found *ast.AnchorNode
	for _, an := range l.anchors[name] {
		if offset(an) < at {
			found = an
		}
	}
	return found
}

// collectAnchors indexes every anchor in document order, including those
// under keys the walk will reject, since an alias may still refer to them.
func (l *loader) collectAnchors(n ast.Node) {
	if isNil(n) {
		return
	}
	switch x := n.(type) {
	case *ast.AnchorNode:
		name := nameOf(x.Name)
		l.anchors[name] = append(l.anchors[name], x)
		l.collectAnchors(x.Value)
	case *ast.TagNode:
		l.collectAnchors(x.Value)
	case *ast.MappingNode:
		for _, mv := range x.Values {
			if mv != nil {
				l.collectAnchors(mv)
			}
		}
	case *ast.MappingValueNode:
		l.collectAnchors(x.Key)
		l.collectAnchors(x.Value)
	case *ast.MappingKeyNode:
		l.collectAnchors(x.Value)
	case *ast.SequenceNode:
		for _, el := range x.Values {
			l.collectAnchors(el)
		}
	}
}

func nameOf(n ast.Node) string {
	if isNil(n) {
		return ""
	}
	if s, ok := n.(*ast.StringNode); ok {
		return s.Value
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

func offset(n ast.Node) int {
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Offset
	}
	return 0
}

// scalarText returns the text of a scalar: the value of a string, the
// source text of a number or boolean.
func scalarText(n ast.Node) (string, bool) {
	switch x := n.(type) {
	case *ast.StringNode:
		return x.Value, true
	case *ast.LiteralNode:
		if x.Value == nil {
			return "", true
		}
		return x.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		if tk := n.GetToken(); tk != nil {
			return tk.Value, true
		}
	}
	return "", false
}

// number accepts what YAML 1.2 calls a number, including 1e3 that goccy
// reads as a string, but not infinities or NaN: no limit is infinite.
func number(n ast.Node) (float64, bool) {
	switch x := n.(type) {
	case *ast.IntegerNode:
		switch v := x.Value.(type) {
		case int64:
			return float64(v), true
		case uint64:
			return float64(v), true
		}
	case *ast.FloatNode:
		return x.Value, !math.IsInf(x.Value, 0) && !math.IsNaN(x.Value)
	case *ast.StringNode:
		if !plain(x) {
			return 0, false // quoted: meant as a string
		}
		f, err := strconv.ParseFloat(x.Value, 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	return 0, false
}

// plain reports whether s was written without quotes.
func plain(s *ast.StringNode) bool {
	tk := s.GetToken()
	return tk != nil && tk.Type != token.SingleQuoteType && tk.Type != token.DoubleQuoteType
}

func nodePos(n ast.Node) pos {
	if isNil(n) {
		return pos{}
	}
	switch x := n.(type) {
	case *ast.MappingNode:
		if len(x.Values) > 0 && x.Values[0] != nil && !isNil(x.Values[0].Key) {
			return nodePos(x.Values[0].Key)
		}
	case *ast.MappingValueNode:
		if !isNil(x.Key) {
			return nodePos(x.Key)
		}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return pos{}
	}
	return pos{tk.Position.Line, tk.Position.Column}
}

// isNil catches typed nil pointers inside ast.Node, which goccy's methods
// dereference.
func isNil(n ast.Node) bool {
	if n == nil {
		return true
	}
	v := reflect.ValueOf(n)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// yamlFields returns a struct's YAML keys in declaration order and the
// index of the field behind each.
func yamlFields(t reflect.Type) ([]string, map[string]int) {
	var names []string
	index := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // goccy's rule for untagged fields
		}
		names = append(names, name)
		index[name] = i
	}
	return names, index
}

var bigInt = regexp.MustCompile(`^[-+]?[0-9]+$`)

func describeType(t reflect.Type) string {
	if t == durationType {
		return "a duration such as 30s"
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return "a single value"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describeType(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

func describeNode(n ast.Node) string {
	switch x := n.(type) {
	case nil:
		return "nothing"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		s, _ := scalarText(x)
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return fmt.Sprintf("the string %q", s)
	case *ast.IntegerNode:
		return "the whole number " + x.GetToken().Value
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "the number " + x.GetToken().Value
	case *ast.BoolNode:
		return "the boolean " + x.GetToken().Value
	case *ast.NullNode:
		return "null"
	case *ast.MappingKeyNode:
		return "a complex key (?)"
	}
	return "a " + strings.ToLower(n.Type().String())
}

// closest returns the name in names a typo most likely meant, or "".
func closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if strings.EqualFold(s, n) {
			return n
		}
		if d := editDistance(s, n); d < bestD && d < len(n) {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = slices.Min([]int{prev[j] + 1, cur[j-1] + 1, prev[j-1] + cost})
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
