package tracesql

import (
	"context"
	"database/sql"
	"strings"
)

// insertGroup is how many rows one grouped INSERT writes: one statement
// run per group rather than per row.
const insertGroup = 64

// groupedInsert writes rows of a fixed number of values in a transaction,
// insertGroup to a statement.
type groupedInsert struct {
	tx   *sql.Tx
	cols int
	// head and tail wrap the rows' VALUES list: "INSERT … VALUES " and
	// "", or "… FROM (VALUES " and ") AS v JOIN …".
	head, tail string
	full       string // the statement for a full group
	args       []any
}

// newGroupedInsert returns an empty groupedInsert of rows of cols values
// in tx; head and tail are as in groupedInsert.
func newGroupedInsert(tx *sql.Tx, cols int, head, tail string) *groupedInsert {
	g := &groupedInsert{tx: tx, cols: cols, head: head, tail: tail, args: make([]any, 0, insertGroup*cols)}
	g.full = g.statement(insertGroup)
	return g
}

// statement is the INSERT of n rows.
func (g *groupedInsert) statement(n int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", g.cols), ",") + ")"
	return g.head + strings.TrimSuffix(strings.Repeat(row+",", n), ",") + g.tail
}

// add queues one row of g.cols values, writing the group once it is full.
func (g *groupedInsert) add(ctx context.Context, vals ...any) error {
	g.args = append(g.args, vals...)
	if len(g.args) < insertGroup*g.cols {
		return nil
	}
	return g.flush(ctx)
}

// flush writes the rows queued.
func (g *groupedInsert) flush(ctx context.Context) error {
	n := len(g.args) / g.cols
	if n == 0 {
		return nil
	}
	q := g.full
	if n < insertGroup {
		q = g.statement(n)
	}
	_, err := g.tx.ExecContext(ctx, q, g.args...)
	g.args = g.args[:0]
	return err
}
