package recallsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"tracesvc/recall/credit"
	"tracesvc/trace"
	"tracesvc/trace/sqlitedb"
)

var _ credit.Store = (*Store)(nil)

// creditSchema keeps credit records as JSON bodies beside their entity,
// kind and state.
var creditSchema = []string{
	`CREATE TABLE IF NOT EXISTS credit_records (
		id TEXT PRIMARY KEY,
		entity_id TEXT NOT NULL,
		kind TEXT NOT NULL,
		state TEXT NOT NULL,
		version INTEGER NOT NULL,
		created_at INTEGER NOT NULL,
		body TEXT NOT NULL
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS credit_records_entity ON credit_records(entity_id, kind, id)`,
	`CREATE INDEX IF NOT EXISTS credit_records_kind ON credit_records(kind, state, id)`,
}

// CreateRecord implements [credit.Store].
func (s *Store) CreateRecord(ctx context.Context, r credit.Record) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO credit_records (id, entity_id, kind, state, version, created_at, body) VALUES (?, ?, ?, ?, 1, ?, ?)`,
		r.ID, r.EntityID, r.Kind, r.State, sqlitedb.Millis(r.CreatedAt), string(r.Body))
	return creditErr(err)
}

// creditErr maps driver errors onto the credit sentinels.
func creditErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return credit.ErrNotFound
	case sqlitedb.Busy(err):
		return fmt.Errorf("%w: %w", credit.ErrUnavailable, err)
	}
	if _, ok := sqlitedb.UniqueViolation(err); ok {
		return credit.ErrConflict
	}
	return err
}

func scanRecord(row sqlitedb.Scanner) (credit.Record, error) {
	var r credit.Record
	var created int64
	var body string
	if err := row.Scan(&r.ID, &r.EntityID, &r.Kind, &r.State, &r.Version, &created, &body); err != nil {
		return credit.Record{}, err
	}
	r.CreatedAt, r.Body = sqlitedb.FromMillis(created), []byte(body)
	return r, nil
}

const recordCols = `id, entity_id, kind, state, version, created_at, body`

// Record implements [credit.Store].
func (s *Store) Record(ctx context.Context, id string) (credit.Record, error) {
	r, err := scanRecord(s.r.QueryRowContext(ctx, `SELECT `+recordCols+` FROM credit_records WHERE id = ?`, id))
	return r, creditErr(err)
}

// UpdateRecord implements [credit.Store].
func (s *Store) UpdateRecord(ctx context.Context, r credit.Record) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return creditErr(err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE credit_records SET state = ?, version = ?, body = ? WHERE id = ? AND version = ?`,
		r.State, r.Version, string(r.Body), r.ID, r.Version-1)
	if err != nil {
		return creditErr(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return creditErr(err)
	} else if n == 0 {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM credit_records WHERE id = ?`, r.ID).Scan(&one); err != nil {
			return creditErr(err)
		}
		return credit.ErrConflict
	}
	return creditErr(tx.Commit())
}

// ListRecords implements [credit.Store].
func (s *Store) ListRecords(ctx context.Context, f credit.RecordFilter, p trace.Page) ([]credit.Record, error) {
	q := `SELECT ` + recordCols + ` FROM credit_records WHERE id > ?`
	args := []any{p.After}
	for _, c := range []struct{ col, v string }{{"entity_id", f.EntityID}, {"kind", f.Kind}, {"state", f.State}} {
		if c.v != "" {
			q += ` AND ` + c.col + ` = ?`
			args = append(args, c.v)
		}
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, creditErr(err)
	}
	list, err := sqlitedb.Collect(rows, scanRecord)
	return list, creditErr(err)
}
