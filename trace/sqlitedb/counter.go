package sqlitedb

import "sync/atomic"

// CounterFile is the file beside the database that holds its [Counter].
const CounterFile = "tracesvc.counter"

// Counter is a number that every process with the data folder open
// shares: a small file mapped into each one's memory, as SQLite shares
// its WAL index (the -shm file), so it holds wherever the database's WAL
// does (processes on one host). The stores count in it what every process
// must hear of at once, such as captures (trace/tracesql); a count only
// grows, and only its changes mean anything.
type Counter struct {
	n *atomic.Uint64
}

// Add counts one and returns the new count.
func (c *Counter) Add() uint64 { return c.n.Add(1) }

// Load returns the count.
func (c *Counter) Load() uint64 { return c.n.Load() }
