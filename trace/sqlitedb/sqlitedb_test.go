package sqlitedb

import (
	"context"
	"testing"
)

// TestOpenBudget: the page caches of the writer and the readers together
// come from one budget (issue 14), not a budget per connection.
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
	// Negative sizes are KiB: 64 MiB for the writer, 8 MiB for each of 8 readers.
	if w != -65536 || r != -8192 {
		t.Fatalf("cache_size writer %d, reader %d KiB; want -65536 and -8192", w, r)
	}
	if total := (-w + readers*-r) << 10; total != 128<<20 {
		t.Fatalf("the caches add up to %d bytes, not the budget", total)
	}
	// Each connection maps its share of the budget of the file (issue 14,
	// wide traces).
	var m int64
	if err := db.R.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&m); err != nil {
		t.Fatal(err)
	}
	if m != 128<<20/(readers+1) {
		t.Fatalf("mmap_size %d, want a ninth of the budget", m)
	}
}
