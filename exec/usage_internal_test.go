package exec

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
)

func TestUsageNeedsProc(t *testing.T) {
	svc := &upfactory.Service{Name: "shop", Target: upfactory.TargetSpec{Type: "exec", Command: []string{"shop"}}}
	tgt, err := New(svc, Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close(t.Context(), true)
	tgt.procRoot = filepath.Join(t.TempDir(), "proc") // as on a system without /proc
	_, err = tgt.Usage(t.Context())
	if upfactory.ErrorCode(err) != upfactory.EUNAVAILABLE || !strings.Contains(upfactory.ErrorMessage(err), "needs /proc") {
		t.Errorf("Usage without /proc = %v, want EUNAVAILABLE saying it needs /proc", err)
	}
}
