package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory/scan"
)

func newScanCmd(g *globals) *cobra.Command {
	var (
		sboms, lockfiles []string
		lockType         string
		opts             scan.Options
		format, failOn   string
		unknownSeverity  string
	)
	cmd := &cobra.Command{
		Use:   "scan (--sbom FILE | --lockfile FILE)... --db DIR|ZIP",
		Short: "Scan SBOMs and lockfiles for known vulnerabilities (for CI; no server needed)",
		Long: `Scan matches the components of SBOMs (CycloneDX or SPDX JSON, detected from
the content) and lockfiles (go.mod, package-lock.json, npm-shrinkwrap.json,
composer.lock, Gemfile.lock, requirements*.txt, poetry.lock, detected from the
file name, or --lockfile-type) against an OSV database (a directory of records
or a zip export such as https://osv-vulnerabilities.storage.googleapis.com/all.zip),
optionally enriched with CISA KEV (--kev) and FIRST EPSS (--epss).

Severity is the band of the CVSS base score (v3 preferred, then v4, then v2);
without a vector, the database's own severity (GitHub advisories); else UNKNOWN.

Formats: text (a table), json (one object: findings, counts, problems) and
sarif (SARIF 2.1.0 for GitHub code scanning; paths relative to the working
directory). -o json is the same as --format json.

Exit codes: 0 when no finding is at or above --fail-on, 1 when one is, 2 for
usage or input errors (unreadable file, unknown format, unusable database).
--fail-on is any (the default: every finding fails, UNKNOWN included), low,
medium, high, critical, or none (report only). A finding the database gives no
severity (most of the Go database) may be anything: under --fail-on low to
critical it counts as failing unless --unknown-severity pass, and the report
names each one so counted. A KEV listing counts for a CVE a record names as
related too (kev_via says so). To upload SARIF from a failing
scan, write it to a file and upload in a step that runs always.`,
		Example: `  upfactory scan --sbom bom.cdx.json --db osv-all.zip --fail-on high
  upfactory scan --lockfile go.mod --lockfile web/package-lock.json --db ./osv --format sarif > scan.sarif`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("format") && g.json() {
				format = "json"
			}
			// The report is the only thing on stdout: a failing threshold is
			// explained on stderr, even with -o json.
			g.output = "text"
			switch format {
			case "text", "json", "sarif":
			default:
				return usageErr("--format must be text, json or sarif, not %q", format)
			}
			threshold, err := scan.ParseThreshold(failOn)
			if err != nil {
				return usageErr("--%v", err)
			}
			if unknownSeverity != "fail" && unknownSeverity != "pass" {
				return usageErr("--unknown-severity must be fail or pass, not %q", unknownSeverity)
			}
			if len(sboms)+len(lockfiles) == 0 {
				return usageErr("give at least one --sbom or --lockfile")
			}
			if opts.DB == "" {
				return usageErr("--db is required: a directory of OSV records or a zip export")
			}
			if lockType != "" && !validType(lockType) {
				return usageErr("--lockfile-type %q is not one of %s", lockType, strings.Join(scan.FileTypes(), ", "))
			}
			for _, p := range sboms {
				t, err := scan.DetectSBOM(p)
				if err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				opts.Inputs = append(opts.Inputs, scan.Input{Path: p, Type: t})
			}
			for _, p := range lockfiles {
				opts.Inputs = append(opts.Inputs, scan.Input{Path: p, Type: lockType})
			}
			if wd, err := os.Getwd(); err == nil {
				opts.WorkDir = wd
			}
			rep, err := scan.Run(cmd.Context(), opts)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			gate := rep.ApplyGate(threshold, unknownSeverity == "pass")
			switch format {
			case "json":
				err = scan.WriteJSON(g.stdout, rep)
			case "sarif":
				err = scan.WriteSARIF(g.stdout, rep)
			default:
				err = scan.WriteText(g.stdout, rep)
			}
			if err != nil {
				return err
			}
			if !gate.Passed {
				msg := fmt.Sprintf("%s (--fail-on %s: %d failing", scan.Summary(rep), threshold, gate.Failing)
				if n := gate.UnknownCounted; n > 0 {
					msg += fmt.Sprintf(", %d of them of unknown severity, counted as failing: --unknown-severity pass lets them through", n)
				}
				return &exitError{code: exitRefused, err: errors.New(msg + ")")}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&sboms, "sbom", nil, "CycloneDX or SPDX JSON SBOM to scan (repeatable)")
	f.StringArrayVar(&lockfiles, "lockfile", nil, "lockfile to scan, type from its name (repeatable)")
	f.StringVar(&lockType, "lockfile-type", "", "type of every --lockfile: "+strings.Join(scan.FileTypes(), ", "))
	f.StringVar(&opts.DB, "db", "", "OSV database: a directory of records or a zip export (required)")
	f.StringVar(&opts.KEV, "kev", "", "CISA known_exploited_vulnerabilities.json")
	f.StringVar(&opts.EPSS, "epss", "", "FIRST EPSS scores CSV (plain or .gz)")
	f.StringVar(&format, "format", "text", "output format: text, json or sarif")
	f.StringVar(&failOn, "fail-on", "any", "exit 1 when a finding is at or above: "+strings.Join(scan.Thresholds, ", "))
	f.StringVar(&unknownSeverity, "unknown-severity", "fail", "findings of unknown severity (no CVSS, no database severity) under --fail-on low..critical: fail (count them, the safe default) or pass")
	return cmd
}

func validType(t string) bool {
	for _, ft := range scan.FileTypes() {
		if ft == t {
			return true
		}
	}
	return false
}
