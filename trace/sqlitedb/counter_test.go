//go:build unix

package sqlitedb

import (
	"context"
	"sync"
	"testing"
)

// TestCounterShared: every open of a folder maps the same counter (two
// opens here stand for two processes: the mapping is the kernel's shared
// memory either way); counts from both add up, concurrently too, and a
// later open finds them.
func TestCounterShared(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Counter == nil || b.Counter == nil {
		t.Fatal("no counter on a platform with shared memory")
	}
	start := a.Counter.Load()
	var wg sync.WaitGroup
	for _, db := range []*DB{a, b, a, b} {
		wg.Go(func() {
			for range 1000 {
				db.Counter.Add()
			}
		})
	}
	wg.Wait()
	if got := b.Counter.Load() - start; got != 4000 {
		t.Fatalf("the other open sees %d counted, want 4000", got)
	}
	a.Close()
	b.Close()
	c, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Counter.Load() - start; got != 4000 {
		t.Fatalf("reopened: %d counted, want 4000", got)
	}
}
