package tracesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tracesvc/trace"
)

var _ trace.CodeStore = (*Store)(nil)

var codeSchema = []string{
	`CREATE TABLE IF NOT EXISTS issuances (
		id TEXT PRIMARY KEY,
		kind TEXT NOT NULL,
		owner_id TEXT NOT NULL,
		gtin TEXT NOT NULL,
		lot TEXT NOT NULL,
		requested INTEGER NOT NULL,
		issued INTEGER NOT NULL,
		state TEXT NOT NULL,
		idem_key TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	) WITHOUT ROWID`,
	`CREATE UNIQUE INDEX IF NOT EXISTS issuances_idem ON issuances(owner_id, idem_key) WHERE idem_key != ''`,
	// Codes are keyed by (GTIN, serial): the key that must be unique. The
	// batch index is ordered by seq (issuance, position), so it grows at
	// its end instead of at random places.
	`CREATE TABLE IF NOT EXISTS codes (
		gtin TEXT NOT NULL,
		serial TEXT NOT NULL,
		lot TEXT NOT NULL,
		seq TEXT NOT NULL,
		state TEXT NOT NULL,
		possessor TEXT NOT NULL,
		issued_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (gtin, serial)
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS codes_batch ON codes(gtin, lot, seq)`,
	`CREATE TABLE IF NOT EXISTS ssccs (
		sscc TEXT PRIMARY KEY,
		owner_id TEXT NOT NULL,
		seq TEXT NOT NULL,
		state TEXT NOT NULL,
		possessor TEXT NOT NULL,
		issued_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS ssccs_owner ON ssccs(owner_id, seq)`,
}

const issuanceCols = `id, kind, owner_id, gtin, lot, requested, issued, state, idem_key, created_at, updated_at`

func scanIssuance(row scanner) (trace.Issuance, error) {
	var is trace.Issuance
	var created, updated int64
	err := row.Scan(&is.ID, &is.Kind, &is.OwnerID, &is.GTIN, &is.Lot, &is.Requested, &is.Issued, &is.State,
		&is.IdempotencyKey, &created, &updated)
	is.CreatedAt, is.UpdatedAt = fromMS(created), fromMS(updated)
	return is, err
}

// CreateIssuance implements [trace.CodeStore].
func (s *Store) CreateIssuance(ctx context.Context, is trace.Issuance) error {
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO issuances (`+issuanceCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		is.ID, is.Kind, is.OwnerID, is.GTIN, is.Lot, is.Requested, is.Issued, is.State, is.IdempotencyKey,
		ms(is.CreatedAt), ms(is.UpdatedAt))
	return Translate(err, map[string]string{"issuances.owner_id": "Idempotency-Key", "issuances.id": "id"})
}

// Issuance implements [trace.CodeStore].
func (s *Store) Issuance(ctx context.Context, id string) (trace.Issuance, error) {
	is, err := scanIssuance(s.db.R.QueryRowContext(ctx, `SELECT `+issuanceCols+` FROM issuances WHERE id = ?`, id))
	return is, Translate(err, nil)
}

// IssuanceByKey implements [trace.CodeStore].
func (s *Store) IssuanceByKey(ctx context.Context, ownerID, key string) (trace.Issuance, error) {
	is, err := scanIssuance(s.db.W.QueryRowContext(ctx, `SELECT `+issuanceCols+` FROM issuances
		WHERE owner_id = ? AND idem_key = ? AND idem_key != ''`, ownerID, key))
	return is, Translate(err, nil)
}

// ClaimIssuance implements [trace.CodeStore].
func (s *Store) ClaimIssuance(ctx context.Context, id string, at time.Time) (trace.Issuance, error) {
	var u setter
	u.set("state", trace.IssuanceRunning)
	u.set("updated_at", ms(at))
	is, err := update(ctx, s, "issuances", "id = ? AND state != ?", []any{id, trace.IssuanceRunning}, u, nil,
		func(tx *sql.Tx) (trace.Issuance, error) {
			return scanIssuance(tx.QueryRowContext(ctx, `SELECT `+issuanceCols+` FROM issuances WHERE id = ?`, id))
		})
	if errors.Is(err, trace.ErrNotFound) {
		if _, err := s.Issuance(ctx, id); err != nil {
			return trace.Issuance{}, err
		}
		return trace.Issuance{}, trace.ErrConflict
	}
	return is, err
}

// UpdateIssuance implements [trace.CodeStore].
func (s *Store) UpdateIssuance(ctx context.Context, id string, issued int, state trace.IssuanceState, at time.Time) error {
	res, err := s.db.W.ExecContext(ctx, `UPDATE issuances SET issued = ?, state = ?, updated_at = ? WHERE id = ?`,
		issued, state, ms(at), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return trace.ErrNotFound
	}
	return nil
}

// insertIgnoring inserts rows in one transaction with a prepared INSERT …
// ON CONFLICT DO NOTHING and returns the positions that were not inserted.
func insertIgnoring[T any](ctx context.Context, s *Store, stmt string, rows []T, args func(T) []any) ([]int, error) {
	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	ps, err := tx.PrepareContext(ctx, stmt)
	if err != nil {
		return nil, err
	}
	defer ps.Close()
	var taken []int
	for i, r := range rows {
		res, err := ps.ExecContext(ctx, args(r)...)
		if err != nil {
			return nil, fmt.Errorf("insert row %d: %w", i, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			taken = append(taken, i)
		}
	}
	return taken, tx.Commit()
}

// InsertCodes implements [trace.CodeStore].
func (s *Store) InsertCodes(ctx context.Context, codes []trace.Code) ([]int, error) {
	return insertIgnoring(ctx, s, `INSERT INTO codes (gtin, serial, lot, seq, state, possessor, issued_at, updated_at)
		VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`, codes, func(c trace.Code) []any {
		return []any{c.GTIN, c.Serial, c.Lot, c.Seq, string(c.State), c.Possessor, ms(c.IssuedAt), ms(c.UpdatedAt)}
	})
}

const codeCols = `gtin, serial, lot, seq, state, possessor, issued_at, updated_at`

func scanCode(row scanner) (trace.Code, error) {
	var c trace.Code
	var issued, updated int64
	err := row.Scan(&c.GTIN, &c.Serial, &c.Lot, &c.Seq, &c.State, &c.Possessor, &issued, &updated)
	c.IssuedAt, c.UpdatedAt = fromMS(issued), fromMS(updated)
	return c, err
}

// Code implements [trace.CodeStore].
func (s *Store) Code(ctx context.Context, gtin, serial string) (trace.Code, error) {
	c, err := scanCode(s.db.R.QueryRowContext(ctx, `SELECT `+codeCols+` FROM codes WHERE gtin = ? AND serial = ?`, gtin, serial))
	return c, Translate(err, nil)
}

// seqBounds turns a page cursor and an optional issuance into a seq range.
func seqBounds(after, issuance string) (lo, hi string) {
	lo, hi = after, "\U0010FFFF"
	if issuance != "" {
		from, to := trace.SeqRange(issuance)
		hi = to
		if lo < from {
			lo = from
		}
	}
	return lo, hi
}

// ListCodes implements [trace.CodeStore].
func (s *Store) ListCodes(ctx context.Context, f trace.CodeFilter, p trace.Page) ([]trace.Code, error) {
	lo, hi := seqBounds(p.After, f.Issuance)
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+codeCols+` FROM codes
		WHERE gtin = ? AND lot = ? AND seq > ? AND seq < ? ORDER BY seq LIMIT ?`, f.GTIN, f.Lot, lo, hi, p.Limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanCode)
}

// InsertSSCCs implements [trace.CodeStore].
func (s *Store) InsertSSCCs(ctx context.Context, list []trace.SSCC) ([]int, error) {
	return insertIgnoring(ctx, s, `INSERT INTO ssccs (sscc, owner_id, seq, state, possessor, issued_at, updated_at)
		VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`, list, func(c trace.SSCC) []any {
		return []any{c.SSCC, c.OwnerID, c.Seq, string(c.State), c.Possessor, ms(c.IssuedAt), ms(c.UpdatedAt)}
	})
}

const ssccCols = `sscc, owner_id, seq, state, possessor, issued_at, updated_at`

func scanSSCC(row scanner) (trace.SSCC, error) {
	var c trace.SSCC
	var issued, updated int64
	err := row.Scan(&c.SSCC, &c.OwnerID, &c.Seq, &c.State, &c.Possessor, &issued, &updated)
	c.IssuedAt, c.UpdatedAt = fromMS(issued), fromMS(updated)
	return c, err
}

// SSCC implements [trace.CodeStore].
func (s *Store) SSCC(ctx context.Context, sscc string) (trace.SSCC, error) {
	c, err := scanSSCC(s.db.R.QueryRowContext(ctx, `SELECT `+ssccCols+` FROM ssccs WHERE sscc = ?`, sscc))
	return c, Translate(err, nil)
}

// ListSSCCs implements [trace.CodeStore].
func (s *Store) ListSSCCs(ctx context.Context, f trace.SSCCFilter, p trace.Page) ([]trace.SSCC, error) {
	lo, hi := seqBounds(p.After, f.Issuance)
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+ssccCols+` FROM ssccs
		WHERE owner_id = ? AND seq > ? AND seq < ? ORDER BY seq LIMIT ?`, f.OwnerID, lo, hi, p.Limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanSSCC)
}
