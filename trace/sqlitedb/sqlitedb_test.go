package sqlitedb

import (
	"context"
	"testing"
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
	// Negative sizes are KiB: 32 MiB for the writer, 4 MiB for each of 8 readers.
	if w != -32768 || r != -4096 {
		t.Fatalf("cache_size writer %d, reader %d KiB; want -32768 and -4096", w, r)
	}
	if total := (-w + readers*-r) << 10; total != 64<<20 {
		t.Fatalf("the caches add up to %d bytes, not half the budget", total)
	}
	var mmap int64
	if err := db.R.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&mmap); err != nil || mmap != 0 {
		t.Fatalf("mmap_size %d (%v), want 0", mmap, err)
	}
}
