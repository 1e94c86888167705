package tracesql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/scan"
	"tracesvc/trace/sqlitedb"
)

var scanSchema = []string{
	// Scans are keyed by their time-ordered ID, so inserts land at the end.
	// lat and lon are NULL when the scan has no location.
	`CREATE TABLE IF NOT EXISTS scans (
		id TEXT PRIMARY KEY,
		gtin TEXT NOT NULL,
		serial TEXT NOT NULL,
		lot TEXT NOT NULL,
		at INTEGER NOT NULL,
		lat REAL,
		lon REAL,
		client TEXT NOT NULL,
		verdict TEXT NOT NULL,
		owner_id TEXT NOT NULL
	) WITHOUT ROWID`,
	// A code's scans with a location, for the impossible-travel check; the
	// primary key (id) trails every index of a WITHOUT ROWID table, so this
	// one serves LocatedBefore's ORDER BY at DESC, id DESC. Scans without
	// a location, most of them, are in no index by code: with one, each
	// stored scan rewrote a random page of it (codes are scanned in no
	// order), the largest part of storing scans. Counts are in scan_counts.
	`DROP INDEX IF EXISTS scans_code`,
	`CREATE INDEX IF NOT EXISTS scans_located ON scans(gtin, serial, at) WHERE lat IS NOT NULL`,
	// Serves CountRecalledScans, the count recall effectiveness reads:
	// equality, then the time range; serial trails it so that the count
	// reads the index alone. Only recalled scans are in
	// it: an index of every scan's verdict cost each stored scan an index
	// entry more for a count nothing else asks for.
	`DROP INDEX IF EXISTS scans_verdict`,
	`CREATE INDEX IF NOT EXISTS scans_recalled ON scans(gtin, at, serial) WHERE verdict = 'recalled'`,
	// Each code's scans, counted as they are stored: a page shows how
	// often a code was checked, and counting a code's rows costs as many
	// rows as it has scans, which a cloned code piles up by the thousand. A store from before the count gets it from its scans,
	// in the same migration that adds the trigger. The gate, a one-row
	// table or none, is the outer loop (CROSS JOIN keeps it there): with
	// counts present the statement reads no scan (a WHERE NOT EXISTS on
	// the grouped scan read all of them at every start).
	`CREATE TABLE IF NOT EXISTS scan_counts (
		gtin TEXT NOT NULL,
		serial TEXT NOT NULL,
		n INTEGER NOT NULL,
		PRIMARY KEY (gtin, serial)
	) WITHOUT ROWID`,
	`INSERT INTO scan_counts (gtin, serial, n)
		SELECT s.gtin, s.serial, COUNT(*) FROM (SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM scan_counts)) AS gate
		CROSS JOIN scans s GROUP BY s.gtin, s.serial`,
	`CREATE TRIGGER IF NOT EXISTS scans_counted AFTER INSERT ON scans BEGIN
		INSERT INTO scan_counts (gtin, serial, n) VALUES (NEW.gtin, NEW.serial, 1)
			ON CONFLICT (gtin, serial) DO UPDATE SET n = n + 1;
	END`,
	`CREATE TABLE IF NOT EXISTS alerts (
		id TEXT PRIMARY KEY,
		kind TEXT NOT NULL,
		gtin TEXT NOT NULL,
		serial TEXT NOT NULL,
		owner_id TEXT NOT NULL,
		scans TEXT NOT NULL,
		detail TEXT NOT NULL,
		created_at INTEGER NOT NULL
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS alerts_owner ON alerts(owner_id, id)`,
	`CREATE INDEX IF NOT EXISTS alerts_kind ON alerts(kind, id)`,
	// One alert per kind and code, however many processes raise it. A
	// store from before the key keeps the first of any duplicates.
	`DELETE FROM alerts WHERE id NOT IN (SELECT MIN(id) FROM alerts GROUP BY kind, gtin, serial)`,
	`DROP INDEX IF EXISTS alerts_code`,
	`CREATE UNIQUE INDEX IF NOT EXISTS alerts_kind_code ON alerts(kind, gtin, serial)`,
}

// InsertScans implements [scan.Store] in one transaction.
func (s *Store) InsertScans(ctx context.Context, scans []scan.Scan) error {
	if len(scans) == 0 {
		return nil
	}
	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows := newGroupedInsert(tx, 10, `INSERT INTO scans (`+scanCols+`) VALUES `, ` ON CONFLICT(id) DO NOTHING`)
	for _, sc := range scans {
		var lat, lon any
		if sc.HasLocation {
			lat, lon = sc.Lat, sc.Lon
		}
		if err := rows.add(ctx, sc.ID, sc.GTIN, sc.Serial, sc.Lot, sqlitedb.Millis(sc.At), lat, lon, sc.Client, string(sc.Verdict), sc.Owner); err != nil {
			return fmt.Errorf("store scans up to %s: %w", sc.ID, err)
		}
	}
	if err := rows.flush(ctx); err != nil {
		return fmt.Errorf("store %d scans: %w", len(scans), err)
	}
	return tx.Commit()
}

const scanCols = `id, gtin, serial, lot, at, lat, lon, client, verdict, owner_id`

func scanScan(row sqlitedb.Scanner) (scan.Scan, error) {
	var sc scan.Scan
	var at int64
	var lat, lon sql.NullFloat64
	if err := row.Scan(&sc.ID, &sc.GTIN, &sc.Serial, &sc.Lot, &at, &lat, &lon, &sc.Client, &sc.Verdict, &sc.Owner); err != nil {
		return scan.Scan{}, err
	}
	sc.At = sqlitedb.FromMillis(at)
	if lat.Valid && lon.Valid {
		sc.HasLocation, sc.Lat, sc.Lon = true, lat.Float64, lon.Float64
	}
	return sc, nil
}

// LocatedBefore implements [scan.Store].
func (s *Store) LocatedBefore(ctx context.Context, gtin, serial, before string) (scan.Scan, bool, error) {
	sc, err := scanScan(s.db.R.QueryRowContext(ctx, `SELECT `+scanCols+` FROM scans INDEXED BY scans_located
		WHERE gtin = ? AND serial = ? AND lat IS NOT NULL AND id < ? ORDER BY at DESC, id DESC LIMIT 1`, gtin, serial, before))
	if errors.Is(err, sql.ErrNoRows) {
		return scan.Scan{}, false, nil
	}
	if err != nil {
		return scan.Scan{}, false, fmt.Errorf("latest located scan of %s/%s: %w", gtin, serial, translate(err, nil))
	}
	return sc, true, nil
}

// CountScans implements [scan.Store].
func (s *Store) CountScans(ctx context.Context, gtin, serial string) (int, error) {
	var n int
	err := s.db.R.QueryRowContext(ctx, `SELECT n FROM scan_counts WHERE gtin = ? AND serial = ?`, gtin, serial).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// countChunk is how many codes one CountScansOf query asks about.
const countChunk = 400

// CountScansOf implements [scan.Store]: the stored counts of the codes,
// in queries of countChunk codes.
func (s *Store) CountScansOf(ctx context.Context, codes []scan.CodeKey) (map[scan.CodeKey]int, error) {
	counts := map[scan.CodeKey]int{}
	for chunk := range slices.Chunk(codes, countChunk) {
		args := make([]any, 0, 2*len(chunk))
		for _, c := range chunk {
			args = append(args, c.GTIN, c.Serial)
		}
		// A correlated lookup per code seeks the key; (gtin, serial) IN
		// (VALUES …) would scan the whole table instead.
		rows, err := s.db.R.QueryContext(ctx, `WITH k(g, s) AS (VALUES `+strings.TrimSuffix(strings.Repeat("(?,?),", len(chunk)), ",")+`)
			SELECT g, s, COALESCE((SELECT n FROM scan_counts WHERE gtin = k.g AND serial = k.s), 0) FROM k`, args...)
		if err != nil {
			return nil, fmt.Errorf("count scans of %d codes: %w", len(chunk), translate(err, nil))
		}
		for rows.Next() {
			var c scan.CodeKey
			var n int
			if err := rows.Scan(&c.GTIN, &c.Serial, &n); err != nil {
				rows.Close()
				return nil, err
			}
			if n > 0 {
				counts[c] = n
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("count scans of %d codes: %w", len(chunk), translate(err, nil))
		}
	}
	return counts, nil
}

// countRecalled is CountRecalledScans' query and its arguments, which
// the partial index scans_recalled serves: the query names its verdict as
// the index does.
func countRecalled(gtin string, since time.Time, limit int) (string, []any) {
	return `SELECT serial, COUNT(*) FROM scans
		WHERE gtin = ? AND verdict = 'recalled' AND at >= ? AND serial <> ''
		GROUP BY serial ORDER BY serial LIMIT ?`, []any{gtin, sqlitedb.Millis(since), limit}
}

// CountRecalledScans implements [scan.Store].
func (s *Store) CountRecalledScans(ctx context.Context, gtin string, since time.Time, limit int) (map[string]int, error) {
	counts := map[string]int{}
	if limit < 1 {
		return counts, nil // SQLite reads LIMIT -1 as no limit at all
	}
	q, args := countRecalled(gtin, since, limit)
	rows, err := s.db.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("count recalled scans of %s: %w", gtin, translate(err, nil))
	}
	defer rows.Close()
	for rows.Next() {
		var serial string
		var n int
		if err := rows.Scan(&serial, &n); err != nil {
			return nil, fmt.Errorf("count recalled scans of %s: %w", gtin, translate(err, nil))
		}
		counts[serial] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count recalled scans of %s: %w", gtin, translate(err, nil))
	}
	return counts, nil
}

// InsertAlert implements [scan.Store].
func (s *Store) InsertAlert(ctx context.Context, a scan.Alert) error {
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO alerts (`+alertCols+`) VALUES (?,?,?,?,?,?,?,?)`,
		a.ID, string(a.Kind), a.GTIN, a.Serial, a.Owner, mustJSON(a.Scans), a.Detail, sqlitedb.Millis(a.CreatedAt))
	return translate(err, map[string]string{"alerts.id": "id", "alerts.kind": "kind"})
}

const alertCols = `id, kind, gtin, serial, owner_id, scans, detail, created_at`

func scanAlert(row sqlitedb.Scanner) (scan.Alert, error) {
	var a scan.Alert
	var scans string
	var created int64
	if err := row.Scan(&a.ID, &a.Kind, &a.GTIN, &a.Serial, &a.Owner, &scans, &a.Detail, &created); err != nil {
		return scan.Alert{}, err
	}
	if err := json.Unmarshal([]byte(scans), &a.Scans); err != nil {
		return scan.Alert{}, fmt.Errorf("alert %s: scans: %w", a.ID, err)
	}
	a.CreatedAt = sqlitedb.FromMillis(created)
	return a, nil
}

// ListAlerts implements [scan.Store].
func (s *Store) ListAlerts(ctx context.Context, f scan.AlertFilter, p trace.Page) ([]scan.Alert, error) {
	q := `SELECT ` + alertCols + ` FROM alerts WHERE id > ?`
	args := []any{p.After}
	if f.Owner != "" {
		q += ` AND owner_id = ?`
		args = append(args, f.Owner)
	}
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, string(f.Kind))
	}
	rows, err := s.db.R.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, err
	}
	return sqlitedb.Collect(rows, scanAlert)
}

// HasAlert implements [scan.Store].
func (s *Store) HasAlert(ctx context.Context, kind scan.AlertKind, gtin, serial string) (bool, error) {
	var found bool
	err := s.db.R.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM alerts WHERE kind = ? AND gtin = ? AND serial = ?)`,
		string(kind), gtin, serial).Scan(&found)
	return found, err
}
