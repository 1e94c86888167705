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

var _ recall.EndpointStore = (*Store)(nil)

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
	if err := sqlitedb.Migrate(ctx, w, slices.Concat(schema, campaignSchema)); err != nil {
		return nil, fmt.Errorf("recallsql: %w", err)
	}
	return &Store{w: w, r: r}, nil
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
	_, err := s.w.ExecContext(ctx, `INSERT INTO recall_endpoints (entity_id, url, sealed_secret, updated_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (entity_id) DO UPDATE SET
		url = excluded.url, sealed_secret = excluded.sealed_secret, updated_at = excluded.updated_at`,
		e.EntityID, e.URL, e.SealedSecret, sqlitedb.Millis(e.UpdatedAt))
	return translate(err)
}

// Endpoint implements [recall.EndpointStore].
func (s *Store) Endpoint(ctx context.Context, entityID string) (recall.Endpoint, error) {
	e := recall.Endpoint{EntityID: entityID}
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT url, sealed_secret, updated_at FROM recall_endpoints WHERE entity_id = ?`,
		entityID).Scan(&e.URL, &e.SealedSecret, &at)
	if err != nil {
		return recall.Endpoint{}, translate(err)
	}
	e.UpdatedAt = sqlitedb.FromMillis(at)
	return e, nil
}

// DeleteEndpoint implements [recall.EndpointStore].
func (s *Store) DeleteEndpoint(ctx context.Context, entityID string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM recall_endpoints WHERE entity_id = ?`, entityID)
	return translate(err)
}
