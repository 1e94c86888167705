// Package sqlitedb opens the embedded SQLite database (modernc.org/sqlite,
// pure Go) with the settings every store relies on, and holds the few
// helpers the SQLite stores of each domain share. It knows no domain: each
// store (trace/tracesql, standards/standardssql, recall/recallsql) owns its
// schema and maps errors onto its own domain's sentinels.
//
// The database lives in one file in a data folder, in WAL mode, with one
// writer connection (SQLite allows one writer at a time anyway, and a
// single pooled writer avoids SQLITE_BUSY) and a separate read-only pool.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// FileName is the database file inside the data folder.
const FileName = "tracesvc.db"

// DB is an open embedded database: a single-connection writer pool and a
// read-only pool over the same file, and a connection of its own that
// checkpoints the WAL. cmd opens it once and hands W and R to each
// domain's store.
type DB struct {
	W *sql.DB // the writer: one connection, transactions BEGIN IMMEDIATE
	R *sql.DB // readers: query_only connections
	c *sql.DB // the checkpointer: one connection, see checkpointEvery
	// Counter is shared by every process with the folder open (see
	// [Counter]); nil where the platform cannot map shared memory.
	Counter *Counter

	writes   atomic.Int64 // statements run on the writer
	stop     chan struct{}
	shrunk   sync.WaitGroup // shrinkWhenIdle and checkpointEvery
	stopOnce sync.Once
}

// DefaultBudget is the memory the process aims to stay within when not set
// otherwise; the store takes half of it (see OpenBudget).
const DefaultBudget = 256 << 20

// idleClose is how long a connection may sit unused before it is closed,
// giving its page cache back: an idle service shrinks. The writer, which
// background work keeps using now and then, gives its cache back instead
// when it ran fewer than idleWrites statements and transactions in that
// time: five a second (background work polls about once a second; a scan
// load alone runs ten transactions a second).
const (
	idleClose  = time.Minute
	idleWrites = 300
)

// readers is the size of the read-only pool.
const readers = 8

// The WAL is copied into the database file off the writer's path: a
// connection of its own checkpoints it every checkpointEvery, while
// writers and readers go on (a PASSIVE checkpoint waits for neither).
// SQLite's own checkpoint, which runs inside the commit that takes the WAL
// past a threshold, is left as a backstop at walBackstop pages (64 MiB of
// 4 KiB pages) for bursts the timer does not keep up with. Its default of
// 1,000 pages ran a checkpoint every second or third scan batch: 5 % of a
// resolve's CPU under load, on the recorder's commit, and each page
// written as often as it was changed in between, where a checkpoint a
// second writes a page changed by ten commits once. The checkpointer reads
// and writes pages without keeping them: its cache is a fixed 256 KiB,
// outside the memory budget.
const (
	checkpointEvery = time.Second
	walBackstop     = 16384
)

// Open opens (creating when needed) the database in folder dir, with the
// default page-cache budget.
func Open(ctx context.Context, dir string) (*DB, error) { return OpenBudget(ctx, dir, DefaultBudget) }

// cacheKiB gives the store half of the process's memory budget of bytes,
// as page caches: a quarter of the budget for the writer (inserts touch
// many index pages), a quarter shared by the readers. It returns each
// connection's cache_size in KiB, which is half the memory that cache
// takes: the driver's allocator gives each cached 4 KiB page, with its
// header, a slot of 8 KiB (measured: four wide trace walks peaked at
// 311–324 MB with caches sized at face value, 241 MB at half).
func cacheKiB(budget int64) (writer, reader int64) {
	const slotsPerPage = 2 // bytes a cached page takes, per byte of page
	writer = max(budget/4/slotsPerPage>>10, 1024)
	reader = max(budget/4/slotsPerPage/readers>>10, 512)
	return writer, reader
}

// OpenBudget opens the database in folder dir with the page caches of all
// its connections together sized from the process's memory budget of
// bytes (see cacheKiB), rather than a cache per connection. The file is
// read through those caches, not memory-mapped: a mapping counts in the
// process's memory as the file's size, whatever the budget. Connections
// unused for a minute are closed, giving back their caches.
func OpenBudget(ctx context.Context, dir string, budget int64) (*DB, error) {
	return OpenConfig(ctx, dir, Config{Budget: budget})
}

// Config says how [OpenConfig] opens the database. The zero value is the
// defaults.
type Config struct {
	// Budget is the page-cache memory of all connections together, in
	// bytes; 0 is [DefaultBudget].
	Budget int64
	// Observe, when set, is told how long each statement, begin, commit
	// and rollback took (see [Observe]); it must be cheap and safe for
	// concurrent use.
	Observe Observe
}

// OpenConfig opens (creating when needed) the database in folder dir as
// cfg says.
func OpenConfig(ctx context.Context, dir string, cfg Config) (*DB, error) {
	budget := cfg.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: create data folder: %w", err)
	}
	path := filepath.Join(dir, FileName)
	counter, err := openCounter(filepath.Join(dir, CounterFile))
	if err != nil {
		return nil, err
	}
	// Pragmas go in the DSN so that every pooled connection gets them.
	// synchronous(FULL): a commit is on disk before a 2xx goes out.
	common := []string{
		"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(FULL)", "foreign_keys(ON)",
		"mmap_size(0)", "temp_store(MEMORY)",
	}
	wKiB, rKiB := cacheKiB(budget)
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append(common, extra...) {
			q.Add("_pragma", p)
		}
		return "file:" + path + "?" + q.Encode()
	}
	drv := &sqlite.Driver{}
	db := &DB{stop: make(chan struct{}), Counter: counter}
	open := func(dsn string, uses *atomic.Int64) *sql.DB {
		return sql.OpenDB(cachingConnector{dsn: dsn, open: drv.Open, drv: drv, uses: uses, observe: cfg.Observe})
	}
	w := open(dsn("journal_size_limit(67108864)", fmt.Sprintf("wal_autocheckpoint(%d)", walBackstop),
		fmt.Sprintf("cache_size(-%d)", wKiB))+"&_txlock=immediate", &db.writes)
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(idleClose)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r := open(dsn("query_only(1)", fmt.Sprintf("cache_size(-%d)", rKiB)), nil)
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	r.SetConnMaxIdleTime(idleClose)
	r.SetConnMaxLifetime(0)
	c := open(dsn("cache_size(-256)"), nil)
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	c.SetConnMaxIdleTime(idleClose)
	c.SetConnMaxLifetime(0)
	db.W, db.R, db.c = w, r, c
	db.shrunk.Add(2)
	go db.shrinkWhenIdle()
	go db.checkpointEvery(checkpointEvery)
	return db, nil
}

// checkpointEvery copies the WAL's committed pages into the database file
// every interval, until Close, on the checkpointer's connection. Writes of
// other processes on the same file are copied too; with nothing new in the
// WAL a checkpoint reads its index and returns. A checkpoint another
// process runs, or a reader still using old pages, only makes it do less;
// a failure is tried again at the next tick.
func (db *DB) checkpointEvery(interval time.Duration) {
	defer db.shrunk.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
		}
		db.c.Exec("PRAGMA wal_checkpoint(PASSIVE)") // best effort: the next tick tries again
	}
}

// shrinkWhenIdle frees the writer's page cache once a minute passes with
// little writing, until Close.
func (db *DB) shrinkWhenIdle() {
	defer db.shrunk.Done()
	t := time.NewTicker(idleClose)
	defer t.Stop()
	last := db.writes.Load()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
		}
		now := db.writes.Load()
		if now-last < idleWrites {
			db.W.Exec("PRAGMA shrink_memory") // best effort: a failure leaves the cache as it was
		}
		last = db.writes.Load()
	}
}

// Close closes the pools, checkpointing the WAL into the main file first.
func (db *DB) Close() error {
	db.stopOnce.Do(func() { close(db.stop) })
	db.shrunk.Wait()
	_, cerr := db.W.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return errors.Join(cerr, db.c.Close(), db.R.Close(), db.W.Close())
}

// Migrate runs schema statements on the writer in one transaction. Each
// store calls it with its own idempotent CREATE … IF NOT EXISTS statements.
func Migrate(ctx context.Context, w *sql.DB, stmts []string) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer tx.Rollback()
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("sqlite: migrate %q: %w", firstLine(s), err)
		}
	}
	return tx.Commit()
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// UniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint failure, and the "table.column" names SQLite gives for it.
func UniqueViolation(err error) (cols []string, ok bool) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil, false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
	default:
		return nil, false
	}
	// The message ends "constraint failed: table.col1, table.col2".
	msg := se.Error()
	if i := strings.LastIndex(msg, "constraint failed: "); i >= 0 {
		list, _, _ := strings.Cut(msg[i+len("constraint failed: "):], " (")
		for _, c := range strings.Split(list, ", ") {
			cols = append(cols, strings.TrimSpace(c))
		}
	}
	return cols, true
}

// Busy reports whether err is SQLite giving up on a lock (the busy timeout
// passed) or running out of time: the request may be retried later.
func Busy(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// Scanner is a row or rows being scanned.
type Scanner interface{ Scan(dest ...any) error }

// Collect scans every row with scan and closes rows.
func Collect[T any](rows *sql.Rows, scan func(Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Millis is t as stored: milliseconds since the Unix epoch.
func Millis(t time.Time) int64 { return t.UnixMilli() }

// FromMillis is the inverse of Millis, in UTC.
func FromMillis(v int64) time.Time { return time.UnixMilli(v).UTC() }

// MillisOrNull is t in milliseconds, or NULL when t is zero.
func MillisOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// FromNullMillis is the inverse of MillisOrNull.
func FromNullMillis(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return FromMillis(v.Int64)
}

// Marks returns n comma-separated placeholders.
func Marks(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// Args returns v as query arguments.
func Args[T any](v []T) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = x
	}
	return out
}
