package recallmongo_test

import (
	"context"
	"os"
	"testing"

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
		return storetest.Stores{Endpoints: s, Outbox: s, NotAtomic: notAtomic()}
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

// notAtomic says why racing claims are not tested on FerretDB.
func notAtomic() string {
	if srv.IsFerretDB() {
		return "FerretDB applies findOneAndUpdate without a lock: racing claimers can get the same delivery (see trace/mongotest); MongoDB's is atomic"
	}
	return ""
}
