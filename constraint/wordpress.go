package constraint

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/upfactory/upfactory/version"
)

var wpVersion = regexp.MustCompile(`^\d+(\.\d+){0,3}$`)

// checkWordPressMinimum is "Requires at least" (wp=true) or "Requires PHP":
// a minimum only, compared as WordPress compares them. For WordPress that is
// is_wp_version_compatible: the running version loses any "-RC1"-style
// suffix, and a required x.y.0 is read as x.y. For PHP it is
// is_php_version_compatible: PHP's version_compare on PHP_VERSION.
func checkWordPressMinimum(d Declared, ver string, wp bool) (Verdict, string) {
	req := strings.TrimSpace(d.Constraint)
	label, what := "Requires PHP", "PHP"
	if wp {
		label, what = "Requires at least", "WordPress"
		if d.Target == "woocommerce" {
			label, what = "WC requires at least", "WooCommerce"
		}
	}
	header := fmt.Sprintf("%q", label+": "+req)
	if !wpVersion.MatchString(req) {
		return Unknown, fmt.Sprintf("%s does not parse: expected a version such as 6.2 or 8.0", header)
	}
	running := strings.TrimSpace(ver)
	if wp {
		running, _, _ = strings.Cut(running, "-")
		if strings.Count(req, ".") > 1 && strings.HasSuffix(req, ".0") {
			req = strings.TrimSuffix(req, ".0")
		}
	}
	n, err := version.Compare("WordPress", running, req)
	if err != nil {
		return Unknown, fmt.Sprintf("%s version %q cannot be ordered: %v", what, ver, err)
	}
	if n >= 0 {
		return Compatible, fmt.Sprintf("%s and %s %s is at least that", header, what, ver)
	}
	return Incompatible, fmt.Sprintf("%s and %s %s is older", header, what, ver)
}

// checkWordPressTested is "Tested up to": WordPress.org reads it as a
// major.minor branch, so "6.4" (or "6.4.2") covers every 6.4.x; a newer
// branch is untested, not incompatible.
func checkWordPressTested(d Declared, ver string) (Verdict, string) {
	tested := strings.TrimSpace(d.Constraint)
	label := "Tested up to"
	if d.Target == "woocommerce" {
		label = "WC tested up to"
	}
	if !wpVersion.MatchString(tested) {
		return Unknown, fmt.Sprintf("%q does not parse: expected a version such as 6.4", label+": "+tested)
	}
	running, _, _ := strings.Cut(strings.TrimSpace(ver), "-")
	if !wpVersion.MatchString(running) {
		return Unknown, fmt.Sprintf("%s version %q cannot be ordered: expected a version such as 6.6 or 6.6.1", d.Target, ver)
	}
	n, err := version.Compare("WordPress", branchOf(running), branchOf(tested))
	if err != nil {
		return Unknown, fmt.Sprintf("%s version %q cannot be ordered: %v", d.Target, ver, err)
	}
	if n <= 0 {
		return Compatible, fmt.Sprintf("%q covers %s", label+": "+tested, ver)
	}
	return Untested, fmt.Sprintf("%q and the upgrade is to %s: untested beyond %s", label+": "+tested, ver, branchOf(tested))
}

// branchOf is the major.minor of a version: "6.4.2" → "6.4", "6" → "6.0".
func branchOf(v string) string {
	p := strings.Split(v, ".")
	if len(p) == 1 {
		return p[0] + ".0"
	}
	return p[0] + "." + p[1]
}

// wpHeaderLimit is how much of a file WordPress's get_file_data reads.
const wpHeaderLimit = 8192

var (
	wpHeaderPrefix = regexp.MustCompile(`^(?:[ \t]*<\?php)?[ \t/*#@]*`)
	wpHeaderTail   = regexp.MustCompile(`\s*(?:\*/|\?>).*`)
)

type wpHeader struct {
	target, syntax, kind string
}

var wpHeaders = map[string]wpHeader{
	"requires at least":    {"wordpress", SyntaxWordPressRequires, KindRequiresAtLeast},
	"tested up to":         {"wordpress", SyntaxWordPressTested, KindTestedUpTo},
	"requires php":         {"php", SyntaxPHPRequires, KindRequiresPHP},
	"wc requires at least": {"woocommerce", SyntaxWordPressRequires, KindRequiresAtLeast},
	"wc tested up to":      {"woocommerce", SyntaxWordPressTested, KindTestedUpTo},
}

// ParseWordPressHeaders reads the header of a plugin's main PHP file or a
// theme's style.css as WordPress's get_file_data does (the first 8 KiB, one
// "Name: value" per line, comment markers ignored, the first occurrence of
// each header wins): Requires at least, Tested up to, Requires PHP and
// WooCommerce's WC requires at least / WC tested up to. The file must have
// a Plugin Name or Theme Name header. The dependent is the Text Domain
// header, else the directory the file is in, else the file's name.
func ParseWordPressHeaders(file string, data []byte) ([]Declared, []Problem, error) {
	if len(data) > wpHeaderLimit {
		data = data[:wpHeaderLimit]
	}
	type hit struct {
		value string
		line  int
	}
	seen := map[string]hit{}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		l := strings.TrimRight(string(raw), "\r")
		l = wpHeaderPrefix.ReplaceAllString(l, "")
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		// get_file_data wants the name right after the comment markers
		// and the colon right after the name: no trimming.
		key := strings.ToLower(name)
		if _, dup := seen[key]; dup {
			continue
		}
		value = strings.TrimSpace(wpHeaderTail.ReplaceAllString(value, ""))
		seen[key] = hit{value, i + 1}
	}
	pn, isPlugin := seen["plugin name"]
	tn, isTheme := seen["theme name"]
	if (!isPlugin || pn.value == "") && (!isTheme || tn.value == "") {
		return nil, nil, fmt.Errorf("reading %s: no Plugin Name or Theme Name header: not a plugin main file or theme style.css", file)
	}
	dep := seen["text domain"].value
	if dep == "" {
		dep = dependentName("", file)
	}
	var out []Declared
	for key, h := range wpHeaders {
		v, ok := seen[key]
		if !ok || v.value == "" {
			continue
		}
		out = append(out, Declared{Dependent: dep, Target: h.target, Constraint: v.value,
			Syntax: h.syntax, Kind: h.kind, File: file, Line: v.line})
	}
	sortDeclared(out)
	return out, nil, nil
}
