package tracemongo

import (
	"context"
	"errors"
	"fmt"
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
		colIssuances: {
			{Keys: bson.D{{Key: "ownerId", Value: 1}, {Key: "idemKey", Value: 1}},
				Options: options.Index().SetUnique(true).SetName("idem")},
			// Running issuances are looked for by state, at start.
			{Keys: bson.D{{Key: "state", Value: 1}}, Options: options.Index().SetName("state")},
		},
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

// containerIndex serves [Store.Contents] and its _id order. A code that is not packed has no
// container field, so on MongoDB the sparse index holds packed codes only.
// (A partial index would say it better, but FerretDB has none; it accepts
// sparse and ignores it.)
func containerIndex() mongo.IndexModel {
	return mongo.IndexModel{Keys: bson.D{{Key: "container", Value: 1}, {Key: "_id", Value: 1}},
		Options: options.Index().SetSparse(true).SetName("container_id")}
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
	// The lease of a running issuance; the zero time when there is none.
	// Issuances stored before leases existed lack these fields.
	LeaseInstance string    `bson:"leaseInstance"`
	LeaseHolder   string    `bson:"leaseHolder"`
	LeaseUntil    time.Time `bson:"leaseUntil"`
}

func (d issuanceDoc) issuance() trace.Issuance {
	is := trace.Issuance{ID: d.ID, Kind: trace.IssuanceKind(d.Kind), OwnerID: d.OwnerID, GTIN: d.GTIN, Lot: d.Lot,
		Requested: d.Requested, Issued: d.Issued, State: trace.IssuanceState(d.State), IdempotencyKey: d.Key,
		Lease:     trace.Lease{Instance: d.LeaseInstance, Holder: d.LeaseHolder},
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	if !d.LeaseUntil.IsZero() {
		is.Lease.Until = d.LeaseUntil.UTC()
	}
	return is
}

// CreateIssuance implements [trace.CodeStore].
func (s *Store) CreateIssuance(ctx context.Context, is trace.Issuance) error {
	idem := is.IdempotencyKey
	if idem == "" {
		idem = "-" + is.ID
	}
	_, err := s.db.Collection(colIssuances).InsertOne(ctx, issuanceDoc{ID: is.ID, Kind: string(is.Kind),
		OwnerID: is.OwnerID, GTIN: is.GTIN, Lot: is.Lot, Requested: is.Requested, Issued: is.Issued,
		State: string(is.State), Key: is.IdempotencyKey, IdemKey: idem, CreatedAt: is.CreatedAt, UpdatedAt: is.UpdatedAt,
		LeaseInstance: is.Lease.Instance, LeaseHolder: is.Lease.Holder, LeaseUntil: is.Lease.Until})
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

// leaseEnded matches issuances whose lease ended by at, or that never had
// one (stored before leases existed).
func leaseEnded(at time.Time) bson.A {
	return bson.A{
		bson.D{{Key: "leaseUntil", Value: bson.D{{Key: "$lte", Value: at}}}},
		bson.D{{Key: "leaseUntil", Value: bson.D{{Key: "$exists", Value: false}}}},
	}
}

// ClaimIssuance implements [trace.CodeStore].
func (s *Store) ClaimIssuance(ctx context.Context, id string, l trace.Lease, at time.Time) (trace.Issuance, error) {
	var d issuanceDoc
	err := s.db.Collection(colIssuances).FindOneAndUpdate(ctx,
		bson.D{{Key: "_id", Value: id}, {Key: "$or", Value: bson.A{
			bson.D{{Key: "state", Value: string(trace.IssuanceInterrupted)}},
			bson.D{{Key: "state", Value: string(trace.IssuanceRunning)}, {Key: "$or", Value: leaseEnded(at)}},
		}}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: string(trace.IssuanceRunning)}, {Key: "updatedAt", Value: at},
			{Key: "leaseInstance", Value: l.Instance}, {Key: "leaseHolder", Value: l.Holder}, {Key: "leaseUntil", Value: l.Until}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if err == nil {
		return d.issuance(), nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return trace.Issuance{}, translate(err, nil, nil)
	}
	is, err := s.Issuance(ctx, id)
	switch {
	case err != nil:
		return trace.Issuance{}, err
	case is.State == trace.IssuanceComplete:
		return is, nil
	}
	return is, fmt.Errorf("issuance %s is held until %s: %w", id, is.Lease.Until.Format(time.RFC3339), trace.ErrConflict)
}

// holderUpdate applies set to running issuance id if holder holds it;
// [trace.ErrConflict] when it holds it no more.
func (s *Store) holderUpdate(ctx context.Context, id, holder string, set bson.D) error {
	res, err := s.db.Collection(colIssuances).UpdateOne(ctx, bson.D{{Key: "_id", Value: id},
		{Key: "state", Value: string(trace.IssuanceRunning)}, {Key: "leaseHolder", Value: holder}},
		bson.D{{Key: "$set", Value: set}})
	if err != nil {
		return translate(err, nil, nil)
	}
	if res.MatchedCount > 0 {
		return nil
	}
	if _, err := s.Issuance(ctx, id); err != nil {
		return err
	}
	return fmt.Errorf("issuance %s is no longer held by this request: %w", id, trace.ErrConflict)
}

// UpdateIssuance implements [trace.CodeStore].
func (s *Store) UpdateIssuance(ctx context.Context, id, holder string, u trace.IssuanceUpdate) error {
	if u.State == trace.IssuanceRunning {
		return s.holderUpdate(ctx, id, holder, bson.D{{Key: "issued", Value: u.Issued}, {Key: "updatedAt", Value: u.At},
			{Key: "leaseUntil", Value: u.LeaseUntil}})
	}
	return s.holderUpdate(ctx, id, holder, bson.D{{Key: "issued", Value: u.Issued}, {Key: "state", Value: string(u.State)},
		{Key: "updatedAt", Value: u.At}, {Key: "leaseInstance", Value: ""}, {Key: "leaseHolder", Value: ""},
		{Key: "leaseUntil", Value: time.Time{}}})
}

// RenewLease implements [trace.CodeStore].
func (s *Store) RenewLease(ctx context.Context, id, holder string, until time.Time) error {
	return s.holderUpdate(ctx, id, holder, bson.D{{Key: "leaseUntil", Value: until}})
}

// InterruptIssuances implements [trace.CodeStore].
func (s *Store) InterruptIssuances(ctx context.Context, instance string, at time.Time) (int, error) {
	res, err := s.db.Collection(colIssuances).UpdateMany(ctx,
		bson.D{{Key: "state", Value: string(trace.IssuanceRunning)},
			{Key: "$or", Value: append(leaseEnded(at), bson.D{{Key: "leaseInstance", Value: instance}})}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "state", Value: string(trace.IssuanceInterrupted)}, {Key: "updatedAt", Value: at},
			{Key: "leaseInstance", Value: ""}, {Key: "leaseHolder", Value: ""}, {Key: "leaseUntil", Value: time.Time{}}}}})
	if err != nil {
		return 0, translate(err, nil, nil)
	}
	return int(res.ModifiedCount), nil
}

// CountIssued implements [trace.CodeStore].
func (s *Store) CountIssued(ctx context.Context, is trace.Issuance) (int, string, error) {
	c, q := s.db.Collection(colCodes), bson.D{{Key: "gtin", Value: is.GTIN}, {Key: "lot", Value: is.Lot}}
	if is.Kind == trace.IssuanceSSCC {
		c, q = s.db.Collection(colSSCCs), bson.D{{Key: "ownerId", Value: is.OwnerID}}
	}
	q = append(q, bson.E{Key: "seq", Value: seqRange("", is.ID)})
	n, err := c.CountDocuments(ctx, q)
	if err != nil || n == 0 {
		return 0, "", translate(err, nil, nil)
	}
	var last struct {
		Seq string `bson:"seq"`
	}
	err = c.FindOne(ctx, q, options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}}).
		SetProjection(bson.D{{Key: "seq", Value: 1}})).Decode(&last)
	if err != nil {
		return 0, "", translate(err, nil, nil)
	}
	return int(n), last.Seq, nil
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
	q := bson.D{{Key: "gtin", Value: f.GTIN}, {Key: "lot", Value: f.Lot}, {Key: "seq", Value: seqRange(p.After, f.Issuance)}}
	switch {
	case f.Moved && f.Unmoved:
		return nil, nil
	case f.Moved:
		q = append(q, bson.E{Key: "version", Value: bson.D{{Key: "$gt", Value: 0}}})
	case f.Unmoved:
		q = append(q, bson.E{Key: "version", Value: 0})
	}
	docs, err := findBy[codeDoc](ctx, s.db.Collection(colCodes), q, "seq", p.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]trace.Code, len(docs))
	for i, d := range docs {
		out[i] = d.code()
	}
	return out, nil
}

// CountCodes implements [trace.CodeStore]. The moved codes are counted
// from the batch index with the version as a residual filter: on MongoDB
// this reads the batch's documents (see docs/BENCHMARKS.md, wide traces).
func (s *Store) CountCodes(ctx context.Context, gtin, lot string) (int, int, error) {
	c, q := s.db.Collection(colCodes), bson.D{{Key: "gtin", Value: gtin}, {Key: "lot", Value: lot}}
	all, err := c.CountDocuments(ctx, q)
	if err != nil {
		return 0, 0, translate(err, nil, nil)
	}
	moved, err := c.CountDocuments(ctx, append(q, bson.E{Key: "version", Value: bson.D{{Key: "$gt", Value: 0}}}))
	if err != nil {
		return 0, 0, translate(err, nil, nil)
	}
	return int(all), int(moved), nil
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
