package tracemongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/trace/audit"
)

type recordDoc struct {
	Seq      int64     `bson:"_id"`
	At       time.Time `bson:"at"`
	Actor    string    `bson:"actor"`
	Role     string    `bson:"role"`
	Action   string    `bson:"action"`
	Target   string    `bson:"target"`
	Status   int       `bson:"status"`
	PrevHash string    `bson:"prevHash"`
	Hash     string    `bson:"hash"`
}

func (d recordDoc) record() audit.Record {
	return audit.Record{Seq: d.Seq, At: d.At.UTC(), Actor: d.Actor, Role: d.Role, Action: d.Action, Target: d.Target,
		Status: d.Status, PrevHash: d.PrevHash, Hash: d.Hash}
}

// AppendRecord implements [audit.Store]. The sequence number is the _id,
// so two writers racing for the same number cannot both win.
func (s *Store) AppendRecord(ctx context.Context, r audit.Record) error {
	_, err := s.db.Collection(colAudit).InsertOne(ctx, recordDoc{Seq: r.Seq, At: r.At, Actor: r.Actor, Role: r.Role,
		Action: r.Action, Target: r.Target, Status: r.Status, PrevHash: r.PrevHash, Hash: r.Hash})
	return translate(err, map[string]string{"_id_": "seq"}, field("seq"))
}

// LastRecord implements [audit.Store].
func (s *Store) LastRecord(ctx context.Context) (audit.Record, error) {
	var d recordDoc
	err := s.db.Collection(colAudit).FindOne(ctx, bson.D{},
		options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}})).Decode(&d)
	if err != nil {
		return audit.Record{}, translate(err, nil, nil)
	}
	return d.record(), nil
}

// ListRecords implements [audit.Store].
func (s *Store) ListRecords(ctx context.Context, after int64, limit int) ([]audit.Record, error) {
	docs, err := find[recordDoc](ctx, s.db.Collection(colAudit),
		bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}}, limit)
	if err != nil {
		return nil, err
	}
	out := make([]audit.Record, len(docs))
	for i, d := range docs {
		out[i] = d.record()
	}
	return out, nil
}
