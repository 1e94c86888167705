// Package tracesql stores the trace domain in embedded SQLite
// (modernc.org/sqlite, pure Go). It implements [trace.Store],
// [access.Store] and [audit.Store].
//
// The database lives in one file in a data folder, in WAL mode, with one
// writer connection (SQLite allows one writer at a time anyway, and a
// single pooled writer avoids SQLITE_BUSY) and a separate read-only pool.
package tracesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"tracesvc/trace"
)

// FileName is the database file inside the data folder.
const FileName = "tracesvc.db"

// DB is an open embedded database: a single-connection writer pool and a
// read-only pool over the same file. Other domains' SQLite stores share it.
type DB struct {
	W *sql.DB // the writer: one connection, transactions BEGIN IMMEDIATE
	R *sql.DB // readers: query_only connections
}

// Open opens (creating when needed) the database in folder dir.
func Open(ctx context.Context, dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("tracesql: create data folder: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// Pragmas go in the DSN so that every pooled connection gets them.
	// synchronous(FULL): a commit is on disk before a 2xx goes out.
	common := []string{
		"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(FULL)", "foreign_keys(ON)",
		"mmap_size(1073741824)", "cache_size(-262144)", "temp_store(MEMORY)",
	}
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append(common, extra...) {
			q.Add("_pragma", p)
		}
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn("journal_size_limit(67108864)")+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("tracesql: open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("tracesql: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("tracesql: open readers: %w", err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
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
func (db *DB) Migrate(ctx context.Context, stmts []string) error {
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("tracesql: migrate: %w", err)
	}
	defer tx.Rollback()
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("tracesql: migrate %q: %w", firstLine(s), err)
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

// Translate maps SQLite errors to the trace domain's sentinels. fields maps
// "table.column" names found in constraint messages to API field names.
// It is exported for the other domains' SQLite stores.
func Translate(err error, fields map[string]string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return trace.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			// The message ends "constraint failed: table.col1, table.col2".
			msg := se.Error()
			if i := strings.LastIndex(msg, "constraint failed: "); i >= 0 {
				cols, _, _ := strings.Cut(msg[i+len("constraint failed: "):], " (")
				for _, col := range strings.Split(cols, ", ") {
					if field, ok := fields[strings.TrimSpace(col)]; ok {
						return &trace.FieldError{Field: field, Msg: "is already registered", Kind: trace.ErrConflict}
					}
				}
			}
			return fmt.Errorf("%w: %v", trace.ErrConflict, err)
		}
	}
	return err
}
