package notes

import (
	"regexp"
	"strings"
)

type wording struct {
	kind  Kind
	name  string
	hints []string // lower-case literals, one of which any match contains
	re    *regexp.Regexp
}

func w(kind Kind, name, re string, hints ...string) wording {
	return wording{kind, name, hints, regexp.MustCompile(re)}
}

// wordings are tried in this order, so an entry that both drops something
// and fixes a CVE is breaking: the outage is the more urgent thing to read.
var wordings = []wording{
	w(KindBreaking, "breaking", `(?i)\bbreak(s|ing)?\b`, "break"),
	w(KindBreaking, "no longer", `(?i)\bno longer\b`, "no longer"),
	w(KindBreaking, "removed support", `(?i)\bremov(e|ed|es|ing) support\b`, "support"),
	w(KindBreaking, "drop support", `(?i)\bdrop(s|ped|ping)? support\b`, "support"),
	w(KindBreaking, "was removed", `(?i)\b(was|were|has been|have been|is|are) (now )?removed\b`, "removed"),
	w(KindBreaking, "renamed", `(?i)\brenamed\b`, "renamed"),
	w(KindBreaking, "incompatible", `(?i)\bincompatib`, "incompatib"),
	w(KindSecurity, "CVE-", `(?i)\bCVE-\d+`, "cve-"),
	w(KindSecurity, "GHSA-", `(?i)\bGHSA-[0-9a-z]`, "ghsa-"),
	w(KindSecurity, "security fix", `(?i)\bsecurity (fix|issue|vulnerabilit|advisor|patch|release|update)`, "security"),
	w(KindSecurity, "vulnerability", `(?i)\bvulnerab`, "vulnerab"),
	w(KindSecurity, "cross-site scripting", `(?i)\b(cross-site scripting|XSS)\b`, "cross-site", "xss"),
	w(KindDeprecation, "deprecated", `(?i)\bdeprecat`, "deprecat"),
	w(KindDeprecation, "will be removed", `(?i)\bwill be (removed|dropped|rejected|disabled)\b`, "will be"),
	w(KindMigration, "migration", `(?i)\bmigrat(e|ed|es|ing|ion|ions)\b`, "migrat"),
	w(KindMigration, "schema", `(?i)\bschema`, "schema"),
	w(KindMigration, "database upgrade", `(?i)\bdatabase (upgrade|update)`, "database"),
	w(KindMigration, "requires PHP", `(?i)\brequires (at least )?(PHP|WordPress|MySQL)\b`, "requires"),
	w(KindMigration, "manual step", `(?i)\b(manual step|action required|upgrade steps?)\b`, "manual", "action", "upgrade"),
}

// matches runs the regexp only when a hint is present: Classify runs on every
// entry of every release, and the literal test is far cheaper. Non-ASCII text
// skips the shortcut, since case folding can match what ToLower does not make.
func (w wording) matches(text, lower string, ascii bool) bool {
	if ascii {
		found := false
		for _, h := range w.hints {
			if strings.Contains(lower, h) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return w.re.MatchString(text)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Classify decides what kind of entry a section and text make, and names the
// rule that decided it. Explicit markers win over wording:
//
//  1. a [BREAKING] tag, "BREAKING CHANGE", "**Breaking…**", an upper-case
//     "BREAKING", or a section whose name contains "breaking" → breaking;
//  2. a [SECURITY] tag or a Security section → security;
//  3. a Removed section → breaking; a Deprecated section → deprecation;
//     a WordPress Upgrade Notice → migration;
//  4. wording, in this order: breaking ("breaking", "no longer", "removed
//     support", "drop support", "was removed", "renamed", "incompatible"),
//     security ("CVE-n", "GHSA-", "security fix", "vulnerability", XSS),
//     deprecation ("deprecated", "will be removed"), migration ("migration",
//     "schema", "database upgrade", "requires PHP", "upgrade steps");
//  5. a Prometheus [CHANGE] tag with none of the above → breaking: the
//     project uses the tag for user-visible behaviour changes, and wording
//     alone misses many of them ("Change GOGC threshold from 100 to 75").
//
// Everything else is KindOther with an empty marker.
func Classify(section, text string) (Kind, string) {
	sec := strings.ToLower(strings.TrimSpace(section))
	tag := strings.ToUpper(strings.TrimSpace(section))
	switch {
	case tag == "BREAKING" || strings.Contains(text, "[BREAKING]"):
		return KindBreaking, "[BREAKING] tag"
	case strings.Contains(text, "BREAKING CHANGE"):
		return KindBreaking, "BREAKING CHANGE marker"
	case strings.Contains(strings.ToLower(text), "**breaking"):
		return KindBreaking, "**Breaking:** marker"
	case strings.Contains(text, "BREAKING"):
		return KindBreaking, "BREAKING marker"
	case strings.Contains(sec, "breaking"):
		return KindBreaking, strings.TrimSpace(section) + " section"
	case section == "SECURITY" || strings.Contains(text, "[SECURITY]"):
		return KindSecurity, "[SECURITY] tag"
	case strings.Contains(sec, "security"):
		return KindSecurity, strings.TrimSpace(section) + " section"
	case strings.Contains(sec, "removed") || sec == "removals":
		return KindBreaking, strings.TrimSpace(section) + " section"
	case strings.Contains(sec, "deprecat"):
		return KindDeprecation, strings.TrimSpace(section) + " section"
	case sec == "upgrade notice":
		return KindMigration, "Upgrade Notice section"
	}
	lower, ascii := strings.ToLower(text), isASCII(text)
	for _, w := range wordings {
		if w.matches(text, lower, ascii) {
			return w.kind, "wording: '" + w.name + "'"
		}
	}
	if section == "CHANGE" || strings.HasPrefix(text, "[CHANGE]") {
		return KindBreaking, "[CHANGE] tag"
	}
	return KindOther, ""
}
