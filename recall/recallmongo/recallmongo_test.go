package recallmongo_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"tracesvc/recall/recallmongo"
	"tracesvc/recall/storetest"
	"tracesvc/trace/mongotest"
)

var srv *mongotest.Server

func TestMain(m *testing.M) { os.Exit(mongotest.Run(m, &srv)) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) storetest.Stores {
		s, err := recallmongo.New(context.Background(), srv.Database(t))
		if err != nil {
			t.Fatal(err)
		}
		return storetest.Stores{Endpoints: s, Campaigns: s, Outbox: s, Credit: s, Draws: s, NotAtomic: notAtomic()}
	})
}

// TestReopen opens the stores twice on one database, as a restart or a
// second process does.
func TestReopen(t *testing.T) {
	db := srv.Database(t)
	for range 2 {
		if _, err := recallmongo.New(context.Background(), db); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRecallKeysOnce: keys added again, in bulk and across insert chunks,
// are stored once. The conformance suite cannot see duplicates (lookups
// return each campaign once), and a server may report duplicates of a
// secondary unique index in an unordered bulk insert otherwise than
// MongoDB does (FerretDB enforces them in its SQLite tables).
func TestRecallKeysOnce(t *testing.T) {
	ctx := context.Background()
	db := srv.Database(t)
	s, err := recallmongo.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for i := range 2500 {
		keys = append(keys, fmt.Sprintf("01/09506000134352/21/K%05d", i))
	}
	for _, part := range [][]string{keys[:10], keys[1200:1300], keys, keys[2400:], append(keys[:5:5], keys[:5]...)} {
		if err := s.AddRecallKeys(ctx, "c1", part); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddRecallKeys(ctx, "c2", keys[:3]); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		campaign string
		want     int64
	}{{"c1", 2500}, {"c2", 3}} {
		n, err := db.Collection("recall_keys").CountDocuments(ctx, bson.D{{Key: "campaignId", Value: c.campaign}})
		if err != nil {
			t.Fatal(err)
		}
		if n != c.want {
			t.Errorf("%s has %d key documents, want %d", c.campaign, n, c.want)
		}
	}
}

// notAtomic says why racing claims are not tested on FerretDB.
func notAtomic() string {
	if srv.IsFerretDB() {
		return "FerretDB applies findOneAndUpdate without a lock: racing claimers can get the same delivery (see trace/mongotest); MongoDB's is atomic"
	}
	return ""
}
