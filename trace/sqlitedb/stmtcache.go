package sqlitedb

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"sync/atomic"
	"time"
)

// stmtsPerConn bounds each connection's prepared statements. Queries with
// a variable number of placeholders (IN lists) each take a slot; the least
// recently used statement is finalized when a new one needs room.
const stmtsPerConn = 128

// cachingConnector opens SQLite connections that keep their prepared
// statements. SQLite spends more time parsing and planning a point query
// than running it; a statement prepared once per connection and reset
// after each use skips that (a quarter of a consumer scan's CPU time).
type cachingConnector struct {
	dsn     string
	open    func(dsn string) (driver.Conn, error)
	drv     driver.Driver
	uses    *atomic.Int64 // counts the statements and transactions run on the pool's connections; nil: not counted
	observe Observe       // times statements and transactions; nil: not timed
}

// Connect opens a connection with an empty statement cache.
func (c cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.open(c.dsn)
	if err != nil {
		return nil, err
	}
	cc, err := newCachingConn(conn, c.uses)
	if err != nil {
		return nil, err
	}
	cc.observe = c.observe
	return cc, nil
}

// Driver returns the underlying SQLite driver.
func (c cachingConnector) Driver() driver.Driver { return c.drv }

// baseConn is what the SQLite driver's connections implement and the
// cache relies on.
type baseConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is one connection and its statements, used by one goroutine
// at a time (database/sql's guarantee), though a transaction may hold
// several result sets open at once: a statement whose rows are still open
// is not handed out again; a query that needs it meanwhile gets a
// statement of its own, finalized after use.
type cachingConn struct {
	baseConn
	lru     *list.List // of *cachedStmt, most recently used first
	byKey   map[string]*list.Element
	uses    *atomic.Int64
	observe Observe
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
	busy  bool // rows of it are open
	gone  bool // evicted while busy: finalize when its rows close
}

func newCachingConn(c driver.Conn, uses *atomic.Int64) (*cachingConn, error) {
	bc, ok := c.(baseConn)
	if !ok {
		c.Close()
		return nil, errors.New("sqlite: driver connection lacks the context interfaces")
	}
	return &cachingConn{baseConn: bc, lru: list.New(), byKey: map[string]*list.Element{}, uses: uses}, nil
}

// get returns the cached statement of query, preparing it when needed, or
// nil and a fresh statement of its own when the cached one is busy.
func (c *cachingConn) get(ctx context.Context, query string) (*cachedStmt, driver.Stmt, error) {
	if c.uses != nil {
		c.uses.Add(1)
	}
	if el, ok := c.byKey[query]; ok {
		cs := el.Value.(*cachedStmt)
		if cs.busy {
			st, err := c.baseConn.PrepareContext(ctx, query)
			return nil, st, err
		}
		c.lru.MoveToFront(el)
		return cs, cs.stmt, nil
	}
	st, err := c.baseConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	cs := &cachedStmt{query: query, stmt: st}
	c.byKey[query] = c.lru.PushFront(cs)
	if c.lru.Len() > stmtsPerConn {
		c.evict(c.lru.Back())
	}
	return cs, st, nil
}

// evict drops a statement from the cache, finalizing it unless its rows
// are open.
func (c *cachingConn) evict(el *list.Element) {
	cs := c.lru.Remove(el).(*cachedStmt)
	delete(c.byKey, cs.query)
	if cs.busy {
		cs.gone = true
		return
	}
	cs.stmt.Close()
}

// forget evicts a statement after an error, which may have left it in a
// state not worth reusing.
func (c *cachingConn) forget(cs *cachedStmt) {
	if el, ok := c.byKey[cs.query]; ok && el.Value == cs {
		c.evict(el)
	}
}

// Unwrap returns the driver's own connection (see sqlite.Limit).
func (c *cachingConn) Unwrap() driver.Conn { return c.baseConn }

// BeginTx begins a transaction, timing its begin, commit and rollback.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.uses != nil {
		c.uses.Add(1)
	}
	if c.observe == nil {
		return c.baseConn.BeginTx(ctx, opts)
	}
	start := time.Now()
	tx, err := c.baseConn.BeginTx(ctx, opts)
	c.observe(OpBegin, time.Since(start))
	if err != nil {
		return nil, err
	}
	return timedTx{tx: tx, observe: c.observe}, nil
}

// PrepareContext prepares a statement the caller keeps (not cached),
// timing its runs.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.baseConn.PrepareContext(ctx, query)
	if err != nil || c.observe == nil {
		return s, err
	}
	return &timedStmt{Stmt: s, op: opOf(query), observe: c.observe}, nil
}

// ExecContext runs query through its cached statement.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.observe != nil {
		start := time.Now()
		defer func() { c.observe(opOf(query), time.Since(start)) }()
	}
	cs, st, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
	switch {
	case cs == nil:
		st.Close()
	case err != nil:
		c.forget(cs)
	}
	return res, err
}

// QueryContext runs query through its cached statement; the statement is
// busy until the rows close. It is timed until then too: SQLite finds rows
// as they are read.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	start := time.Now()
	cs, st, err := c.get(ctx, query)
	if err == nil {
		var rows driver.Rows
		if rows, err = st.(driver.StmtQueryContext).QueryContext(ctx, args); err == nil {
			if cs != nil {
				cs.busy = true
			}
			return &cachedRows{Rows: rows, conn: c, cs: cs, own: st, query: query, start: start}, nil
		}
		if cs == nil {
			st.Close()
		} else {
			c.forget(cs)
		}
	}
	if c.observe != nil {
		c.observe(opOf(query), time.Since(start))
	}
	return nil, err
}

// Close finalizes every cached statement, then closes the connection.
func (c *cachingConn) Close() error {
	for el := c.lru.Front(); el != nil; el = c.lru.Front() {
		c.evict(el)
	}
	return c.baseConn.Close()
}

// cachedRows releases its statement when closed.
type cachedRows struct {
	driver.Rows
	conn  *cachingConn
	cs    *cachedStmt // nil: own is a statement of its own, finalized on close
	own   driver.Stmt
	query string
	start time.Time
}

// Close closes the rows and frees or finalizes their statement.
func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	switch {
	case r.cs == nil:
		r.own.Close()
	case r.cs.gone:
		r.cs.stmt.Close()
	default:
		r.cs.busy = false
		if err != nil {
			r.conn.forget(r.cs)
		}
	}
	if r.conn.observe != nil {
		r.conn.observe(opOf(r.query), time.Since(r.start))
	}
	return err
}
