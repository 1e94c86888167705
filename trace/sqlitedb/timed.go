package sqlitedb

import (
	"context"
	"database/sql/driver"
	"time"
)

// Observe receives the time one database operation took. op is one of
// the Op… names: a statement's first keyword, or a transaction's step.
type Observe func(op string, d time.Duration)

// The operations [Observe] is told about.
const (
	OpSelect   = "select" // SELECT and WITH …: from the call to the rows' Close
	OpInsert   = "insert" // INSERT and REPLACE
	OpUpdate   = "update"
	OpDelete   = "delete"
	OpBegin    = "begin" // BEGIN IMMEDIATE on the writer waits for the write lock
	OpCommit   = "commit"
	OpRollback = "rollback"
	OpOther    = "other" // PRAGMA, CREATE, …
)

// Ops lists every operation [Observe] may be told about.
var Ops = []string{OpSelect, OpInsert, OpUpdate, OpDelete, OpBegin, OpCommit, OpRollback, OpOther}

// opOf names the operation of a statement by its first keyword, without
// allocating: leading spaces and comments are skipped.
func opOf(query string) string {
	i := 0
	for i < len(query) {
		switch c := query[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(':
			i++
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			for i < len(query) && query[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			i += 2
			for i+1 < len(query) && (query[i] != '*' || query[i+1] != '/') {
				i++
			}
			i += 2
		default:
			j := i
			for j < len(query) && (query[j]|0x20 >= 'a' && query[j]|0x20 <= 'z') {
				j++
			}
			return keywordOp(query[i:j])
		}
	}
	return OpOther
}

// keywordOp maps a statement's first keyword, in any case, to its
// operation.
func keywordOp(w string) string {
	switch len(w) {
	case 4:
		if equalFold(w, "with") {
			return OpSelect
		}
	case 6:
		switch {
		case equalFold(w, "select"):
			return OpSelect
		case equalFold(w, "insert"):
			return OpInsert
		case equalFold(w, "update"):
			return OpUpdate
		case equalFold(w, "delete"):
			return OpDelete
		}
	case 7:
		if equalFold(w, "replace") {
			return OpInsert
		}
	}
	return OpOther
}

// equalFold compares ASCII letters w with lower-case keyword kw.
func equalFold(w, kw string) bool {
	for i := 0; i < len(kw); i++ {
		if w[i]|0x20 != kw[i] {
			return false
		}
	}
	return true
}

// timedTx times a transaction's commit (where synchronous=FULL syncs the
// file) or rollback.
type timedTx struct {
	tx      driver.Tx
	observe Observe
}

// Commit implements [driver.Tx].
func (t timedTx) Commit() error {
	start := time.Now()
	err := t.tx.Commit()
	t.observe(OpCommit, time.Since(start))
	return err
}

// Rollback implements [driver.Tx].
func (t timedTx) Rollback() error {
	start := time.Now()
	err := t.tx.Rollback()
	t.observe(OpRollback, time.Since(start))
	return err
}

// timedStmt times each run of a prepared statement.
type timedStmt struct {
	driver.Stmt
	op      string
	observe Observe
}

// ExecContext implements [driver.StmtExecContext].
func (s *timedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	start := time.Now()
	r, err := s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	s.observe(s.op, time.Since(start))
	return r, err
}

// QueryContext implements [driver.StmtQueryContext].
func (s *timedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	start := time.Now()
	r, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		s.observe(s.op, time.Since(start))
		return nil, err
	}
	return &timedRows{Rows: r, op: s.op, start: start, observe: s.observe}, nil
}

// timedRows observes its query when closed.
type timedRows struct {
	driver.Rows
	op      string
	start   time.Time
	observe Observe
}

// Close implements [driver.Rows].
func (r *timedRows) Close() error {
	err := r.Rows.Close()
	r.observe(r.op, time.Since(r.start))
	return err
}
