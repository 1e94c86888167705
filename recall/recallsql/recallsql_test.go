package recallsql_test

import (
	"context"
	"testing"

	"tracesvc/recall/recallsql"
	"tracesvc/recall/storetest"
	"tracesvc/trace/sqlitedb"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) storetest.Stores {
		ctx := context.Background()
		db, err := sqlitedb.Open(ctx, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s, err := recallsql.New(ctx, db.W, db.R)
		if err != nil {
			t.Fatal(err)
		}
		return storetest.Stores{Endpoints: s, Campaigns: s, Outbox: s, Credit: s, Draws: s}
	})
}
