// Package ttl is a small cache of answers that may be a little old, or
// never change: each entry is kept for a fixed time, and the cache holds a
// bounded number of them. The scan page uses it for what a consumer may
// see a second late (a maker's credit class, its declared standards) and
// for what an opened recall says (which never changes); whether a code is
// recalled is never cached.
package ttl

import (
	"sync"
	"time"
)

// Cache keeps values for TTL, at most Max of them (the oldest half are
// dropped when it is full). It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	max int
	mu  sync.Mutex
	m   map[K]entry[V]
}

type entry[V any] struct {
	v  V
	at time.Time
}

// New returns a cache keeping values for ttl, at most max of them.
func New[K comparable, V any](ttl time.Duration, max int) *Cache[K, V] {
	return &Cache[K, V]{ttl: ttl, max: max, m: make(map[K]entry[V])}
}

// Get returns the value kept for k if it was put less than TTL before now.
func (c *Cache[K, V]) Get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.Sub(e.at) >= c.ttl || now.Before(e.at) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put keeps v for k from now.
func (c *Cache[K, V]) Put(k K, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		// Drop what has expired; if that is not enough, everything older
		// than half the TTL.
		for key, e := range c.m {
			if now.Sub(e.at) >= c.ttl || len(c.m) >= c.max && now.Sub(e.at) >= c.ttl/2 {
				delete(c.m, key)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m)
		}
	}
	c.m[k] = entry[V]{v: v, at: now}
}
