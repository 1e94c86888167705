// Package tracemongo stores the trace domain in MongoDB through
// go.mongodb.org/mongo-driver/v2. It implements [trace.Store],
// [access.Store] and [audit.Store].
//
// It uses single-document atomic operations only (unique indexes,
// findOneAndUpdate), never multi-document transactions, so it runs on a
// replica set, a sharded cluster, or any MongoDB-wire server. Natural keys
// are the _id wherever there is one, because an _id lookup is the one
// query every wire-compatible server answers from an index.
package tracemongo

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/trace"
	"tracesvc/trace/access"
	"tracesvc/trace/audit"
	"tracesvc/trace/scan"
	"tracesvc/trace/schemamongo"
)

// Collection names.
const (
	colEntities = "entities"
	colProducts = "products"
	colBatches  = "batches"
	colKeys     = "api_keys"
	colAudit    = "audit_log"
)

// Store implements [trace.Store], [trace.CodeStore], [trace.EventStore],
// [scan.Store], [access.Store] and [audit.Store] on a MongoDB database.
type Store struct {
	db *mongo.Database
	// faults is a test's hook into ApplyCapture's steps; nil otherwise.
	faults func(step string) error
}

var (
	_ trace.Store  = (*Store)(nil)
	_ scan.Store   = (*Store)(nil)
	_ access.Store = (*Store)(nil)
	_ audit.Store  = (*Store)(nil)
)

// New returns a Store on db and creates every index its queries need.
func New(ctx context.Context, db *mongo.Database) (*Store, error) {
	s := &Store{db: db}
	idx := indexes()
	if err := s.dedupeAlerts(ctx); err != nil {
		return nil, fmt.Errorf("tracemongo: %w", err)
	}
	// Indexes this version replaced by better ones (see issue 10).
	if err := schemamongo.DropIndexes(ctx, db, map[string][]string{colAlerts: {"code"}, colScans: {"code"},
		colCodes: {"container"}, colSSCCs: {"container"}, colEvents: {"anyKey"}}); err != nil {
		return nil, fmt.Errorf("tracemongo: %w", err)
	}
	if err := schemamongo.EnsureIndexes(ctx, db, idx); err != nil {
		return nil, fmt.Errorf("tracemongo: %w", err)
	}
	return s, nil
}

// indexes are every index the store's queries need (see indexes_test.go,
// which checks each query shape against them).
func indexes() schemamongo.Indexes {
	idx := schemamongo.Indexes{
		colEntities: {
			{Keys: bson.D{{Key: "uscc", Value: 1}}, Options: options.Index().SetUnique(true).SetName("uscc")},
			// glnKey is the GLN, or "-"+_id for entities without one, so that a
			// plain unique index (which every wire server has) keeps GLNs unique.
			{Keys: bson.D{{Key: "glnKey", Value: 1}}, Options: options.Index().SetUnique(true).SetName("gln")},
			{Keys: bson.D{{Key: "region", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("region")},
			{Keys: bson.D{{Key: "kinds", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("kinds")},
			{Keys: bson.D{{Key: "companyPrefix", Value: 1}}, Options: options.Index().SetName("companyPrefix")},
		},
		colProducts: {
			{Keys: bson.D{{Key: "ownerId", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("owner")},
			{Keys: bson.D{{Key: "category", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("category")},
		},
		colKeys: {
			{Keys: bson.D{{Key: "hash", Value: 1}}, Options: options.Index().SetUnique(true).SetName("hash")},
			{Keys: bson.D{{Key: "entityId", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("entity")},
			{Keys: bson.D{{Key: "role", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("role")},
		},
	}
	idx.Add(codeIndexes())
	idx.Add(eventIndexes())
	idx.Add(scanIndexes())
	idx.Add(intentIndexes())
	return idx
}

// translate maps driver errors onto the trace domain's sentinels. A
// duplicate-key error becomes a [*trace.FieldError] on the field whose
// index clashed: fields maps index names to API field names. Servers that
// leave the index out of the message (FerretDB) get the field guess(), when
// guess is not nil. A clash on another index is a plain conflict, its
// detail kept for the log only.
func translate(err error, fields map[string]string, guess func() string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, mongo.ErrNoDocuments) {
		return trace.ErrNotFound
	}
	if index, ok := schemamongo.DuplicateKey(err); ok {
		field := fields[index]
		if field == "" && guess != nil {
			field = guess()
		}
		if field != "" {
			return &trace.FieldError{Field: field, Msg: "is already registered", Kind: trace.ErrConflict}
		}
		return fmt.Errorf("%w: %w", trace.ErrConflict, err)
	}
	if schemamongo.Unavailable(err) {
		return fmt.Errorf("%w: %w", trace.ErrUnavailable, err)
	}
	return err
}

// field returns a guess func that always names f.
func field(f string) func() string { return func() string { return f } }

// Ping implements [trace.Store].
func (s *Store) Ping(ctx context.Context) error {
	return s.db.RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err()
}

type entityDoc struct {
	ID            string        `bson:"_id"`
	USCC          string        `bson:"uscc"`
	GLN           string        `bson:"gln"`
	GLNKey        string        `bson:"glnKey"`
	Name          string        `bson:"name"`
	Kinds         []string      `bson:"kinds"`
	Region        string        `bson:"region"`
	Address       string        `bson:"address"`
	CompanyPrefix string        `bson:"companyPrefix"`
	Contact       trace.Contact `bson:"contact"`
	CreatedAt     time.Time     `bson:"createdAt"`
	UpdatedAt     time.Time     `bson:"updatedAt"`
}

func glnKey(id, gln string) string {
	if gln == "" {
		return "-" + id
	}
	return gln
}

func kindsOut(ks []trace.Kind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

func (d entityDoc) entity() trace.Entity {
	kinds := make([]trace.Kind, len(d.Kinds))
	for i, k := range d.Kinds {
		kinds[i] = trace.Kind(k)
	}
	return trace.Entity{ID: d.ID, Name: d.Name, USCC: d.USCC, Kinds: kinds, Region: d.Region, Address: d.Address,
		GLN: d.GLN, CompanyPrefix: d.CompanyPrefix, Contact: d.Contact, CreatedAt: d.CreatedAt.UTC(),
		UpdatedAt: d.UpdatedAt.UTC()}
}

var entityFields = map[string]string{"uscc": "uscc", "gln": "gln", "_id_": "id"}

// CreateEntity implements [trace.Store].
func (s *Store) CreateEntity(ctx context.Context, e trace.Entity) error {
	_, err := s.db.Collection(colEntities).InsertOne(ctx, entityDoc{
		ID: e.ID, USCC: e.USCC, GLN: e.GLN, GLNKey: glnKey(e.ID, e.GLN), Name: e.Name, Kinds: kindsOut(e.Kinds),
		Region: e.Region, Address: e.Address, CompanyPrefix: e.CompanyPrefix, Contact: e.Contact,
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt})
	return translate(err, entityFields, func() string {
		n, _ := s.db.Collection(colEntities).CountDocuments(ctx, bson.D{{Key: "uscc", Value: e.USCC}})
		if n > 0 {
			return "uscc"
		}
		return "gln"
	})
}

// Entity implements [trace.Store].
func (s *Store) Entity(ctx context.Context, id string) (trace.Entity, error) {
	return findOne(ctx, s.db.Collection(colEntities), bson.D{{Key: "_id", Value: id}}, entityDoc.entity)
}

// ListEntities implements [trace.Store].
func (s *Store) ListEntities(ctx context.Context, f trace.EntityFilter, p trace.Page) ([]trace.Entity, error) {
	q := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}}}
	if f.Kind != "" {
		q = append(q, bson.E{Key: "kinds", Value: string(f.Kind)})
	}
	if f.Region != "" {
		q = append(q, bson.E{Key: "region", Value: f.Region})
	}
	if f.USCC != "" {
		q = append(q, bson.E{Key: "uscc", Value: f.USCC})
	}
	if f.GLN != "" {
		q = append(q, bson.E{Key: "glnKey", Value: f.GLN})
	}
	if f.Name != "" {
		q = append(q, bson.E{Key: "name", Value: bson.D{
			{Key: "$regex", Value: regexp.QuoteMeta(f.Name)}, {Key: "$options", Value: "i"}}})
	}
	if len(f.CompanyPrefixes) > 0 {
		q = append(q, bson.E{Key: "companyPrefix", Value: bson.D{{Key: "$in", Value: f.CompanyPrefixes}}})
	}
	docs, err := find[entityDoc](ctx, s.db.Collection(colEntities), q, p.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]trace.Entity, len(docs))
	for i, d := range docs {
		out[i] = d.entity()
	}
	return out, nil
}

// findOne finds the document matching q and converts it with conv;
// [trace.ErrNotFound] when there is none.
func findOne[D, T any](ctx context.Context, c *mongo.Collection, q bson.D, conv func(D) T) (T, error) {
	var d D
	if err := c.FindOne(ctx, q).Decode(&d); err != nil {
		var zero T
		return zero, translate(err, nil, nil)
	}
	return conv(d), nil
}

// find runs q sorted by _id with a limit and decodes every result.
func find[T any](ctx context.Context, c *mongo.Collection, q bson.D, limit int) ([]T, error) {
	return findBy[T](ctx, c, q, "_id", limit)
}

// UpdateEntity implements [trace.Store].
func (s *Store) UpdateEntity(ctx context.Context, id string, p trace.EntityPatch, at time.Time) (trace.Entity, error) {
	set := bson.D{{Key: "updatedAt", Value: at}}
	add := func(k string, v any) { set = append(set, bson.E{Key: k, Value: v}) }
	if p.Contact != nil {
		add("contact", *p.Contact)
	}
	if p.Name != nil {
		add("name", *p.Name)
	}
	if p.Kinds != nil {
		add("kinds", kindsOut(*p.Kinds))
	}
	if p.Region != nil {
		add("region", *p.Region)
	}
	if p.Address != nil {
		add("address", *p.Address)
	}
	if p.GLN != nil {
		// The unique index is the real guard; this check gives the same
		// clear conflict on servers that report index violations on update
		// as a generic error (FerretDB).
		if *p.GLN != "" {
			n, err := s.db.Collection(colEntities).CountDocuments(ctx, bson.D{
				{Key: "glnKey", Value: *p.GLN}, {Key: "_id", Value: bson.D{{Key: "$ne", Value: id}}}})
			if err != nil {
				return trace.Entity{}, err
			}
			if n > 0 {
				return trace.Entity{}, &trace.FieldError{Field: "gln", Msg: "is already registered", Kind: trace.ErrConflict}
			}
		}
		add("gln", *p.GLN)
		add("glnKey", glnKey(id, *p.GLN))
	}
	if p.CompanyPrefix != nil {
		add("companyPrefix", *p.CompanyPrefix)
	}
	var d entityDoc
	err := s.db.Collection(colEntities).FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: set}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if err != nil {
		return trace.Entity{}, translate(err, entityFields, field("gln"))
	}
	return d.entity(), nil
}

type productDoc struct {
	GTIN        string    `bson:"_id"`
	OwnerID     string    `bson:"ownerId"`
	Name        string    `bson:"name"`
	Brand       string    `bson:"brand"`
	Model       string    `bson:"model"`
	Category    string    `bson:"category"`
	Description string    `bson:"description"`
	CreatedAt   time.Time `bson:"createdAt"`
	UpdatedAt   time.Time `bson:"updatedAt"`
}

func (d productDoc) product() trace.Product {
	return trace.Product{GTIN: d.GTIN, OwnerID: d.OwnerID, Name: d.Name, Brand: d.Brand, Model: d.Model,
		Category: trace.Category(d.Category), Description: d.Description, CreatedAt: d.CreatedAt.UTC(),
		UpdatedAt: d.UpdatedAt.UTC()}
}

// CreateProduct implements [trace.Store].
func (s *Store) CreateProduct(ctx context.Context, p trace.Product) error {
	_, err := s.db.Collection(colProducts).InsertOne(ctx, productDoc{GTIN: p.GTIN, OwnerID: p.OwnerID, Name: p.Name,
		Brand: p.Brand, Model: p.Model, Category: string(p.Category), Description: p.Description,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt})
	return translate(err, map[string]string{"_id_": "gtin"}, field("gtin"))
}

// Product implements [trace.Store].
func (s *Store) Product(ctx context.Context, gtin string) (trace.Product, error) {
	return findOne(ctx, s.db.Collection(colProducts), bson.D{{Key: "_id", Value: gtin}}, productDoc.product)
}

// ListProducts implements [trace.Store].
func (s *Store) ListProducts(ctx context.Context, f trace.ProductFilter, p trace.Page) ([]trace.Product, error) {
	q := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}}}
	if f.OwnerID != "" {
		q = append(q, bson.E{Key: "ownerId", Value: f.OwnerID})
	}
	if f.Category != "" {
		q = append(q, bson.E{Key: "category", Value: string(f.Category)})
	}
	docs, err := find[productDoc](ctx, s.db.Collection(colProducts), q, p.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]trace.Product, len(docs))
	for i, d := range docs {
		out[i] = d.product()
	}
	return out, nil
}

// UpdateProduct implements [trace.Store].
func (s *Store) UpdateProduct(ctx context.Context, gtin string, p trace.ProductPatch, at time.Time) (trace.Product, error) {
	set := bson.D{{Key: "updatedAt", Value: at}}
	add := func(k string, v any) { set = append(set, bson.E{Key: k, Value: v}) }
	if p.Name != nil {
		add("name", *p.Name)
	}
	if p.Brand != nil {
		add("brand", *p.Brand)
	}
	if p.Model != nil {
		add("model", *p.Model)
	}
	if p.Category != nil {
		add("category", string(*p.Category))
	}
	if p.Description != nil {
		add("description", *p.Description)
	}
	var d productDoc
	err := s.db.Collection(colProducts).FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: gtin}},
		bson.D{{Key: "$set", Value: set}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if err != nil {
		return trace.Product{}, translate(err, nil, nil)
	}
	return d.product(), nil
}

// batchID is a batch's _id: the 14-digit GTIN, a space (outside GS1 set
// 82, so it cannot occur in a lot) and the lot. A GTIN's batches are then
// one _id range, ordered by lot.
func batchID(gtin, lot string) string { return gtin + " " + lot }

type batchDoc struct {
	ID             string       `bson:"_id"`
	GTIN           string       `bson:"gtin"`
	Lot            string       `bson:"lot"`
	OwnerID        string       `bson:"ownerId"`
	ProductionDate string       `bson:"productionDate"`
	ExpiryDate     string       `bson:"expiryDate"`
	Quantity       float64      `bson:"quantity"`
	Unit           string       `bson:"unit"`
	Origin         trace.Origin `bson:"origin"`
	CreatedAt      time.Time    `bson:"createdAt"`
}

func (d batchDoc) batch() trace.Batch {
	return trace.Batch{GTIN: d.GTIN, Lot: d.Lot, OwnerID: d.OwnerID, ProductionDate: d.ProductionDate,
		ExpiryDate: d.ExpiryDate, Quantity: d.Quantity, Unit: d.Unit, Origin: d.Origin, CreatedAt: d.CreatedAt.UTC()}
}

// CreateBatch implements [trace.Store].
func (s *Store) CreateBatch(ctx context.Context, b trace.Batch) error {
	_, err := s.db.Collection(colBatches).InsertOne(ctx, batchDoc{ID: batchID(b.GTIN, b.Lot), GTIN: b.GTIN, Lot: b.Lot,
		OwnerID: b.OwnerID, ProductionDate: b.ProductionDate, ExpiryDate: b.ExpiryDate, Quantity: b.Quantity,
		Unit: b.Unit, Origin: b.Origin, CreatedAt: b.CreatedAt})
	return translate(err, map[string]string{"_id_": "lot"}, field("lot"))
}

// Batch implements [trace.Store].
func (s *Store) Batch(ctx context.Context, gtin, lot string) (trace.Batch, error) {
	return findOne(ctx, s.db.Collection(colBatches), bson.D{{Key: "_id", Value: batchID(gtin, lot)}}, batchDoc.batch)
}

// ListBatches implements [trace.Store].
func (s *Store) ListBatches(ctx context.Context, gtin string, p trace.Page) ([]trace.Batch, error) {
	q := bson.D{{Key: "_id", Value: bson.D{
		{Key: "$gt", Value: batchID(gtin, p.After)},
		{Key: "$lt", Value: gtin + "!"}, // "!" is the character after the space
	}}}
	docs, err := find[batchDoc](ctx, s.db.Collection(colBatches), q, p.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]trace.Batch, len(docs))
	for i, d := range docs {
		out[i] = d.batch()
	}
	return out, nil
}
