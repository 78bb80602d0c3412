package risk_test

import (
	"fmt"

	"github.com/upfactory/upfactory/risk"
)

func ExampleCompute() {
	cvss, epss := 9.8, 0.12
	s := risk.Compute(risk.Inputs{
		Advisories: 1, CVSS: &cvss, EPSS: &epss, KEV: true,
		ServicesAffected: 3, TransitiveDependents: 7, Tier: 2, TrafficShare: 0.4,
		CriticalPaths: []string{"payment"}, Migrations: true, FailedRollouts: 1,
	}, risk.DefaultWeights())
	fmt.Print(risk.Explain(s))
	// Output:
	// risk 65.6 / 100
	// total = 0.40 × 90.0 + 0.35 × 48.8 + 0.25 × 50.0 = 65.6
	//   axis weights (normalised): exploitability 0.40, blast radius 0.35, reversibility 0.25
	//   points = 100 × share × value; share = axis weight × factor weight / Σ factor weights in the axis
	//
	// exploitability 90.0 / 100 (axis weight 0.40, 36.0 points)
	//   cvss        CVSS 9.8          value 0.980  weight 0.45  share 0.164  +16.0  severity if exploited: base score / 10
	//   epss        EPSS 12%          value 0.694  weight 0.35  share 0.127  +8.8   probability of exploitation in 30 days: log(1 + 999 p) / log(1000)
	//   kev         listed in KEV     value 1.000  weight 0.2   share 0.073  +7.3   exploited in the wild, per CISA
	//   advisories  1 advisory fixed  value 0.250  weight 0.1   share 0.036  +0.9   each fixed advisory is another way in; n / (n + 3)
	//   kev_floor   listed in KEV     lift 0.074   floor 90     share 0.400  +2.9   listed in KEV: exploitability is at least 90
	//
	// blast radius 48.8 / 100 (axis weight 0.35, 17.1 points)
	//   services        3 services affected      value 0.500  weight 0.15  share 0.052  +2.6  each service running the component is another way to fail; n / (n + 3)
	//   dependents      7 transitive dependents  value 0.583  weight 0.15  share 0.052  +3.1  failures propagate along the service map; n / (n + 5)
	//   tier            tier 2                   value 0.500  weight 0.25  share 0.087  +4.4  criticality of the most critical affected service: 1 / tier
	//   traffic         traffic share 40%        value 0.400  weight 0.25  share 0.087  +3.5  share of user traffic through the affected services
	//   critical_paths  critical paths: payment  value 0.500  weight 0.2   share 0.070  +3.5  auth, payment and integrations fail loudly and expensively; n / (n + 1)
	//
	// reversibility 50.0 / 100 (axis weight 0.25, 12.5 points)
	//   migrations         migrations in the notes      value 1.000  weight 0.3   share 0.075  +7.5  rolling back the binary does not roll back the data
	//   major_bump         same major version           value 0.000  weight 0.15  share 0.038  +0.0  a major version may break its API
	//   stateful           stateless component          value 0.000  weight 0.15  share 0.038  +0.0  state outlives the version that wrote it
	//   breaking_items     0 breaking items             value 0.000  weight 0.1   share 0.025  +0.0  each breaking item in the notes needs a change on our side; n / (n + 2)
	//   failed_rollouts    1 past failed rollout        value 0.500  weight 0.2   share 0.050  +2.5  past failures predict the next one; n / (n + 1)
	//   no_rollback_drill  no rollback drill on record  value 1.000  weight 0.1   share 0.025  +2.5  an undrilled rollback is an untested one
}
