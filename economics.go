package upfactory

import "time"

// Economics is the cost model the readout prices its figures with. Every
// price is an assumption the user should edit to their own figures; the
// defaults, used only when the config has no economics section, are
// labelled as assumptions wherever they are used:
//
//   - downtime_per_minute 5600 USD: Gartner's often-quoted average cost of
//     IT downtime (2014);
//   - cpu_hour 0.04 and gib_hour 0.005 USD: rough on-demand list prices of
//     a general-purpose cloud VM's vCPU and GiB of memory;
//   - breach_cost 4,880,000 USD: the global average cost of a data breach
//     in IBM's Cost of a Data Breach Report 2024;
//   - detection_without_canary 30m: how long a regression would hurt all
//     users before alerts and a person noticed it, without a canary;
//   - slo_percent 99.9: the availability objective error budgets are
//     counted against.
//
// A config with an economics section must give the currency and every
// price: a model half in the user's money and half in the defaults' would
// be wrong without saying so.
type Economics struct {
	Currency          string  `yaml:"currency" json:"currency"`
	DowntimePerMinute float64 `yaml:"downtime_per_minute" json:"downtime_per_minute"`
	CPUHour           float64 `yaml:"cpu_hour" json:"cpu_hour"`
	GiBHour           float64 `yaml:"gib_hour" json:"gib_hour"`
	BreachCost        float64 `yaml:"breach_cost" json:"breach_cost"`
	// DetectionWithoutCanary is how long a regression caught by a canary
	// would have hurt every user before anyone noticed, without one.
	DetectionWithoutCanary Duration `yaml:"detection_without_canary" json:"detection_without_canary"`
	// SLOPercent is the availability objective: the error budget is
	// 100 − SLOPercent percent of requests.
	SLOPercent float64 `yaml:"slo_percent" json:"slo_percent"`
	// Assumed names the keys that hold the documented defaults rather
	// than the user's figures; set by config loading.
	Assumed []string `yaml:"-" json:"assumed,omitempty"`
}

// EconomicsPrices are the keys an economics section must give.
var EconomicsPrices = []string{"currency", "downtime_per_minute", "cpu_hour", "gib_hour", "breach_cost"}

// DefaultEconomics is the cost model of a config without one; every key
// is an assumption.
func DefaultEconomics() Economics {
	return Economics{Currency: "USD", DowntimePerMinute: 5600, CPUHour: 0.04, GiBHour: 0.005, BreachCost: 4_880_000,
		DetectionWithoutCanary: Duration(30 * time.Minute), SLOPercent: 99.9,
		Assumed: []string{"currency", "downtime_per_minute", "cpu_hour", "gib_hour", "breach_cost", "detection_without_canary", "slo_percent"}}
}
