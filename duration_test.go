package upfactory_test

import (
	"testing"
	"time"

	"github.com/upfactory/upfactory"
)

func TestDurationHuman(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{7570590 * time.Nanosecond, "7.57ms"},
		{75705900 * time.Nanosecond, "75.7ms"},
		{757059000 * time.Nanosecond, "757ms"},
		{7570590000 * time.Nanosecond, "7.57s"},
		{75705900000 * time.Nanosecond, "1m16s"},
		{123456 * time.Nanosecond, "123µs"},
		{0, "0s"},
		{-7570590 * time.Nanosecond, "-7.57ms"},
	} {
		if got := upfactory.Duration(tc.d).Human(); got != tc.want {
			t.Errorf("Human(%s) = %s, want %s", tc.d, got, tc.want)
		}
	}
}

func TestDurationRound(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45*time.Second + 400*time.Millisecond: "45s",
		12*time.Minute + 59*time.Second:       "12m",
		3*time.Hour + 10*time.Minute:          "3h10m",
		50 * time.Hour:                        "2d2h",
	} {
		if got := upfactory.Duration(d).Round(); got != want {
			t.Errorf("Duration(%s).Round() = %q, want %q", d, got, want)
		}
	}
}
