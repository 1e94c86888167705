package sqlitedb

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestOpenBudget: the page caches of the writer and the readers together
// come from half the process's budget (issue 14), not a budget per
// connection, and the file is not memory-mapped.
func TestOpenBudget(t *testing.T) {
	ctx := context.Background()
	db, err := OpenBudget(ctx, t.TempDir(), 128<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var w, r int64
	if err := db.W.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&w); err != nil {
		t.Fatal(err)
	}
	if err := db.R.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&r); err != nil {
		t.Fatal(err)
	}
	// Negative sizes are KiB: 16 MiB for the writer, 2 MiB for each of 8
	// readers, each cached page taking twice its size (an 8 KiB slot).
	if w != -16384 || r != -2048 {
		t.Fatalf("cache_size writer %d, reader %d KiB; want -16384 and -2048", w, r)
	}
	if total := 2 * (-w + readers*-r) << 10; total != 64<<20 {
		t.Fatalf("the caches take %d bytes, not half the budget", total)
	}
	var mmap int64
	if err := db.R.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&mmap); err != nil || mmap != 0 {
		t.Fatalf("mmap_size %d (%v), want 0", mmap, err)
	}
}

// TestOpOf names statements by their first keyword.
func TestOpOf(t *testing.T) {
	for q, want := range map[string]string{
		"SELECT 1":          OpSelect,
		"  select * from t": OpSelect,
		"\n\t\tWITH x AS (SELECT 1) SELECT * FROM x":   OpSelect,
		"(SELECT 1) UNION (SELECT 2)":                  OpSelect,
		"-- a comment\nINSERT INTO t VALUES (1)":       OpInsert,
		"/* hint */ Insert OR IGNORE INTO t VALUES(1)": OpInsert,
		"REPLACE INTO t VALUES (1)":                    OpInsert,
		"UPDATE t SET a = 1":                           OpUpdate,
		"delete from t":                                OpDelete,
		"PRAGMA wal_checkpoint(TRUNCATE)":              OpOther,
		"CREATE TABLE t (a)":                           OpOther,
		"selected":                                     OpOther,
		"":                                             OpOther,
		"/* unterminated":                              OpOther,
	} {
		if got := opOf(q); got != want {
			t.Errorf("opOf(%q) = %q, want %q", q, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { opOf("  /* x */ INSERT INTO t VALUES (1)") }); n != 0 {
		t.Errorf("opOf allocates %v times", n)
	}
}

// TestObserve: with Config.Observe every statement, begin, commit and
// rollback on both pools is timed under its operation, and the driver's
// errors still reach the stores as they were.
func TestObserve(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string]int{}
	db, err := OpenConfig(ctx, t.TempDir(), Config{Observe: func(op string, d time.Duration) {
		if d < 0 {
			t.Errorf("%s took %s", op, d)
		}
		mu.Lock()
		seen[op]++
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := Migrate(ctx, db.W, []string{`CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)`}); err != nil {
		t.Fatal(err)
	}
	clear(seen)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.W.ExecContext(ctx, `INSERT INTO t (k, v) VALUES ('a', 1)`))
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	must(stmt.ExecContext(ctx, "b", 2))
	must(stmt.ExecContext(ctx, "c", 3))
	stmt.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	must(db.W.ExecContext(ctx, `UPDATE t SET v = 4 WHERE k = 'a'`))
	must(db.W.ExecContext(ctx, `DELETE FROM t WHERE k = 'c'`))
	tx, err = db.W.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	must(tx.ExecContext(ctx, `DELETE FROM t`))
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("count %d, %v; want 2", n, err)
	}
	rows, err := db.R.QueryContext(ctx, `SELECT k FROM t ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	if ks, err := Collect(rows, func(s Scanner) (k string, err error) { return k, s.Scan(&k) }); err != nil || len(ks) != 2 {
		t.Fatalf("keys %q, %v", ks, err)
	}
	_, err = db.W.ExecContext(ctx, `INSERT INTO t (k, v) VALUES ('a', 5)`)
	if cols, ok := UniqueViolation(err); !ok || len(cols) != 1 || cols[0] != "t.k" {
		t.Fatalf("duplicate key: %v; UniqueViolation says %q, %v", err, cols, ok)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{OpInsert: 4, OpBegin: 2, OpCommit: 1, OpUpdate: 1, OpDelete: 2, OpRollback: 1, OpSelect: 2}
	for _, op := range Ops {
		if seen[op] != want[op] {
			t.Errorf("%s observed %d times, want %d (all: %v)", op, seen[op], want[op], seen)
		}
	}
}

// BenchmarkObserve measures what timing costs one indexed read (a
// QueryRow by primary key on the readers, from 2 goroutines), without
// and with an Observe that does as little as a histogram's Observe.
func BenchmarkObserve(b *testing.B) {
	for _, timed := range []bool{false, true} {
		name := map[bool]string{false: "untimed", true: "timed"}[timed]
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			cfg := Config{}
			var n atomic.Int64
			if timed {
				cfg.Observe = func(op string, d time.Duration) { n.Add(int64(d)) }
			}
			db, err := OpenConfig(ctx, b.TempDir(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := Migrate(ctx, db.W, []string{`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)`,
				`INSERT INTO t (k, v) VALUES (1, 'one'), (2, 'two')`}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var v string
				for pb.Next() {
					if err := db.R.QueryRowContext(ctx, `SELECT v FROM t WHERE k = ?`, 2).Scan(&v); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// TestCheckpointOffTheWriter: the writer's commits leave their pages in
// the WAL (SQLite's own checkpoint only at walBackstop pages), and the
// checkpointer copies them into the database file within a tick or two.
func TestCheckpointOffTheWriter(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var auto int
	if err := db.W.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != walBackstop {
		t.Fatalf("wal_autocheckpoint %d (%v), want %d", auto, err, walBackstop)
	}
	size := func() int64 {
		fi, err := os.Stat(filepath.Join(dir, FileName))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if _, err := db.W.ExecContext(ctx, `CREATE TABLE t (b BLOB);
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
		INSERT INTO t SELECT randomblob(1000) FROM n`); err != nil {
		t.Fatal(err)
	}
	// 2,000 rows of 1,000 bytes: about 500 pages, all in the WAL for now
	// (a tick may already have copied them, but not at once).
	for deadline := time.Now().Add(10 * time.Second); size() < 2_000_000; {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes 10 s after the commit: the WAL was not checkpointed", size())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
