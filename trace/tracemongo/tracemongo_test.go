package tracemongo_test

import (
	"context"
	"os"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

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
