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
	"time"

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
	if err := sqlitedb.Migrate(ctx, w, schema); err != nil {
		return nil, fmt.Errorf("standardssql: %w", err)
	}
	return &Store{w: w, r: r}, nil
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
	status, note, handled_by, created_at, updated_at, deadline, notify_by`

func scanTipoff(row sqlitedb.Scanner) (standards.Tipoff, error) {
	var t standards.Tipoff
	var created, updated int64
	var deadline, notify sql.NullInt64
	if err := row.Scan(&t.ID, &t.Receipt, &t.Subject, &t.Code, &t.GTIN, &t.EntityID, &t.Category, &t.Description,
		&t.Anonymous, &t.Name, &t.Contact, &t.Client, &t.Status, &t.Note, &t.HandledBy, &created, &updated,
		&deadline, &notify); err != nil {
		return standards.Tipoff{}, err
	}
	t.CreatedAt, t.UpdatedAt = sqlitedb.FromMillis(created), sqlitedb.FromMillis(updated)
	t.Deadline, t.NotifyBy = sqlitedb.FromNullMillis(deadline), sqlitedb.FromNullMillis(notify)
	return t, nil
}

// CreateTipoff implements [standards.TipoffStore].
func (s *Store) CreateTipoff(ctx context.Context, t standards.Tipoff) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO tipoffs (`+tipoffCols+`) VALUES (`+sqlitedb.Marks(19)+`)`,
		t.ID, t.Receipt, t.Subject, t.Code, t.GTIN, t.EntityID, t.Category, t.Description, t.Anonymous, t.Name,
		t.Contact, t.Client, string(t.Status), t.Note, t.HandledBy, sqlitedb.Millis(t.CreatedAt),
		sqlitedb.Millis(t.UpdatedAt), sqlitedb.MillisOrNull(t.Deadline), sqlitedb.MillisOrNull(t.NotifyBy))
	return translate(err, tipoffFields)
}

// Tipoff implements [standards.TipoffStore].
func (s *Store) Tipoff(ctx context.Context, receipt string) (standards.Tipoff, error) {
	t, err := scanTipoff(s.r.QueryRowContext(ctx, `SELECT `+tipoffCols+` FROM tipoffs WHERE receipt = ?`, receipt))
	return t, translate(err, nil)
}

// ListTipoffs implements [standards.TipoffStore].
func (s *Store) ListTipoffs(ctx context.Context, status standards.TipoffStatus, p trace.Page) ([]standards.Tipoff, error) {
	q := `SELECT ` + tipoffCols + ` FROM tipoffs WHERE id > ?`
	args := []any{p.After}
	if status != "" {
		q += ` AND status = ?`
		args = append(args, string(status))
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, translate(err, nil)
	}
	list, err := sqlitedb.Collect(rows, scanTipoff)
	return list, translate(err, nil)
}

// UpdateTipoff implements [standards.TipoffStore].
func (s *Store) UpdateTipoff(ctx context.Context, receipt string, status standards.TipoffStatus, note, by string, at time.Time) (standards.Tipoff, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return standards.Tipoff{}, translate(err, nil)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE tipoffs SET status = ?, note = ?, handled_by = ?, updated_at = ? WHERE receipt = ?`,
		string(status), note, by, sqlitedb.Millis(at), receipt)
	if err != nil {
		return standards.Tipoff{}, translate(err, nil)
	}
	if n, err := res.RowsAffected(); err != nil {
		return standards.Tipoff{}, translate(err, nil)
	} else if n == 0 {
		return standards.Tipoff{}, standards.ErrNotFound
	}
	t, err := scanTipoff(tx.QueryRowContext(ctx, `SELECT `+tipoffCols+` FROM tipoffs WHERE receipt = ?`, receipt))
	if err != nil {
		return standards.Tipoff{}, translate(err, nil)
	}
	return t, translate(tx.Commit(), nil)
}
