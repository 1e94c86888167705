// Package recallmongo keeps the recall domain's records in MongoDB. cmd
// connects once and hands this package its *mongo.Database; the package
// owns its collections and translates the driver's errors onto the recall
// sentinels.
package recallmongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/recall"
	"tracesvc/trace/schemamongo"
)

// Store implements the recall domain's stores on MongoDB.
type Store struct {
	db *mongo.Database
}

var (
	_ recall.EndpointStore = (*Store)(nil)
	_ recall.OutboxStore   = (*Store)(nil)
)

const colEndpoints = "recall_endpoints"

// indexes are the domain's collections and their indexes beyond _id.
func indexes() schemamongo.Indexes {
	ix := schemamongo.Indexes{
		colEndpoints: nil, // keyed by entity ID (_id) only
	}
	ix.Add(campaignIndexes())
	ix.Add(outboxIndexes())
	ix.Add(creditIndexes())
	ix.Add(drawIndexes())
	return ix
}

// New creates the domain's indexes if needed and returns the store.
func New(ctx context.Context, db *mongo.Database) (*Store, error) {
	if err := schemamongo.EnsureIndexes(ctx, db, indexes()); err != nil {
		return nil, fmt.Errorf("recallmongo: %w", translate(err))
	}
	return &Store{db: db}, nil
}

// translate maps driver errors onto the recall sentinels.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return recall.ErrNotFound
	case schemamongo.Unavailable(err):
		return fmt.Errorf("%w: %w", recall.ErrUnavailable, err)
	}
	if _, ok := schemamongo.DuplicateKey(err); ok {
		return fmt.Errorf("%w: %w", recall.ErrConflict, err)
	}
	return err
}

// endpointDoc is an entity's endpoint. Documents stored before secrets
// were rotated lack the previous secret's fields.
type endpointDoc struct {
	EntityID       string    `bson:"_id"`
	URL            string    `bson:"url"`
	SealedSecret   string    `bson:"sealedSecret"`
	PreviousSecret string    `bson:"previousSecret,omitempty"`
	PreviousUntil  time.Time `bson:"previousUntil,omitempty"`
	UpdatedAt      time.Time `bson:"updatedAt"`
}

// PutEndpoint implements [recall.EndpointStore].
func (s *Store) PutEndpoint(ctx context.Context, e recall.Endpoint) error {
	_, err := s.db.Collection(colEndpoints).ReplaceOne(ctx, bson.D{{Key: "_id", Value: e.EntityID}},
		endpointDoc{EntityID: e.EntityID, URL: e.URL, SealedSecret: e.SealedSecret,
			PreviousSecret: e.PreviousSealedSecret, PreviousUntil: e.PreviousUntil, UpdatedAt: e.UpdatedAt},
		options.Replace().SetUpsert(true))
	return translate(err)
}

// Endpoint implements [recall.EndpointStore].
func (s *Store) Endpoint(ctx context.Context, entityID string) (recall.Endpoint, error) {
	var d endpointDoc
	if err := s.db.Collection(colEndpoints).FindOne(ctx, bson.D{{Key: "_id", Value: entityID}}).Decode(&d); err != nil {
		return recall.Endpoint{}, translate(err)
	}
	e := recall.Endpoint{EntityID: d.EntityID, URL: d.URL, SealedSecret: d.SealedSecret,
		PreviousSealedSecret: d.PreviousSecret, UpdatedAt: d.UpdatedAt.UTC()}
	if !d.PreviousUntil.IsZero() {
		e.PreviousUntil = d.PreviousUntil.UTC()
	}
	return e, nil
}

// DeleteEndpoint implements [recall.EndpointStore].
func (s *Store) DeleteEndpoint(ctx context.Context, entityID string) error {
	_, err := s.db.Collection(colEndpoints).DeleteOne(ctx, bson.D{{Key: "_id", Value: entityID}})
	return translate(err)
}
