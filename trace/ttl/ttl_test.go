package ttl

import (
	"fmt"
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	c := New[string, int](time.Second, 4)
	if _, ok := c.Get("a", t0); ok {
		t.Fatal("an empty cache answers")
	}
	c.Put("a", 1, t0)
	if v, ok := c.Get("a", t0.Add(999*time.Millisecond)); !ok || v != 1 {
		t.Fatalf("within the TTL: %v %v", v, ok)
	}
	if _, ok := c.Get("a", t0.Add(time.Second)); ok {
		t.Fatal("at the TTL the value is stale")
	}
	if _, ok := c.Get("a", t0.Add(-time.Second)); ok {
		t.Fatal("a clock that went back does not make a value fresh")
	}
	for i := range 100 {
		c.Put(fmt.Sprint(i), i, t0.Add(time.Duration(i)*time.Millisecond))
		if n := len(c.m); n > 4 {
			t.Fatalf("%d entries, bound 4", n)
		}
	}
	if v, ok := c.Get("99", t0.Add(100*time.Millisecond)); !ok || v != 99 {
		t.Fatalf("the newest entry: %v %v", v, ok)
	}
}
