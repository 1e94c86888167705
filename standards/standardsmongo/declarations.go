package standardsmongo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/schemamongo"
)

var _ standards.DeclarationStore = (*Store)(nil)

// The declarations' collections: each version a document, and the
// standard texts once per content.
const (
	colDeclarations = "declarations"
	colTexts        = "standard_texts"
)

func declarationIndexes() schemamongo.Indexes {
	return schemamongo.Indexes{
		colDeclarations: {
			{Keys: bson.D{{Key: "series", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("series")},
			{Keys: bson.D{{Key: "entityId", Value: 1}, {Key: "status", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("entity")},
			{Keys: bson.D{{Key: "gtins", Value: 1}, {Key: "status", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("gtin")},
			{Keys: bson.D{{Key: "numbers", Value: 1}, {Key: "status", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("number")},
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("status")},
		},
	}
}

// declarationDoc is a stored declaration version: its JSON body, and the
// fields searches filter on beside it.
type declarationDoc struct {
	ID       string   `bson:"_id"`
	Series   string   `bson:"series"`
	EntityID string   `bson:"entityId"`
	Status   string   `bson:"status"`
	GTINs    []string `bson:"gtins"`
	Numbers  []string `bson:"numbers"`
	Search   string   `bson:"search"`
	Body     string   `bson:"body"`
}

func newDeclarationDoc(d standards.Declaration) (declarationDoc, error) {
	body, err := json.Marshal(d)
	if err != nil {
		return declarationDoc{}, fmt.Errorf("standardsmongo: declaration %s: %w", d.ID, err)
	}
	return declarationDoc{ID: d.ID, Series: d.Series, EntityID: d.EntityID, Status: string(d.Status), GTINs: d.GTINs(),
		Numbers: d.Numbers(), Search: d.SearchText(), Body: string(body)}, nil
}

func (d declarationDoc) declaration() (standards.Declaration, error) {
	var out standards.Declaration
	if err := json.Unmarshal([]byte(d.Body), &out); err != nil {
		return standards.Declaration{}, fmt.Errorf("standardsmongo: stored declaration %s does not read: %w", d.ID, err)
	}
	return out, nil
}

// CreateDeclaration implements [standards.DeclarationStore].
func (s *Store) CreateDeclaration(ctx context.Context, d standards.Declaration) error {
	doc, err := newDeclarationDoc(d)
	if err != nil {
		return err
	}
	_, err = s.db.Collection(colDeclarations).InsertOne(ctx, doc)
	return translate(err, map[string]string{"_id_": "id"}, func() string { return "id" })
}

// Declaration implements [standards.DeclarationStore].
func (s *Store) Declaration(ctx context.Context, id string) (standards.Declaration, error) {
	var doc declarationDoc
	if err := s.db.Collection(colDeclarations).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		return standards.Declaration{}, translate(err, nil, nil)
	}
	return doc.declaration()
}

// ListDeclarations implements [standards.DeclarationStore].
func (s *Store) ListDeclarations(ctx context.Context, f standards.DeclarationFilter, p trace.Page) ([]standards.Declaration, error) {
	q := bson.D{}
	for _, c := range []struct{ key, v string }{{"entityId", f.EntityID}, {"series", f.Series}, {"gtins", f.GTIN}, {"numbers", f.Number}} {
		if c.v != "" {
			q = append(q, bson.E{Key: c.key, Value: c.v})
		}
	}
	if len(f.Statuses) > 0 {
		in := bson.A{}
		for _, st := range f.Statuses {
			in = append(in, string(st))
		}
		q = append(q, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: in}}})
	}
	q = append(q, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}})
	if f.Query != "" {
		q = append(q, bson.E{Key: "search", Value: bson.D{{Key: "$regex", Value: regexp.QuoteMeta(f.Query)}}})
	}
	return findPage(ctx, s.db.Collection(colDeclarations), q, p.Limit, declarationDoc.declaration)
}

// UpdateDeclaration implements [standards.DeclarationStore]: one
// document replaced if its status is still from.
func (s *Store) UpdateDeclaration(ctx context.Context, from standards.DeclarationStatus, d standards.Declaration) error {
	doc, err := newDeclarationDoc(d)
	if err != nil {
		return err
	}
	c := s.db.Collection(colDeclarations)
	res, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "status", Value: string(from)}}, doc)
	if err != nil {
		return translate(err, nil, nil)
	}
	if res.MatchedCount == 0 {
		var now declarationDoc
		if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: d.ID}}).Decode(&now); err != nil {
			return translate(err, nil, nil)
		}
		return fmt.Errorf("declaration %s is %s now, not %s: %w", d.ID, now.Status, from, standards.ErrConflict)
	}
	return nil
}

// textDoc is a stored standard text.
type textDoc struct {
	SHA256 string `bson:"_id"`
	PDF    []byte `bson:"pdf"`
}

// PutText implements [standards.DeclarationStore].
func (s *Store) PutText(ctx context.Context, sha256 string, pdf []byte) error {
	_, err := s.db.Collection(colTexts).InsertOne(ctx, textDoc{SHA256: sha256, PDF: pdf})
	if _, dup := schemamongo.DuplicateKey(err); dup {
		return nil // the same content, kept already
	}
	return translate(err, nil, nil)
}

// Text implements [standards.DeclarationStore].
func (s *Store) Text(ctx context.Context, sha256 string) ([]byte, error) {
	var doc textDoc
	err := s.db.Collection(colTexts).FindOne(ctx, bson.D{{Key: "_id", Value: sha256}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, standards.ErrNotFound
	}
	return doc.PDF, translate(err, nil, nil)
}
