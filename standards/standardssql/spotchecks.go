package standardssql

import (
	"context"
	"encoding/json"
	"fmt"

	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/sqlitedb"
)

var _ standards.SpotCheckStore = (*Store)(nil)

// spotCheckSchema keeps each spot check as its JSON body beside the
// columns its lists filter on; a lab's sample code is recorded once.
var spotCheckSchema = []string{
	`CREATE TABLE IF NOT EXISTS spot_checks (
		id TEXT PRIMARY KEY,
		entity_id TEXT NOT NULL,
		gtin TEXT NOT NULL,
		result TEXT NOT NULL,
		reported_on TEXT NOT NULL,
		lab TEXT NOT NULL,
		sample_code TEXT NOT NULL,
		body TEXT NOT NULL,
		UNIQUE (lab, sample_code)
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS spot_checks_entity ON spot_checks(entity_id, result, id)`,
	`CREATE INDEX IF NOT EXISTS spot_checks_gtin ON spot_checks(gtin, id)`,
}

// CreateSpotCheck implements [standards.SpotCheckStore].
func (s *Store) CreateSpotCheck(ctx context.Context, c standards.SpotCheck) error {
	body, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("standardssql: spot check %s: %w", c.ID, err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO spot_checks (id, entity_id, gtin, result, reported_on, lab, sample_code, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, c.ID, c.EntityID, c.GTIN, c.Result, c.ReportedOn, c.Lab, c.SampleCode, body)
	return translate(err, map[string]string{"spot_checks.id": "id", "spot_checks.lab": "sampleCode", "spot_checks.sample_code": "sampleCode"})
}

func scanSpotCheck(row sqlitedb.Scanner) (standards.SpotCheck, error) {
	var body []byte
	if err := row.Scan(&body); err != nil {
		return standards.SpotCheck{}, err
	}
	var c standards.SpotCheck
	if err := json.Unmarshal(body, &c); err != nil {
		return standards.SpotCheck{}, fmt.Errorf("standardssql: a stored spot check does not read: %w", err)
	}
	return c, nil
}

// SpotCheck implements [standards.SpotCheckStore].
func (s *Store) SpotCheck(ctx context.Context, id string) (standards.SpotCheck, error) {
	c, err := scanSpotCheck(s.r.QueryRowContext(ctx, `SELECT body FROM spot_checks WHERE id = ?`, id))
	return c, translate(err, nil)
}

// ListSpotChecks implements [standards.SpotCheckStore].
func (s *Store) ListSpotChecks(ctx context.Context, f standards.SpotCheckFilter, p trace.Page) ([]standards.SpotCheck, error) {
	q := `SELECT body FROM spot_checks WHERE id > ?`
	args := []any{p.After}
	for _, c := range []struct{ cond, v string }{{"entity_id = ?", f.EntityID}, {"gtin = ?", f.GTIN}, {"result = ?", f.Result},
		{"reported_on >= ?", f.From}, {"reported_on <= ?", f.To}} {
		if c.v != "" {
			q += ` AND ` + c.cond
			args = append(args, c.v)
		}
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, translate(err, nil)
	}
	list, err := sqlitedb.Collect(rows, scanSpotCheck)
	return list, translate(err, nil)
}
