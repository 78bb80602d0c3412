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
