package tracemongo_test

import (
	"context"
	"errors"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"os"
	"sync"
	"testing"
	"time"
	"tracesvc/trace/scan"

	"go.mongodb.org/mongo-driver/v2/bson"

	"tracesvc/trace"
	"tracesvc/trace/audit"
	"tracesvc/trace/mongotest"
	"tracesvc/trace/storetest"
	"tracesvc/trace/tracemongo"
)

var srv *mongotest.Server

func TestMain(m *testing.M) { os.Exit(mongotest.Run(m, &srv)) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) storetest.Stores {
		db := srv.Database(t)
		s, err := tracemongo.New(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		return storetest.Stores{Trace: s, Keys: s, Audit: s, Codes: s, Events: s, Scans: s,
			RewriteAudit: func(ctx context.Context, r audit.Record) error {
				_, err := db.Collection("audit_log").UpdateOne(ctx, bson.D{{Key: "_id", Value: r.Seq}},
					bson.D{{Key: "$set", Value: bson.D{{Key: "at", Value: r.At}, {Key: "actor", Value: r.Actor},
						{Key: "role", Value: r.Role}, {Key: "action", Value: r.Action}, {Key: "target", Value: r.Target},
						{Key: "status", Value: r.Status}, {Key: "prevHash", Value: r.PrevHash}, {Key: "hash", Value: r.Hash}}}})
				return err
			},
			DeleteAudit: func(ctx context.Context, from int64) error {
				_, err := db.Collection("audit_log").DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gte", Value: from}}}})
				return err
			}}
	})
}

// TestReopen opens the stores twice on one database, as a restart or a
// second process does: the indexes the first made are accepted.
func TestReopen(t *testing.T) {
	db := srv.Database(t)
	for range 3 {
		if _, err := tracemongo.New(context.Background(), db); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLegacyIssuances reads an issuance stored before issuances had
// leases, which a crash left running: it counts as abandoned, so the sweep
// at start marks it and a repeated request may claim it.
func TestLegacyIssuances(t *testing.T) {
	ctx := context.Background()
	db := srv.Database(t)
	s, err := tracemongo.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	old := func(id string) bson.D {
		return bson.D{{Key: "_id", Value: id}, {Key: "kind", Value: "sgtin"}, {Key: "ownerId", Value: "e1"},
			{Key: "gtin", Value: "09506000134352"}, {Key: "lot", Value: "L1"}, {Key: "requested", Value: 1000},
			{Key: "issued", Value: 0}, {Key: "state", Value: "running"}, {Key: "key", Value: id},
			{Key: "idemKey", Value: id}, {Key: "createdAt", Value: time.Now()}, {Key: "updatedAt", Value: time.Now()}}
	}
	if _, err := db.Collection("issuances").InsertMany(ctx, []any{old("a"), old("b")}); err != nil {
		t.Fatal(err)
	}
	if is, err := s.Issuance(ctx, "a"); err != nil || is.Lease != (trace.Lease{}) {
		t.Fatalf("old issuance: %+v, %v", is, err)
	}
	l := trace.Lease{Instance: "p1", Holder: "p1#x", Until: time.Now().Add(time.Minute).UTC().Truncate(time.Millisecond)}
	if is, err := s.ClaimIssuance(ctx, "a", l, time.Now()); err != nil || is.Lease != l {
		t.Fatalf("claim of an old running issuance: %+v, %v", is, err)
	}
	if n, err := s.InterruptIssuances(ctx, "p2", time.Now()); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if is, err := s.Issuance(ctx, "b"); err != nil || is.State != trace.IssuanceInterrupted {
		t.Fatalf("old running issuance after the sweep: %+v, %v", is, err)
	}
}

// TestConcurrentOpen opens the stores from several goroutines at once on
// a fresh database, as processes starting together do: all of them
// start. (FerretDB drops a connection when two create the same indexes at
// once; the index set-up retries on a dropped connection.)
func TestConcurrentOpen(t *testing.T) {
	db := srv.Database(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			_, err := tracemongo.New(context.Background(), db)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestLegacyAlerts opens a database from before alerts had a unique key,
// holding the same alert twice: the first is kept, the old index gives
// way to the unique one.
func TestLegacyAlerts(t *testing.T) {
	ctx := context.Background()
	db := srv.Database(t)
	c := db.Collection("alerts")
	if _, err := c.Indexes().CreateOne(ctx, mongo.IndexModel{Keys: bson.D{{Key: "kind", Value: 1}, {Key: "gtin", Value: 1},
		{Key: "serial", Value: 1}}, Options: options.Index().SetName("code")}); err != nil {
		t.Fatal(err)
	}
	doc := func(id, detail string) bson.D {
		return bson.D{{Key: "_id", Value: id}, {Key: "kind", Value: "too_many_scans"}, {Key: "gtin", Value: "09506000134352"},
			{Key: "serial", Value: "S1"}, {Key: "ownerId", Value: "e1"}, {Key: "scans", Value: bson.A{}},
			{Key: "detail", Value: detail}, {Key: "createdAt", Value: time.Now()}}
	}
	if _, err := c.InsertMany(ctx, []any{doc("a2", "again"), doc("a1", "first")}); err != nil {
		t.Fatal(err)
	}
	s, err := tracemongo.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ListAlerts(ctx, scan.AlertFilter{}, trace.Page{Limit: 10})
	if err != nil || len(got) != 1 || got[0].ID != "a1" {
		t.Fatalf("alerts after the upgrade: %+v, %v", got, err)
	}
	if err := s.InsertAlert(ctx, scan.Alert{ID: "a3", Kind: scan.AlertTooManyScans, GTIN: "09506000134352", Serial: "S1",
		Scans: []string{}}); !errors.Is(err, trace.ErrConflict) {
		t.Fatalf("a third copy: %v", err)
	}
	if _, err := tracemongo.New(ctx, db); err != nil {
		t.Fatalf("opening again: %v", err)
	}
}
