//go:build tools

// Package promtool pins Prometheus' promtool, which testbed/build compiles to check and unit-test
// the operator chart's PrometheusRule (scripts/chart-test). A module of its own, like ../helm,
// so that Prometheus' dependency set cannot move the versions of the other tools.
// Prometheus 3.16.0 is Go module version v0.316.0 (3.x releases are tagged v0.3xx.y).
package promtool

import _ "github.com/prometheus/prometheus/cmd/promtool"
