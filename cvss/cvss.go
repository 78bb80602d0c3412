// Package cvss turns a CVSS vector string (v2.0, v3.0, v3.1 or v4.0) into its
// base score and qualitative severity, so risk scoring can rank findings.
package cvss

import (
	"errors"
	"fmt"
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// Severity ratings. CVSS v2.0 has no NONE or CRITICAL band.
const (
	SeverityNone     = "NONE"
	SeverityLow      = "LOW"
	SeverityMedium   = "MEDIUM"
	SeverityHigh     = "HIGH"
	SeverityCritical = "CRITICAL"
)

// Score is the base score of one vector.
type Score struct {
	// Version is "2.0", "3.0", "3.1" or "4.0", detected from the prefix.
	Version string
	// Vector is the vector as given to Parse.
	Vector string
	// Base is the base score, 0.0 to 10.0 with one decimal. For v4.0 it is
	// CVSS-B: threat, environmental and supplemental metrics in the vector
	// are validated but do not change it, as in v2 and v3 where the base
	// score ignores the temporal and environmental groups.
	Base float64
	// Severity is the qualitative rating of Base for Version.
	Severity string
}

// Formats Parse expects, quoted in its errors.
const (
	expect20  = "a CVSS v2.0 vector AV:[L|A|N]/AC:[H|M|L]/Au:[M|S|N]/C:[N|P|C]/I:[N|P|C]/A:[N|P|C]"
	expect30  = "a CVSS v3.0 vector CVSS:3.0/AV:[N|A|L|P]/AC:[L|H]/PR:[N|L|H]/UI:[N|R]/S:[U|C]/C:[H|L|N]/I:[H|L|N]/A:[H|L|N]"
	expect31  = "a CVSS v3.1 vector CVSS:3.1/AV:[N|A|L|P]/AC:[L|H]/PR:[N|L|H]/UI:[N|R]/S:[U|C]/C:[H|L|N]/I:[H|L|N]/A:[H|L|N]"
	expect40  = "a CVSS v4.0 vector CVSS:4.0/AV:[N|A|L|P]/AC:[L|H]/AT:[N|P]/PR:[N|L|H]/UI:[N|P|A]/VC:[H|L|N]/VI:[H|L|N]/VA:[H|L|N]/SC:[H|L|N]/SI:[H|L|N]/SA:[H|L|N]"
	expectAny = `a vector starting with "CVSS:3.0/", "CVSS:3.1/" or "CVSS:4.0/", or a bare CVSS v2.0 vector starting with "AV:"`
)

// Parse detects the CVSS version of vector from its prefix ("CVSS:3.1/",
// "CVSS:3.0/", "CVSS:4.0/", or a bare v2.0 vector "AV:N/AC:L/Au:N/...") and
// computes its base score. The error names the offending metric where it
// can and says what was expected.
func Parse(vector string) (Score, error) {
	switch {
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		return parse31(vector)
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		return parse30(vector)
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		return parse40(vector)
	case strings.HasPrefix(vector, "AV:"):
		return parse20(vector)
	case strings.HasPrefix(vector, "CVSS:"):
		v, _, _ := strings.Cut(strings.TrimPrefix(vector, "CVSS:"), "/")
		return Score{}, fmt.Errorf("parsing cvss vector %q: unsupported version %q: expected %s", vector, v, expectAny)
	default:
		return Score{}, fmt.Errorf("parsing cvss vector %q: unknown format: expected %s", vector, expectAny)
	}
}

func parse20(vector string) (Score, error) {
	v, err := gocvss20.ParseVector(vector)
	if err != nil {
		return Score{}, vectorError(vector, "2.0", expect20, err, func(abv, val string) error {
			return new(gocvss20.CVSS20).Set(abv, val)
		})
	}
	return newScore("2.0", vector, v.BaseScore()), nil
}

func parse30(vector string) (Score, error) {
	v, err := gocvss30.ParseVector(vector)
	if err != nil {
		return Score{}, vectorError(vector, "3.0", expect30, err, func(abv, val string) error {
			return new(gocvss30.CVSS30).Set(abv, val)
		})
	}
	return newScore("3.0", vector, v.BaseScore()), nil
}

func parse31(vector string) (Score, error) {
	v, err := gocvss31.ParseVector(vector)
	if err != nil {
		return Score{}, vectorError(vector, "3.1", expect31, err, func(abv, val string) error {
			return new(gocvss31.CVSS31).Set(abv, val)
		})
	}
	return newScore("3.1", vector, v.BaseScore()), nil
}

// base40 lists the v4.0 base metrics in their mandatory order.
var base40 = []string{"AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"}

func parse40(vector string) (Score, error) {
	v, err := gocvss40.ParseVector(vector)
	if err != nil {
		return Score{}, vectorError(vector, "4.0", expect40, err, func(abv, val string) error {
			return new(gocvss40.CVSS40).Set(abv, val)
		})
	}
	// go-cvss scores v4.0 with every group present in the vector (CVSS-BTE);
	// the base score needs the base metrics alone.
	if v.Nomenclature() != "CVSS-B" {
		var b strings.Builder
		b.WriteString("CVSS:4.0")
		for _, abv := range base40 {
			val, err := v.Get(abv)
			if err != nil {
				return Score{}, fmt.Errorf("parsing cvss vector %q: reading base metric %s: %w", vector, abv, err)
			}
			b.WriteString("/" + abv + ":" + val)
		}
		if v, err = gocvss40.ParseVector(b.String()); err != nil {
			return Score{}, fmt.Errorf("parsing cvss vector %q: rescoring base metrics %q: %w", vector, b.String(), err)
		}
	}
	return newScore("4.0", vector, v.Score()), nil
}

func newScore(version, vector string, base float64) Score {
	return Score{Version: version, Vector: vector, Base: base, Severity: severity(version, base)}
}

// severity applies the qualitative rating table of each specification:
// v3.0, v3.1 and v4.0 share NONE 0.0, LOW 0.1-3.9, MEDIUM 4.0-6.9, HIGH
// 7.0-8.9, CRITICAL 9.0-10.0. The v2.0 guide defines no table; the NVD's
// LOW 0.0-3.9, MEDIUM 4.0-6.9, HIGH 7.0-10.0 is the one everyone uses.
func severity(version string, base float64) string {
	if version == "2.0" {
		switch {
		case base >= 7.0:
			return SeverityHigh
		case base >= 4.0:
			return SeverityMedium
		default:
			return SeverityLow
		}
	}
	switch {
	case base >= 9.0:
		return SeverityCritical
	case base >= 7.0:
		return SeverityHigh
	case base >= 4.0:
		return SeverityMedium
	case base >= 0.1:
		return SeverityLow
	default:
		return SeverityNone
	}
}

// vectorError explains why go-cvss refused vector. go-cvss says "invalid
// metric value" without naming the metric, so each metric is tried alone
// with set to find the first one at fault.
func vectorError(vector, version, expected string, err error, set func(abv, val string) error) error {
	body := vector
	if version != "2.0" {
		body = strings.TrimPrefix(vector, "CVSS:"+version+"/")
	}
	for _, part := range strings.Split(body, "/") {
		abv, val, ok := strings.Cut(part, ":")
		if !ok {
			return fmt.Errorf("parsing cvss v%s vector %q: %q is not METRIC:VALUE: expected %s", version, vector, part, expected)
		}
		if serr := set(abv, val); serr != nil {
			msg := fmt.Sprintf("invalid value %q for metric %s", val, abv)
			if unknownMetric(serr) {
				msg = fmt.Sprintf("unknown metric %q", abv)
			}
			return fmt.Errorf("parsing cvss v%s vector %q: %s: %w; expected %s", version, vector, msg, err, expected)
		}
	}
	var why string
	switch {
	case errors.Is(err, gocvss20.ErrTooShortVector), errors.Is(err, gocvss40.ErrTooShortVector),
		errors.Is(err, gocvss30.ErrTooShortVector), errors.Is(err, gocvss31.ErrTooShortVector):
		why = "missing base metrics"
	case errors.Is(err, gocvss20.ErrInvalidMetricOrder), errors.Is(err, gocvss40.ErrInvalidMetricOrder):
		why = "metrics missing, repeated or out of order"
	default:
		return fmt.Errorf("parsing cvss v%s vector %q: %w; expected %s", version, vector, err, expected)
	}
	return fmt.Errorf("parsing cvss v%s vector %q: %s: %w; expected %s", version, vector, why, err, expected)
}

func unknownMetric(err error) bool {
	var e20 *gocvss20.ErrInvalidMetric
	var e30 *gocvss30.ErrInvalidMetric
	var e31 *gocvss31.ErrInvalidMetric
	var e40 *gocvss40.ErrInvalidMetric
	return errors.As(err, &e20) || errors.As(err, &e30) || errors.As(err, &e31) || errors.As(err, &e40)
}
