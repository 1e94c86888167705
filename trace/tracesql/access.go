package tracesql

import (
	"context"
	"database/sql"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/access"
	"tracesvc/trace/sqlitedb"
)

const keyCols = `id, hash, role, entity_id, label, created_by, created_at, revoked_at`

func scanKey(row sqlitedb.Scanner) (access.Key, error) {
	var k access.Key
	var created int64
	var revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.Hash, &k.Role, &k.EntityID, &k.Label, &k.CreatedBy, &created, &revoked); err != nil {
		return access.Key{}, err
	}
	k.CreatedAt = sqlitedb.FromMillis(created)
	if revoked.Valid {
		t := sqlitedb.FromMillis(revoked.Int64)
		k.RevokedAt = &t
	}
	return k, nil
}

// CreateKey implements [access.Store].
func (s *Store) CreateKey(ctx context.Context, k access.Key) error {
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO api_keys (`+keyCols+`) VALUES (?,?,?,?,?,?,?,NULL)`,
		k.ID, k.Hash, k.Role, k.EntityID, k.Label, k.CreatedBy, sqlitedb.Millis(k.CreatedAt))
	return translate(err, map[string]string{"api_keys.id": "id", "api_keys.hash": "key"})
}

// KeyByHash implements [access.Store].
func (s *Store) KeyByHash(ctx context.Context, hash string) (access.Key, error) {
	k, err := scanKey(s.db.R.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE hash = ?`, hash))
	return k, translate(err, nil)
}

// Key implements [access.Store].
func (s *Store) Key(ctx context.Context, id string) (access.Key, error) {
	k, err := scanKey(s.db.R.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = ?`, id))
	return k, translate(err, nil)
}

// ListKeys implements [access.Store].
func (s *Store) ListKeys(ctx context.Context, f access.KeyFilter, p trace.Page) ([]access.Key, error) {
	q := `SELECT ` + keyCols + ` FROM api_keys WHERE id > ?`
	args := []any{p.After}
	if f.Role != "" {
		q += ` AND role = ?`
		args = append(args, string(f.Role))
	}
	if f.EntityID != "" {
		q += ` AND entity_id = ?`
		args = append(args, f.EntityID)
	}
	rows, err := s.db.R.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, err
	}
	return sqlitedb.Collect(rows, scanKey)
}

// RevokeKey implements [access.Store].
func (s *Store) RevokeKey(ctx context.Context, id string, at time.Time) (access.Key, error) {
	var u setter
	u.cols = []string{"revoked_at = COALESCE(revoked_at, ?)"}
	u.args = []any{sqlitedb.Millis(at)}
	return update(ctx, s, "api_keys", "id = ?", []any{id}, u, nil, func(tx *sql.Tx) (access.Key, error) {
		return scanKey(tx.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = ?`, id))
	})
}

// DeleteKey implements [access.Store].
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	_, err := s.db.W.ExecContext(ctx, `DELETE FROM api_keys WHERE id = ?`, id)
	return translate(err, nil)
}
