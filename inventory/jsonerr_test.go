package inventory_test

import (
	"strings"
	"testing"

	"github.com/upfactory/upfactory/inventory"
)

func TestBrokenSBOMSaysWhere(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"cut short", "{\"bomFormat\": \"CycloneDX\",\n \"specVersion\": \"1.4\",\n \"compo", "the JSON ends early, at line 3, column 8 (byte 57 of 57): the file is cut short"},
		{"cut after a value", "{\"bomFormat\": \"CycloneDX\",\n", "the JSON ends early, at line 2, column 1"},
		{"syntax", "{\"bomFormat\": \"CycloneDX\",\n \"components\": [x]}", "invalid JSON at line 2, column 17"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := inventory.ParseCycloneDX("bom.json", []byte(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseCycloneDX: %v, want %q", err, tc.want)
			}
		})
	}
}
