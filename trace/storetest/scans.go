package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tracesvc/trace"
)

const (
	scanGTIN  = "09506000134352"
	scanGTIN2 = "04006381333931"
)

func scanAt(id, gtin, serial string, at time.Time) trace.Scan {
	return trace.Scan{ID: id, GTIN: gtin, Serial: serial, Lot: "L1", At: at, Client: "c-" + id,
		Verdict: trace.VerdictGenuine, Owner: "e1"}
}

func located(sc trace.Scan, lat, lon float64) trace.Scan {
	sc.HasLocation, sc.Lat, sc.Lon = true, lat, lon
	return sc
}

func scanIDs(list []trace.Scan) []string {
	out := []string{}
	for _, sc := range list {
		out = append(out, sc.ID)
	}
	return out
}

func testScans(t *testing.T, s Stores) {
	ctx := context.Background()
	s1 := located(scanAt("s01", scanGTIN, "S1", t0), 31.23, 121.47)
	s2 := scanAt("s02", scanGTIN, "S1", t0.Add(time.Hour)) // no location
	s3 := located(scanAt("s03", scanGTIN, "S1", t0.Add(2*time.Hour+123*time.Millisecond)), -33.87, 151.21)
	s3.Lot, s3.Verdict = "", trace.VerdictDecommissioned
	s4 := scanAt("s04", scanGTIN, "S2", t0.Add(3*time.Hour))
	s5 := located(scanAt("s05", scanGTIN2, "S1", t0.Add(4*time.Hour)), 0, 0) // a location at 0°, 0°
	s5.Verdict, s5.Owner = trace.VerdictUnknownCode, ""

	must(t, s.Scans.InsertScans(ctx, nil))
	// Stored out of time order; the newest comes first all the same.
	must(t, s.Scans.InsertScans(ctx, []trace.Scan{s1, s3}))
	// A scan stored again is skipped, not overwritten.
	again := s1
	again.Verdict, again.Client = trace.VerdictRecalled, "someone else"
	must(t, s.Scans.InsertScans(ctx, []trace.Scan{s2, again, s4, s5, s4}))

	got, err := s.Scans.RecentScans(ctx, scanGTIN, "S1", 10)
	must(t, err)
	equal(t, got, []trace.Scan{s3, s2, s1})
	if got[1].HasLocation || got[1].Lat != 0 || got[1].Lon != 0 {
		t.Fatalf("scan without location: %+v", got[1])
	}
	got, err = s.Scans.RecentScans(ctx, scanGTIN, "S1", 2)
	must(t, err)
	equal(t, scanIDs(got), []string{"s03", "s02"})
	got, err = s.Scans.RecentScans(ctx, scanGTIN, "S2", 10)
	must(t, err)
	equal(t, got, []trace.Scan{s4})
	got, err = s.Scans.RecentScans(ctx, scanGTIN2, "S1", 10)
	must(t, err)
	equal(t, got, []trace.Scan{s5})
	got, err = s.Scans.RecentScans(ctx, scanGTIN, "S9", 10)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("scans of an unscanned code: %+v", got)
	}

	for _, c := range []struct {
		gtin, serial string
		n            int
	}{{scanGTIN, "S1", 3}, {scanGTIN, "S2", 1}, {scanGTIN2, "S1", 1}, {scanGTIN2, "S2", 0}, {scanGTIN, "S9", 0}} {
		n, err := s.Scans.CountScans(ctx, c.gtin, c.serial)
		must(t, err)
		if n != c.n {
			t.Fatalf("CountScans(%s, %s) = %d, want %d", c.gtin, c.serial, n, c.n)
		}
	}
}

func alert(id string, kind trace.AlertKind, gtin, serial, owner string, scans ...string) trace.Alert {
	return trace.Alert{ID: id, Kind: kind, GTIN: gtin, Serial: serial, Owner: owner, Scans: scans,
		Detail: fmt.Sprintf("%s on %s/%s", kind, gtin, serial), CreatedAt: t0.Add(time.Minute)}
}

func alertIDs(list []trace.Alert) []string {
	out := []string{}
	for _, a := range list {
		out = append(out, a.ID)
	}
	return out
}

func testAlerts(t *testing.T, s Stores) {
	ctx := context.Background()
	as := []trace.Alert{
		alert("a01", trace.AlertUnknownSerial, scanGTIN, "X1", "e1", "s01"),
		alert("a02", trace.AlertTooManyScans, scanGTIN, "S1", "e1", "s01", "s02", "s03"),
		alert("a03", trace.AlertImpossibleTravel, scanGTIN2, "S1", "e2", "s05", "s06"),
		alert("a04", trace.AlertTooManyScans, scanGTIN2, "S1", "e2"),
		alert("a05", trace.AlertScannedAfterSale, scanGTIN, "S2", "e1", "s04"),
	}
	as[3].Scans = []string{}
	for _, i := range []int{2, 0, 4, 1, 3} {
		must(t, s.Scans.InsertAlert(ctx, as[i]))
	}
	dup := as[0]
	dup.Kind, dup.Detail = trace.AlertTooManyScans, "other"
	wantErr(t, s.Scans.InsertAlert(ctx, dup), trace.ErrConflict, "id")

	list := func(f trace.AlertFilter, p trace.Page) []trace.Alert {
		t.Helper()
		got, err := s.Scans.ListAlerts(ctx, f, p)
		must(t, err)
		return got
	}
	// Every field, the scans in their order included, comes back as stored.
	equal(t, list(trace.AlertFilter{}, trace.Page{Limit: 10}), as)
	equal(t, alertIDs(list(trace.AlertFilter{}, trace.Page{Limit: 2})), []string{"a01", "a02"})
	equal(t, alertIDs(list(trace.AlertFilter{}, trace.Page{Limit: 2, After: "a02"})), []string{"a03", "a04"})
	equal(t, alertIDs(list(trace.AlertFilter{}, trace.Page{Limit: 2, After: "a04"})), []string{"a05"})
	equal(t, alertIDs(list(trace.AlertFilter{}, trace.Page{Limit: 2, After: "a05"})), []string{})
	equal(t, alertIDs(list(trace.AlertFilter{Owner: "e1"}, trace.Page{Limit: 10})), []string{"a01", "a02", "a05"})
	equal(t, alertIDs(list(trace.AlertFilter{Owner: "e1"}, trace.Page{Limit: 1, After: "a01"})), []string{"a02"})
	equal(t, alertIDs(list(trace.AlertFilter{Owner: "e3"}, trace.Page{Limit: 10})), []string{})
	equal(t, alertIDs(list(trace.AlertFilter{Kind: trace.AlertTooManyScans}, trace.Page{Limit: 10})), []string{"a02", "a04"})
	equal(t, alertIDs(list(trace.AlertFilter{Owner: "e2", Kind: trace.AlertTooManyScans}, trace.Page{Limit: 10})), []string{"a04"})

	for _, c := range []struct {
		kind         trace.AlertKind
		gtin, serial string
		want         bool
	}{
		{trace.AlertTooManyScans, scanGTIN, "S1", true},
		{trace.AlertTooManyScans, scanGTIN2, "S1", true},
		{trace.AlertTooManyScans, scanGTIN, "S2", false},
		{trace.AlertImpossibleTravel, scanGTIN, "S1", false},
		{trace.AlertUnknownSerial, scanGTIN, "X1", true},
		{trace.AlertUnknownSerial, scanGTIN2, "X1", false},
		{trace.AlertScannedAfterSale, scanGTIN, "S2", true},
	} {
		has, err := s.Scans.HasAlert(ctx, c.kind, c.gtin, c.serial)
		must(t, err)
		if has != c.want {
			t.Fatalf("HasAlert(%s, %s, %s) = %v, want %v", c.kind, c.gtin, c.serial, has, c.want)
		}
	}
}

func tipoff(i int, status trace.TipoffStatus) trace.Tipoff {
	return trace.Tipoff{ID: fmt.Sprintf("t%02d", i), Receipt: fmt.Sprintf("R-%04d", 9000-i), Subject: "product",
		GTIN: scanGTIN, Category: "quality", Description: fmt.Sprintf("tip %d: the seal was broken", i),
		Anonymous: true, Client: fmt.Sprintf("client-%d", i), Status: status,
		CreatedAt: t0.Add(time.Duration(i) * time.Minute), UpdatedAt: t0.Add(time.Duration(i) * time.Minute)}
}

func tipoffIDs(list []trace.Tipoff) []string {
	out := []string{}
	for _, tp := range list {
		out = append(out, tp.ID)
	}
	return out
}

func testTipoffs(t *testing.T, s Stores) {
	ctx := context.Background()
	// A named tipster with every field set.
	t1 := tipoff(1, trace.TipoffVerifying)
	t1.Subject, t1.Code, t1.GTIN = "code", "https://id.example.cn/01/09506000134352/21/S1", scanGTIN
	t1.Category, t1.Anonymous, t1.Name, t1.Contact = "counterfeit", false, "Zhang San", "+86 138 0000 0000"
	t1.Note, t1.HandledBy = "asked the brand owner", "k1"
	t1.UpdatedAt = t0.Add(time.Hour + 7*time.Millisecond)
	t1.Deadline, t1.NotifyBy = t0.Add(72*time.Hour), t0.Add(15*24*time.Hour)
	// An anonymous tip-off about an entity: no deadlines, nothing confidential.
	t2 := tipoff(2, trace.TipoffReceived)
	t2.Subject, t2.GTIN, t2.EntityID, t2.Category = "entity", "", "e7", "safety"
	t3 := tipoff(3, trace.TipoffReceived)
	t4 := tipoff(4, trace.TipoffClosed)
	t4.Deadline = t0.Add(48 * time.Hour) // a deadline without a tipster to notify
	all := []trace.Tipoff{t1, t2, t3, t4}
	for _, i := range []int{2, 0, 3, 1} {
		must(t, s.Tipoffs.CreateTipoff(ctx, all[i]))
	}

	dup := tipoff(9, trace.TipoffReceived)
	dup.Receipt = t3.Receipt
	wantErr(t, s.Tipoffs.CreateTipoff(ctx, dup), trace.ErrConflict, "receipt")
	dup = tipoff(9, trace.TipoffReceived)
	dup.ID = t3.ID
	wantErr(t, s.Tipoffs.CreateTipoff(ctx, dup), trace.ErrConflict, "id")

	for _, want := range all {
		got, err := s.Tipoffs.Tipoff(ctx, want.Receipt)
		must(t, err)
		equal(t, got, want)
	}
	got, err := s.Tipoffs.Tipoff(ctx, t2.Receipt)
	must(t, err)
	if !got.Deadline.IsZero() || !got.NotifyBy.IsZero() || got.Name != "" || got.Contact != "" {
		t.Fatalf("anonymous tip-off without deadlines: %+v", got)
	}
	_, err = s.Tipoffs.Tipoff(ctx, "R-nope")
	wantErr(t, err, trace.ErrNotFound, "")
	_, err = s.Tipoffs.Tipoff(ctx, t1.ID) // an ID is not a receipt
	wantErr(t, err, trace.ErrNotFound, "")

	list := func(status trace.TipoffStatus, p trace.Page) []trace.Tipoff {
		t.Helper()
		got, err := s.Tipoffs.ListTipoffs(ctx, status, p)
		must(t, err)
		return got
	}
	equal(t, list("", trace.Page{Limit: 10}), all)
	equal(t, tipoffIDs(list("", trace.Page{Limit: 3})), []string{"t01", "t02", "t03"})
	equal(t, tipoffIDs(list("", trace.Page{Limit: 3, After: "t03"})), []string{"t04"})
	equal(t, tipoffIDs(list("", trace.Page{Limit: 3, After: "t04"})), []string{})
	equal(t, tipoffIDs(list(trace.TipoffReceived, trace.Page{Limit: 10})), []string{"t02", "t03"})
	equal(t, tipoffIDs(list(trace.TipoffReceived, trace.Page{Limit: 1, After: "t02"})), []string{"t03"})
	equal(t, tipoffIDs(list(trace.TipoffCaseOpened, trace.Page{Limit: 10})), []string{})

	at := t0.Add(26*time.Hour + 5*time.Millisecond)
	up, err := s.Tipoffs.UpdateTipoff(ctx, t2.Receipt, trace.TipoffCaseOpened, "forwarded to the market regulator", "k9", at)
	must(t, err)
	want := t2
	want.Status, want.Note, want.HandledBy, want.UpdatedAt = trace.TipoffCaseOpened, "forwarded to the market regulator", "k9", at
	equal(t, up, want)
	got, err = s.Tipoffs.Tipoff(ctx, t2.Receipt)
	must(t, err)
	equal(t, got, want)
	// Updating one tip-off leaves the others alone.
	got, err = s.Tipoffs.Tipoff(ctx, t3.Receipt)
	must(t, err)
	equal(t, got, t3)
	equal(t, tipoffIDs(list(trace.TipoffCaseOpened, trace.Page{Limit: 10})), []string{"t02"})
	equal(t, tipoffIDs(list(trace.TipoffReceived, trace.Page{Limit: 10})), []string{"t03"})

	// The named tip-off keeps its confidential fields and deadlines.
	up, err = s.Tipoffs.UpdateTipoff(ctx, t1.Receipt, trace.TipoffClosed, "", "k1", at)
	must(t, err)
	want = t1
	want.Status, want.Note, want.UpdatedAt = trace.TipoffClosed, "", at
	equal(t, up, want)

	_, err = s.Tipoffs.UpdateTipoff(ctx, "R-nope", trace.TipoffClosed, "", "k1", at)
	wantErr(t, err, trace.ErrNotFound, "")
}
