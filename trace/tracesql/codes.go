package tracesql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/sqlitedb"
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
		updated_at INTEGER NOT NULL,
		lease_instance TEXT NOT NULL DEFAULT '',
		lease_holder TEXT NOT NULL DEFAULT '',
		lease_until INTEGER NOT NULL DEFAULT 0
	) WITHOUT ROWID`,
	`CREATE UNIQUE INDEX IF NOT EXISTS issuances_idem ON issuances(owner_id, idem_key) WHERE idem_key != ''`,
	// Only running issuances are looked for by state, at start.
	`CREATE INDEX IF NOT EXISTS issuances_running ON issuances(state) WHERE state = 'running'`,
	// Codes sit in insertion order (rowid), so the table and the batch
	// index grow at their ends; only the (GTIN, serial) uniqueness index
	// takes random inserts, and it is small. The rowid is the list cursor;
	// pos keeps the position key the service gave (unindexed), so that a
	// clash can be told from the row itself.
	`CREATE TABLE IF NOT EXISTS codes (
		id INTEGER PRIMARY KEY,
		gtin TEXT NOT NULL,
		serial TEXT NOT NULL,
		lot TEXT NOT NULL,
		iss TEXT NOT NULL,
		pos TEXT NOT NULL,
		state TEXT NOT NULL,
		possessor TEXT NOT NULL,
		issued_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		pending_to TEXT NOT NULL DEFAULT '',
		container TEXT NOT NULL DEFAULT '',
		last_event_at INTEGER NOT NULL DEFAULT 0,
		version INTEGER NOT NULL DEFAULT 0
	)`,
	`CREATE INDEX IF NOT EXISTS codes_container ON codes(container) WHERE container != ''`,
	`CREATE UNIQUE INDEX IF NOT EXISTS codes_key ON codes(gtin, serial)`,
	`CREATE INDEX IF NOT EXISTS codes_batch ON codes(gtin, lot)`,
	// Codes some custody event named, by batch: a trace walks these and
	// only counts the rest. Issued codes (version 0) are not in it, so an
	// issuance does not write to it.
	`CREATE INDEX IF NOT EXISTS codes_moved ON codes(gtin, lot) WHERE version > 0`,
	`CREATE TABLE IF NOT EXISTS ssccs (
		id INTEGER PRIMARY KEY,
		sscc TEXT NOT NULL UNIQUE,
		owner_id TEXT NOT NULL,
		iss TEXT NOT NULL,
		pos TEXT NOT NULL,
		state TEXT NOT NULL,
		possessor TEXT NOT NULL,
		issued_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL,
		pending_to TEXT NOT NULL DEFAULT '',
		container TEXT NOT NULL DEFAULT '',
		last_event_at INTEGER NOT NULL DEFAULT 0,
		version INTEGER NOT NULL DEFAULT 0
	)`,
	`CREATE INDEX IF NOT EXISTS ssccs_container ON ssccs(container) WHERE container != ''`,
	`CREATE INDEX IF NOT EXISTS ssccs_owner ON ssccs(owner_id)`,
}

// leaseColumns upgrades an issuances table made before issuances had
// leases. Its running issuances get none, so they count as abandoned.
func leaseColumns(ctx context.Context, w *sql.DB) error {
	var n int
	if err := w.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('issuances') WHERE name = 'lease_until'`).Scan(&n); err != nil {
		return fmt.Errorf("tracesql: inspect issuances: %w", err)
	}
	if n > 0 {
		return nil
	}
	return sqlitedb.Migrate(ctx, w, []string{
		`ALTER TABLE issuances ADD COLUMN lease_instance TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE issuances ADD COLUMN lease_holder TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE issuances ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0`,
	})
}

const issuanceCols = `id, kind, owner_id, gtin, lot, requested, issued, state, idem_key, created_at, updated_at,
	lease_instance, lease_holder, lease_until`

func scanIssuance(row sqlitedb.Scanner) (trace.Issuance, error) {
	var is trace.Issuance
	var created, updated, until int64
	err := row.Scan(&is.ID, &is.Kind, &is.OwnerID, &is.GTIN, &is.Lot, &is.Requested, &is.Issued, &is.State,
		&is.IdempotencyKey, &created, &updated, &is.Lease.Instance, &is.Lease.Holder, &until)
	is.CreatedAt, is.UpdatedAt = sqlitedb.FromMillis(created), sqlitedb.FromMillis(updated)
	if until != 0 {
		is.Lease.Until = sqlitedb.FromMillis(until)
	}
	return is, err
}

// untilMillis stores a lease's end; 0 is none.
func untilMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return sqlitedb.Millis(t)
}

// CreateIssuance implements [trace.CodeStore].
func (s *Store) CreateIssuance(ctx context.Context, is trace.Issuance) error {
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO issuances (`+issuanceCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		is.ID, is.Kind, is.OwnerID, is.GTIN, is.Lot, is.Requested, is.Issued, is.State, is.IdempotencyKey,
		sqlitedb.Millis(is.CreatedAt), sqlitedb.Millis(is.UpdatedAt),
		is.Lease.Instance, is.Lease.Holder, untilMillis(is.Lease.Until))
	return translate(err, map[string]string{"issuances.owner_id": "Idempotency-Key", "issuances.id": "id"})
}

// Issuance implements [trace.CodeStore].
func (s *Store) Issuance(ctx context.Context, id string) (trace.Issuance, error) {
	is, err := scanIssuance(s.db.R.QueryRowContext(ctx, `SELECT `+issuanceCols+` FROM issuances WHERE id = ?`, id))
	return is, translate(err, nil)
}

// IssuanceByKey implements [trace.CodeStore].
func (s *Store) IssuanceByKey(ctx context.Context, ownerID, key string) (trace.Issuance, error) {
	is, err := scanIssuance(s.db.W.QueryRowContext(ctx, `SELECT `+issuanceCols+` FROM issuances
		WHERE owner_id = ? AND idem_key = ? AND idem_key != ''`, ownerID, key))
	return is, translate(err, nil)
}

// ClaimIssuance implements [trace.CodeStore].
func (s *Store) ClaimIssuance(ctx context.Context, id string, l trace.Lease, at time.Time) (trace.Issuance, error) {
	var u setter
	u.set("state", trace.IssuanceRunning)
	u.set("lease_instance", l.Instance)
	u.set("lease_holder", l.Holder)
	u.set("lease_until", untilMillis(l.Until))
	u.set("updated_at", sqlitedb.Millis(at))
	read := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) (trace.Issuance, error) {
		return scanIssuance(q.QueryRowContext(ctx, `SELECT `+issuanceCols+` FROM issuances WHERE id = ?`, id))
	}
	is, err := update(ctx, s, "issuances", "id = ? AND (state = ? OR (state = ? AND lease_until <= ?))",
		[]any{id, trace.IssuanceInterrupted, trace.IssuanceRunning, sqlitedb.Millis(at)}, u, nil,
		func(tx *sql.Tx) (trace.Issuance, error) { return read(tx) })
	if !errors.Is(err, trace.ErrNotFound) {
		return is, err
	}
	is, err = read(s.db.W)
	switch {
	case err != nil:
		return trace.Issuance{}, translate(err, nil)
	case is.State == trace.IssuanceComplete:
		return is, nil
	}
	return is, fmt.Errorf("issuance %s is held until %s: %w", id, is.Lease.Until.Format(time.RFC3339), trace.ErrConflict)
}

// holderUpdate runs an update of a running issuance that holder holds;
// [trace.ErrConflict] when it holds it no more.
func (s *Store) holderUpdate(ctx context.Context, id, holder, set string, args ...any) error {
	res, err := s.db.W.ExecContext(ctx, `UPDATE issuances SET `+set+` WHERE id = ? AND state = ? AND lease_holder = ?`,
		append(args, id, trace.IssuanceRunning, holder)...)
	if err != nil {
		return translate(err, nil)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	if _, err := s.Issuance(ctx, id); err != nil {
		return err
	}
	return fmt.Errorf("issuance %s is no longer held by this request: %w", id, trace.ErrConflict)
}

// UpdateIssuance implements [trace.CodeStore].
func (s *Store) UpdateIssuance(ctx context.Context, id, holder string, u trace.IssuanceUpdate) error {
	if u.State == trace.IssuanceRunning {
		return s.holderUpdate(ctx, id, holder, `issued = ?, updated_at = ?, lease_until = ?`,
			u.Issued, sqlitedb.Millis(u.At), untilMillis(u.LeaseUntil))
	}
	return s.holderUpdate(ctx, id, holder,
		`issued = ?, state = ?, updated_at = ?, lease_instance = '', lease_holder = '', lease_until = 0`,
		u.Issued, u.State, sqlitedb.Millis(u.At))
}

// RenewLease implements [trace.CodeStore].
func (s *Store) RenewLease(ctx context.Context, id, holder string, until time.Time) error {
	return s.holderUpdate(ctx, id, holder, `lease_until = ?`, untilMillis(until))
}

// InterruptIssuances implements [trace.CodeStore].
func (s *Store) InterruptIssuances(ctx context.Context, instance string, at time.Time) (int, error) {
	// state = 'running' is spelled out so that the partial index serves it.
	res, err := s.db.W.ExecContext(ctx, `UPDATE issuances
		SET state = ?, updated_at = ?, lease_instance = '', lease_holder = '', lease_until = 0
		WHERE state = 'running' AND (lease_until <= ? OR lease_instance = ?)`,
		trace.IssuanceInterrupted, sqlitedb.Millis(at), sqlitedb.Millis(at), instance)
	if err != nil {
		return 0, translate(err, nil)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// CountIssued implements [trace.CodeStore].
func (s *Store) CountIssued(ctx context.Context, is trace.Issuance) (int, string, error) {
	var n int
	var last string
	var err error
	if is.Kind == trace.IssuanceSSCC {
		err = s.db.R.QueryRowContext(ctx, `SELECT count(*), COALESCE(max(pos), '') FROM ssccs
			WHERE owner_id = ? AND iss = ?`, is.OwnerID, is.ID).Scan(&n, &last)
	} else {
		err = s.db.R.QueryRowContext(ctx, `SELECT count(*), COALESCE(max(pos), '') FROM codes
			WHERE gtin = ? AND lot = ? AND iss = ?`, is.GTIN, is.Lot, is.ID).Scan(&n, &last)
	}
	return n, last, translate(err, nil)
}

// insertIgnoring stores rows, in the order given, in one transaction and
// returns the positions of those whose key was already taken.
//
// Rows go in multi-row INSERT … ON CONFLICT DO NOTHING statements of up to
// 100 rows. A statement that stores fewer rows than it was given is rare (a
// random serial clashed): only then are its rows looked up one by one
// (owned reports whether the stored row with that key is the one sent).
func insertIgnoring[T any](ctx context.Context, s *Store, table string, cols []string, rows []T,
	args func(T) []any, owned func(*sql.Tx, T) (bool, error)) ([]int, error) {
	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	const group = 100
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	var taken []int
	argv := make([]any, 0, group*len(cols))
	for start := 0; start < len(rows); start += group {
		part := rows[start:min(start+group, len(rows))]
		argv = argv[:0]
		for _, r := range part {
			argv = append(argv, args(r)...)
		}
		// The connection keeps the full group's statement prepared.
		stmt := head + strings.TrimSuffix(strings.Repeat(one+",", len(part)), ",") + " ON CONFLICT DO NOTHING"
		res, err := tx.ExecContext(ctx, stmt, argv...)
		if err != nil {
			return nil, fmt.Errorf("insert into %s: %w", table, err)
		}
		if n, _ := res.RowsAffected(); int(n) == len(part) {
			continue
		}
		for i, r := range part {
			ok, err := owned(tx, r)
			if err != nil {
				return nil, err
			}
			if !ok {
				taken = append(taken, start+i)
			}
		}
	}
	return taken, tx.Commit()
}

// cursor parses a list cursor, which is a rowid.
func cursor(after string) (int64, error) {
	if after == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(after, 10, 64)
	if err != nil || n < 0 {
		return 0, trace.Invalid("cursor", "is not a cursor this list returned")
	}
	return n, nil
}

var codeInsertCols = []string{"gtin", "serial", "lot", "iss", "pos", "state", "possessor", "issued_at", "updated_at"}

// InsertCodes implements [trace.CodeStore].
func (s *Store) InsertCodes(ctx context.Context, codes []trace.Code) ([]int, error) {
	return insertIgnoring(ctx, s, "codes", codeInsertCols, codes,
		func(c trace.Code) []any {
			return []any{c.GTIN, c.Serial, c.Lot, c.Issuance, c.Seq, string(c.State), c.Possessor, sqlitedb.Millis(c.IssuedAt), sqlitedb.Millis(c.UpdatedAt)}
		},
		func(tx *sql.Tx, c trace.Code) (bool, error) {
			var pos string
			err := tx.QueryRowContext(ctx, `SELECT pos FROM codes WHERE gtin = ? AND serial = ?`, c.GTIN, c.Serial).Scan(&pos)
			return pos == c.Seq, err
		})
}

const codeCols = `id, gtin, serial, lot, iss, state, possessor, container, issued_at, updated_at`

func scanCode(row sqlitedb.Scanner) (trace.Code, error) {
	var c trace.Code
	var id, issued, updated int64
	err := row.Scan(&id, &c.GTIN, &c.Serial, &c.Lot, &c.Issuance, &c.State, &c.Possessor, &c.Container, &issued, &updated)
	c.Seq, c.IssuedAt, c.UpdatedAt = strconv.FormatInt(id, 10), sqlitedb.FromMillis(issued), sqlitedb.FromMillis(updated)
	return c, err
}

// batchCodeRow is one column holding a code's fields without its GTIN
// and lot, for lists of one batch's codes, joined by batchSep: a wide walk
// lists 100,000 of them, and each column read crosses the driver (several
// calls, each taking the connection's mutex) where joining them costs
// SQLite one string. No field can hold the separator: IDs, serials (of
// trace.SerialAlphabet), states and entity IDs are the service's own.
const batchCodeRow = `id || char(31) || serial || char(31) || iss || char(31) || state || char(31) || possessor ||
	char(31) || container || char(31) || issued_at || char(31) || updated_at`

// batchSep separates the fields of batchCodeRow.
const batchSep = "\x1f"

// parseBatchCode reads a code from a batchCodeRow.
func parseBatchCode(row string) (trace.Code, error) {
	var c trace.Code
	var f [8]string
	rest := row
	for i := range len(f) - 1 {
		var ok bool
		if f[i], rest, ok = strings.Cut(rest, batchSep); !ok {
			return c, fmt.Errorf("code row %q: %d fields, want %d", row, i+1, len(f))
		}
	}
	f[len(f)-1] = rest
	issued, err1 := strconv.ParseInt(f[6], 10, 64)
	updated, err2 := strconv.ParseInt(f[7], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return c, fmt.Errorf("code row %q: %w", row, err)
	}
	// The Seq on its own: a walk keeps it, and with it the row, for as
	// long as it runs.
	c.Seq, c.Serial, c.Issuance, c.State, c.Possessor, c.Container = strings.Clone(f[0]), f[1], f[2], trace.CodeState(f[3]), f[4], f[5]
	c.IssuedAt, c.UpdatedAt = sqlitedb.FromMillis(issued), sqlitedb.FromMillis(updated)
	return c, nil
}

// Code implements [trace.CodeStore].
func (s *Store) Code(ctx context.Context, gtin, serial string) (trace.Code, error) {
	c, err := scanCode(s.db.R.QueryRowContext(ctx, `SELECT `+codeCols+` FROM codes WHERE gtin = ? AND serial = ?`, gtin, serial))
	return c, translate(err, nil)
}

// ListCodes implements [trace.CodeStore].
func (s *Store) ListCodes(ctx context.Context, f trace.CodeFilter, p trace.Page) ([]trace.Code, error) {
	after, err := cursor(p.After)
	if err != nil {
		return nil, err
	}
	from := ` FROM codes`
	if f.Moved && !f.Unmoved {
		// Without statistics the planner may prefer codes_batch and read
		// every code of the batch.
		from += ` INDEXED BY codes_moved`
	}
	// The batch's GTIN and lot are the filter's: not read from each row.
	q := `SELECT ` + batchCodeRow + from + ` WHERE gtin = ? AND lot = ? AND id > ?`
	args := []any{f.GTIN, f.Lot, after}
	if f.Issuance != "" {
		q += ` AND iss = ?`
		args = append(args, f.Issuance)
	}
	switch {
	case f.Moved && f.Unmoved:
		return nil, nil
	case f.Moved:
		q += ` AND version > 0` // spelled as in codes_moved, so that it serves the query
	case f.Unmoved:
		q += ` AND version = 0`
	}
	rows, err := s.db.R.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// Sized for a full page: walks and exports read pages of thousands.
	out := make([]trace.Code, 0, min(p.Limit, 10_000))
	var row string
	for rows.Next() {
		if err := rows.Scan(&row); err != nil {
			return nil, err
		}
		c, err := parseBatchCode(row)
		if err != nil {
			return nil, err
		}
		c.GTIN, c.Lot = f.GTIN, f.Lot
		out = append(out, c)
	}
	return out, rows.Err()
}

// CountCodes implements [trace.CodeStore]: the batch index counts all
// codes without reading the table, the partial index the moved ones.
func (s *Store) CountCodes(ctx context.Context, gtin, lot string) (int, int, error) {
	var all, moved int
	if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM codes WHERE gtin = ? AND lot = ?`, gtin, lot).Scan(&all); err != nil {
		return 0, 0, translate(err, nil)
	}
	if err := s.db.R.QueryRowContext(ctx, `SELECT count(*) FROM codes INDEXED BY codes_moved WHERE gtin = ? AND lot = ? AND version > 0`,
		gtin, lot).Scan(&moved); err != nil {
		return 0, 0, translate(err, nil)
	}
	return all, moved, nil
}

var ssccInsertCols = []string{"sscc", "owner_id", "iss", "pos", "state", "possessor", "issued_at", "updated_at"}

// InsertSSCCs implements [trace.CodeStore].
func (s *Store) InsertSSCCs(ctx context.Context, list []trace.SSCC) ([]int, error) {
	return insertIgnoring(ctx, s, "ssccs", ssccInsertCols, list,
		func(c trace.SSCC) []any {
			return []any{c.SSCC, c.OwnerID, c.Issuance, c.Seq, string(c.State), c.Possessor, sqlitedb.Millis(c.IssuedAt), sqlitedb.Millis(c.UpdatedAt)}
		},
		func(tx *sql.Tx, c trace.SSCC) (bool, error) {
			var pos string
			err := tx.QueryRowContext(ctx, `SELECT pos FROM ssccs WHERE sscc = ?`, c.SSCC).Scan(&pos)
			return pos == c.Seq, err
		})
}

const ssccCols = `id, sscc, owner_id, iss, state, possessor, issued_at, updated_at`

func scanSSCC(row sqlitedb.Scanner) (trace.SSCC, error) {
	var c trace.SSCC
	var id, issued, updated int64
	err := row.Scan(&id, &c.SSCC, &c.OwnerID, &c.Issuance, &c.State, &c.Possessor, &issued, &updated)
	c.Seq, c.IssuedAt, c.UpdatedAt = strconv.FormatInt(id, 10), sqlitedb.FromMillis(issued), sqlitedb.FromMillis(updated)
	return c, err
}

// SSCC implements [trace.CodeStore].
func (s *Store) SSCC(ctx context.Context, sscc string) (trace.SSCC, error) {
	c, err := scanSSCC(s.db.R.QueryRowContext(ctx, `SELECT `+ssccCols+` FROM ssccs WHERE sscc = ?`, sscc))
	return c, translate(err, nil)
}

// ListSSCCs implements [trace.CodeStore].
func (s *Store) ListSSCCs(ctx context.Context, f trace.SSCCFilter, p trace.Page) ([]trace.SSCC, error) {
	after, err := cursor(p.After)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + ssccCols + ` FROM ssccs WHERE owner_id = ? AND id > ?`
	args := []any{f.OwnerID, after}
	if f.Issuance != "" {
		q += ` AND iss = ?`
		args = append(args, f.Issuance)
	}
	rows, err := s.db.R.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, err
	}
	return sqlitedb.Collect(rows, scanSSCC)
}
