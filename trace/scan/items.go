package scan

import (
	"sync"
	"time"

	"tracesvc/trace"
)

// Captures tells the resolver what each stored capture touched, so that it
// may keep items' custody in memory between the captures that change it.
// Only the embedded store can (trace/tracesql implements it): every
// process on its data folder counts its captures in memory they share
// (Captured), and each hears its own keys (NotifyCaptures). A capture of
// another process empties the memory of every other. Resolvers on MongoDB
// read every scan's item from the store.
type Captures interface {
	// NotifyCaptures has f called after each of this process's captures
	// is committed (or its commit failed), with the keys of the codes and
	// units whose custody it wrote and every key its events name. It
	// replaces any f before: a resolver no longer told takes the
	// captures it sees counted for another process's, and forgets all
	// it kept at each.
	NotifyCaptures(f func(keys []string))
	// Captured returns how many captures every process on the database
	// has committed, each counted before its f is called.
	Captured() uint64
}

// Bounds of the item cache: entries kept, keys whose last capture is
// remembered, and how long an entry is used at most (a bound on any write
// path that might one day change custody without being told: captures
// are the only one today).
const (
	maxItems   = 10_000
	maxTouched = 100_000
	itemTTL    = 30 * time.Second
)

// item is what a scan of a serial reads of it: its code and the headers
// of the events naming it or its container.
type item struct {
	code   trace.Code
	events []trace.StoredEvent
}

// items keeps items as last read, each valid until a capture touches its
// key or its container's. Captures are numbered as they are told (gen);
// an entry remembers the number current before it was read, and is stale
// once a later capture touched either key. Reading the number before the
// store and comparing at use makes an entry read while a capture commits
// stale at once, whichever finishes first.
//
// Another process's captures are not told, only counted: when the count
// of every process's captures less this one's moves, the memory empties.
type items struct {
	count func() uint64 // every process's captures (Captures.Captured)

	mu      sync.Mutex
	gen     uint64            // captures told, and each emptying for another process's
	own     uint64            // captures told
	foreign uint64            // count() - own when last looked
	floor   uint64            // entries of a lower gen are stale: touched forgot, or another process captured
	touched map[string]uint64 // key → the last capture that touched it
	m       map[CodeKey]itemEntry
}

type itemEntry struct {
	item
	gen uint64    // captures told before it was read
	at  time.Time // when it was read
}

func newItems(count func() uint64) *items {
	return &items{count: count, touched: map[string]uint64{}, m: map[CodeKey]itemEntry{}}
}

// touch records a capture of this process that touched keys.
func (c *items) touch(keys []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.own++
	c.gen++
	if len(c.touched)+len(keys) > maxTouched {
		clear(c.touched)
		c.floor = c.gen
	}
	for _, k := range keys {
		c.touched[k] = c.gen
	}
}

// start returns the number to give an entry about to be read.
func (c *items) start() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// get returns the item of code read at most itemTTL before now, unless a
// capture touched its key or its container's since, or another process
// captured anything.
func (c *items) get(code CodeKey, key string, now time.Time) (item, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A capture is counted before it is told, so between the two
	// count() - own is one too many: the memory empties once more than
	// needed, never less.
	if foreign := c.count() - c.own; foreign != c.foreign {
		c.foreign = foreign
		c.gen++
		c.floor = c.gen
		clear(c.m)
		return item{}, false
	}
	e, ok := c.m[code]
	switch {
	case !ok, e.gen < c.floor, c.touched[key] > e.gen, now.Sub(e.at) >= itemTTL, now.Before(e.at):
		return item{}, false
	case e.code.Container != "" && c.touched[e.code.Container] > e.gen:
		return item{}, false
	}
	return e.item, true
}

// put keeps it, read as capture gen was the last told.
func (c *items) put(code CodeKey, it item, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxItems {
		clear(c.m)
	}
	c.m[code] = itemEntry{item: it, gen: gen, at: now}
}
