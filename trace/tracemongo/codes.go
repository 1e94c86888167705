package tracemongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/trace"
	"tracesvc/trace/schemamongo"
)

var _ trace.CodeStore = (*Store)(nil)

const (
	colIssuances = "issuances"
	colCodes     = "codes"
	colSSCCs     = "ssccs"
)

func codeIndexes() map[string][]mongo.IndexModel {
	return map[string][]mongo.IndexModel{
		// idemKey is the key, or "-"+_id when there is none, so a plain
		// unique index works on every wire server.
		colIssuances: {{Keys: bson.D{{Key: "ownerId", Value: 1}, {Key: "idemKey", Value: 1}},
			Options: options.Index().SetUnique(true).SetName("idem")}},
		colCodes: {
			{Keys: bson.D{{Key: "gtin", Value: 1}, {Key: "lot", Value: 1}, {Key: "seq", Value: 1}},
				Options: options.Index().SetName("batch")},
			containerIndex(),
		},
		colSSCCs: {
			{Keys: bson.D{{Key: "ownerId", Value: 1}, {Key: "seq", Value: 1}},
				Options: options.Index().SetName("owner")},
			containerIndex(),
		},
	}
}

// containerIndex serves [Store.Contents]. A code that is not packed has no
// container field, so on MongoDB the sparse index holds packed codes only.
// (A partial index would say it better, but FerretDB has none; it accepts
// sparse and ignores it.)
func containerIndex() mongo.IndexModel {
	return mongo.IndexModel{Keys: bson.D{{Key: "container", Value: 1}},
		Options: options.Index().SetSparse(true).SetName("container")}
}

type issuanceDoc struct {
	ID        string    `bson:"_id"`
	Kind      string    `bson:"kind"`
	OwnerID   string    `bson:"ownerId"`
	GTIN      string    `bson:"gtin"`
	Lot       string    `bson:"lot"`
	Requested int       `bson:"requested"`
	Issued    int       `bson:"issued"`
	State     string    `bson:"state"`
	Key       string    `bson:"key"`
	IdemKey   string    `bson:"idemKey"`
	CreatedAt time.Time `bson:"createdAt"`
	UpdatedAt time.Time `bson:"updatedAt"`
}

func (d issuanceDoc) issuance() trace.Issuance {
	return trace.Issuance{ID: d.ID, Kind: trace.IssuanceKind(d.Kind), OwnerID: d.OwnerID, GTIN: d.GTIN, Lot: d.Lot,
		Requested: d.Requested, Issued: d.Issued, State: trace.IssuanceState(d.State), IdempotencyKey: d.Key,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

// CreateIssuance implements [trace.CodeStore].
func (s *Store) CreateIssuance(ctx context.Context, is trace.Issuance) error {
	idem := is.IdempotencyKey
	if idem == "" {
		idem = "-" + is.ID
	}
	_, err := s.db.Collection(colIssuances).InsertOne(ctx, issuanceDoc{ID: is.ID, Kind: string(is.Kind),
		OwnerID: is.OwnerID, GTIN: is.GTIN, Lot: is.Lot, Requested: is.Requested, Issued: is.Issued,
		State: string(is.State), Key: is.IdempotencyKey, IdemKey: idem, CreatedAt: is.CreatedAt, UpdatedAt: is.UpdatedAt})
	return translate(err, map[string]string{"idem": "Idempotency-Key"}, field("Idempotency-Key"))
}

func (s *Store) findIssuance(ctx context.Context, q bson.D) (trace.Issuance, error) {
	return findOne(ctx, s.db.Collection(colIssuances), q, issuanceDoc.issuance)
}

// Issuance implements [trace.CodeStore].
func (s *Store) Issuance(ctx context.Context, id string) (trace.Issuance, error) {
	return s.findIssuance(ctx, bson.D{{Key: "_id", Value: id}})
}

// IssuanceByKey implements [trace.CodeStore].
func (s *Store) IssuanceByKey(ctx context.Context, ownerID, key string) (trace.Issuance, error) {
	if key == "" {
		return trace.Issuance{}, trace.ErrNotFound
	}
	return s.findIssuance(ctx, bson.D{{Key: "ownerId", Value: ownerID}, {Key: "idemKey", Value: key}})
}

// ClaimIssuance implements [trace.CodeStore].
func (s *Store) ClaimIssuance(ctx context.Context, id string, at time.Time) (trace.Issuance, error) {
	var d issuanceDoc
	err := s.db.Collection(colIssuances).FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "state", Value: bson.D{{Key: "$ne", Value: string(trace.IssuanceRunning)}}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: string(trace.IssuanceRunning)}, {Key: "updatedAt", Value: at}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		if _, err := s.Issuance(ctx, id); err != nil {
			return trace.Issuance{}, err
		}
		return trace.Issuance{}, trace.ErrConflict
	}
	if err != nil {
		return trace.Issuance{}, err
	}
	return d.issuance(), nil
}

// UpdateIssuance implements [trace.CodeStore].
func (s *Store) UpdateIssuance(ctx context.Context, id string, issued int, state trace.IssuanceState, at time.Time) error {
	res, err := s.db.Collection(colIssuances).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "issued", Value: issued}, {Key: "state", Value: string(state)},
			{Key: "updatedAt", Value: at}}}})
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return trace.ErrNotFound
	}
	return nil
}

type codeDoc struct {
	ID        string    `bson:"_id"` // GTIN (14 digits) + serial
	GTIN      string    `bson:"gtin"`
	Serial    string    `bson:"serial"`
	Lot       string    `bson:"lot"`
	Issuance  string    `bson:"iss"`
	Seq       string    `bson:"seq"`
	State     string    `bson:"state"`
	Possessor string    `bson:"possessor"`
	IssuedAt  time.Time `bson:"issuedAt"`
	UpdatedAt time.Time `bson:"updatedAt"`
	// Custody state (see [trace.Custody]), set by [Store.ApplyCapture].
	PendingTo   string     `bson:"pendingTo"`
	Container   string     `bson:"container,omitempty"`   // absent when not packed (see containerIndex)
	LastEventAt *time.Time `bson:"lastEventAt,omitempty"` // absent until an event is applied
	Version     int64      `bson:"version"`
}

func (d codeDoc) code() trace.Code {
	return trace.Code{GTIN: d.GTIN, Serial: d.Serial, Lot: d.Lot, Issuance: d.Issuance, Seq: d.Seq, State: trace.CodeState(d.State),
		Possessor: d.Possessor, Container: d.Container, IssuedAt: d.IssuedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

// InsertCodes implements [trace.CodeStore].
func (s *Store) InsertCodes(ctx context.Context, codes []trace.Code) ([]int, error) {
	docs := make([]any, len(codes))
	for i, c := range codes {
		docs[i] = codeDoc{ID: c.GTIN + c.Serial, GTIN: c.GTIN, Serial: c.Serial, Lot: c.Lot, Issuance: c.Issuance, Seq: c.Seq,
			State: string(c.State), Possessor: c.Possessor, IssuedAt: c.IssuedAt, UpdatedAt: c.UpdatedAt}
	}
	return schemamongo.InsertIgnoring(ctx, s.db.Collection(colCodes), docs)
}

// Code implements [trace.CodeStore].
func (s *Store) Code(ctx context.Context, gtin, serial string) (trace.Code, error) {
	return findOne(ctx, s.db.Collection(colCodes), bson.D{{Key: "_id", Value: gtin + serial}}, codeDoc.code)
}

// seqRange is the seq condition of a page, optionally within one issuance.
func seqRange(after, issuance string) bson.D {
	cond := bson.D{{Key: "$gt", Value: after}}
	if issuance != "" {
		from, to := trace.SeqRange(issuance)
		if after < from {
			cond = bson.D{{Key: "$gt", Value: from}}
		}
		cond = append(cond, bson.E{Key: "$lt", Value: to})
	}
	return cond
}

// findBy runs q sorted by one field with a limit and decodes every result.
func findBy[T any](ctx context.Context, c *mongo.Collection, q bson.D, sort string, limit int) ([]T, error) {
	cur, err := c.Find(ctx, q, options.Find().SetSort(bson.D{{Key: sort, Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	var out []T
	return out, cur.All(ctx, &out)
}

// ListCodes implements [trace.CodeStore].
func (s *Store) ListCodes(ctx context.Context, f trace.CodeFilter, p trace.Page) ([]trace.Code, error) {
	docs, err := findBy[codeDoc](ctx, s.db.Collection(colCodes), bson.D{{Key: "gtin", Value: f.GTIN},
		{Key: "lot", Value: f.Lot}, {Key: "seq", Value: seqRange(p.After, f.Issuance)}}, "seq", p.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]trace.Code, len(docs))
	for i, d := range docs {
		out[i] = d.code()
	}
	return out, nil
}

type ssccDoc struct {
	SSCC      string    `bson:"_id"`
	OwnerID   string    `bson:"ownerId"`
	Issuance  string    `bson:"iss"`
	Seq       string    `bson:"seq"`
	State     string    `bson:"state"`
	Possessor string    `bson:"possessor"`
	IssuedAt  time.Time `bson:"issuedAt"`
	UpdatedAt time.Time `bson:"updatedAt"`
	// Custody state, as in codeDoc.
	PendingTo   string     `bson:"pendingTo"`
	Container   string     `bson:"container,omitempty"`
	LastEventAt *time.Time `bson:"lastEventAt,omitempty"`
	Version     int64      `bson:"version"`
}

func (d ssccDoc) sscc() trace.SSCC {
	return trace.SSCC{SSCC: d.SSCC, OwnerID: d.OwnerID, Issuance: d.Issuance, Seq: d.Seq, State: trace.CodeState(d.State),
		Possessor: d.Possessor, IssuedAt: d.IssuedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

// InsertSSCCs implements [trace.CodeStore].
func (s *Store) InsertSSCCs(ctx context.Context, list []trace.SSCC) ([]int, error) {
	docs := make([]any, len(list))
	for i, c := range list {
		docs[i] = ssccDoc{SSCC: c.SSCC, OwnerID: c.OwnerID, Issuance: c.Issuance, Seq: c.Seq, State: string(c.State), Possessor: c.Possessor,
			IssuedAt: c.IssuedAt, UpdatedAt: c.UpdatedAt}
	}
	return schemamongo.InsertIgnoring(ctx, s.db.Collection(colSSCCs), docs)
}

// SSCC implements [trace.CodeStore].
func (s *Store) SSCC(ctx context.Context, sscc string) (trace.SSCC, error) {
	return findOne(ctx, s.db.Collection(colSSCCs), bson.D{{Key: "_id", Value: sscc}}, ssccDoc.sscc)
}

// ListSSCCs implements [trace.CodeStore].
func (s *Store) ListSSCCs(ctx context.Context, f trace.SSCCFilter, p trace.Page) ([]trace.SSCC, error) {
	docs, err := findBy[ssccDoc](ctx, s.db.Collection(colSSCCs), bson.D{{Key: "ownerId", Value: f.OwnerID},
		{Key: "seq", Value: seqRange(p.After, f.Issuance)}}, "seq", p.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]trace.SSCC, len(docs))
	for i, d := range docs {
		out[i] = d.sscc()
	}
	return out, nil
}
