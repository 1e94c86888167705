package recallmongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/recall/credit"
	"tracesvc/trace"
	"tracesvc/trace/schemamongo"
)

var _ credit.Store = (*Store)(nil)

const colCredit = "credit_records"

func creditIndexes() schemamongo.Indexes {
	return schemamongo.Indexes{
		colCredit: {
			{Keys: bson.D{{Key: "entityId", Value: 1}, {Key: "kind", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("entity")},
			{Keys: bson.D{{Key: "kind", Value: 1}, {Key: "state", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("kind")},
		},
	}
}

// recordDoc is a stored credit record.
type recordDoc struct {
	ID        string    `bson:"_id"`
	EntityID  string    `bson:"entityId"`
	Kind      string    `bson:"kind"`
	State     string    `bson:"state"`
	Version   int       `bson:"version"`
	CreatedAt time.Time `bson:"createdAt"`
	Body      string    `bson:"body"`
}

func (d recordDoc) record() credit.Record {
	return credit.Record{ID: d.ID, EntityID: d.EntityID, Kind: d.Kind, State: d.State, Version: d.Version,
		CreatedAt: d.CreatedAt.UTC(), Body: []byte(d.Body)}
}

// creditErr maps driver errors onto the credit sentinels.
func creditErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return credit.ErrNotFound
	case schemamongo.Unavailable(err):
		return fmt.Errorf("%w: %w", credit.ErrUnavailable, err)
	}
	if _, ok := schemamongo.DuplicateKey(err); ok {
		return credit.ErrConflict
	}
	return err
}

// CreateRecord implements [credit.Store].
func (s *Store) CreateRecord(ctx context.Context, r credit.Record) error {
	_, err := s.db.Collection(colCredit).InsertOne(ctx, recordDoc{ID: r.ID, EntityID: r.EntityID, Kind: r.Kind, State: r.State,
		Version: 1, CreatedAt: r.CreatedAt, Body: string(r.Body)})
	return creditErr(err)
}

// Record implements [credit.Store].
func (s *Store) Record(ctx context.Context, id string) (credit.Record, error) {
	var d recordDoc
	if err := s.db.Collection(colCredit).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return credit.Record{}, creditErr(err)
	}
	return d.record(), nil
}

// UpdateRecord implements [credit.Store]: one conditional update.
func (s *Store) UpdateRecord(ctx context.Context, r credit.Record) error {
	c := s.db.Collection(colCredit)
	res, err := c.UpdateOne(ctx, bson.D{{Key: "_id", Value: r.ID}, {Key: "version", Value: r.Version - 1}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: r.State}, {Key: "version", Value: r.Version}, {Key: "body", Value: string(r.Body)}}}})
	if err != nil {
		return creditErr(err)
	}
	if res.MatchedCount == 0 {
		if n, err := c.CountDocuments(ctx, bson.D{{Key: "_id", Value: r.ID}}); err != nil {
			return creditErr(err)
		} else if n == 0 {
			return credit.ErrNotFound
		}
		return credit.ErrConflict
	}
	return nil
}

// ListRecords implements [credit.Store].
func (s *Store) ListRecords(ctx context.Context, f credit.RecordFilter, p trace.Page) ([]credit.Record, error) {
	q := bson.D{}
	for _, c := range []struct{ key, v string }{{"entityId", f.EntityID}, {"kind", f.Kind}, {"state", f.State}} {
		if c.v != "" {
			q = append(q, bson.E{Key: c.key, Value: c.v})
		}
	}
	q = append(q, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}})
	docs, err := schemamongo.FindAll[recordDoc](ctx, s.db.Collection(colCredit), q,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(p.Limit)))
	if err != nil {
		return nil, creditErr(err)
	}
	out := make([]credit.Record, len(docs))
	for i, d := range docs {
		out[i] = d.record()
	}
	return out, nil
}
