package standardssql_test

import (
	"context"
	"testing"

	"tracesvc/standards/standardssql"
	"tracesvc/standards/storetest"
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
		s, err := standardssql.New(ctx, db.W, db.R)
		if err != nil {
			t.Fatal(err)
		}
		return storetest.Stores{Tipoffs: s, Declarations: s, SpotChecks: s, Incidents: s}
	})
}

// TestLegacyTipoffs opens a tipoffs table from before the workflow kept
// extensions and notifications: it gains the columns, its rows read.
func TestLegacyTipoffs(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{
		`CREATE TABLE tipoffs (id TEXT PRIMARY KEY, receipt TEXT NOT NULL UNIQUE, subject TEXT NOT NULL, code TEXT NOT NULL,
			gtin TEXT NOT NULL, entity_id TEXT NOT NULL, category TEXT NOT NULL, description TEXT NOT NULL, anonymous INTEGER NOT NULL,
			name TEXT NOT NULL, contact TEXT NOT NULL, client TEXT NOT NULL, status TEXT NOT NULL, note TEXT NOT NULL,
			handled_by TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deadline INTEGER, notify_by INTEGER) WITHOUT ROWID`,
		`INSERT INTO tipoffs VALUES ('t1', 'TOLD1', 'product', '', '09506000134352', '', 'quality', 'old one', 1, '', '', 'c',
			'received', '', '', 1, 1, NULL, NULL)`,
	} {
		if _, err := db.W.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	s, err := standardssql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := s.Tipoff(ctx, "TOLD1")
	if err != nil || tip.Extended || tip.Notified || tip.Description != "old one" {
		t.Fatalf("old tip-off: %+v, %v", tip, err)
	}
	if _, err := standardssql.New(ctx, db.W, db.R); err != nil {
		t.Fatalf("opening again: %v", err)
	}
}
