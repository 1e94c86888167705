package standardssql

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/sqlitedb"
)

var _ standards.IncidentStore = (*Store)(nil)

// incidentSchema is the incident reports' tables. Dates are YYYY-MM-DD
// text, which sorts as it compares; instants are Unix milliseconds.
var incidentSchema = []string{
	`CREATE TABLE IF NOT EXISTS incidents (
		id TEXT PRIMARY KEY,
		entity_id TEXT NOT NULL,
		filed_by TEXT NOT NULL,
		owner_id TEXT NOT NULL,
		gtin TEXT NOT NULL,
		lot TEXT NOT NULL,
		category TEXT NOT NULL,
		codes TEXT NOT NULL,
		event_date TEXT NOT NULL,
		event_month TEXT NOT NULL,
		aware_date TEXT NOT NULL,
		severity TEXT NOT NULL,
		persons_affected INTEGER NOT NULL,
		description TEXT NOT NULL,
		location TEXT NOT NULL,
		distribution TEXT NOT NULL,
		remedial_action TEXT NOT NULL,
		contact_name TEXT NOT NULL,
		contact_phone TEXT NOT NULL,
		contact_email TEXT NOT NULL,
		deadline_date TEXT NOT NULL,
		deadline INTEGER NOT NULL,
		deadline_from TEXT NOT NULL,
		provisional INTEGER NOT NULL,
		late INTEGER NOT NULL,
		awareness_id TEXT NOT NULL,
		status TEXT NOT NULL,
		recall_id TEXT NOT NULL,
		note TEXT NOT NULL,
		handled_by TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	) WITHOUT ROWID`,
	// The credit record's question: an entity's late reports in a period.
	`CREATE INDEX IF NOT EXISTS incidents_entity_late ON incidents(entity_id, late, created_at)`,
	// Clusters: a product's reports by event date.
	`CREATE INDEX IF NOT EXISTS incidents_gtin_event ON incidents(gtin, event_date)`,
	`CREATE INDEX IF NOT EXISTS incidents_owner ON incidents(owner_id, id)`,
	`CREATE INDEX IF NOT EXISTS incidents_status ON incidents(status, id)`,
	`CREATE INDEX IF NOT EXISTS incidents_month ON incidents(event_month, category)`,
	`CREATE TABLE IF NOT EXISTS incident_awareness (
		id TEXT PRIMARY KEY,
		entity_id TEXT NOT NULL,
		gtin TEXT NOT NULL,
		lot TEXT NOT NULL,
		source TEXT NOT NULL,
		reference TEXT NOT NULL,
		aware_date TEXT NOT NULL,
		severity TEXT NOT NULL,
		deadline_date TEXT NOT NULL,
		deadline INTEGER NOT NULL,
		incident_id TEXT NOT NULL,
		recorded_by TEXT NOT NULL,
		created_at INTEGER NOT NULL
	) WITHOUT ROWID`,
	// Open records of an entity on a product, and the overdue ones ('' is
	// not answered yet).
	`CREATE INDEX IF NOT EXISTS incident_awareness_open ON incident_awareness(entity_id, gtin, incident_id, aware_date)`,
	`CREATE INDEX IF NOT EXISTS incident_awareness_overdue ON incident_awareness(incident_id, deadline)`,
}

const incidentCols = `id, entity_id, filed_by, owner_id, gtin, lot, category, codes, event_date, event_month, aware_date,
	severity, persons_affected, description, location, distribution, remedial_action, contact_name, contact_phone,
	contact_email, deadline_date, deadline, deadline_from, provisional, late, awareness_id, status, recall_id, note,
	handled_by, created_at, updated_at`

func scanIncident(row sqlitedb.Scanner) (standards.Incident, error) {
	var r standards.Incident
	var codes, month string
	var c standards.Contact
	var deadline, created, updated int64
	if err := row.Scan(&r.ID, &r.EntityID, &r.FiledBy, &r.OwnerID, &r.GTIN, &r.Lot, &r.Category, &codes, &r.EventDate,
		&month, &r.AwareDate, &r.Severity, &r.PersonsAffected, &r.Description, &r.Location, &r.Distribution,
		&r.RemedialAction, &c.Name, &c.Phone, &c.Email, &r.DeadlineDate, &deadline, &r.DeadlineFrom, &r.Provisional,
		&r.Late, &r.AwarenessID, &r.Status, &r.RecallID, &r.Note, &r.HandledBy, &created, &updated); err != nil {
		return standards.Incident{}, err
	}
	if err := json.Unmarshal([]byte(codes), &r.Codes); err != nil {
		return standards.Incident{}, fmt.Errorf("incident %s: codes: %w", r.ID, err)
	}
	r.Contact = &c
	r.Deadline, r.CreatedAt, r.UpdatedAt = sqlitedb.FromMillis(deadline), sqlitedb.FromMillis(created), sqlitedb.FromMillis(updated)
	return r, nil
}

// CreateIncident implements [standards.IncidentStore].
func (s *Store) CreateIncident(ctx context.Context, r standards.Incident) error {
	codes, err := json.Marshal(r.Codes)
	if err != nil {
		return fmt.Errorf("incident %s: codes: %w", r.ID, err)
	}
	if r.Codes == nil {
		codes = []byte("[]")
	}
	var c standards.Contact
	if r.Contact != nil {
		c = *r.Contact
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO incidents (`+incidentCols+`) VALUES (`+sqlitedb.Marks(32)+`)`,
		r.ID, r.EntityID, r.FiledBy, r.OwnerID, r.GTIN, r.Lot, string(r.Category), string(codes), r.EventDate,
		monthOf(r.EventDate), r.AwareDate, string(r.Severity), r.PersonsAffected, r.Description, r.Location,
		r.Distribution, r.RemedialAction, c.Name, c.Phone, c.Email, r.DeadlineDate, sqlitedb.Millis(r.Deadline),
		r.DeadlineFrom, r.Provisional, r.Late, r.AwarenessID, string(r.Status), r.RecallID, r.Note, r.HandledBy,
		sqlitedb.Millis(r.CreatedAt), sqlitedb.Millis(r.UpdatedAt))
	return translate(err, map[string]string{"incidents.id": "id"})
}

// monthOf is the YYYY-MM of a YYYY-MM-DD date.
func monthOf(date string) string {
	if len(date) < 7 {
		return date
	}
	return date[:7]
}

// Incident implements [standards.IncidentStore].
func (s *Store) Incident(ctx context.Context, id string) (standards.Incident, error) {
	r, err := scanIncident(s.r.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE id = ?`, id))
	return r, translate(err, nil)
}

// ListIncidents implements [standards.IncidentStore].
func (s *Store) ListIncidents(ctx context.Context, f standards.IncidentFilter, p trace.Page) ([]standards.Incident, error) {
	q := `SELECT ` + incidentCols + ` FROM incidents WHERE id > ?`
	args := []any{p.After}
	add := func(cond string, v ...any) { q += ` AND ` + cond; args = append(args, v...) }
	if f.Party != "" {
		add(`(entity_id = ? OR owner_id = ?)`, f.Party, f.Party)
	}
	if f.EntityID != "" {
		add(`entity_id = ?`, f.EntityID)
	}
	if f.GTIN != "" {
		add(`gtin = ?`, f.GTIN)
	}
	if f.Status != "" {
		add(`status = ?`, string(f.Status))
	}
	if f.Severity != "" {
		add(`severity = ?`, string(f.Severity))
	}
	if f.Late != nil {
		add(`late = ?`, *f.Late)
	}
	if !f.FiledFrom.IsZero() {
		add(`created_at >= ?`, sqlitedb.Millis(f.FiledFrom))
	}
	if !f.FiledTo.IsZero() {
		add(`created_at < ?`, sqlitedb.Millis(f.FiledTo))
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, translate(err, nil)
	}
	list, err := sqlitedb.Collect(rows, scanIncident)
	return list, translate(err, nil)
}

// UpdateIncident implements [standards.IncidentStore], conditional on the
// status read.
func (s *Store) UpdateIncident(ctx context.Context, id string, c standards.IncidentChange) (standards.Incident, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return standards.Incident{}, translate(err, nil)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE incidents SET status = ?, note = ?, handled_by = ?, updated_at = ?,
		recall_id = CASE WHEN ? != '' THEN ? ELSE recall_id END WHERE id = ? AND status = ?`,
		string(c.Status), c.Note, c.By, sqlitedb.Millis(c.At), c.RecallID, c.RecallID, id, string(c.From))
	if err != nil {
		return standards.Incident{}, translate(err, nil)
	}
	r, err := scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE id = ?`, id))
	if err != nil {
		return standards.Incident{}, translate(err, nil)
	}
	if n, err := res.RowsAffected(); err != nil {
		return standards.Incident{}, translate(err, nil)
	} else if n == 0 {
		return standards.Incident{}, fmt.Errorf("incident %s is %s now, not %s: %w", id, r.Status, c.From, standards.ErrConflict)
	}
	return r, translate(tx.Commit(), nil)
}

// IncidentDates implements [standards.IncidentStore].
func (s *Store) IncidentDates(ctx context.Context, gtin, from, to string, limit int) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT event_date FROM incidents WHERE gtin = ? AND event_date >= ? AND event_date <= ?
		ORDER BY event_date LIMIT ?`, gtin, from, to, limit)
	if err != nil {
		return nil, translate(err, nil)
	}
	list, err := sqlitedb.Collect(rows, func(row sqlitedb.Scanner) (string, error) {
		var d string
		return d, row.Scan(&d)
	})
	return list, translate(err, nil)
}

// IncidentStats implements [standards.IncidentStore].
func (s *Store) IncidentStats(ctx context.Context, fromMonth, toMonth string) ([]standards.IncidentCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT category, event_month, count(*) FROM incidents
		WHERE event_month >= ? AND event_month <= ? GROUP BY event_month, category ORDER BY event_month, category`, fromMonth, toMonth)
	if err != nil {
		return nil, translate(err, nil)
	}
	list, err := sqlitedb.Collect(rows, func(row sqlitedb.Scanner) (standards.IncidentCount, error) {
		var c standards.IncidentCount
		return c, row.Scan(&c.Category, &c.Month, &c.Reports)
	})
	return list, translate(err, nil)
}

const awarenessCols = `id, entity_id, gtin, lot, source, reference, aware_date, severity, deadline_date, deadline,
	incident_id, recorded_by, created_at`

func scanAwareness(row sqlitedb.Scanner) (standards.Awareness, error) {
	var a standards.Awareness
	var deadline, created int64
	if err := row.Scan(&a.ID, &a.EntityID, &a.GTIN, &a.Lot, &a.Source, &a.Reference, &a.AwareDate, &a.Severity,
		&a.DeadlineDate, &deadline, &a.IncidentID, &a.RecordedBy, &created); err != nil {
		return standards.Awareness{}, err
	}
	a.Deadline, a.CreatedAt = sqlitedb.FromMillis(deadline), sqlitedb.FromMillis(created)
	return a, nil
}

// CreateAwareness implements [standards.IncidentStore].
func (s *Store) CreateAwareness(ctx context.Context, a standards.Awareness) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO incident_awareness (`+awarenessCols+`) VALUES (`+sqlitedb.Marks(13)+`)`,
		a.ID, a.EntityID, a.GTIN, a.Lot, a.Source, a.Reference, a.AwareDate, string(a.Severity), a.DeadlineDate,
		sqlitedb.Millis(a.Deadline), a.IncidentID, a.RecordedBy, sqlitedb.Millis(a.CreatedAt))
	return translate(err, map[string]string{"incident_awareness.id": "id"})
}

// OpenAwareness implements [standards.IncidentStore].
func (s *Store) OpenAwareness(ctx context.Context, entityID, gtin string) ([]standards.Awareness, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+awarenessCols+` FROM incident_awareness
		WHERE entity_id = ? AND gtin = ? AND incident_id = '' ORDER BY aware_date, id LIMIT 100`, entityID, gtin)
	if err != nil {
		return nil, translate(err, nil)
	}
	list, err := sqlitedb.Collect(rows, scanAwareness)
	return list, translate(err, nil)
}

// LinkAwareness implements [standards.IncidentStore].
func (s *Store) LinkAwareness(ctx context.Context, id, incidentID string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE incident_awareness SET incident_id = ? WHERE id = ? AND incident_id = ''`, incidentID, id)
	if err != nil {
		return translate(err, nil)
	}
	if n, err := res.RowsAffected(); err != nil {
		return translate(err, nil)
	} else if n == 1 {
		return nil
	}
	var linked string
	if err := s.w.QueryRowContext(ctx, `SELECT incident_id FROM incident_awareness WHERE id = ?`, id).Scan(&linked); err != nil {
		return fmt.Errorf("awareness %s: %w", id, translate(err, nil))
	}
	return fmt.Errorf("awareness %s is answered by report %s already: %w", id, linked, standards.ErrConflict)
}

// ListAwareness implements [standards.IncidentStore].
func (s *Store) ListAwareness(ctx context.Context, overdueAt time.Time, p trace.Page) ([]standards.Awareness, error) {
	q := `SELECT ` + awarenessCols + ` FROM incident_awareness WHERE id > ?`
	args := []any{p.After}
	if !overdueAt.IsZero() {
		q += ` AND incident_id = '' AND deadline <= ?`
		args = append(args, sqlitedb.Millis(overdueAt))
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, translate(err, nil)
	}
	list, err := sqlitedb.Collect(rows, scanAwareness)
	return list, translate(err, nil)
}
