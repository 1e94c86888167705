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

const otherGTIN = "09506000134369"

// incident is report i by entity, filed i hours after t0.
func incident(i int, entity, gtin, eventDate string) standards.Incident {
	at := t0.Add(time.Duration(i) * time.Hour)
	return standards.Incident{ID: fmt.Sprintf("i%02d", i), EntityID: entity, FiledBy: "k-" + entity, OwnerID: "owner",
		GTIN: gtin, Category: trace.CategoryToy, Codes: []string{}, EventDate: eventDate, AwareDate: eventDate,
		Severity: standards.SeverityMinorInjury, PersonsAffected: 1, Description: fmt.Sprintf("report %d: a finger cut", i),
		Location: "Tianjin", Contact: &standards.Contact{Name: "Li Si", Phone: "+86 22 1234 5678"},
		DeadlineDate: "2026-11-30", Deadline: t0.Add(96 * time.Hour), DeadlineFrom: eventDate,
		Status: standards.IncidentReceived, CreatedAt: at, UpdatedAt: at}
}

func incidentIDs(list []standards.Incident) []string {
	out := []string{}
	for _, r := range list {
		out = append(out, r.ID)
	}
	return out
}

// sameIncident compares two reports, their contacts by value.
func sameIncident(t testing.TB, got, want standards.Incident) {
	t.Helper()
	if got.Contact == nil || want.Contact == nil {
		t.Fatalf("contact missing: got %v, want %v", got.Contact, want.Contact)
	}
	storetest.Equal(t, *got.Contact, *want.Contact)
	got.Contact, want.Contact = nil, nil
	storetest.Equal(t, got, want)
}

func testIncidents(t *testing.T, s standards.IncidentStore) {
	ctx := context.Background()
	// Every field set, lot and codes included.
	i1 := incident(1, "e1", scanGTIN, "2026-11-20")
	i1.Lot, i1.Codes, i1.Category = "L1", []string{"https://id.example.cn/01/09506000134352/10/L1/21/S1"}, trace.CategoryMedicalDevice
	i1.Severity, i1.PersonsAffected, i1.AwareDate = standards.SeverityDeath, 1, "2026-11-21"
	i1.Distribution, i1.RemedialAction = "north China, 300 units", "stopped sales"
	i1.Contact.Email, i1.Provisional, i1.AwarenessID, i1.DeadlineFrom = "li@example.cn", true, "a01", "2026-11-19"
	i2 := incident(2, "e2", scanGTIN, "2026-10-05") // a retailer's report, late
	i2.Late = true
	i3 := incident(3, "e1", otherGTIN, "2026-11-01")
	i3.Late, i3.Severity = true, standards.SeverityNearMiss
	i4 := incident(4, "e1", scanGTIN, "2026-11-02")
	i4.OwnerID = "e1"
	all := []standards.Incident{i1, i2, i3, i4}
	for _, r := range []standards.Incident{i3, i1, i4, i2} {
		storetest.Must(t, s.CreateIncident(ctx, r))
	}
	storetest.WantErr(t, s.CreateIncident(ctx, incident(1, "e9", scanGTIN, "2026-11-01")), standards.ErrConflict, "id")
	for _, want := range all {
		got, err := s.Incident(ctx, want.ID)
		storetest.Must(t, err)
		sameIncident(t, got, want)
	}
	_, err := s.Incident(ctx, "nope")
	storetest.WantErr(t, err, standards.ErrNotFound, "")

	list := func(f standards.IncidentFilter, p trace.Page) []string {
		t.Helper()
		if p.Limit == 0 {
			p.Limit = 10
		}
		got, err := s.ListIncidents(ctx, f, p)
		storetest.Must(t, err)
		return incidentIDs(got)
	}
	yes, no := true, false
	storetest.Equal(t, list(standards.IncidentFilter{}, trace.Page{}), []string{"i01", "i02", "i03", "i04"})
	storetest.Equal(t, list(standards.IncidentFilter{}, trace.Page{Limit: 2, After: "i01"}), []string{"i02", "i03"})
	storetest.Equal(t, list(standards.IncidentFilter{Party: "e2"}, trace.Page{}), []string{"i02"})
	storetest.Equal(t, list(standards.IncidentFilter{Party: "owner"}, trace.Page{}), []string{"i01", "i02", "i03"})
	storetest.Equal(t, list(standards.IncidentFilter{Party: "e1"}, trace.Page{}), []string{"i01", "i03", "i04"})
	storetest.Equal(t, list(standards.IncidentFilter{EntityID: "e1", GTIN: scanGTIN}, trace.Page{}), []string{"i01", "i04"})
	storetest.Equal(t, list(standards.IncidentFilter{Severity: standards.SeverityNearMiss}, trace.Page{}), []string{"i03"})
	storetest.Equal(t, list(standards.IncidentFilter{Late: &no}, trace.Page{}), []string{"i01", "i04"})
	// The credit record's question: e1's late reports in a period,
	// [from, to) on the filing instant.
	storetest.Equal(t, list(standards.IncidentFilter{EntityID: "e1", Late: &yes, FiledFrom: t0, FiledTo: t0.Add(4 * time.Hour)}, trace.Page{}),
		[]string{"i03"})
	storetest.Equal(t, list(standards.IncidentFilter{EntityID: "e1", Late: &yes, FiledFrom: t0, FiledTo: t0.Add(3 * time.Hour)}, trace.Page{}),
		[]string{})
	storetest.Equal(t, list(standards.IncidentFilter{EntityID: "e1", Late: &yes, FiledFrom: t0.Add(3*time.Hour + time.Millisecond)}, trace.Page{}),
		[]string{})
	storetest.Equal(t, list(standards.IncidentFilter{Late: &yes, FiledFrom: t0.Add(2 * time.Hour)}, trace.Page{}), []string{"i02", "i03"})

	// Follow-up, conditional on the status read.
	at := t0.Add(30*time.Hour + 3*time.Millisecond)
	up, err := s.UpdateIncident(ctx, "i02", standards.IncidentChange{From: standards.IncidentReceived, Status: standards.IncidentAssessing,
		Note: "lab test ordered", By: "r1", At: at})
	storetest.Must(t, err)
	want := i2
	want.Status, want.Note, want.HandledBy, want.UpdatedAt = standards.IncidentAssessing, "lab test ordered", "r1", at
	sameIncident(t, up, want)
	_, err = s.UpdateIncident(ctx, "i02", standards.IncidentChange{From: standards.IncidentReceived, Status: standards.IncidentAssessing, At: at})
	storetest.WantErr(t, err, standards.ErrConflict, "")
	_, err = s.UpdateIncident(ctx, "nope", standards.IncidentChange{From: standards.IncidentReceived, Status: standards.IncidentAssessing, At: at})
	storetest.WantErr(t, err, standards.ErrNotFound, "")
	up, err = s.UpdateIncident(ctx, "i02", standards.IncidentChange{From: standards.IncidentAssessing, Status: standards.IncidentRecallLinked,
		RecallID: "R-2026-7", By: "r2", At: at})
	storetest.Must(t, err)
	if up.RecallID != "R-2026-7" || up.Status != standards.IncidentRecallLinked || !up.Late || up.Description != i2.Description {
		t.Fatalf("recall linked: %+v", up)
	}
	up, err = s.UpdateIncident(ctx, "i02", standards.IncidentChange{From: standards.IncidentRecallLinked, Status: standards.IncidentClosed, By: "r2", At: at})
	storetest.Must(t, err)
	if up.RecallID != "R-2026-7" || up.Status != standards.IncidentClosed {
		t.Fatalf("closed keeps the recall: %+v", up)
	}
	storetest.Equal(t, list(standards.IncidentFilter{Status: standards.IncidentClosed}, trace.Page{}), []string{"i02"})
	got, err := s.Incident(ctx, "i01")
	storetest.Must(t, err)
	sameIncident(t, got, i1)

	// Event dates of a product, for clusters; statistics by month.
	dates, err := s.IncidentDates(ctx, scanGTIN, "2026-10-05", "2026-11-20", 10)
	storetest.Must(t, err)
	storetest.Equal(t, dates, []string{"2026-10-05", "2026-11-02", "2026-11-20"})
	dates, err = s.IncidentDates(ctx, scanGTIN, "2026-10-06", "2026-11-19", 10)
	storetest.Must(t, err)
	storetest.Equal(t, dates, []string{"2026-11-02"})
	dates, err = s.IncidentDates(ctx, scanGTIN, "2026-01-01", "2026-12-31", 1)
	storetest.Must(t, err)
	storetest.Equal(t, dates, []string{"2026-10-05"})
	stats, err := s.IncidentStats(ctx, "2026-01", "2026-12")
	storetest.Must(t, err)
	storetest.Equal(t, stats, []standards.IncidentCount{{Category: trace.CategoryToy, Month: "2026-10", Reports: 1},
		{Category: trace.CategoryMedicalDevice, Month: "2026-11", Reports: 1}, {Category: trace.CategoryToy, Month: "2026-11", Reports: 2}})
	stats, err = s.IncidentStats(ctx, "2026-11", "2026-11")
	storetest.Must(t, err)
	storetest.Equal(t, len(stats), 2)
	stats, err = s.IncidentStats(ctx, "2027-01", "2027-12")
	storetest.Must(t, err)
	storetest.Equal(t, len(stats), 0)
}

func awareness(i int, entity, gtin, aware string, deadline time.Time) standards.Awareness {
	return standards.Awareness{ID: fmt.Sprintf("a%02d", i), EntityID: entity, GTIN: gtin, Source: "hospital_report",
		Reference: fmt.Sprintf("H-%d", i), AwareDate: aware, DeadlineDate: deadline.Format(time.DateOnly), Deadline: deadline,
		RecordedBy: "r1", CreatedAt: t0.Add(time.Duration(i) * time.Minute)}
}

func testAwareness(t *testing.T, s standards.IncidentStore) {
	ctx := context.Background()
	a1 := awareness(1, "e1", scanGTIN, "2026-11-10", t0.Add(time.Hour))
	a1.Lot, a1.Severity = "L1", standards.SeverityDeath
	a2 := awareness(2, "e1", scanGTIN, "2026-11-03", t0.Add(2*time.Hour))
	a3 := awareness(3, "e2", scanGTIN, "2026-11-01", t0.Add(3*time.Hour))
	a4 := awareness(4, "e1", otherGTIN, "2026-11-01", t0.Add(4*time.Hour))
	for _, a := range []standards.Awareness{a3, a1, a4, a2} {
		storetest.Must(t, s.CreateAwareness(ctx, a))
	}
	storetest.WantErr(t, s.CreateAwareness(ctx, awareness(1, "e7", scanGTIN, "2026-11-01", t0)), standards.ErrConflict, "id")

	open, err := s.OpenAwareness(ctx, "e1", scanGTIN)
	storetest.Must(t, err)
	storetest.Equal(t, open, []standards.Awareness{a2, a1}) // oldest aware date first
	overdue := func(at time.Time) []string {
		t.Helper()
		list, err := s.ListAwareness(ctx, at, trace.Page{Limit: 10})
		storetest.Must(t, err)
		out := []string{}
		for _, a := range list {
			out = append(out, a.ID)
		}
		return out
	}
	storetest.Equal(t, overdue(t0), []string{})
	storetest.Equal(t, overdue(t0.Add(2*time.Hour)), []string{"a01", "a02"})
	all, err := s.ListAwareness(ctx, time.Time{}, trace.Page{Limit: 2, After: "a01"})
	storetest.Must(t, err)
	storetest.Equal(t, all, []standards.Awareness{a2, a3})

	storetest.Must(t, s.LinkAwareness(ctx, "a02", "i07"))
	storetest.WantErr(t, s.LinkAwareness(ctx, "a02", "i08"), standards.ErrConflict, "")
	storetest.WantErr(t, s.LinkAwareness(ctx, "nope", "i08"), standards.ErrNotFound, "")
	open, err = s.OpenAwareness(ctx, "e1", scanGTIN)
	storetest.Must(t, err)
	storetest.Equal(t, open, []standards.Awareness{a1})
	storetest.Equal(t, overdue(t0.Add(10*time.Hour)), []string{"a01", "a03", "a04"})
	all, err = s.ListAwareness(ctx, time.Time{}, trace.Page{Limit: 1, After: "a01"})
	storetest.Must(t, err)
	if len(all) != 1 || all[0].IncidentID != "i07" {
		t.Fatalf("linked: %+v", all)
	}
}
