package standards_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tracesvc/standards"
	"tracesvc/standards/standardssql"
	"tracesvc/trace/sqlitedb"
)

// TestNonconforming: the credit record's question — every non-conform
// spot check of an entity between two report dates — reads past one page
// of the store.
func TestNonconforming(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := standardssql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1205 {
		c := standards.SpotCheck{ID: fmt.Sprintf("s%05d", i), EntityID: "e1", GTIN: "06901234000017", Lab: "lab",
			SampleCode: fmt.Sprint(i), SampledOn: "2026-03-01", ReportedOn: fmt.Sprintf("2026-03-%02d", 1+i%28), Result: standards.Nonconform,
			CreatedAt: t0}
		switch {
		case i%5 == 0:
			c.Result = standards.Conform
		case i%7 == 0:
			c.EntityID = "e2"
		}
		if err := store.CreateSpotCheck(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	s := standards.NewSpotChecks(store, nil, nil, nil, time.UTC)
	got, err := s.Nonconforming(ctx, "e1", "2026-03-02", "2026-03-27")
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for i := range 1205 {
		if day := 1 + i%28; i%5 != 0 && i%7 != 0 && day >= 2 && day <= 27 {
			want++
		}
	}
	if len(got) != want || want <= 500 { // more than one page of the store
		t.Fatalf("%d non-conform checks, want %d", len(got), want)
	}
	for _, c := range got {
		if c.EntityID != "e1" || c.Result != standards.Nonconform || c.ReportedOn < "2026-03-02" || c.ReportedOn > "2026-03-27" {
			t.Fatalf("%+v does not belong", c)
		}
	}
}
