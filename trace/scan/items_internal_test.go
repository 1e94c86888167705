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

	var count uint64 // every process's captures, as the store counts them
	c := newItems(func() uint64 { return count })
	capture := func(keys ...string) { // one of this process's: counted, then told
		count++
		c.touch(keys)
	}
	keep := func(gen uint64) { c.put(s1, boxed, gen, now) }
	// usedAt checks whether S1, kept, is used at a time.
	usedAt := func(at time.Time, want bool, what string) {
		t.Helper()
		if _, ok := c.get(s1, key, at); ok != want {
			t.Fatalf("%s: used %v, want %v", what, ok, want)
		}
	}
	used := func(want bool, what string) { t.Helper(); usedAt(now, want, what) }

	keep(c.start())
	usedAt(now.Add(itemTTL-time.Millisecond), true, "kept, within its TTL")
	usedAt(now.Add(itemTTL), false, "at its TTL")
	usedAt(now.Add(-time.Second), false, "before it was read")
	capture("01/09506000134352/21/S2", "00/069012300000000028")
	used(true, "after other items' capture")
	capture(box)
	used(false, "after its container's capture")
	keep(c.start())
	capture(key)
	used(false, "after its own capture")

	// Read while a capture commits: the capture is told after the read
	// began and before (or after) the item is kept. Stale either way.
	gen := c.start()
	capture(key)
	keep(gen)
	used(false, "read while its capture committed, kept after the telling")
	keep(c.start())
	capture(key)
	used(false, "kept before its capture was told")
	keep(c.start())
	used(true, "read after the last capture")

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
	keep(old)
	used(false, "read before the forgotten captures")
	keep(c.start())
	used(true, "read after the forgotten captures")

	// Another process's capture is counted, not told: everything kept
	// goes, whatever it touched, and what is read after it is used.
	count++
	used(false, "after another process's capture")
	keep(c.start())
	used(true, "read after another process's capture")
	gen = c.start()
	count++ // committed while the item is read
	keep(gen)
	used(false, "read while another process's capture committed")
	// This process's capture, counted and not yet told, empties the
	// memory too (once more than needed), and nothing is missed after.
	keep(c.start())
	count++
	used(false, "between a capture's count and its telling")
	c.touch([]string{"01/09506000134352/21/S2"})
	keep(c.start())
	used(false, "when the telling caught up with the count")
	keep(c.start())
	used(true, "once the count and the telling agree")
	count++
	used(false, "another process's capture after this one's")

	for i := range 3 * maxItems {
		c.put(CodeKey{GTIN: s1.GTIN, Serial: fmt.Sprint("N", i)}, item{}, c.start(), now)
		if len(c.m) > maxItems {
			t.Fatalf("%d items kept, bound %d", len(c.m), maxItems)
		}
	}
}
