package standardsmongo_test

import (
	"context"
	"os"
	"testing"

	"tracesvc/standards/standardsmongo"
	"tracesvc/standards/storetest"
	"tracesvc/trace/mongotest"
)

var srv *mongotest.Server

func TestMain(m *testing.M) { os.Exit(mongotest.Run(m, &srv)) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) storetest.Stores {
		s, err := standardsmongo.New(context.Background(), srv.Database(t))
		if err != nil {
			t.Fatal(err)
		}
		return storetest.Stores{Tipoffs: s, Declarations: s, SpotChecks: s, Incidents: s}
	})
}

// TestReopen opens the stores twice on one database, as a restart or a
// second process does.
func TestReopen(t *testing.T) {
	db := srv.Database(t)
	for range 2 {
		if _, err := standardsmongo.New(context.Background(), db); err != nil {
			t.Fatal(err)
		}
	}
}
