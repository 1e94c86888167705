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
	"tracesvc/trace"
	"tracesvc/trace/schemamongo"
)

const colDeliveries = "recall_deliveries"

// outboxIndexes are the outbox's indexes. A claim moves nextAt to the end
// of its lease, so that {state, nextAt} finds what is due, including
// deliveries whose lease ended without a result.
func outboxIndexes() schemamongo.Indexes {
	return schemamongo.Indexes{
		colDeliveries: {
			{Keys: bson.D{{Key: "state", Value: 1}, {Key: "nextAt", Value: 1}}, Options: options.Index().SetName("state_nextAt")},
			{Keys: bson.D{{Key: "state", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("state_id")},
			{Keys: bson.D{{Key: "leaseOwner", Value: 1}}, Options: options.Index().SetName("leaseOwner")},
		},
	}
}

// deliveryDoc is one delivery; _id is its ID.
type deliveryDoc struct {
	ID          string    `bson:"_id"`
	EntityID    string    `bson:"entityId"`
	Kind        string    `bson:"kind"`
	Ref         string    `bson:"ref"`
	Body        []byte    `bson:"body"`
	State       string    `bson:"state"`
	Attempts    int       `bson:"attempts"`
	NextAt      time.Time `bson:"nextAt"`
	LeaseOwner  string    `bson:"leaseOwner"`
	LeaseUntil  time.Time `bson:"leaseUntil"`
	LastStatus  int       `bson:"lastStatus"`
	LastError   string    `bson:"lastError"`
	CreatedAt   time.Time `bson:"createdAt"`
	UpdatedAt   time.Time `bson:"updatedAt"`
	DeliveredAt time.Time `bson:"deliveredAt,omitempty"`
}

func docOf(d recall.Delivery) deliveryDoc {
	return deliveryDoc{ID: d.ID, EntityID: d.EntityID, Kind: d.Kind, Ref: d.Ref, Body: d.Body, State: string(d.State),
		Attempts: d.Attempts, NextAt: d.NextAt, LeaseOwner: d.LeaseOwner, LeaseUntil: d.LeaseUntil, LastStatus: d.LastStatus,
		LastError: d.LastError, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, DeliveredAt: d.DeliveredAt}
}

// utc is t in UTC, or the zero time (which BSON stores as year 1).
func utc(t time.Time) time.Time {
	if t.IsZero() || t.Year() <= 1 {
		return time.Time{}
	}
	return t.UTC()
}

func (d deliveryDoc) delivery() recall.Delivery {
	return recall.Delivery{ID: d.ID, EntityID: d.EntityID, Kind: d.Kind, Ref: d.Ref, Body: d.Body, State: recall.DeliveryState(d.State),
		Attempts: d.Attempts, NextAt: utc(d.NextAt), LeaseOwner: d.LeaseOwner, LeaseUntil: utc(d.LeaseUntil), LastStatus: d.LastStatus,
		LastError: d.LastError, CreatedAt: utc(d.CreatedAt), UpdatedAt: utc(d.UpdatedAt), DeliveredAt: utc(d.DeliveredAt)}
}

// EnqueueDeliveries implements [recall.OutboxStore]: an unordered insert
// whose duplicate keys are the deliveries stored already.
func (s *Store) EnqueueDeliveries(ctx context.Context, ds []recall.Delivery) error {
	const chunk = 1000
	for start := 0; start < len(ds); start += chunk {
		part := ds[start:min(start+chunk, len(ds))]
		docs := make([]any, len(part))
		for i, d := range part {
			docs[i] = docOf(d)
		}
		if _, err := schemamongo.InsertIgnoring(ctx, s.db.Collection(colDeliveries), docs); err != nil {
			return translate(err)
		}
	}
	return nil
}

// Deliveries implements [recall.OutboxStore].
func (s *Store) Deliveries(ctx context.Context, ids []string) ([]recall.Delivery, error) {
	var out []recall.Delivery
	err := schemamongo.Chunks(ids, func(part []string) error {
		docs, err := schemamongo.FindAll[deliveryDoc](ctx, s.db.Collection(colDeliveries),
			bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: part}}}})
		for _, d := range docs {
			out = append(out, d.delivery())
		}
		return err
	})
	return out, translate(err)
}

// ClaimDeliveries implements [recall.OutboxStore]: one findOneAndUpdate per
// delivery, atomic on MongoDB. (FerretDB applies findOneAndUpdate without
// a lock: there two concurrent claimers can get the same delivery; see
// trace/mongotest.)
func (s *Store) ClaimDeliveries(ctx context.Context, owner string, at, until time.Time, n int) ([]recall.Delivery, error) {
	col := s.db.Collection(colDeliveries)
	var out []recall.Delivery
	for len(out) < n {
		var d deliveryDoc
		err := col.FindOneAndUpdate(ctx,
			bson.D{{Key: "state", Value: string(recall.DeliveryPending)}, {Key: "nextAt", Value: bson.D{{Key: "$lte", Value: at}}}},
			bson.D{
				{Key: "$set", Value: bson.D{{Key: "leaseOwner", Value: owner}, {Key: "leaseUntil", Value: until},
					{Key: "nextAt", Value: until}, {Key: "updatedAt", Value: at}}},
				{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}},
			},
			options.FindOneAndUpdate().SetSort(bson.D{{Key: "nextAt", Value: 1}}).SetReturnDocument(options.After)).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			break
		}
		if err != nil {
			return out, translate(err)
		}
		out = append(out, d.delivery())
	}
	return out, nil
}

// CompleteDeliveries implements [recall.OutboxStore]: one conditional
// update per delivery.
func (s *Store) CompleteDeliveries(ctx context.Context, ds []recall.Delivery) ([]string, error) {
	col := s.db.Collection(colDeliveries)
	var refused []string
	for _, d := range ds {
		set := bson.D{{Key: "state", Value: string(d.State)}, {Key: "attempts", Value: d.Attempts}, {Key: "nextAt", Value: d.NextAt},
			{Key: "lastStatus", Value: d.LastStatus}, {Key: "lastError", Value: d.LastError}, {Key: "updatedAt", Value: d.UpdatedAt},
			{Key: "leaseOwner", Value: ""}, {Key: "leaseUntil", Value: time.Time{}}}
		update := bson.D{{Key: "$set", Value: set}}
		if d.DeliveredAt.IsZero() {
			update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: "deliveredAt", Value: ""}}})
		} else {
			update[0].Value = append(set, bson.E{Key: "deliveredAt", Value: d.DeliveredAt})
		}
		res, err := col.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "state", Value: string(recall.DeliveryPending)},
			{Key: "leaseOwner", Value: d.LeaseOwner}, {Key: "leaseUntil", Value: d.LeaseUntil}}, update)
		if err != nil {
			return nil, fmt.Errorf("complete %s: %w", d.ID, translate(err))
		}
		if res.MatchedCount == 0 {
			refused = append(refused, d.ID)
		}
	}
	return refused, nil
}

// ReleaseDeliveries implements [recall.OutboxStore].
func (s *Store) ReleaseDeliveries(ctx context.Context, owner string, at time.Time) (int, error) {
	res, err := s.db.Collection(colDeliveries).UpdateMany(ctx,
		bson.D{{Key: "leaseOwner", Value: owner}, {Key: "state", Value: string(recall.DeliveryPending)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "nextAt", Value: at}, {Key: "leaseOwner", Value: ""},
			{Key: "leaseUntil", Value: time.Time{}}, {Key: "updatedAt", Value: at}}}})
	if err != nil {
		return 0, translate(err)
	}
	return int(res.ModifiedCount), nil
}

// ListDeliveries implements [recall.OutboxStore].
func (s *Store) ListDeliveries(ctx context.Context, state recall.DeliveryState, p trace.Page) ([]recall.Delivery, string, error) {
	q := bson.D{}
	if state != "" {
		q = append(q, bson.E{Key: "state", Value: string(state)})
	}
	if p.After != "" {
		q = append(q, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}})
	}
	docs, err := schemamongo.FindAll[deliveryDoc](ctx, s.db.Collection(colDeliveries), q,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(p.Limit+1)))
	if err != nil {
		return nil, "", translate(err)
	}
	ds := make([]recall.Delivery, len(docs))
	for i, d := range docs {
		ds[i] = d.delivery()
	}
	return trace.PageOf(ds, p.Limit, func(d recall.Delivery) string { return d.ID })
}

// CountDeliveries implements [recall.OutboxStore], through the state_id
// index.
func (s *Store) CountDeliveries(ctx context.Context, state recall.DeliveryState) (int64, error) {
	n, err := s.db.Collection(colDeliveries).CountDocuments(ctx, bson.D{{Key: "state", Value: string(state)}})
	if err != nil {
		return 0, translate(err)
	}
	return n, nil
}

// RedriveDelivery implements [recall.OutboxStore].
func (s *Store) RedriveDelivery(ctx context.Context, id string, at time.Time) (recall.Delivery, error) {
	col := s.db.Collection(colDeliveries)
	var d deliveryDoc
	err := col.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}, {Key: "state", Value: string(recall.DeliveryDead)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: string(recall.DeliveryPending)}, {Key: "attempts", Value: 0},
			{Key: "nextAt", Value: at}, {Key: "updatedAt", Value: at}, {Key: "leaseOwner", Value: ""}, {Key: "leaseUntil", Value: time.Time{}}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if err == nil {
		return d.delivery(), nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return recall.Delivery{}, translate(err)
	}
	if err := col.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return recall.Delivery{}, translate(err)
	}
	return recall.Delivery{}, fmt.Errorf("delivery %s is %s, not dead: %w", id, d.State, recall.ErrConflict)
}
