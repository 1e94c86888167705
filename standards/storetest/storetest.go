// Package storetest is the conformance suite every backend of the
// standards domain's stores must pass. It is run by the tests of
// standards/standardssql (on a temp folder) and standards/standardsmongo (on
// an embedded FerretDB, or on MONGODB_URI).
package storetest

import (
	"slices"
	"testing"
	"time"

	"tracesvc/standards"
)

// Stores is one fresh, empty set of stores of a backend.
type Stores struct {
	Tipoffs      standards.TipoffStore
	Declarations standards.DeclarationStore
	SpotChecks   standards.SpotCheckStore
	Incidents    standards.IncidentStore
}

// Run runs the whole suite. newStores returns empty stores for one test.
func Run(t *testing.T, newStores func(t testing.TB) Stores) {
	tests := map[string]func(*testing.T, Stores){
		"Tipoffs":      func(t *testing.T, s Stores) { testTipoffs(t, s.Tipoffs) },
		"Declarations": func(t *testing.T, s Stores) { testDeclarations(t, s.Declarations) },
		"SpotChecks":   func(t *testing.T, s Stores) { testSpotChecks(t, s.SpotChecks) },
		"Incidents":    func(t *testing.T, s Stores) { testIncidents(t, s.Incidents) },
		"Awareness":    func(t *testing.T, s Stores) { testAwareness(t, s.Incidents) },
	}
	names := make([]string, 0, len(tests))
	for n := range tests {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) { tests[name](t, newStores(t)) })
	}
}

var t0 = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
