// Package standardssql keeps the standards domain's records in the embedded
// SQLite database. cmd opens the database once and hands this package its
// writer and reader pools; the package owns its tables and translates the
// driver's errors onto the standards sentinels.
package standardssql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/sqlitedb"
)

// Store implements the standards domain's stores on the embedded database.
type Store struct {
	w, r *sql.DB
}

var _ standards.TipoffStore = (*Store)(nil)

// schema is this domain's tables. The tipoffs table kept its name and
// columns when it moved here from trace, so databases written by earlier
// versions open unchanged.
var schema = []string{
	// deadline and notify_by are NULL when not set.
	`CREATE TABLE IF NOT EXISTS tipoffs (
		id TEXT PRIMARY KEY,
		receipt TEXT NOT NULL UNIQUE,
		subject TEXT NOT NULL,
		code TEXT NOT NULL,
		gtin TEXT NOT NULL,
		entity_id TEXT NOT NULL,
		category TEXT NOT NULL,
		description TEXT NOT NULL,
		anonymous INTEGER NOT NULL,
		name TEXT NOT NULL,
		contact TEXT NOT NULL,
		client TEXT NOT NULL,
		status TEXT NOT NULL,
		note TEXT NOT NULL,
		handled_by TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		deadline INTEGER,
		notify_by INTEGER
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS tipoffs_status ON tipoffs(status, id)`,
}

// New creates the domain's tables if needed and returns the store. w is
// the single-connection writer pool, r the read-only pool.
func New(ctx context.Context, w, r *sql.DB) (*Store, error) {
	if err := sqlitedb.Migrate(ctx, w, slices.Concat(schema, declarationSchema, spotCheckSchema, incidentSchema)); err != nil {
		return nil, fmt.Errorf("standardssql: %w", err)
	}
	if err := workflowColumns(ctx, w); err != nil {
		return nil, err
	}
	return &Store{w: w, r: r}, nil
}

// workflowColumns upgrades a tipoffs table from before the workflow
// recorded extensions, notifications and rewards, one column at a time.
func workflowColumns(ctx context.Context, w *sql.DB) error {
	for _, col := range []struct{ name, ddl string }{
		{"extended", `ALTER TABLE tipoffs ADD COLUMN extended INTEGER NOT NULL DEFAULT 0`},
		{"notified", `ALTER TABLE tipoffs ADD COLUMN notified INTEGER NOT NULL DEFAULT 0`},
		{"reward", `ALTER TABLE tipoffs ADD COLUMN reward TEXT NOT NULL DEFAULT ''`},
	} {
		var n int
		if err := w.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('tipoffs') WHERE name = ?`, col.name).Scan(&n); err != nil {
			return fmt.Errorf("standardssql: inspect tipoffs: %w", err)
		}
		if n > 0 {
			continue
		}
		if err := sqlitedb.Migrate(ctx, w, []string{col.ddl}); err != nil {
			return err
		}
	}
	return nil
}

// translate maps driver errors onto the standards sentinels; fields names
// the request field behind each unique column.
func translate(err error, fields map[string]string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return standards.ErrNotFound
	case sqlitedb.Busy(err):
		return fmt.Errorf("%w: %w", standards.ErrUnavailable, err)
	}
	if cols, ok := sqlitedb.UniqueViolation(err); ok {
		for _, col := range cols {
			if field, ok := fields[col]; ok {
				return &trace.FieldError{Field: field, Msg: "is already registered", Kind: standards.ErrConflict}
			}
		}
		return fmt.Errorf("%w: %w", standards.ErrConflict, err)
	}
	return err
}

var tipoffFields = map[string]string{"tipoffs.id": "id", "tipoffs.receipt": "receipt"}

const tipoffCols = `id, receipt, subject, code, gtin, entity_id, category, description, anonymous, name, contact, client,
	status, note, handled_by, created_at, updated_at, deadline, notify_by, extended, notified, reward`

func scanTipoff(row sqlitedb.Scanner) (standards.Tipoff, error) {
	var t standards.Tipoff
	var created, updated int64
	var deadline, notify sql.NullInt64
	if err := row.Scan(&t.ID, &t.Receipt, &t.Subject, &t.Code, &t.GTIN, &t.EntityID, &t.Category, &t.Description,
		&t.Anonymous, &t.Name, &t.Contact, &t.Client, &t.Status, &t.Note, &t.HandledBy, &created, &updated,
		&deadline, &notify, &t.Extended, &t.Notified, &t.Reward); err != nil {
		return standards.Tipoff{}, err
	}
	t.CreatedAt, t.UpdatedAt = sqlitedb.FromMillis(created), sqlitedb.FromMillis(updated)
	t.Deadline, t.NotifyBy = sqlitedb.FromNullMillis(deadline), sqlitedb.FromNullMillis(notify)
	return t, nil
}

// CreateTipoff implements [standards.TipoffStore].
func (s *Store) CreateTipoff(ctx context.Context, t standards.Tipoff) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO tipoffs (`+tipoffCols+`) VALUES (`+sqlitedb.Marks(22)+`)`,
		t.ID, t.Receipt, t.Subject, t.Code, t.GTIN, t.EntityID, t.Category, t.Description, t.Anonymous, t.Name,
		t.Contact, t.Client, string(t.Status), t.Note, t.HandledBy, sqlitedb.Millis(t.CreatedAt),
		sqlitedb.Millis(t.UpdatedAt), sqlitedb.MillisOrNull(t.Deadline), sqlitedb.MillisOrNull(t.NotifyBy), t.Extended, t.Notified, t.Reward)
	return translate(err, tipoffFields)
}

// Tipoff implements [standards.TipoffStore].
func (s *Store) Tipoff(ctx context.Context, receipt string) (standards.Tipoff, error) {
	t, err := scanTipoff(s.r.QueryRowContext(ctx, `SELECT `+tipoffCols+` FROM tipoffs WHERE receipt = ?`, receipt))
	return t, translate(err, nil)
}

// ListTipoffs implements [standards.TipoffStore].
func (s *Store) ListTipoffs(ctx context.Context, f standards.TipoffFilter, p trace.Page) ([]standards.Tipoff, error) {
	q := `SELECT ` + tipoffCols + ` FROM tipoffs WHERE id > ?`
	args := []any{p.After}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if !f.OverdueAt.IsZero() {
		at := sqlitedb.Millis(f.OverdueAt)
		q += ` AND ((status IN ('received', 'verifying') AND deadline <= ?) OR (notify_by IS NOT NULL AND notified = 0 AND notify_by <= ?))`
		args = append(args, at, at)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, translate(err, nil)
	}
	list, err := sqlitedb.Collect(rows, scanTipoff)
	return list, translate(err, nil)
}

// UpdateTipoff implements [standards.TipoffStore].
func (s *Store) UpdateTipoff(ctx context.Context, receipt string, c standards.TipoffChange) (standards.Tipoff, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return standards.Tipoff{}, translate(err, nil)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE tipoffs SET status = ?, note = ?, handled_by = ?, updated_at = ?,
		deadline = COALESCE(?, deadline), notify_by = COALESCE(?, notify_by), extended = extended OR ?, notified = notified OR ?,
		reward = CASE WHEN ? != '' THEN ? ELSE reward END
		WHERE receipt = ? AND status = ?`,
		string(c.Status), c.Note, c.By, sqlitedb.Millis(c.At), sqlitedb.MillisOrNull(c.Deadline), sqlitedb.MillisOrNull(c.NotifyBy),
		c.Extended, c.Notified, c.Reward, c.Reward, receipt, string(c.From))
	if err != nil {
		return standards.Tipoff{}, translate(err, nil)
	}
	t, err := scanTipoff(tx.QueryRowContext(ctx, `SELECT `+tipoffCols+` FROM tipoffs WHERE receipt = ?`, receipt))
	if err != nil {
		return standards.Tipoff{}, translate(err, nil)
	}
	if n, err := res.RowsAffected(); err != nil {
		return standards.Tipoff{}, translate(err, nil)
	} else if n == 0 {
		return standards.Tipoff{}, fmt.Errorf("tip-off %s is %s now, not %s: %w", receipt, t.Status, c.From, standards.ErrConflict)
	}
	return t, translate(tx.Commit(), nil)
}
