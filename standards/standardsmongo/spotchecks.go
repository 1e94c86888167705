package standardsmongo

import (
	"context"
	"encoding/json"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/schemamongo"
)

var _ standards.SpotCheckStore = (*Store)(nil)

const colSpotChecks = "spot_checks"

func spotCheckIndexes() schemamongo.Indexes {
	return schemamongo.Indexes{
		colSpotChecks: {
			{Keys: bson.D{{Key: "lab", Value: 1}, {Key: "sampleCode", Value: 1}}, Options: options.Index().SetUnique(true).SetName("sample")},
			{Keys: bson.D{{Key: "entityId", Value: 1}, {Key: "result", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("entity")},
			{Keys: bson.D{{Key: "gtin", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("gtin")},
		},
	}
}

// spotCheckDoc is a stored spot check: its JSON body, and the fields lists
// filter on beside it.
type spotCheckDoc struct {
	ID         string `bson:"_id"`
	EntityID   string `bson:"entityId"`
	GTIN       string `bson:"gtin"`
	Result     string `bson:"result"`
	ReportedOn string `bson:"reportedOn"`
	Lab        string `bson:"lab"`
	SampleCode string `bson:"sampleCode"`
	Body       string `bson:"body"`
}

func (d spotCheckDoc) spotCheck() (standards.SpotCheck, error) {
	var c standards.SpotCheck
	if err := json.Unmarshal([]byte(d.Body), &c); err != nil {
		return standards.SpotCheck{}, fmt.Errorf("standardsmongo: stored spot check %s does not read: %w", d.ID, err)
	}
	return c, nil
}

// CreateSpotCheck implements [standards.SpotCheckStore].
func (s *Store) CreateSpotCheck(ctx context.Context, c standards.SpotCheck) error {
	body, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("standardsmongo: spot check %s: %w", c.ID, err)
	}
	col := s.db.Collection(colSpotChecks)
	_, err = col.InsertOne(ctx, spotCheckDoc{ID: c.ID, EntityID: c.EntityID, GTIN: c.GTIN, Result: c.Result,
		ReportedOn: c.ReportedOn, Lab: c.Lab, SampleCode: c.SampleCode, Body: string(body)})
	return translate(err, map[string]string{"_id_": "id", "sample": "sampleCode"}, func() string {
		if n, _ := col.CountDocuments(ctx, bson.D{{Key: "_id", Value: c.ID}}); n > 0 {
			return "id"
		}
		return "sampleCode"
	})
}

// SpotCheck implements [standards.SpotCheckStore].
func (s *Store) SpotCheck(ctx context.Context, id string) (standards.SpotCheck, error) {
	var d spotCheckDoc
	if err := s.db.Collection(colSpotChecks).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return standards.SpotCheck{}, translate(err, nil, nil)
	}
	return d.spotCheck()
}

// ListSpotChecks implements [standards.SpotCheckStore].
func (s *Store) ListSpotChecks(ctx context.Context, f standards.SpotCheckFilter, p trace.Page) ([]standards.SpotCheck, error) {
	q := bson.D{}
	for _, c := range []struct{ key, v string }{{"entityId", f.EntityID}, {"gtin", f.GTIN}, {"result", f.Result}} {
		if c.v != "" {
			q = append(q, bson.E{Key: c.key, Value: c.v})
		}
	}
	q = append(q, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}})
	if f.From != "" || f.To != "" {
		rng := bson.D{}
		if f.From != "" {
			rng = append(rng, bson.E{Key: "$gte", Value: f.From})
		}
		if f.To != "" {
			rng = append(rng, bson.E{Key: "$lte", Value: f.To})
		}
		q = append(q, bson.E{Key: "reportedOn", Value: rng})
	}
	return findPage(ctx, s.db.Collection(colSpotChecks), q, p.Limit, spotCheckDoc.spotCheck)
}
