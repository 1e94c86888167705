package recallsql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"tracesvc/recall"
	"tracesvc/trace"
	"tracesvc/trace/sqlitedb"
)

var _ recall.CampaignStore = (*Store)(nil)

// campaignSchema keeps each campaign and notice as its JSON body beside the
// columns their lists filter on; recall_keys finds the campaigns covering
// a scanned code. Times are milliseconds; a notice not acknowledged has
// acked_at NULL.
var campaignSchema = []string{
	`CREATE TABLE IF NOT EXISTS recall_campaigns (
		id TEXT PRIMARY KEY,
		status TEXT NOT NULL,
		kind TEXT NOT NULL,
		opened_at INTEGER,
		version INTEGER NOT NULL,
		body TEXT NOT NULL
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS recall_campaigns_status ON recall_campaigns(status, id)`,
	`CREATE TABLE IF NOT EXISTS recall_campaign_makers (
		maker TEXT NOT NULL,
		campaign_id TEXT NOT NULL,
		PRIMARY KEY (maker, campaign_id)
	) WITHOUT ROWID`,
	// UpdateCampaign replaces a campaign's makers by campaign_id, which the
	// primary key (maker first) cannot serve: without this index every
	// update scanned the whole table.
	`CREATE INDEX IF NOT EXISTS recall_campaign_makers_campaign ON recall_campaign_makers(campaign_id)`,
	`CREATE TABLE IF NOT EXISTS recall_keys (
		key TEXT NOT NULL,
		campaign_id TEXT NOT NULL,
		PRIMARY KEY (key, campaign_id)
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS recall_notices (
		id TEXT PRIMARY KEY,
		campaign_id TEXT NOT NULL,
		entity_id TEXT NOT NULL,
		ack_by INTEGER NOT NULL,
		acked_at INTEGER,
		version INTEGER NOT NULL,
		body TEXT NOT NULL
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS recall_notices_entity ON recall_notices(entity_id, id)`,
	`CREATE INDEX IF NOT EXISTS recall_notices_unacked ON recall_notices(ack_by) WHERE acked_at IS NULL`,
}

func campaignBody(c recall.Campaign) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("recallsql: campaign %s: %w", c.ID, err)
	}
	return b, nil
}

// CreateCampaign implements [recall.CampaignStore].
func (s *Store) CreateCampaign(ctx context.Context, c recall.Campaign) error {
	body, err := campaignBody(c)
	if err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO recall_campaigns (id, status, kind, opened_at, version, body) VALUES (?, ?, ?, ?, 1, ?)`,
		c.ID, string(c.Status), string(c.Kind), sqlitedb.MillisOrNull(c.OpenedAt), body); err != nil {
		return translate(err)
	}
	for _, m := range c.Makers {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO recall_campaign_makers (maker, campaign_id) VALUES (?, ?)`, m, c.ID); err != nil {
			return translate(err)
		}
	}
	return translate(tx.Commit())
}

// scanBody reads a row's JSON body and version into a T; what names it
// in errors.
func scanBody[T any](row sqlitedb.Scanner, what string, setVersion func(*T, int)) (T, error) {
	var body []byte
	var version int
	var v T
	if err := row.Scan(&body, &version); err != nil {
		return v, err
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("recallsql: a stored %s does not read: %w", what, err)
	}
	setVersion(&v, version)
	return v, nil
}

func scanCampaign(row sqlitedb.Scanner) (recall.Campaign, error) {
	return scanBody(row, "campaign", func(c *recall.Campaign, v int) { c.Version = v })
}

// Campaign implements [recall.CampaignStore].
func (s *Store) Campaign(ctx context.Context, id string) (recall.Campaign, error) {
	c, err := scanCampaign(s.r.QueryRowContext(ctx, `SELECT body, version FROM recall_campaigns WHERE id = ?`, id))
	return c, translate(err)
}

// ListCampaigns implements [recall.CampaignStore].
func (s *Store) ListCampaigns(ctx context.Context, f recall.CampaignFilter, p trace.Page) ([]recall.Campaign, error) {
	q := `SELECT body, version FROM recall_campaigns WHERE id > ?`
	args := []any{p.After}
	if len(f.Statuses) > 0 {
		q += ` AND status IN (` + sqlitedb.Marks(len(f.Statuses)) + `)`
		for _, st := range f.Statuses {
			args = append(args, string(st))
		}
	}
	if f.Maker != "" {
		q += ` AND id IN (SELECT campaign_id FROM recall_campaign_makers WHERE maker = ?)`
		args = append(args, f.Maker)
	}
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, string(f.Kind))
	}
	if !f.OpenedFrom.IsZero() {
		q += ` AND opened_at >= ?`
		args = append(args, sqlitedb.Millis(f.OpenedFrom))
	}
	if !f.OpenedTo.IsZero() {
		q += ` AND opened_at < ?`
		args = append(args, sqlitedb.Millis(f.OpenedTo))
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, translate(err)
	}
	list, err := sqlitedb.Collect(rows, scanCampaign)
	return list, translate(err)
}

// conditional runs an update that matched no row and tells why: the
// record is gone, or its version moved.
func conditional(ctx context.Context, tx *sql.Tx, res sql.Result, table, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return translate(err)
	}
	if n > 0 {
		return nil
	}
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one); err != nil {
		return translate(err)
	}
	return fmt.Errorf("%s %s changed meanwhile: %w", table, id, recall.ErrConflict)
}

// UpdateCampaign implements [recall.CampaignStore].
func (s *Store) UpdateCampaign(ctx context.Context, c recall.Campaign) error {
	body, err := campaignBody(c)
	if err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE recall_campaigns SET status = ?, kind = ?, opened_at = ?, version = ?, body = ?
		WHERE id = ? AND version = ?`, string(c.Status), string(c.Kind), sqlitedb.MillisOrNull(c.OpenedAt), c.Version, body, c.ID, c.Version-1)
	if err != nil {
		return translate(err)
	}
	if err := conditional(ctx, tx, res, "recall_campaigns", c.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM recall_campaign_makers WHERE campaign_id = ?`, c.ID); err != nil {
		return translate(err)
	}
	for _, m := range c.Makers {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO recall_campaign_makers (maker, campaign_id) VALUES (?, ?)`, m, c.ID); err != nil {
			return translate(err)
		}
	}
	return translate(tx.Commit())
}

// AddRecallKeys implements [recall.CampaignStore], in one transaction.
func (s *Store) AddRecallKeys(ctx context.Context, campaignID string, keys []string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO recall_keys (key, campaign_id) VALUES (?, ?)`)
	if err != nil {
		return translate(err)
	}
	defer stmt.Close()
	for _, k := range keys {
		if _, err := stmt.ExecContext(ctx, k, campaignID); err != nil {
			return translate(err)
		}
	}
	return translate(tx.Commit())
}

// CampaignsByKeys implements [recall.CampaignStore], in ID order. A
// scan asks with its product, lot and item keys: up to pointKeys keys are
// looked up one by one in a UNION ALL, which SQLite runs without the
// temporary b-trees an IN list and DISTINCT each build (a third of the
// lookup's cost, on every scan); longer lists go IN chunks of 500.
func (s *Store) CampaignsByKeys(ctx context.Context, keys []string) ([]string, error) {
	const pointKeys = 4
	var ids []string
	for part := range slices.Chunk(keys, 500) {
		q := `SELECT campaign_id FROM recall_keys WHERE key IN (` + sqlitedb.Marks(len(part)) + `)`
		if len(part) <= pointKeys {
			q = strings.TrimSuffix(strings.Repeat(`SELECT campaign_id FROM recall_keys WHERE key = ? UNION ALL `, len(part)), ` UNION ALL `)
		}
		rows, err := s.r.QueryContext(ctx, q, sqlitedb.Args(part)...)
		if err != nil {
			return nil, translate(err)
		}
		found, err := sqlitedb.Collect(rows, func(r sqlitedb.Scanner) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return nil, translate(err)
		}
		ids = append(ids, found...)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

func noticeBody(n recall.Notice) ([]byte, error) {
	b, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("recallsql: notice %s: %w", n.ID, err)
	}
	return b, nil
}

// PutNotices implements [recall.CampaignStore], in one transaction.
func (s *Store) PutNotices(ctx context.Context, ns []recall.Notice) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO recall_notices (id, campaign_id, entity_id, ack_by, acked_at, version, body)
		VALUES (?, ?, ?, ?, ?, 1, ?)`)
	if err != nil {
		return translate(err)
	}
	defer stmt.Close()
	for _, n := range ns {
		body, err := noticeBody(n)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, n.ID, n.CampaignID, n.EntityID, sqlitedb.Millis(n.AckBy), sqlitedb.MillisOrNull(n.AckedAt), body); err != nil {
			return translate(err)
		}
	}
	return translate(tx.Commit())
}

func scanNotice(row sqlitedb.Scanner) (recall.Notice, error) {
	return scanBody(row, "notice", func(n *recall.Notice, v int) { n.Version = v })
}

// Notice implements [recall.CampaignStore].
func (s *Store) Notice(ctx context.Context, id string) (recall.Notice, error) {
	n, err := scanNotice(s.r.QueryRowContext(ctx, `SELECT body, version FROM recall_notices WHERE id = ?`, id))
	return n, translate(err)
}

// ListNotices implements [recall.CampaignStore].
func (s *Store) ListNotices(ctx context.Context, f recall.NoticeFilter, p trace.Page) ([]recall.Notice, error) {
	q := `SELECT body, version FROM recall_notices WHERE id > ?`
	args := []any{p.After}
	if f.CampaignID != "" {
		// A notice's ID starts with its campaign's: the primary key serves.
		q += ` AND id > ? AND id < ? AND campaign_id = ?`
		args = append(args, f.CampaignID+".", f.CampaignID+"/", f.CampaignID)
	}
	if f.EntityID != "" {
		q += ` AND entity_id = ?`
		args = append(args, f.EntityID)
	}
	if !f.UnackedAt.IsZero() {
		q += ` AND acked_at IS NULL AND ack_by < ?`
		args = append(args, sqlitedb.Millis(f.UnackedAt))
	}
	if !f.AckByFrom.IsZero() {
		q += ` AND ack_by >= ?`
		args = append(args, sqlitedb.Millis(f.AckByFrom))
	}
	if !f.AckByTo.IsZero() {
		q += ` AND ack_by < ?`
		args = append(args, sqlitedb.Millis(f.AckByTo))
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY id LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, translate(err)
	}
	list, err := sqlitedb.Collect(rows, scanNotice)
	return list, translate(err)
}

// UpdateNotice implements [recall.CampaignStore].
func (s *Store) UpdateNotice(ctx context.Context, n recall.Notice) error {
	body, err := noticeBody(n)
	if err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE recall_notices SET ack_by = ?, acked_at = ?, version = ?, body = ? WHERE id = ? AND version = ?`,
		sqlitedb.Millis(n.AckBy), sqlitedb.MillisOrNull(n.AckedAt), n.Version, body, n.ID, n.Version-1)
	if err != nil {
		return translate(err)
	}
	if err := conditional(ctx, tx, res, "recall_notices", n.ID); err != nil {
		return err
	}
	return translate(tx.Commit())
}
