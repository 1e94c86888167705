// Package standardsmongo keeps the standards domain's records in MongoDB.
// cmd connects once and hands this package its *mongo.Database; the package
// owns its collections' indexes and translates the driver's errors onto the
// standards sentinels.
package standardsmongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/schemamongo"
)

// Store implements the standards domain's stores on MongoDB.
type Store struct {
	db *mongo.Database
}

var _ standards.TipoffStore = (*Store)(nil)

// colTipoffs kept its name when tip-offs moved here from trace, so
// databases written by earlier versions are read unchanged.
const colTipoffs = "tipoffs"

func indexes() schemamongo.Indexes {
	ix := schemamongo.Indexes{
		colTipoffs: {
			{Keys: bson.D{{Key: "receipt", Value: 1}}, Options: options.Index().SetUnique(true).SetName("receipt")},
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("status")},
		},
	}
	ix.Add(incidentIndexes())
	return ix
}

// New creates the domain's indexes if needed and returns the store.
func New(ctx context.Context, db *mongo.Database) (*Store, error) {
	ix := indexes()
	ix.Add(declarationIndexes())
	ix.Add(spotCheckIndexes())
	if err := schemamongo.EnsureIndexes(ctx, db, ix); err != nil {
		return nil, fmt.Errorf("standardsmongo: %w", translate(err, nil, nil))
	}
	return &Store{db: db}, nil
}

// translate maps driver errors onto the standards sentinels. fields names
// the request field behind each unique index; guess names it when the
// server does not say which index was violated (FerretDB).
func translate(err error, fields map[string]string, guess func() string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, mongo.ErrNoDocuments) {
		return standards.ErrNotFound
	}
	if index, ok := schemamongo.DuplicateKey(err); ok {
		field := fields[index]
		if field == "" && guess != nil {
			field = guess()
		}
		if field != "" {
			return &trace.FieldError{Field: field, Msg: "is already registered", Kind: standards.ErrConflict}
		}
		return fmt.Errorf("%w: %w", standards.ErrConflict, err)
	}
	if schemamongo.Unavailable(err) {
		return fmt.Errorf("%w: %w", standards.ErrUnavailable, err)
	}
	return err
}

// findPage returns the documents of c that match q in _id order, at most
// limit, each converted by conv.
func findPage[D, T any](ctx context.Context, c *mongo.Collection, q bson.D, limit int, conv func(D) (T, error)) ([]T, error) {
	docs, err := schemamongo.FindAll[D](ctx, c, q, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, translate(err, nil, nil)
	}
	out := make([]T, len(docs))
	for i, d := range docs {
		if out[i], err = conv(d); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// infallible adapts a conversion that cannot fail to findPage.
func infallible[D, T any](f func(D) T) func(D) (T, error) {
	return func(d D) (T, error) { return f(d), nil }
}

// tipoffDoc is a stored tip-off. verifyBy and notifyBy are absent when
// not set.
type tipoffDoc struct {
	ID          string     `bson:"_id"`
	Receipt     string     `bson:"receipt"`
	Subject     string     `bson:"subject"`
	Code        string     `bson:"code"`
	GTIN        string     `bson:"gtin"`
	EntityID    string     `bson:"entityId"`
	Category    string     `bson:"category"`
	Description string     `bson:"description"`
	Anonymous   bool       `bson:"anonymous"`
	Name        string     `bson:"name"`
	Contact     string     `bson:"contact"`
	Client      string     `bson:"client"`
	Status      string     `bson:"status"`
	Note        string     `bson:"note"`
	HandledBy   string     `bson:"handledBy"`
	CreatedAt   time.Time  `bson:"createdAt"`
	UpdatedAt   time.Time  `bson:"updatedAt"`
	Deadline    *time.Time `bson:"verifyBy,omitempty"`
	NotifyBy    *time.Time `bson:"notifyBy,omitempty"`
	Extended    bool       `bson:"extended,omitempty"`
	Notified    bool       `bson:"notified,omitempty"`
	Reward      string     `bson:"reward,omitempty"`
}

// timeOrNil is t as an optional stored time: nil when t is zero.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// optTime is the inverse of timeOrNil, in UTC.
func optTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func (d tipoffDoc) tipoff() standards.Tipoff {
	return standards.Tipoff{ID: d.ID, Receipt: d.Receipt, Subject: d.Subject, Code: d.Code, GTIN: d.GTIN,
		EntityID: d.EntityID, Category: d.Category, Description: d.Description, Anonymous: d.Anonymous, Name: d.Name,
		Contact: d.Contact, Client: d.Client, Status: standards.TipoffStatus(d.Status), Note: d.Note,
		HandledBy: d.HandledBy, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
		Deadline: optTime(d.Deadline), NotifyBy: optTime(d.NotifyBy), Extended: d.Extended, Notified: d.Notified, Reward: d.Reward}
}

// CreateTipoff implements [standards.TipoffStore].
func (s *Store) CreateTipoff(ctx context.Context, t standards.Tipoff) error {
	c := s.db.Collection(colTipoffs)
	_, err := c.InsertOne(ctx, tipoffDoc{ID: t.ID, Receipt: t.Receipt, Subject: t.Subject, Code: t.Code, GTIN: t.GTIN,
		EntityID: t.EntityID, Category: t.Category, Description: t.Description, Anonymous: t.Anonymous, Name: t.Name,
		Contact: t.Contact, Client: t.Client, Status: string(t.Status), Note: t.Note, HandledBy: t.HandledBy,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Deadline: timeOrNil(t.Deadline), NotifyBy: timeOrNil(t.NotifyBy),
		Extended: t.Extended, Notified: t.Notified, Reward: t.Reward})
	return translate(err, map[string]string{"_id_": "id", "receipt": "receipt"}, func() string {
		n, _ := c.CountDocuments(ctx, bson.D{{Key: "_id", Value: t.ID}})
		if n > 0 {
			return "id"
		}
		return "receipt"
	})
}

// Tipoff implements [standards.TipoffStore].
func (s *Store) Tipoff(ctx context.Context, receipt string) (standards.Tipoff, error) {
	var d tipoffDoc
	err := s.db.Collection(colTipoffs).FindOne(ctx, bson.D{{Key: "receipt", Value: receipt}}).Decode(&d)
	if err != nil {
		return standards.Tipoff{}, translate(err, nil, nil)
	}
	return d.tipoff(), nil
}

// ListTipoffs implements [standards.TipoffStore].
func (s *Store) ListTipoffs(ctx context.Context, f standards.TipoffFilter, p trace.Page) ([]standards.Tipoff, error) {
	q := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}}}
	if f.Status != "" {
		q = append(q, bson.E{Key: "status", Value: string(f.Status)})
	}
	if !f.OverdueAt.IsZero() {
		q = append(q, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{string(standards.TipoffReceived), string(standards.TipoffVerifying)}}}},
				{Key: "verifyBy", Value: bson.D{{Key: "$lte", Value: f.OverdueAt}}}},
			bson.D{{Key: "notifyBy", Value: bson.D{{Key: "$lte", Value: f.OverdueAt}}}, {Key: "notified", Value: bson.D{{Key: "$ne", Value: true}}}},
		}})
	}
	return findPage(ctx, s.db.Collection(colTipoffs), q, p.Limit, infallible(tipoffDoc.tipoff))
}

// UpdateTipoff implements [standards.TipoffStore], conditional on the
// status read.
func (s *Store) UpdateTipoff(ctx context.Context, receipt string, c standards.TipoffChange) (standards.Tipoff, error) {
	set := bson.D{{Key: "status", Value: string(c.Status)}, {Key: "note", Value: c.Note},
		{Key: "handledBy", Value: c.By}, {Key: "updatedAt", Value: c.At}}
	if !c.Deadline.IsZero() {
		set = append(set, bson.E{Key: "verifyBy", Value: c.Deadline})
	}
	if !c.NotifyBy.IsZero() {
		set = append(set, bson.E{Key: "notifyBy", Value: c.NotifyBy})
	}
	if c.Extended {
		set = append(set, bson.E{Key: "extended", Value: true})
	}
	if c.Notified {
		set = append(set, bson.E{Key: "notified", Value: true})
	}
	if c.Reward != "" {
		set = append(set, bson.E{Key: "reward", Value: c.Reward})
	}
	var d tipoffDoc
	err := s.db.Collection(colTipoffs).FindOneAndUpdate(ctx, bson.D{{Key: "receipt", Value: receipt}, {Key: "status", Value: string(c.From)}},
		bson.D{{Key: "$set", Value: set}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		// No tip-off with this receipt, or its status moved.
		var now tipoffDoc
		if err := s.db.Collection(colTipoffs).FindOne(ctx, bson.D{{Key: "receipt", Value: receipt}}).Decode(&now); err != nil {
			return standards.Tipoff{}, translate(err, nil, nil)
		}
		return standards.Tipoff{}, fmt.Errorf("tip-off %s is %s now, not %s: %w", receipt, now.Status, c.From, standards.ErrConflict)
	}
	if err != nil {
		return standards.Tipoff{}, translate(err, nil, nil)
	}
	return d.tipoff(), nil
}
