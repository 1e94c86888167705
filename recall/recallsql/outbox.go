package recallsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tracesvc/recall"
	"tracesvc/trace"
	"tracesvc/trace/sqlitedb"
)

// outboxSchema is the durable outbox. A claim moves next_at to the end of
// its lease, so that one index on (state, next_at) finds what is due,
// including deliveries whose lease ended without a result.
var outboxSchema = []string{
	`CREATE TABLE IF NOT EXISTS recall_deliveries (
		id TEXT PRIMARY KEY,
		entity_id TEXT NOT NULL,
		kind TEXT NOT NULL,
		ref TEXT NOT NULL,
		body BLOB NOT NULL,
		state TEXT NOT NULL,
		attempts INTEGER NOT NULL,
		next_at INTEGER NOT NULL,
		lease_owner TEXT NOT NULL DEFAULT '',
		lease_until INTEGER NOT NULL DEFAULT 0,
		last_status INTEGER NOT NULL DEFAULT 0,
		last_error TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		delivered_at INTEGER
	)`,
	`CREATE INDEX IF NOT EXISTS recall_deliveries_due ON recall_deliveries (state, next_at)`,
	`CREATE INDEX IF NOT EXISTS recall_deliveries_state ON recall_deliveries (state, id)`,
	`CREATE INDEX IF NOT EXISTS recall_deliveries_owner ON recall_deliveries (lease_owner) WHERE lease_owner <> ''`,
}

// deliveryCols are the columns scanDelivery reads, in its order.
const deliveryCols = `id, entity_id, kind, ref, body, state, attempts, next_at, lease_owner, lease_until,
	last_status, last_error, created_at, updated_at, delivered_at`

// enqueueChunk is how many deliveries one insert transaction holds.
const enqueueChunk = 1000

func scanDelivery(sc sqlitedb.Scanner) (recall.Delivery, error) {
	var d recall.Delivery
	var state string
	var next, leaseUntil, created, updated int64
	var delivered sql.NullInt64
	if err := sc.Scan(&d.ID, &d.EntityID, &d.Kind, &d.Ref, &d.Body, &state, &d.Attempts, &next, &d.LeaseOwner, &leaseUntil,
		&d.LastStatus, &d.LastError, &created, &updated, &delivered); err != nil {
		return recall.Delivery{}, err
	}
	d.State = recall.DeliveryState(state)
	d.NextAt, d.CreatedAt, d.UpdatedAt = sqlitedb.FromMillis(next), sqlitedb.FromMillis(created), sqlitedb.FromMillis(updated)
	if leaseUntil != 0 {
		d.LeaseUntil = sqlitedb.FromMillis(leaseUntil)
	}
	d.DeliveredAt = sqlitedb.FromNullMillis(delivered)
	return d, nil
}

// EnqueueDeliveries implements [recall.OutboxStore].
func (s *Store) EnqueueDeliveries(ctx context.Context, ds []recall.Delivery) error {
	for start := 0; start < len(ds); start += enqueueChunk {
		if err := s.enqueue(ctx, ds[start:min(start+enqueueChunk, len(ds))]); err != nil {
			return err
		}
	}
	return nil
}

// enqueue inserts ds in one transaction.
func (s *Store) enqueue(ctx context.Context, ds []recall.Delivery) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO recall_deliveries (id, entity_id, kind, ref, body, state, attempts, next_at,
		last_status, last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return translate(err)
	}
	defer stmt.Close()
	for _, d := range ds {
		if _, err := stmt.ExecContext(ctx, d.ID, d.EntityID, d.Kind, d.Ref, d.Body, string(d.State), d.Attempts,
			sqlitedb.Millis(d.NextAt), d.LastStatus, d.LastError, sqlitedb.Millis(d.CreatedAt), sqlitedb.Millis(d.UpdatedAt)); err != nil {
			return fmt.Errorf("enqueue %s: %w", d.ID, translate(err))
		}
	}
	return translate(tx.Commit())
}

// Deliveries implements [recall.OutboxStore].
func (s *Store) Deliveries(ctx context.Context, ids []string) ([]recall.Delivery, error) {
	var out []recall.Delivery
	for start := 0; start < len(ids); start += 500 {
		part := ids[start:min(start+500, len(ids))]
		rows, err := s.r.QueryContext(ctx, `SELECT `+deliveryCols+` FROM recall_deliveries WHERE id IN (`+sqlitedb.Marks(len(part))+`)`,
			sqlitedb.Args(part)...)
		if err != nil {
			return nil, translate(err)
		}
		got, err := sqlitedb.Collect(rows, scanDelivery)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// ClaimDeliveries implements [recall.OutboxStore]: one UPDATE … RETURNING,
// atomic under SQLite's write lock, also across processes.
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, at, until time.Time, n int) ([]recall.Delivery, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, err := s.w.QueryContext(ctx, `UPDATE recall_deliveries
		SET lease_owner = ?, lease_until = ?, next_at = ?, attempts = attempts + 1, updated_at = ?
		WHERE id IN (SELECT id FROM recall_deliveries WHERE state = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?)
		RETURNING `+deliveryCols,
		owner, sqlitedb.Millis(until), sqlitedb.Millis(until), sqlitedb.Millis(at), sqlitedb.Millis(at), n)
	if err != nil {
		return nil, translate(err)
	}
	ds, err := sqlitedb.Collect(rows, scanDelivery)
	return ds, translate(err)
}

// CompleteDeliveries implements [recall.OutboxStore], in one transaction.
func (s *Store) CompleteDeliveries(ctx context.Context, ds []recall.Delivery) ([]string, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, translate(err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `UPDATE recall_deliveries SET state = ?, attempts = ?, next_at = ?, last_status = ?,
		last_error = ?, updated_at = ?, delivered_at = ?, lease_owner = '', lease_until = 0
		WHERE id = ? AND state = 'pending' AND lease_owner = ? AND lease_until = ?`)
	if err != nil {
		return nil, translate(err)
	}
	defer stmt.Close()
	var refused []string
	for _, d := range ds {
		res, err := stmt.ExecContext(ctx, string(d.State), d.Attempts, sqlitedb.Millis(d.NextAt), d.LastStatus, d.LastError,
			sqlitedb.Millis(d.UpdatedAt), sqlitedb.MillisOrNull(d.DeliveredAt), d.ID, d.LeaseOwner, sqlitedb.Millis(d.LeaseUntil))
		if err != nil {
			return nil, fmt.Errorf("complete %s: %w", d.ID, translate(err))
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, translate(err)
		} else if n == 0 {
			refused = append(refused, d.ID)
		}
	}
	return refused, translate(tx.Commit())
}

// ReleaseDeliveries implements [recall.OutboxStore].
func (s *Store) ReleaseDeliveries(ctx context.Context, owner string, at time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE recall_deliveries SET next_at = ?, lease_owner = '', lease_until = 0, updated_at = ?
		WHERE lease_owner = ? AND state = 'pending'`, sqlitedb.Millis(at), sqlitedb.Millis(at), owner)
	if err != nil {
		return 0, translate(err)
	}
	n, err := res.RowsAffected()
	return int(n), translate(err)
}

// ListDeliveries implements [recall.OutboxStore].
func (s *Store) ListDeliveries(ctx context.Context, state recall.DeliveryState, p trace.Page) ([]recall.Delivery, string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+deliveryCols+` FROM recall_deliveries
		WHERE (? = '' OR state = ?) AND id > ? ORDER BY id LIMIT ?`, string(state), string(state), p.After, p.Limit+1)
	if err != nil {
		return nil, "", translate(err)
	}
	ds, err := sqlitedb.Collect(rows, scanDelivery)
	if err != nil {
		return nil, "", translate(err)
	}
	return trace.PageOf(ds, p.Limit, func(d recall.Delivery) string { return d.ID })
}

// CountDeliveries implements [recall.OutboxStore], through the
// recall_deliveries_state index.
func (s *Store) CountDeliveries(ctx context.Context, state recall.DeliveryState) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM recall_deliveries WHERE state = ?`, string(state)).Scan(&n); err != nil {
		return 0, translate(err)
	}
	return n, nil
}

// RedriveDelivery implements [recall.OutboxStore].
func (s *Store) RedriveDelivery(ctx context.Context, id string, at time.Time) (recall.Delivery, error) {
	row := s.w.QueryRowContext(ctx, `UPDATE recall_deliveries SET state = 'pending', attempts = 0, next_at = ?, updated_at = ?,
		lease_owner = '', lease_until = 0 WHERE id = ? AND state = 'dead' RETURNING `+deliveryCols,
		sqlitedb.Millis(at), sqlitedb.Millis(at), id)
	d, err := scanDelivery(row)
	if !errors.Is(err, sql.ErrNoRows) {
		return d, translate(err)
	}
	var state string
	if err := s.r.QueryRowContext(ctx, `SELECT state FROM recall_deliveries WHERE id = ?`, id).Scan(&state); err != nil {
		return recall.Delivery{}, translate(err)
	}
	return recall.Delivery{}, fmt.Errorf("delivery %s is %s, not dead: %w", id, state, recall.ErrConflict)
}
