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
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// FileName is the database file inside the data folder.
const FileName = "tracesvc.db"

// DB is an open embedded database: a single-connection writer pool and a
// read-only pool over the same file. cmd opens it once and hands W and R
// to each domain's store.
type DB struct {
	W *sql.DB // the writer: one connection, transactions BEGIN IMMEDIATE
	R *sql.DB // readers: query_only connections
}

// DefaultBudget is the page-cache memory of the database's connections
// together, when not set otherwise.
const DefaultBudget = 256 << 20

// readers is the size of the read-only pool.
const readers = 8

// Open opens (creating when needed) the database in folder dir, with the
// default page-cache budget.
func Open(ctx context.Context, dir string) (*DB, error) { return OpenBudget(ctx, dir, DefaultBudget) }

// cacheKiB splits a page-cache budget of bytes between the connections:
// half for the writer (inserts touch many index pages), half shared by the
// readers. It returns each one's size in KiB.
func cacheKiB(budget int64) (writer, reader int64) {
	writer = max(budget/2>>10, 2048)
	reader = max(budget/2/readers>>10, 1024)
	return writer, reader
}

// OpenBudget opens the database in folder dir with the page caches of all
// its connections together sized from budget bytes (see cacheKiB), rather
// than a cache per connection. The memory maps of the file come from the
// budget too, an equal share for each connection (each maps the file on
// its own): pages read through a map count toward the process's RSS, and
// a wide trace on a large store reads hundreds of MB.
func OpenBudget(ctx context.Context, dir string, budget int64) (*DB, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: create data folder: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// Pragmas go in the DSN so that every pooled connection gets them.
	// synchronous(FULL): a commit is on disk before a 2xx goes out.
	common := []string{
		"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(FULL)", "foreign_keys(ON)",
		fmt.Sprintf("mmap_size(%d)", budget/(readers+1)), "temp_store(MEMORY)",
	}
	wKiB, rKiB := cacheKiB(budget)
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append(common, extra...) {
			q.Add("_pragma", p)
		}
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn("journal_size_limit(67108864)", fmt.Sprintf("cache_size(-%d)", wKiB))+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn("query_only(1)", fmt.Sprintf("cache_size(-%d)", rKiB)))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	r.SetConnMaxIdleTime(0)
	r.SetConnMaxLifetime(0)
	return &DB{W: w, R: r}, nil
}

// Close closes both pools, checkpointing the WAL into the main file first.
func (db *DB) Close() error {
	_, cerr := db.W.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return errors.Join(cerr, db.R.Close(), db.W.Close())
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
