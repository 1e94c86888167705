package sqlitedb

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestStatementCache: statements are reused per connection, yet a query
// repeated while its own rows are still open in a transaction, more
// distinct queries than the cache holds, and failing statements all give
// the right answers.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := Migrate(ctx, db.W, []string{`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)`}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if _, err := db.W.ExecContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	// A failing insert (unique v) leaves the cached insert usable.
	if _, err := db.W.ExecContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`, 99, "v1"); err == nil {
		t.Fatal("a duplicate was inserted")
	}
	if _, err := db.W.ExecContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`, 10, "v10"); err != nil {
		t.Fatal(err)
	}

	// The same query inside its own open rows, on one connection.
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	const q = `SELECT k, v FROM t WHERE k >= ? ORDER BY k`
	outer, err := tx.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var k int
		var v string
		if err := outer.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		var inner string
		if err := tx.QueryRowContext(ctx, q, k).Scan(new(int), &inner); err != nil {
			t.Fatal(err)
		}
		got = append(got, v+"="+inner)
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	tx.Rollback()
	if len(got) != 11 || got[3] != "v3=v3" || got[10] != "v10=v10" {
		t.Fatalf("nested reads: %v", got)
	}

	// More distinct queries than one connection caches, while the first
	// one's rows stay open: evicted while busy, finalized when they close.
	tx, err = db.W.BeginTx(ctx, nil) // one connection throughout
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	first, err := tx.QueryContext(ctx, `SELECT v FROM t WHERE k = ? OR k = 0 ORDER BY k`, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := range stmtsPerConn + 20 {
		var v string
		query := `SELECT v FROM t WHERE k = ?` + strings.Repeat(" ", i)
		if err := tx.QueryRowContext(ctx, query, i%11).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != fmt.Sprint("v", i%11) {
			t.Fatalf("query %d read %s", i, v)
		}
	}
	var vs []string
	for first.Next() {
		var v string
		first.Scan(&v)
		vs = append(vs, v)
	}
	first.Close()
	if strings.Join(vs, ",") != "v0,v5" {
		t.Fatalf("rows kept open across evictions read %v", vs)
	}

	// A statement that fails to prepare is an error, not a cache entry.
	if _, err := db.R.QueryContext(ctx, `SELECT nope FROM t`); err == nil {
		t.Fatal("a bad query ran")
	}
	var n int
	if err := db.R.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 11 {
		t.Fatalf("count %d, %v", n, err)
	}
}
