package recallmongo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/recall"
	"tracesvc/recall/draw"
	"tracesvc/trace"
	"tracesvc/trace/schemamongo"
)

var _ draw.Store = (*Store)(nil)

// colDraws keeps each inspection draw as one document: its JSON body
// beside its place in the sequence of draws and the entities it drew.
const colDraws = "inspection_draws"

func drawIndexes() schemamongo.Indexes {
	return schemamongo.Indexes{
		colDraws: {
			// Two draws racing for one place: one wins.
			{Keys: bson.D{{Key: "seq", Value: 1}}, Options: options.Index().SetUnique(true).SetName("seq")},
			// An entity's latest draw (entities is an array: multikey).
			{Keys: bson.D{{Key: "entities", Value: 1}, {Key: "seq", Value: -1}}, Options: options.Index().SetName("entities_seq")},
		},
	}
}

// drawDoc is a stored draw.
type drawDoc struct {
	ID       string   `bson:"_id"`
	Seq      int64    `bson:"seq"`
	Entities []string `bson:"entities"`
	Body     string   `bson:"body"`
}

func (d drawDoc) draw() (draw.Draw, error) {
	var out draw.Draw
	if err := json.Unmarshal([]byte(d.Body), &out); err != nil {
		return draw.Draw{}, fmt.Errorf("recallmongo: stored draw %s does not read: %w", d.ID, err)
	}
	return out, nil
}

// CreateDraw implements [draw.Store]: one document.
func (s *Store) CreateDraw(ctx context.Context, d draw.Draw) error {
	body, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("recallmongo: draw %s: %w", d.ID, err)
	}
	entities := make([]string, len(d.Result))
	for i, a := range d.Result {
		entities[i] = a.EntityID
	}
	if _, err := s.db.Collection(colDraws).InsertOne(ctx, drawDoc{ID: d.ID, Seq: d.Seq, Entities: entities, Body: string(body)}); err != nil {
		return fmt.Errorf("create draw %s: %w", d.ID, translate(err))
	}
	return nil
}

// Draw implements [draw.Store].
func (s *Store) Draw(ctx context.Context, id string) (draw.Draw, error) {
	var d drawDoc
	if err := s.db.Collection(colDraws).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return draw.Draw{}, translate(err)
	}
	return d.draw()
}

// ListDraws implements [draw.Store].
func (s *Store) ListDraws(ctx context.Context, p trace.Page) ([]draw.Draw, error) {
	return findPage(ctx, s.db.Collection(colDraws), bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}}}, p.Limit, drawDoc.draw)
}

// LastSeq implements [draw.Store].
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var d struct {
		Seq int64 `bson:"seq"`
	}
	err := s.db.Collection(colDraws).FindOne(ctx, bson.D{}, options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}}).
		SetProjection(bson.D{{Key: "seq", Value: 1}})).Decode(&d)
	switch err := translate(err); {
	case errors.Is(err, recall.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("last draw: %w", err)
	}
	return d.Seq, nil
}

// LastAssignment implements [draw.Store].
func (s *Store) LastAssignment(ctx context.Context, entityID string, maxSeq int64) (draw.Previous, error) {
	var d drawDoc
	err := s.db.Collection(colDraws).FindOne(ctx, bson.D{{Key: "entities", Value: entityID}, {Key: "seq", Value: bson.D{{Key: "$lte", Value: maxSeq}}}},
		options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}})).Decode(&d)
	if err != nil {
		return draw.Previous{}, translate(err)
	}
	dr, err := d.draw()
	if err != nil {
		return draw.Previous{}, err
	}
	if p, ok := dr.PreviousFor(entityID); ok {
		return p, nil
	}
	// The body was changed behind the store's back.
	return draw.Previous{}, fmt.Errorf("draw %s is indexed under entity %s but does not draw it: %w", d.ID, entityID, recall.ErrNotFound)
}
