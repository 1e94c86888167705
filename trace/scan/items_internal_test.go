package scan

import (
	"fmt"
	"testing"
	"time"

	"tracesvc/trace"
)

func TestItemsStaleness(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	s1 := CodeKey{GTIN: "09506000134352", Serial: "S1"}
	key := trace.ItemKey(s1.GTIN, s1.Serial)
	const box = "00/069012300000000011"
	boxed := item{code: trace.Code{GTIN: s1.GTIN, Serial: "S1", Container: box}}
	fresh := func(c *items, at time.Time) bool {
		_, ok := c.get(s1, key, at)
		return ok
	}

	var count uint64 // every process's captures, as the store counts them
	c := newItems(func() uint64 { return count })
	capture := func(keys ...string) { // one of this process's: counted, then told
		count++
		c.touch(keys)
	}
	c.put(s1, boxed, c.start(), now)
	if !fresh(c, now.Add(itemTTL-time.Millisecond)) {
		t.Fatal("an item kept is not found")
	}
	if fresh(c, now.Add(itemTTL)) || fresh(c, now.Add(-time.Second)) {
		t.Fatal("an item is used past its TTL, or before it was read")
	}
	capture("01/09506000134352/21/S2", "00/069012300000000028")
	if !fresh(c, now) {
		t.Fatal("other items' capture made it stale")
	}
	capture(box)
	if fresh(c, now) {
		t.Fatal("its container's capture left it fresh")
	}
	c.put(s1, boxed, c.start(), now)
	capture(key)
	if fresh(c, now) {
		t.Fatal("its own capture left it fresh")
	}

	// Read while a capture commits: the capture is told after the read
	// began and before (or after) the item is kept. Stale either way.
	gen := c.start()
	capture(key)
	c.put(s1, boxed, gen, now)
	if fresh(c, now) {
		t.Fatal("an item read while its capture committed is used")
	}
	gen = c.start()
	c.put(s1, boxed, gen, now)
	capture(key)
	if fresh(c, now) {
		t.Fatal("an item kept before its capture was told is used after")
	}
	// Read after the capture was told: fresh.
	c.put(s1, boxed, c.start(), now)
	if !fresh(c, now) {
		t.Fatal("an item read after the last capture is not used")
	}

	// Forgetting which keys were touched makes everything read before
	// stale, and nothing read after.
	old := c.start()
	var keys []string
	for i := range maxTouched {
		keys = append(keys, fmt.Sprint("01/04006381333931/21/X", i))
	}
	capture(keys...)
	capture(keys[0])
	if n := len(c.touched); n > maxTouched {
		t.Fatalf("%d keys remembered, bound %d", n, maxTouched)
	}
	c.put(s1, boxed, old, now)
	if fresh(c, now) {
		t.Fatal("an item read before the forgotten captures is used")
	}
	c.put(s1, boxed, c.start(), now)
	if !fresh(c, now) {
		t.Fatal("an item read after the forgotten captures is not used")
	}

	// Another process's capture is counted, not told: everything kept
	// goes, whatever it touched, and what is read after it is used.
	count++
	if fresh(c, now) {
		t.Fatal("an item is used after another process's capture")
	}
	c.put(s1, boxed, c.start(), now)
	if !fresh(c, now) {
		t.Fatal("an item read after another process's capture is not used")
	}
	gen = c.start()
	count++ // committed while the item is read
	c.put(s1, boxed, gen, now)
	if fresh(c, now) {
		t.Fatal("an item read while another process's capture committed is used")
	}
	// This process's capture, counted and not yet told, empties the
	// memory too (once more than needed), and nothing is missed after.
	c.put(s1, boxed, c.start(), now)
	count++
	if fresh(c, now) {
		t.Fatal("an item is used between a capture's count and its telling")
	}
	c.touch([]string{"01/09506000134352/21/S2"})
	c.put(s1, boxed, c.start(), now)
	if fresh(c, now) {
		t.Fatal("the telling that caught up with the count left the memory as it was")
	}
	c.put(s1, boxed, c.start(), now)
	if !fresh(c, now) {
		t.Fatal("an item read once the count and the telling agree is not used")
	}
	count++
	if fresh(c, now) {
		t.Fatal("another process's capture after this one's is missed")
	}

	for i := range 3 * maxItems {
		c.put(CodeKey{GTIN: s1.GTIN, Serial: fmt.Sprint("N", i)}, item{}, c.start(), now)
		if len(c.m) > maxItems {
			t.Fatalf("%d items kept, bound %d", len(c.m), maxItems)
		}
	}
}
