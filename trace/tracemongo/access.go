package tracemongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/trace"
	"tracesvc/trace/access"
)

type keyDoc struct {
	ID        string     `bson:"_id"`
	Hash      string     `bson:"hash"`
	Role      string     `bson:"role"`
	EntityID  string     `bson:"entityId"`
	Label     string     `bson:"label"`
	CreatedBy string     `bson:"createdBy"`
	CreatedAt time.Time  `bson:"createdAt"`
	RevokedAt *time.Time `bson:"revokedAt"`
}

func (d keyDoc) key() access.Key {
	k := access.Key{ID: d.ID, Hash: d.Hash, Role: trace.Role(d.Role), EntityID: d.EntityID, Label: d.Label,
		CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt.UTC()}
	if d.RevokedAt != nil {
		t := d.RevokedAt.UTC()
		k.RevokedAt = &t
	}
	return k
}

// CreateKey implements [access.Store].
func (s *Store) CreateKey(ctx context.Context, k access.Key) error {
	_, err := s.db.Collection(colKeys).InsertOne(ctx, keyDoc{ID: k.ID, Hash: k.Hash, Role: string(k.Role),
		EntityID: k.EntityID, Label: k.Label, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt})
	return translate(err, map[string]string{"_id_": "id", "hash": "key"}, nil)
}

func (s *Store) findKey(ctx context.Context, q bson.D) (access.Key, error) {
	return findOne(ctx, s.db.Collection(colKeys), q, keyDoc.key)
}

// KeyByHash implements [access.Store].
func (s *Store) KeyByHash(ctx context.Context, hash string) (access.Key, error) {
	return s.findKey(ctx, bson.D{{Key: "hash", Value: hash}})
}

// Key implements [access.Store].
func (s *Store) Key(ctx context.Context, id string) (access.Key, error) {
	return s.findKey(ctx, bson.D{{Key: "_id", Value: id}})
}

// ListKeys implements [access.Store].
func (s *Store) ListKeys(ctx context.Context, f access.KeyFilter, p trace.Page) ([]access.Key, error) {
	q := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}}}
	if f.Role != "" {
		q = append(q, bson.E{Key: "role", Value: string(f.Role)})
	}
	if f.EntityID != "" {
		q = append(q, bson.E{Key: "entityId", Value: f.EntityID})
	}
	docs, err := find[keyDoc](ctx, s.db.Collection(colKeys), q, p.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]access.Key, len(docs))
	for i, d := range docs {
		out[i] = d.key()
	}
	return out, nil
}

// RevokeKey implements [access.Store].
func (s *Store) RevokeKey(ctx context.Context, id string, at time.Time) (access.Key, error) {
	var d keyDoc
	err := s.db.Collection(colKeys).FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "revokedAt", Value: nil}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "revokedAt", Value: at}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return s.Key(ctx, id) // already revoked, or no such key
	}
	if err != nil {
		return access.Key{}, translate(err, nil, nil)
	}
	return d.key(), nil
}

// DeleteKey implements [access.Store].
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	_, err := s.db.Collection(colKeys).DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	return translate(err, nil, nil)
}
