package recallsql

import (
	"context"
	"encoding/json"
	"fmt"

	"tracesvc/recall"
	"tracesvc/recall/draw"
	"tracesvc/trace"
	"tracesvc/trace/sqlitedb"
)

var _ draw.Store = (*Store)(nil)

// drawSchema keeps each inspection draw as its JSON body beside its place
// in the sequence of draws (unique: two draws racing for one place, one
// wins); inspection_draw_entities finds an entity's latest draw.
var drawSchema = []string{
	`CREATE TABLE IF NOT EXISTS inspection_draws (
		id TEXT PRIMARY KEY,
		seq INTEGER NOT NULL UNIQUE,
		body TEXT NOT NULL
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS inspection_draw_entities (
		entity_id TEXT NOT NULL,
		seq INTEGER NOT NULL,
		draw_id TEXT NOT NULL,
		PRIMARY KEY (entity_id, seq)
	) WITHOUT ROWID`,
}

// CreateDraw implements [draw.Store], in one transaction.
func (s *Store) CreateDraw(ctx context.Context, d draw.Draw) error {
	body, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("recallsql: draw %s: %w", d.ID, err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO inspection_draws (id, seq, body) VALUES (?, ?, ?)`, d.ID, d.Seq, body); err != nil {
		return fmt.Errorf("create draw %s: %w", d.ID, translate(err))
	}
	for _, a := range d.Result {
		if _, err := tx.ExecContext(ctx, `INSERT INTO inspection_draw_entities (entity_id, seq, draw_id) VALUES (?, ?, ?)`,
			a.EntityID, d.Seq, d.ID); err != nil {
			return fmt.Errorf("create draw %s: %w", d.ID, translate(err))
		}
	}
	return translate(tx.Commit())
}

func scanDraw(row sqlitedb.Scanner) (draw.Draw, error) {
	var body []byte
	if err := row.Scan(&body); err != nil {
		return draw.Draw{}, err
	}
	var d draw.Draw
	if err := json.Unmarshal(body, &d); err != nil {
		return draw.Draw{}, fmt.Errorf("recallsql: a stored draw does not read: %w", err)
	}
	return d, nil
}

// Draw implements [draw.Store].
func (s *Store) Draw(ctx context.Context, id string) (draw.Draw, error) {
	d, err := scanDraw(s.r.QueryRowContext(ctx, `SELECT body FROM inspection_draws WHERE id = ?`, id))
	return d, translate(err)
}

// ListDraws implements [draw.Store].
func (s *Store) ListDraws(ctx context.Context, p trace.Page) ([]draw.Draw, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT body FROM inspection_draws WHERE id > ? ORDER BY id LIMIT ?`, p.After, p.Limit)
	if err != nil {
		return nil, translate(err)
	}
	list, err := sqlitedb.Collect(rows, scanDraw)
	return list, translate(err)
}

// LastSeq implements [draw.Store].
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(max(seq), 0) FROM inspection_draws`).Scan(&seq)
	return seq, translate(err)
}

// LastAssignment implements [draw.Store].
func (s *Store) LastAssignment(ctx context.Context, entityID string, maxSeq int64) (draw.Previous, error) {
	d, err := scanDraw(s.r.QueryRowContext(ctx, `SELECT d.body FROM inspection_draw_entities e JOIN inspection_draws d ON d.id = e.draw_id
		WHERE e.entity_id = ? AND e.seq <= ? ORDER BY e.seq DESC LIMIT 1`, entityID, maxSeq))
	if err != nil {
		return draw.Previous{}, translate(err)
	}
	return previousIn(d, entityID)
}

// previousIn is entityID's assignment in d. A body that does not list
// the entity it is indexed under was changed behind the store's back:
// the entity has no assignment there ([recall.ErrNotFound]).
func previousIn(d draw.Draw, entityID string) (draw.Previous, error) {
	if p, ok := d.PreviousFor(entityID); ok {
		return p, nil
	}
	return draw.Previous{}, fmt.Errorf("draw %s is indexed under entity %s but does not draw it: %w", d.ID, entityID, recall.ErrNotFound)
}
