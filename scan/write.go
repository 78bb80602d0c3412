package scan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes the findings as a table, a summary line, then the
// problems.
func WriteText(w io.Writer, r *Report) error {
	if len(r.Findings) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tID\tPACKAGE\tVERSION\tFIXED\tKEV\tEPSS")
		for _, f := range r.Findings {
			fixed := "-"
			if len(f.Fixed) > 0 {
				fixed = f.Fixed[len(f.Fixed)-1]
			}
			k := "-"
			if f.KEV {
				k = "yes"
			}
			e := "-"
			if f.EPSS != nil {
				e = fmt.Sprintf("%.3f", *f.EPSS)
			}
			sev := f.Severity
			if f.CVSSScore != nil {
				sev = fmt.Sprintf("%s %.1f", f.Severity, *f.CVSSScore)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sev, f.ID, f.Package, f.Version, fixed, k, e)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, Summary(r))
	if g := r.Gate; g != nil {
		verdict := "passed"
		if !g.Passed {
			verdict = fmt.Sprintf("FAILED: %d %s at or above %s", g.Failing, plural(g.Failing, "finding", "findings"), g.FailOn)
		}
		fmt.Fprintf(w, "Gate --fail-on %s: %s.\n", g.FailOn, verdict)
		if g.UnknownCounted > 0 {
			fmt.Fprintf(w, "  %d of them %s no severity in the database and %s counted as failing (--unknown-severity fail, the default; pass lets them through): %s\n",
				g.UnknownCounted, plural(g.UnknownCounted, "has", "have"), plural(g.UnknownCounted, "is", "are"), strings.Join(g.UnknownIDs, ", "))
		}
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(w, "\n%d problem(s):\n", len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	return nil
}

// Summary is one line saying what was found.
func Summary(r *Report) string {
	if len(r.Findings) == 0 {
		return fmt.Sprintf("No known vulnerabilities in %d components (%d OSV records).", r.Components, r.Records)
	}
	comps := map[string]bool{}
	for _, f := range r.Findings {
		comps[f.Ecosystem+"\x00"+f.Package+"\x00"+f.Version+"\x00"+f.File] = true
	}
	var parts []string
	for _, s := range Severities {
		if n := r.Counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ToLower(s)))
		}
	}
	return fmt.Sprintf("%d %s in %d of %d components (%s).", len(r.Findings), plural(len(r.Findings), "vulnerability", "vulnerabilities"), len(comps), r.Components, strings.Join(parts, ", "))
}

// WriteJSON writes the report as one indented JSON object.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// SARIF 2.1.0, the subset GitHub code scanning reads.
// See https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html and
// https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning.

// SARIFLog is a SARIF log file.
type SARIFLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []SARIFRun `json:"runs"`
}

// SARIFRun is one run of one tool.
type SARIFRun struct {
	Tool    SARIFTool     `json:"tool"`
	Results []SARIFResult `json:"results"`
}

// SARIFTool describes the tool.
type SARIFTool struct {
	Driver SARIFDriver `json:"driver"`
}

// SARIFDriver is the tool's component that produced the results.
type SARIFDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []SARIFRule `json:"rules"`
}

// SARIFRule is one vulnerability.
type SARIFRule struct {
	ID               string         `json:"id"`
	ShortDescription SARIFMessage   `json:"shortDescription"`
	FullDescription  SARIFMessage   `json:"fullDescription"`
	HelpURI          string         `json:"helpUri"`
	Help             SARIFMessage   `json:"help"`
	Properties       SARIFRuleProps `json:"properties"`
}

// SARIFRuleProps are the properties GitHub reads: security-severity, a
// CVSS-like score as a string, ranks alerts.
type SARIFRuleProps struct {
	SecuritySeverity string   `json:"security-severity,omitempty"`
	Tags             []string `json:"tags"`
}

// SARIFMessage is a plain-text message.
type SARIFMessage struct {
	Text string `json:"text"`
}

// SARIFResult is one finding.
type SARIFResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             SARIFMessage      `json:"message"`
	Locations           []SARIFLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
}

// SARIFLocation points at the scanned file.
type SARIFLocation struct {
	PhysicalLocation SARIFPhysicalLocation `json:"physicalLocation"`
}

// SARIFPhysicalLocation is a file and a region in it.
type SARIFPhysicalLocation struct {
	ArtifactLocation SARIFArtifactLocation `json:"artifactLocation"`
	Region           SARIFRegion           `json:"region"`
}

// SARIFArtifactLocation is a file, relative to the repository root.
type SARIFArtifactLocation struct {
	URI string `json:"uri"`
}

// SARIFRegion is a line range.
type SARIFRegion struct {
	StartLine int `json:"startLine"`
}

// SARIFSchema and SARIFVersion identify the format.
const (
	SARIFSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	SARIFVersion = "2.1.0"
	// InformationURI is the tool's home.
	InformationURI = "https://github.com/upfactory/upfactory"
)

// Level maps a severity to a SARIF result level.
func Level(severity string) string {
	switch severity {
	case Critical, High:
		return "error"
	case Medium:
		return "warning"
	}
	return "note"
}

// SARIF builds the SARIF log of r: one rule per vulnerability, one result
// per finding.
func SARIF(r *Report) *SARIFLog {
	run := SARIFRun{
		Tool:    SARIFTool{Driver: SARIFDriver{Name: "upfactory", InformationURI: InformationURI, Rules: []SARIFRule{}}},
		Results: []SARIFResult{},
	}
	ruleIndex := map[string]int{}
	best := map[string]float64{}
	for _, f := range r.Findings {
		i, ok := ruleIndex[f.ID]
		if !ok {
			i = len(run.Tool.Driver.Rules)
			ruleIndex[f.ID] = i
			short := f.Summary
			if short == "" {
				short = f.ID
			}
			full := f.Details
			if full == "" {
				full = short
			}
			if len(f.Aliases) > 0 {
				full += " (also " + strings.Join(f.Aliases, ", ") + ")"
			}
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, SARIFRule{
				ID:               f.ID,
				ShortDescription: SARIFMessage{Text: short},
				FullDescription:  SARIFMessage{Text: full},
				HelpURI:          f.URL,
				Help:             SARIFMessage{Text: fmt.Sprintf("%s: %s\n\n%s", f.ID, short, f.URL)},
				Properties:       SARIFRuleProps{Tags: []string{"security"}},
			})
		}
		if f.CVSSScore != nil && (run.Tool.Driver.Rules[i].Properties.SecuritySeverity == "" || *f.CVSSScore > best[f.ID]) {
			best[f.ID] = *f.CVSSScore
			run.Tool.Driver.Rules[i].Properties.SecuritySeverity = fmt.Sprintf("%.1f", *f.CVSSScore)
		}
		line := f.Line
		if line < 1 {
			line = 1
		}
		run.Results = append(run.Results, SARIFResult{
			RuleID:    f.ID,
			RuleIndex: i,
			Level:     Level(f.Severity),
			Message:   SARIFMessage{Text: resultMessage(f)},
			Locations: []SARIFLocation{{PhysicalLocation: SARIFPhysicalLocation{
				ArtifactLocation: SARIFArtifactLocation{URI: f.File},
				Region:           SARIFRegion{StartLine: line},
			}}},
			PartialFingerprints: map[string]string{"upfactoryFinding/v1": fingerprint(f)},
		})
	}
	return &SARIFLog{Schema: SARIFSchema, Version: SARIFVersion, Runs: []SARIFRun{run}}
}

// WriteSARIF writes r as a SARIF 2.1.0 log for GitHub code scanning.
func WriteSARIF(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(SARIF(r))
}

func resultMessage(f Finding) string {
	m := fmt.Sprintf("%s %s is affected by %s", f.Package, f.Version, f.ID)
	if len(f.Fixed) > 0 {
		m += "; fixed in " + f.Fixed[len(f.Fixed)-1]
	} else {
		m += "; no fix known"
	}
	if f.Recommended != "" && (len(f.Fixed) == 0 || f.Recommended != f.Fixed[len(f.Fixed)-1]) {
		m += "; upgrade to " + f.Recommended + " to fix every known vulnerability of " + f.Package
	}
	return m
}

// fingerprint keeps a result's identity across runs: the vulnerability,
// the package and the file, not the version, so that a bump that does not
// fix it keeps the same alert.
func fingerprint(f Finding) string {
	h := sha256.Sum256([]byte(strings.Join([]string{f.ID, f.Ecosystem, f.Package, f.File}, "\x00")))
	return hex.EncodeToString(h[:16])
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
