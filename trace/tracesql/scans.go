package tracesql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"tracesvc/trace"
)

var (
	_ trace.ScanStore   = (*Store)(nil)
	_ trace.TipoffStore = (*Store)(nil)
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
	// The primary key (id) trails every index of a WITHOUT ROWID table, so
	// this one also serves RecentScans' ORDER BY at DESC, id DESC.
	`CREATE INDEX IF NOT EXISTS scans_code ON scans(gtin, serial, at)`,
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
	`CREATE INDEX IF NOT EXISTS alerts_code ON alerts(kind, gtin, serial)`,
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

// InsertScans implements [trace.ScanStore] in one transaction.
func (s *Store) InsertScans(ctx context.Context, scans []trace.Scan) error {
	if len(scans) == 0 {
		return nil
	}
	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO scans (id, gtin, serial, lot, at, lat, lon, client, verdict, owner_id)
		VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, sc := range scans {
		var lat, lon any
		if sc.HasLocation {
			lat, lon = sc.Lat, sc.Lon
		}
		if _, err := ins.ExecContext(ctx, sc.ID, sc.GTIN, sc.Serial, sc.Lot, ms(sc.At), lat, lon, sc.Client,
			string(sc.Verdict), sc.Owner); err != nil {
			return fmt.Errorf("store scan %s: %w", sc.ID, err)
		}
	}
	return tx.Commit()
}

const scanCols = `id, gtin, serial, lot, at, lat, lon, client, verdict, owner_id`

func scanScan(row scanner) (trace.Scan, error) {
	var sc trace.Scan
	var at int64
	var lat, lon sql.NullFloat64
	if err := row.Scan(&sc.ID, &sc.GTIN, &sc.Serial, &sc.Lot, &at, &lat, &lon, &sc.Client, &sc.Verdict, &sc.Owner); err != nil {
		return trace.Scan{}, err
	}
	sc.At = fromMS(at)
	if lat.Valid && lon.Valid {
		sc.HasLocation, sc.Lat, sc.Lon = true, lat.Float64, lon.Float64
	}
	return sc, nil
}

// RecentScans implements [trace.ScanStore].
func (s *Store) RecentScans(ctx context.Context, gtin, serial string, limit int) ([]trace.Scan, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+scanCols+` FROM scans WHERE gtin = ? AND serial = ?
		ORDER BY at DESC, id DESC LIMIT ?`, gtin, serial, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanScan)
}

// CountScans implements [trace.ScanStore].
func (s *Store) CountScans(ctx context.Context, gtin, serial string) (int, error) {
	var n int
	err := s.db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM scans WHERE gtin = ? AND serial = ?`, gtin, serial).Scan(&n)
	return n, err
}

// InsertAlert implements [trace.ScanStore].
func (s *Store) InsertAlert(ctx context.Context, a trace.Alert) error {
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO alerts (`+alertCols+`) VALUES (?,?,?,?,?,?,?,?)`,
		a.ID, string(a.Kind), a.GTIN, a.Serial, a.Owner, mustJSON(a.Scans), a.Detail, ms(a.CreatedAt))
	return Translate(err, map[string]string{"alerts.id": "id"})
}

const alertCols = `id, kind, gtin, serial, owner_id, scans, detail, created_at`

func scanAlert(row scanner) (trace.Alert, error) {
	var a trace.Alert
	var scans string
	var created int64
	if err := row.Scan(&a.ID, &a.Kind, &a.GTIN, &a.Serial, &a.Owner, &scans, &a.Detail, &created); err != nil {
		return trace.Alert{}, err
	}
	if err := json.Unmarshal([]byte(scans), &a.Scans); err != nil {
		return trace.Alert{}, fmt.Errorf("alert %s: scans: %w", a.ID, err)
	}
	a.CreatedAt = fromMS(created)
	return a, nil
}

// ListAlerts implements [trace.ScanStore].
func (s *Store) ListAlerts(ctx context.Context, f trace.AlertFilter, p trace.Page) ([]trace.Alert, error) {
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
	return collect(rows, scanAlert)
}

// HasAlert implements [trace.ScanStore].
func (s *Store) HasAlert(ctx context.Context, kind trace.AlertKind, gtin, serial string) (bool, error) {
	var found bool
	err := s.db.R.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM alerts WHERE kind = ? AND gtin = ? AND serial = ?)`,
		string(kind), gtin, serial).Scan(&found)
	return found, err
}

// msOrNull is t in milliseconds, or NULL when t is zero.
func msOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ms(t)
}

// fromNullMS is the inverse of msOrNull.
func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

var tipoffFields = map[string]string{"tipoffs.id": "id", "tipoffs.receipt": "receipt"}

const tipoffCols = `id, receipt, subject, code, gtin, entity_id, category, description, anonymous, name, contact, client,
	status, note, handled_by, created_at, updated_at, deadline, notify_by`

func scanTipoff(row scanner) (trace.Tipoff, error) {
	var t trace.Tipoff
	var created, updated int64
	var deadline, notify sql.NullInt64
	if err := row.Scan(&t.ID, &t.Receipt, &t.Subject, &t.Code, &t.GTIN, &t.EntityID, &t.Category, &t.Description,
		&t.Anonymous, &t.Name, &t.Contact, &t.Client, &t.Status, &t.Note, &t.HandledBy, &created, &updated,
		&deadline, &notify); err != nil {
		return trace.Tipoff{}, err
	}
	t.CreatedAt, t.UpdatedAt = fromMS(created), fromMS(updated)
	t.Deadline, t.NotifyBy = fromNullMS(deadline), fromNullMS(notify)
	return t, nil
}

// CreateTipoff implements [trace.TipoffStore].
func (s *Store) CreateTipoff(ctx context.Context, t trace.Tipoff) error {
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO tipoffs (`+tipoffCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		t.ID, t.Receipt, t.Subject, t.Code, t.GTIN, t.EntityID, t.Category, t.Description, t.Anonymous, t.Name,
		t.Contact, t.Client, string(t.Status), t.Note, t.HandledBy, ms(t.CreatedAt), ms(t.UpdatedAt),
		msOrNull(t.Deadline), msOrNull(t.NotifyBy))
	return Translate(err, tipoffFields)
}

// Tipoff implements [trace.TipoffStore].
func (s *Store) Tipoff(ctx context.Context, receipt string) (trace.Tipoff, error) {
	t, err := scanTipoff(s.db.R.QueryRowContext(ctx, `SELECT `+tipoffCols+` FROM tipoffs WHERE receipt = ?`, receipt))
	return t, Translate(err, nil)
}

// ListTipoffs implements [trace.TipoffStore].
func (s *Store) ListTipoffs(ctx context.Context, status trace.TipoffStatus, p trace.Page) ([]trace.Tipoff, error) {
	q := `SELECT ` + tipoffCols + ` FROM tipoffs WHERE id > ?`
	args := []any{p.After}
	if status != "" {
		q += ` AND status = ?`
		args = append(args, string(status))
	}
	rows, err := s.db.R.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanTipoff)
}

// UpdateTipoff implements [trace.TipoffStore].
func (s *Store) UpdateTipoff(ctx context.Context, receipt string, status trace.TipoffStatus, note, by string, at time.Time) (trace.Tipoff, error) {
	var u setter
	u.set("status", string(status))
	u.set("note", note)
	u.set("handled_by", by)
	u.set("updated_at", ms(at))
	return update(ctx, s, "tipoffs", "receipt = ?", []any{receipt}, u, tipoffFields, func(tx *sql.Tx) (trace.Tipoff, error) {
		return scanTipoff(tx.QueryRowContext(ctx, `SELECT `+tipoffCols+` FROM tipoffs WHERE receipt = ?`, receipt))
	})
}
