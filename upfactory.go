// Package upfactory is the vocabulary of the upgrade factory: the domain
// types, the port interfaces that adapters implement, and the error codes the
// API distinguishes. It imports the standard library only (a test enforces it).
package upfactory

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in config and JSON as "30s", "10m".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// Human is d to about three significant digits, for people to read:
// 7.57ms, 75.7ms, 757ms, 7.57s, 1m15s (where String says 7.57059ms).
func (d Duration) Human() string {
	t := time.Duration(d)
	a := t.Abs()
	switch {
	case a < time.Millisecond:
		return t.Round(time.Microsecond).String()
	case a < 10*time.Millisecond:
		return t.Round(10 * time.Microsecond).String()
	case a < 100*time.Millisecond:
		return t.Round(100 * time.Microsecond).String()
	case a < time.Second:
		return t.Round(time.Millisecond).String()
	case a < 10*time.Second:
		return t.Round(10 * time.Millisecond).String()
	case a < time.Minute:
		return t.Round(100 * time.Millisecond).String()
	}
	return t.Round(time.Second).String()
}

// Round is d for a board column: 45s, 12m, 3h10m, 2d4h.
func (d Duration) Round() string {
	t := time.Duration(d)
	switch {
	case t < time.Minute:
		return t.Round(time.Second).String()
	case t < time.Hour:
		return fmt.Sprintf("%dm", int(t/time.Minute))
	case t < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(t/time.Hour), int(t%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%dh", int(t/(24*time.Hour)), int(t%(24*time.Hour)/time.Hour))
}

// MarshalText writes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration string such as "30s" or "1m30s".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("invalid duration %q: want a number with a unit, such as 30s or 5m", string(b))
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: must not be negative", string(b))
	}
	*d = Duration(v)
	return nil
}

// ParsePercent reads "1%", "0.5%" or a bare fraction "0.01" and returns the
// fraction (0.01 for "1%").
func ParsePercent(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return 0, fmt.Errorf("invalid percentage %q: want a number followed by %%, such as 1%%", s)
		}
		return v / 100, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid percentage %q: want such as 1%% or a fraction such as 0.01", s)
	}
	return v, nil
}

// Validator is implemented by providers that check their own settings
// after decoding; it returns every problem it finds.
type Validator interface {
	Validate() []error
}

// Pinger is a context-aware check used for readiness and health.
type Pinger interface {
	Ping(ctx context.Context) error
}
