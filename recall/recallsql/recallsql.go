// Package recallsql keeps the recall domain's records in the embedded
// SQLite database. cmd opens the database once and hands this package its
// writer and reader pools; the package owns its tables and translates the
// driver's errors onto the recall sentinels.
package recallsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"tracesvc/recall"
	"tracesvc/trace/sqlitedb"
)

// Store implements the recall domain's stores on the embedded database.
type Store struct {
	w, r *sql.DB
}

var (
	_ recall.EndpointStore = (*Store)(nil)
	_ recall.OutboxStore   = (*Store)(nil)
)

var schema = []string{
	`CREATE TABLE IF NOT EXISTS recall_endpoints (
		entity_id TEXT PRIMARY KEY,
		url TEXT NOT NULL,
		sealed_secret TEXT NOT NULL,
		updated_at INTEGER NOT NULL
	) WITHOUT ROWID`,
}

// New creates the domain's tables if needed and returns the store. w is
// the single-connection writer pool, r the read-only pool.
func New(ctx context.Context, w, r *sql.DB) (*Store, error) {
	if err := sqlitedb.Migrate(ctx, w, slices.Concat(schema, campaignSchema, outboxSchema, creditSchema, drawSchema)); err != nil {
		return nil, fmt.Errorf("recallsql: %w", err)
	}
	if err := rotationColumns(ctx, w); err != nil {
		return nil, err
	}
	return &Store{w: w, r: r}, nil
}

// rotationColumns upgrades a recall_endpoints table from before secrets
// were rotated with a grace period, one column at a time.
func rotationColumns(ctx context.Context, w *sql.DB) error {
	for _, col := range []struct{ name, ddl string }{
		{"previous_secret", `ALTER TABLE recall_endpoints ADD COLUMN previous_secret TEXT NOT NULL DEFAULT ''`},
		{"previous_until", `ALTER TABLE recall_endpoints ADD COLUMN previous_until INTEGER NOT NULL DEFAULT 0`},
	} {
		var n int
		if err := w.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('recall_endpoints') WHERE name = ?`, col.name).Scan(&n); err != nil {
			return fmt.Errorf("recallsql: inspect recall_endpoints: %w", err)
		}
		if n > 0 {
			continue
		}
		if err := sqlitedb.Migrate(ctx, w, []string{col.ddl}); err != nil {
			return fmt.Errorf("recallsql: %w", err)
		}
	}
	return nil
}

// translate maps driver errors onto the recall sentinels.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return recall.ErrNotFound
	case sqlitedb.Busy(err):
		return fmt.Errorf("%w: %w", recall.ErrUnavailable, err)
	}
	if _, ok := sqlitedb.UniqueViolation(err); ok {
		return fmt.Errorf("%w: %w", recall.ErrConflict, err)
	}
	return err
}

// PutEndpoint implements [recall.EndpointStore].
func (s *Store) PutEndpoint(ctx context.Context, e recall.Endpoint) error {
	var prevUntil int64
	if !e.PreviousUntil.IsZero() {
		prevUntil = sqlitedb.Millis(e.PreviousUntil)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO recall_endpoints (entity_id, url, sealed_secret, previous_secret, previous_until, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (entity_id) DO UPDATE SET
		url = excluded.url, sealed_secret = excluded.sealed_secret, previous_secret = excluded.previous_secret,
		previous_until = excluded.previous_until, updated_at = excluded.updated_at`,
		e.EntityID, e.URL, e.SealedSecret, e.PreviousSealedSecret, prevUntil, sqlitedb.Millis(e.UpdatedAt))
	return translate(err)
}

// Endpoint implements [recall.EndpointStore].
func (s *Store) Endpoint(ctx context.Context, entityID string) (recall.Endpoint, error) {
	e := recall.Endpoint{EntityID: entityID}
	var at, prevUntil int64
	err := s.r.QueryRowContext(ctx, `SELECT url, sealed_secret, previous_secret, previous_until, updated_at
		FROM recall_endpoints WHERE entity_id = ?`,
		entityID).Scan(&e.URL, &e.SealedSecret, &e.PreviousSealedSecret, &prevUntil, &at)
	if err != nil {
		return recall.Endpoint{}, translate(err)
	}
	e.UpdatedAt = sqlitedb.FromMillis(at)
	if prevUntil != 0 {
		e.PreviousUntil = sqlitedb.FromMillis(prevUntil)
	}
	return e, nil
}

// DeleteEndpoint implements [recall.EndpointStore].
func (s *Store) DeleteEndpoint(ctx context.Context, entityID string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM recall_endpoints WHERE entity_id = ?`, entityID)
	return translate(err)
}
