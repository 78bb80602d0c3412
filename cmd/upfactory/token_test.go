package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestTokenCommands(t *testing.T) {
	dir := t.TempDir()
	cfg, _, _ := writeConfig(t, dir, testSteps)
	code, out, errOut := run(t, "token", "create", "ci-deploy", "--role", "operator", "--as", "dana", "-c", cfg, "-o", "json")
	if code != 0 {
		t.Fatalf("create: exit %d: %s %s", code, out, errOut)
	}
	var created map[string]string
	if err := json.Unmarshal([]byte(out), &created); err != nil || len(created) != 3 || created["name"] != "ci-deploy" || created["role"] != "operator" || !strings.HasPrefix(created["token"], "upf_") {
		t.Fatalf("create printed %s (%v): want {name, role, token}", out, err)
	}
	if code, _, errOut := run(t, "token", "create", "ci-deploy", "--role", "viewer", "--as", "dana", "-c", cfg); code != exitRefused || !strings.Contains(errOut, "exists already") {
		t.Errorf("a second token of the name: exit %d: %s", code, errOut)
	}
	if code, _, errOut := run(t, "token", "create", "x", "--role", "root", "--as", "dana", "-c", cfg); code == 0 || !strings.Contains(errOut, "viewer, operator, approver, admin") {
		t.Errorf("an unknown role: exit %d: %s", code, errOut)
	}
	code, out, _ = run(t, "token", "list", "-c", cfg, "-o", "json")
	if code != 0 || strings.Contains(out, created["token"]) || strings.Contains(out, "hash") || !strings.Contains(out, `"ci-deploy"`) {
		t.Errorf("list: exit %d: %s", code, out)
	}
	if code, out, errOut := run(t, "token", "revoke", "ci-deploy", "--as", "dana", "-c", cfg); code != 0 || !strings.Contains(out, "revoked by dana") {
		t.Errorf("revoke: exit %d: %s %s", code, out, errOut)
	}
	code, out, _ = run(t, "log", "-c", cfg, "-o", "json")
	if code != 0 || !strings.Contains(out, "token.create") || !strings.Contains(out, "token.revoke") || strings.Contains(out, created["token"]) {
		t.Errorf("log: %s", out)
	}
}
