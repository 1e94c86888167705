package tracemongo_test

import (
	"context"
	"os"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

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
			TamperAudit: func(ctx context.Context, seq int64, target string) error {
				_, err := db.Collection("audit_log").UpdateOne(ctx, bson.D{{Key: "_id", Value: seq}},
					bson.D{{Key: "$set", Value: bson.D{{Key: "target", Value: target}}}})
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
