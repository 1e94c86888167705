package tracesql

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// insertIgnoring stores rows in one transaction and returns the positions
// of those whose key was already taken.
//
// Rows go in key order (less orders two rows), so that successive inserts
// land on neighbouring B-tree pages, and in multi-row INSERT … ON CONFLICT
// DO NOTHING statements of up to 100 rows. A statement that stores fewer
// rows than it was given is rare (a random serial clashed): only then are
// its rows looked up one by one (owned reports whether the stored row with
// that key is the one we sent) to find which were taken.
func insertIgnoring[T any](ctx context.Context, s *Store, table string, cols []string, rows []T,
	less func(a, b T) int, args func(T) []any, owned func(*sql.Tx, T) (bool, error)) ([]int, error) {
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return less(rows[a], rows[b]) })

	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	const group = 100
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	var full *sql.Stmt
	var taken []int
	argv := make([]any, 0, group*len(cols))
	for start := 0; start < len(order); start += group {
		part := order[start:min(start+group, len(order))]
		argv = argv[:0]
		for _, i := range part {
			argv = append(argv, args(rows[i])...)
		}
		stmt := head + strings.TrimSuffix(strings.Repeat(one+",", len(part)), ",") + " ON CONFLICT DO NOTHING"
		var res sql.Result
		if len(part) == group {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, stmt); err != nil {
					return nil, err
				}
				defer full.Close()
			}
			res, err = full.ExecContext(ctx, argv...)
		} else {
			res, err = tx.ExecContext(ctx, stmt, argv...)
		}
		if err != nil {
			return nil, fmt.Errorf("insert into %s: %w", table, err)
		}
		if n, _ := res.RowsAffected(); int(n) == len(part) {
			continue
		}
		for _, i := range part {
			ok, err := owned(tx, rows[i])
			if err != nil {
				return nil, err
			}
			if !ok {
				taken = append(taken, i)
			}
		}
	}
	slices.Sort(taken)
	return taken, tx.Commit()
}

var codeInsertCols = []string{"gtin", "serial", "lot", "seq", "state", "possessor", "issued_at", "updated_at"}

// InsertCodes implements [trace.CodeStore].
func (s *Store) InsertCodes(ctx context.Context, codes []trace.Code) ([]int, error) {
	return insertIgnoring(ctx, s, "codes", codeInsertCols, codes,
		func(a, b trace.Code) int { return cmp.Or(strings.Compare(a.GTIN, b.GTIN), strings.Compare(a.Serial, b.Serial)) },
		func(c trace.Code) []any {
			return []any{c.GTIN, c.Serial, c.Lot, c.Seq, string(c.State), c.Possessor, ms(c.IssuedAt), ms(c.UpdatedAt)}
		},
		func(tx *sql.Tx, c trace.Code) (bool, error) {
			var seq string
			err := tx.QueryRowContext(ctx, `SELECT seq FROM codes WHERE gtin = ? AND serial = ?`, c.GTIN, c.Serial).Scan(&seq)
			return seq == c.Seq, err
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

var ssccInsertCols = []string{"sscc", "owner_id", "seq", "state", "possessor", "issued_at", "updated_at"}

// InsertSSCCs implements [trace.CodeStore].
func (s *Store) InsertSSCCs(ctx context.Context, list []trace.SSCC) ([]int, error) {
	return insertIgnoring(ctx, s, "ssccs", ssccInsertCols, list,
		func(a, b trace.SSCC) int { return strings.Compare(a.SSCC, b.SSCC) },
		func(c trace.SSCC) []any {
			return []any{c.SSCC, c.OwnerID, c.Seq, string(c.State), c.Possessor, ms(c.IssuedAt), ms(c.UpdatedAt)}
		},
		func(tx *sql.Tx, c trace.SSCC) (bool, error) {
			var seq string
			err := tx.QueryRowContext(ctx, `SELECT seq FROM ssccs WHERE sscc = ?`, c.SSCC).Scan(&seq)
			return seq == c.Seq, err
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
