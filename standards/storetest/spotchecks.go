package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/storetest"
)

// spotCheck is check i of entity's product gtin, reported on day.
func spotCheck(i int, entity, gtin, result, day string) standards.SpotCheck {
	return standards.SpotCheck{ID: fmt.Sprintf("s%02d", i), EntityID: entity, GTIN: gtin, ProductName: "UHT milk", Lot: "L1",
		Lab: "Tianjin Food Inspection Institute", SampleCode: fmt.Sprintf("TJ2026-%04d", i), SampledOn: "2026-03-01", ReportedOn: day,
		Declarations: []string{"d1"}, Result: result, RecordedBy: "k1", CreatedAt: t0.Add(time.Duration(i) * time.Minute),
		Results: []standards.IndicatorResult{{Indicator: "Protein", Unit: "g/100g", Value: 2.7, Result: result,
			Limits: []standards.Applied{{Limit: standards.Limit{Comparator: standards.AtLeast, Value: ptr(2.8)}, Basis: "Q/TJXX 0001S-2023",
				Declared: true, Result: result}}}}}
}

func spotCheckIDs(list []standards.SpotCheck) []string {
	out := []string{}
	for _, c := range list {
		out = append(out, c.ID)
	}
	return out
}

func testSpotChecks(t *testing.T, s standards.SpotCheckStore) {
	ctx := context.Background()
	const g1, g2 = "06901234000017", "06901234000024"
	all := []standards.SpotCheck{
		spotCheck(1, "e1", g1, standards.Nonconform, "2026-03-05"),
		spotCheck(2, "e1", g1, standards.Conform, "2026-03-06"),
		spotCheck(3, "e1", g2, standards.Nonconform, "2026-04-30"),
		spotCheck(4, "e2", g2, standards.Nonconform, "2026-03-10"),
		spotCheck(5, "e1", g2, standards.Nonconform, "2026-05-01"),
	}
	for _, i := range []int{2, 0, 4, 1, 3} {
		storetest.Must(t, s.CreateSpotCheck(ctx, all[i]))
	}
	dup := spotCheck(9, "e1", g1, standards.Conform, "2026-03-05")
	dup.SampleCode = all[0].SampleCode
	storetest.WantErr(t, s.CreateSpotCheck(ctx, dup), standards.ErrConflict, "sampleCode")
	dup.Lab = "Another lab" // another lab may use the same code
	storetest.Must(t, s.CreateSpotCheck(ctx, dup))
	dup = spotCheck(1, "e1", g1, standards.Conform, "2026-03-05")
	dup.SampleCode = "other"
	storetest.WantErr(t, s.CreateSpotCheck(ctx, dup), standards.ErrConflict, "id")

	for _, want := range all {
		got, err := s.SpotCheck(ctx, want.ID)
		storetest.Must(t, err)
		sameJSON(t, got, want)
	}
	_, err := s.SpotCheck(ctx, "nope")
	storetest.WantErr(t, err, standards.ErrNotFound, "")

	list := func(f standards.SpotCheckFilter, p trace.Page) []string {
		t.Helper()
		if p.Limit == 0 {
			p.Limit = 10
		}
		got, err := s.ListSpotChecks(ctx, f, p)
		storetest.Must(t, err)
		return spotCheckIDs(got)
	}
	storetest.Equal(t, list(standards.SpotCheckFilter{}, trace.Page{Limit: 3}), []string{"s01", "s02", "s03"})
	storetest.Equal(t, list(standards.SpotCheckFilter{}, trace.Page{Limit: 3, After: "s03"}), []string{"s04", "s05", "s09"})
	storetest.Equal(t, list(standards.SpotCheckFilter{GTIN: g1}, trace.Page{}), []string{"s01", "s02", "s09"})
	storetest.Equal(t, list(standards.SpotCheckFilter{EntityID: "e2"}, trace.Page{}), []string{"s04"})
	// The credit record's question: entity e1's non-conform results in
	// March and April, both days included.
	storetest.Equal(t, list(standards.SpotCheckFilter{EntityID: "e1", Result: standards.Nonconform, From: "2026-03-05", To: "2026-04-30"}, trace.Page{}),
		[]string{"s01", "s03"})
	storetest.Equal(t, list(standards.SpotCheckFilter{EntityID: "e1", Result: standards.Nonconform, From: "2026-03-06"}, trace.Page{}),
		[]string{"s03", "s05"})
	storetest.Equal(t, list(standards.SpotCheckFilter{Result: standards.Conform, To: "2026-03-05"}, trace.Page{}), []string{"s09"})
}
