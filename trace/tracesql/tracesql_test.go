package tracesql_test

import (
	"context"
	"testing"

	"tracesvc/trace/sqlitedb"
	"tracesvc/trace/storetest"
	"tracesvc/trace/tracesql"
)

// Open returns a store on a fresh database in a temp folder.
func open(t testing.TB) (*sqlitedb.DB, *tracesql.Store) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	return db, s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) storetest.Stores {
		db, s := open(t)
		return storetest.Stores{Trace: s, Keys: s, Audit: s, Codes: s, Events: s, Scans: s,
			TamperAudit: func(ctx context.Context, seq int64, target string) error {
				_, err := db.W.ExecContext(ctx, `UPDATE audit_log SET target = ? WHERE seq = ?`, target, seq)
				return err
			}}
	})
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for range 2 {
		db, err := sqlitedb.Open(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tracesql.New(ctx, db.W, db.R); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
