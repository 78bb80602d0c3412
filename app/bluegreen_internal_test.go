package app

import (
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
)

func TestABlueGreenPromotionWaitsForEveryGreenInstance(t *testing.T) {
	bg := &upfactory.Service{Name: "shop", Strategy: upfactory.Strategy{BlueGreen: &upfactory.BlueGreenStrategy{}}}
	canary := &upfactory.Service{Name: "shop", Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{}}}
	st := &engine.Status{CanaryVersion: "2.0.0", Gate: &engine.Gate{Kind: "approval", Role: "approver"}, Versions: []engine.VersionStatus{
		{Version: "1.0.0", Instances: []upfactory.Instance{{ID: "shop-1.0.0-a", State: upfactory.InstanceReady}}},
		{Version: "2.0.0", Instances: []upfactory.Instance{{ID: "shop-2.0.0-a", State: upfactory.InstanceReady}, {ID: "shop-2.0.0-b", State: upfactory.InstanceStarting}}},
	}}
	err := greenReady(bg, st)
	if upfactory.ErrorCode(err) != upfactory.ECONFLICT || !strings.Contains(err.Error(), "shop-2.0.0-b (Starting)") || strings.Contains(err.Error(), "shop-2.0.0-a") {
		t.Errorf("promotion with a starting green instance: %v, want refused naming it", err)
	}
	if err := greenReady(canary, st); err != nil {
		t.Errorf("a canary's approval is not a promotion: %v", err)
	}
	st.Versions[1].Instances[1].State = upfactory.InstanceReady
	if err := greenReady(bg, st); err != nil {
		t.Errorf("every green instance ready: %v", err)
	}
}
