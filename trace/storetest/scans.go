package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/scan"
)

const (
	scanGTIN  = "09506000134352"
	scanGTIN2 = "04006381333931"
)

func scanAt(id, gtin, serial string, at time.Time) scan.Scan {
	return scan.Scan{ID: id, GTIN: gtin, Serial: serial, Lot: "L1", At: at, Client: "c-" + id,
		Verdict: scan.VerdictGenuine, Owner: "e1"}
}

func located(sc scan.Scan, lat, lon float64) scan.Scan {
	sc.HasLocation, sc.Lat, sc.Lon = true, lat, lon
	return sc
}

func testScans(t *testing.T, s Stores) {
	ctx := context.Background()
	s1 := located(scanAt("s01", scanGTIN, "S1", t0), 31.23, 121.47)
	s2 := scanAt("s02", scanGTIN, "S1", t0.Add(time.Hour)) // no location
	s3 := located(scanAt("s03", scanGTIN, "S1", t0.Add(2*time.Hour+123*time.Millisecond)), -33.87, 151.21)
	s3.Lot, s3.Verdict = "", scan.VerdictDecommissioned
	s4 := scanAt("s04", scanGTIN, "S2", t0.Add(3*time.Hour))
	s5 := located(scanAt("s05", scanGTIN2, "S1", t0.Add(4*time.Hour)), 0, 0) // a location at 0°, 0°
	s5.Verdict, s5.Owner = scan.VerdictUnknownCode, ""

	Must(t, s.Scans.InsertScans(ctx, nil))
	// Stored out of time order; the newest comes first all the same.
	Must(t, s.Scans.InsertScans(ctx, []scan.Scan{s1, s3}))
	// A scan stored again is skipped, not overwritten.
	again := s1
	again.Verdict, again.Client = scan.VerdictRecalled, "someone else"
	Must(t, s.Scans.InsertScans(ctx, []scan.Scan{s2, again, s4, s5, s4}))

	// The latest located scan before an ID: by time, whatever the order
	// they were stored in, skipping scans without a location; a location
	// at 0°, 0° is one.
	for _, c := range []struct {
		gtin, serial, before string
		want                 *scan.Scan
	}{
		{scanGTIN, "S1", "s99", &s3},
		{scanGTIN, "S1", "s03", &s1},
		{scanGTIN, "S1", "s02", &s1},
		{scanGTIN, "S1", "s01", nil},
		{scanGTIN, "S2", "s99", nil},
		{scanGTIN2, "S1", "s99", &s5},
		{scanGTIN, "S9", "s99", nil},
	} {
		got, ok, err := s.Scans.LocatedBefore(ctx, c.gtin, c.serial, c.before)
		Must(t, err)
		switch {
		case c.want == nil && ok:
			t.Fatalf("LocatedBefore(%s, %s, %s) = %+v, want none", c.gtin, c.serial, c.before, got)
		case c.want != nil && !ok:
			t.Fatalf("LocatedBefore(%s, %s, %s): none, want %s", c.gtin, c.serial, c.before, c.want.ID)
		case c.want != nil:
			Equal(t, got, *c.want)
		}
	}

	var keys []scan.CodeKey
	want := map[scan.CodeKey]int{}
	for _, c := range []struct {
		gtin, serial string
		n            int
	}{{scanGTIN, "S1", 3}, {scanGTIN, "S2", 1}, {scanGTIN2, "S1", 1}, {scanGTIN2, "S2", 0}, {scanGTIN, "S9", 0}} {
		n, err := s.Scans.CountScans(ctx, c.gtin, c.serial)
		Must(t, err)
		if n != c.n {
			t.Fatalf("CountScans(%s, %s) = %d, want %d", c.gtin, c.serial, n, c.n)
		}
		keys = append(keys, scan.CodeKey{GTIN: c.gtin, Serial: c.serial})
		if c.n > 0 {
			want[keys[len(keys)-1]] = c.n
		}
	}
	// The same counts in one go, the unscanned left out; many codes at once
	// span several queries.
	got2, err := s.Scans.CountScansOf(ctx, keys)
	Must(t, err)
	Equal(t, got2, want)
	for i := range 1500 {
		keys = append(keys, scan.CodeKey{GTIN: scanGTIN, Serial: fmt.Sprint("none", i)})
	}
	got2, err = s.Scans.CountScansOf(ctx, append(keys, keys[0]))
	Must(t, err)
	Equal(t, got2, want)
}

func alert(id string, kind scan.AlertKind, gtin, serial, owner string, scans ...string) scan.Alert {
	return scan.Alert{ID: id, Kind: kind, GTIN: gtin, Serial: serial, Owner: owner, Scans: scans,
		Detail: fmt.Sprintf("%s on %s/%s", kind, gtin, serial), CreatedAt: t0.Add(time.Minute)}
}

func alertIDs(list []scan.Alert) []string {
	out := []string{}
	for _, a := range list {
		out = append(out, a.ID)
	}
	return out
}

func testAlerts(t *testing.T, s Stores) {
	ctx := context.Background()
	as := []scan.Alert{
		alert("a01", scan.AlertUnknownSerial, scanGTIN, "X1", "e1", "s01"),
		alert("a02", scan.AlertTooManyScans, scanGTIN, "S1", "e1", "s01", "s02", "s03"),
		alert("a03", scan.AlertImpossibleTravel, scanGTIN2, "S1", "e2", "s05", "s06"),
		alert("a04", scan.AlertTooManyScans, scanGTIN2, "S1", "e2"),
		alert("a05", scan.AlertScannedAfterSale, scanGTIN, "S2", "e1", "s04"),
	}
	as[3].Scans = []string{}
	for _, i := range []int{2, 0, 4, 1, 3} {
		Must(t, s.Scans.InsertAlert(ctx, as[i]))
	}
	dup := as[0]
	dup.Kind, dup.Detail = scan.AlertTooManyScans, "other"
	WantErr(t, s.Scans.InsertAlert(ctx, dup), trace.ErrConflict, "id")
	// One alert per kind and code, as two processes raising it would try.
	twice := as[1]
	twice.ID = "a99"
	WantErr(t, s.Scans.InsertAlert(ctx, twice), trace.ErrConflict, "kind")

	list := func(f scan.AlertFilter, p trace.Page) []scan.Alert {
		t.Helper()
		got, err := s.Scans.ListAlerts(ctx, f, p)
		Must(t, err)
		return got
	}
	// Every field, the scans in their order included, comes back as stored.
	Equal(t, list(scan.AlertFilter{}, trace.Page{Limit: 10}), as)
	Equal(t, alertIDs(list(scan.AlertFilter{}, trace.Page{Limit: 2})), []string{"a01", "a02"})
	Equal(t, alertIDs(list(scan.AlertFilter{}, trace.Page{Limit: 2, After: "a02"})), []string{"a03", "a04"})
	Equal(t, alertIDs(list(scan.AlertFilter{}, trace.Page{Limit: 2, After: "a04"})), []string{"a05"})
	Equal(t, alertIDs(list(scan.AlertFilter{}, trace.Page{Limit: 2, After: "a05"})), []string{})
	Equal(t, alertIDs(list(scan.AlertFilter{Owner: "e1"}, trace.Page{Limit: 10})), []string{"a01", "a02", "a05"})
	Equal(t, alertIDs(list(scan.AlertFilter{Owner: "e1"}, trace.Page{Limit: 1, After: "a01"})), []string{"a02"})
	Equal(t, alertIDs(list(scan.AlertFilter{Owner: "e3"}, trace.Page{Limit: 10})), []string{})
	Equal(t, alertIDs(list(scan.AlertFilter{Kind: scan.AlertTooManyScans}, trace.Page{Limit: 10})), []string{"a02", "a04"})
	Equal(t, alertIDs(list(scan.AlertFilter{Owner: "e2", Kind: scan.AlertTooManyScans}, trace.Page{Limit: 10})), []string{"a04"})

	for _, c := range []struct {
		kind         scan.AlertKind
		gtin, serial string
		want         bool
	}{
		{scan.AlertTooManyScans, scanGTIN, "S1", true},
		{scan.AlertTooManyScans, scanGTIN2, "S1", true},
		{scan.AlertTooManyScans, scanGTIN, "S2", false},
		{scan.AlertImpossibleTravel, scanGTIN, "S1", false},
		{scan.AlertUnknownSerial, scanGTIN, "X1", true},
		{scan.AlertUnknownSerial, scanGTIN2, "X1", false},
		{scan.AlertScannedAfterSale, scanGTIN, "S2", true},
	} {
		has, err := s.Scans.HasAlert(ctx, c.kind, c.gtin, c.serial)
		Must(t, err)
		if has != c.want {
			t.Fatalf("HasAlert(%s, %s, %s) = %v, want %v", c.kind, c.gtin, c.serial, has, c.want)
		}
	}
}

func testScanCounts(t *testing.T, s Stores) {
	ctx := context.Background()
	since := t0.Add(24 * time.Hour)
	recalled := func(id, gtin, serial string, at time.Time) scan.Scan {
		sc := scanAt(id, gtin, serial, at)
		sc.Verdict = scan.VerdictRecalled
		return sc
	}
	counts, err := s.Scans.CountRecalledScans(ctx, scanGTIN, since, 10)
	Must(t, err)
	Equal(t, counts, map[string]int{})

	Must(t, s.Scans.InsertScans(ctx, []scan.Scan{
		recalled("r01", scanGTIN, "S1", since.Add(-time.Millisecond)), // before the recall opened
		recalled("r02", scanGTIN, "S1", since),                        // at it: counted
		recalled("r03", scanGTIN, "S1", since.Add(time.Hour)),
		recalled("r04", scanGTIN, "S2", since.Add(2*time.Hour)),
		recalled("r05", scanGTIN, "", since.Add(3*time.Hour)),  // no serial: a product link
		recalled("r06", scanGTIN2, "S1", since.Add(time.Hour)), // another product
		recalled("r07", scanGTIN, "S0", since.Add(4*time.Hour)),
		recalled("r08", scanGTIN, "S3", since.Add(5*time.Hour)),
		recalled("r09", scanGTIN, "S3", since.Add(6*time.Hour)),
		recalled("r10", scanGTIN, "S3", since.Add(7*time.Hour)),
		scanAt("g01", scanGTIN, "S1", since.Add(time.Hour)), // genuine: another verdict
		scanAt("g02", scanGTIN, "S4", since.Add(time.Hour)),
	}))
	// A scan stored again is counted once.
	Must(t, s.Scans.InsertScans(ctx, []scan.Scan{recalled("r03", scanGTIN, "S1", since.Add(time.Hour))}))
	for _, c := range []struct {
		code scan.CodeKey
		want int
	}{
		{scan.CodeKey{GTIN: scanGTIN, Serial: "S1"}, 4}, {scan.CodeKey{GTIN: scanGTIN, Serial: "S3"}, 3},
		{scan.CodeKey{GTIN: scanGTIN2, Serial: "S1"}, 1}, {scan.CodeKey{GTIN: scanGTIN, Serial: "S9"}, 0},
	} {
		n, err := s.Scans.CountScans(ctx, c.code.GTIN, c.code.Serial)
		Must(t, err)
		if n != c.want {
			t.Errorf("scans of %v: %d, want %d", c.code, n, c.want)
		}
	}

	for _, tc := range []struct {
		name  string
		gtin  string
		since time.Time
		limit int
		want  map[string]int
	}{
		{"since the recall", scanGTIN, since, 10, map[string]int{"S0": 1, "S1": 2, "S2": 1, "S3": 3}},
		{"every scan", scanGTIN, time.Time{}, 10, map[string]int{"S0": 1, "S1": 3, "S2": 1, "S3": 3}},
		{"later", scanGTIN, since.Add(5 * time.Hour), 10, map[string]int{"S3": 3}},
		{"after the last", scanGTIN, since.Add(7*time.Hour + time.Millisecond), 10, map[string]int{}},
		{"the first serials", scanGTIN, since, 2, map[string]int{"S0": 1, "S1": 2}},
		{"one serial", scanGTIN, since, 1, map[string]int{"S0": 1}},
		{"no serials", scanGTIN, since, 0, map[string]int{}},
		{"another product", scanGTIN2, since, 10, map[string]int{"S1": 1}},
	} {
		counts, err := s.Scans.CountRecalledScans(ctx, tc.gtin, tc.since, tc.limit)
		Must(t, err)
		if fmt.Sprint(counts) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, counts, tc.want)
		}
	}
}
