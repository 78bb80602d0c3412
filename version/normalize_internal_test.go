package version

import "testing"

// Composer's VersionParser::normalize, examples from composer/semver's tests.
func TestComposerNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"1.0.0":              "1.0.0.0",
		"1.2.3.4":            "1.2.3.4",
		"v1.2":               "1.2.0.0",
		"1.0.0RC1dev":        "1.0.0.0-RC1-dev",
		"1.0.0-rC15-dev":     "1.0.0.0-RC15-dev",
		"1.0.0.RC.15-dev":    "1.0.0.0-RC15-dev",
		"1.0.0-rc1":          "1.0.0.0-RC1",
		"1.0.0-pl3-dev":      "1.0.0.0-patch3-dev",
		"1.2.3-b1":           "1.2.3.0-beta1",
		"1.2.3-p1":           "1.2.3.0-patch1",
		"1.2.3-RC":           "1.2.3.0-RC",
		"1.0-dev":            "1.0.0.0-dev",
		"0":                  "0.0.0.0",
		"10.4.13-beta":       "10.4.13.0-beta",
		"10.4.13beta2":       "10.4.13.0-beta2",
		"10.4.13beta.2":      "10.4.13.0-beta2",
		"2010.01":            "2010.01.0.0",
		"2010-01-02":         "2010.01.02",
		"20100102-203040-p1": "20100102.203040-patch1",
		"dev-master":         "9999999-dev",
		"trunk":              "9999999-dev",
		"1.x-dev":            "1.9999999.9999999.9999999-dev",
		"2.x-dev":            "2.9999999.9999999.9999999-dev",
		"1.0.x-dev":          "1.0.9999999.9999999-dev",
		"dev-feature-foo":    "dev-feature-foo",
		"1.0.0+foo@dev":      "1.0.0.0",
		"1.0.0-stable":       "1.0.0.0",
	} {
		got, _, ok := composerNormalize(in)
		if !ok || got != want {
			t.Errorf("composerNormalize(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
