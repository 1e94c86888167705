package tracemongo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/trace"
	"tracesvc/trace/scan"
	"tracesvc/trace/schemamongo"
)

var (
	_ scan.Store = (*Store)(nil)
)

const (
	colScans  = "scans"
	colAlerts = "alerts"
)

func scanIndexes() map[string][]mongo.IndexModel {
	return map[string][]mongo.IndexModel{
		// Serves CountScans and LocatedBefore's order (at, then _id, both
		// descending).
		colScans: {{Keys: bson.D{{Key: "gtin", Value: 1}, {Key: "serial", Value: 1}, {Key: "at", Value: -1}, {Key: "_id", Value: -1}},
			Options: options.Index().SetName("code_at")},
			// Serves CountRecalledScans: equality, then the time range.
			{Keys: bson.D{{Key: "gtin", Value: 1}, {Key: "verdict", Value: 1}, {Key: "at", Value: 1}},
				Options: options.Index().SetName("verdict_at")}},
		colAlerts: {
			{Keys: bson.D{{Key: "ownerId", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("owner")},
			{Keys: bson.D{{Key: "kind", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("kind")},
			// One alert per kind and code, however many processes raise it.
			{Keys: bson.D{{Key: "kind", Value: 1}, {Key: "gtin", Value: 1}, {Key: "serial", Value: 1}},
				Options: options.Index().SetUnique(true).SetName("kind_code")},
		},
	}
}

// scanDoc is a stored scan. lat and lon are absent when it has no location.
type scanDoc struct {
	ID      string    `bson:"_id"`
	GTIN    string    `bson:"gtin"`
	Serial  string    `bson:"serial"`
	Lot     string    `bson:"lot"`
	At      time.Time `bson:"at"`
	Lat     *float64  `bson:"lat,omitempty"`
	Lon     *float64  `bson:"lon,omitempty"`
	Client  string    `bson:"client"`
	Verdict string    `bson:"verdict"`
	OwnerID string    `bson:"ownerId"`
}

func newScanDoc(sc scan.Scan) scanDoc {
	d := scanDoc{ID: sc.ID, GTIN: sc.GTIN, Serial: sc.Serial, Lot: sc.Lot, At: sc.At, Client: sc.Client,
		Verdict: string(sc.Verdict), OwnerID: sc.Owner}
	if sc.HasLocation {
		lat, lon := sc.Lat, sc.Lon
		d.Lat, d.Lon = &lat, &lon
	}
	return d
}

func (d scanDoc) scan() scan.Scan {
	sc := scan.Scan{ID: d.ID, GTIN: d.GTIN, Serial: d.Serial, Lot: d.Lot, At: d.At.UTC(), Client: d.Client,
		Verdict: scan.Verdict(d.Verdict), Owner: d.OwnerID}
	if d.Lat != nil && d.Lon != nil {
		sc.HasLocation, sc.Lat, sc.Lon = true, *d.Lat, *d.Lon
	}
	return sc
}

// InsertScans implements [scan.Store]. Scans whose _id is taken are
// skipped by the unordered insert.
func (s *Store) InsertScans(ctx context.Context, scans []scan.Scan) error {
	if len(scans) == 0 {
		return nil
	}
	docs := make([]any, len(scans))
	for i, sc := range scans {
		docs[i] = newScanDoc(sc)
	}
	_, err := schemamongo.InsertIgnoring(ctx, s.db.Collection(colScans), docs)
	return err
}

// LocatedBefore implements [scan.Store].
func (s *Store) LocatedBefore(ctx context.Context, gtin, serial, before string) (scan.Scan, bool, error) {
	docs, err := schemamongo.FindAll[scanDoc](ctx, s.db.Collection(colScans),
		bson.D{{Key: "gtin", Value: gtin}, {Key: "serial", Value: serial}, {Key: "lat", Value: bson.D{{Key: "$exists", Value: true}}},
			{Key: "_id", Value: bson.D{{Key: "$lt", Value: before}}}},
		options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(1))
	if err != nil || len(docs) == 0 {
		return scan.Scan{}, false, err
	}
	return docs[0].scan(), true, nil
}

// CountScans implements [scan.Store].
func (s *Store) CountScans(ctx context.Context, gtin, serial string) (int, error) {
	n, err := s.db.Collection(colScans).CountDocuments(ctx, bson.D{{Key: "gtin", Value: gtin}, {Key: "serial", Value: serial}})
	return int(n), err
}

// CountScansOf implements [scan.Store]: per GTIN, the scans of its serials
// counted on the server, a thousand serials a query.
func (s *Store) CountScansOf(ctx context.Context, codes []scan.CodeKey) (map[scan.CodeKey]int, error) {
	serials := map[string][]string{} // GTIN → serials
	for _, c := range codes {
		serials[c.GTIN] = append(serials[c.GTIN], c.Serial)
	}
	counts := map[scan.CodeKey]int{}
	for gtin, list := range serials {
		for chunk := range slices.Chunk(list, 1000) {
			cur, err := s.db.Collection(colScans).Aggregate(ctx, mongo.Pipeline{
				{{Key: "$match", Value: bson.D{{Key: "gtin", Value: gtin}, {Key: "serial", Value: bson.D{{Key: "$in", Value: chunk}}}}}},
				{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$serial"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
			})
			if err != nil {
				return nil, fmt.Errorf("count scans of %d codes of %s: %w", len(chunk), gtin, translate(err, nil, nil))
			}
			var groups []struct {
				Serial string `bson:"_id"`
				N      int    `bson:"n"`
			}
			if err := cur.All(ctx, &groups); err != nil {
				return nil, fmt.Errorf("count scans of %d codes of %s: %w", len(chunk), gtin, translate(err, nil, nil))
			}
			for _, g := range groups {
				counts[scan.CodeKey{GTIN: gtin, Serial: g.Serial}] = g.N
			}
		}
	}
	return counts, nil
}

// CountRecalledScans implements [scan.Store]: the scans grouped by serial
// on the server, so that only the counts come back.
func (s *Store) CountRecalledScans(ctx context.Context, gtin string, since time.Time, limit int) (map[string]int, error) {
	counts := map[string]int{}
	if limit < 1 {
		return counts, nil // $limit must be positive
	}
	// serial > "" leaves out scans without a serial. One accumulator per
	// $group: FerretDB gets only the first of several right.
	cur, err := s.db.Collection(colScans).Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.D{{Key: "gtin", Value: gtin}, {Key: "verdict", Value: string(scan.VerdictRecalled)},
			{Key: "at", Value: bson.D{{Key: "$gte", Value: since}}}, {Key: "serial", Value: bson.D{{Key: "$gt", Value: ""}}}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$serial"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
		{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
		{{Key: "$limit", Value: limit}},
	})
	if err != nil {
		return nil, fmt.Errorf("count recalled scans of %s: %w", gtin, translate(err, nil, nil))
	}
	var groups []struct {
		Serial string `bson:"_id"`
		N      int    `bson:"n"`
	}
	if err := cur.All(ctx, &groups); err != nil {
		return nil, fmt.Errorf("count recalled scans of %s: %w", gtin, translate(err, nil, nil))
	}
	for _, g := range groups {
		counts[g.Serial] = g.N
	}
	return counts, nil
}

type alertDoc struct {
	ID        string    `bson:"_id"`
	Kind      string    `bson:"kind"`
	GTIN      string    `bson:"gtin"`
	Serial    string    `bson:"serial"`
	OwnerID   string    `bson:"ownerId"`
	Scans     []string  `bson:"scans"`
	Detail    string    `bson:"detail"`
	CreatedAt time.Time `bson:"createdAt"`
}

func (d alertDoc) alert() scan.Alert {
	return scan.Alert{ID: d.ID, Kind: scan.AlertKind(d.Kind), GTIN: d.GTIN, Serial: d.Serial, Owner: d.OwnerID,
		Scans: d.Scans, Detail: d.Detail, CreatedAt: d.CreatedAt.UTC()}
}

// InsertAlert implements [scan.Store].
func (s *Store) InsertAlert(ctx context.Context, a scan.Alert) error {
	_, err := s.db.Collection(colAlerts).InsertOne(ctx, alertDoc{ID: a.ID, Kind: string(a.Kind), GTIN: a.GTIN,
		Serial: a.Serial, OwnerID: a.Owner, Scans: a.Scans, Detail: a.Detail, CreatedAt: a.CreatedAt})
	// A server that does not name the index (FerretDB): the ID is taken
	// if an alert has it, else the kind and code are.
	return translate(err, map[string]string{"_id_": "id", "kind_code": "kind"}, func() string {
		n, _ := s.db.Collection(colAlerts).CountDocuments(ctx, bson.D{{Key: "_id", Value: a.ID}})
		if n > 0 {
			return "id"
		}
		return "kind"
	})
}

// ListAlerts implements [scan.Store].
func (s *Store) ListAlerts(ctx context.Context, f scan.AlertFilter, p trace.Page) ([]scan.Alert, error) {
	q := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}}}
	if f.Owner != "" {
		q = append(q, bson.E{Key: "ownerId", Value: f.Owner})
	}
	if f.Kind != "" {
		q = append(q, bson.E{Key: "kind", Value: string(f.Kind)})
	}
	docs, err := find[alertDoc](ctx, s.db.Collection(colAlerts), q, p.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]scan.Alert, len(docs))
	for i, d := range docs {
		out[i] = d.alert()
	}
	return out, nil
}

// HasAlert implements [scan.Store].
func (s *Store) HasAlert(ctx context.Context, kind scan.AlertKind, gtin, serial string) (bool, error) {
	n, err := s.db.Collection(colAlerts).CountDocuments(ctx,
		bson.D{{Key: "kind", Value: string(kind)}, {Key: "gtin", Value: gtin}, {Key: "serial", Value: serial}},
		options.Count().SetLimit(1))
	return n > 0, err
}

// dedupeAlerts readies a database from before alerts had a unique key:
// it keeps the first alert of each kind and code, so that the unique
// index can be built.
func (s *Store) dedupeAlerts(ctx context.Context) error {
	c := s.db.Collection(colAlerts)
	have, err := c.Indexes().ListSpecifications(ctx)
	if err != nil {
		return fmt.Errorf("list indexes of %s: %w", colAlerts, err)
	}
	for _, ix := range have {
		if ix.Name == "kind_code" {
			return nil // built already
		}
	}
	// Alerts are few; every wire server can walk them in ID order.
	cur, err := c.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).
		SetProjection(bson.D{{Key: "kind", Value: 1}, {Key: "gtin", Value: 1}, {Key: "serial", Value: 1}}))
	if err != nil {
		return fmt.Errorf("read alerts: %w", err)
	}
	var docs []alertDoc
	if err := cur.All(ctx, &docs); err != nil {
		return fmt.Errorf("read alerts: %w", err)
	}
	seen := map[[3]string]bool{}
	var dups []string
	for _, d := range docs {
		k := [3]string{d.Kind, d.GTIN, d.Serial}
		if seen[k] {
			dups = append(dups, d.ID)
		}
		seen[k] = true
	}
	if len(dups) == 0 {
		return nil
	}
	if _, err := c.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: dups}}}}); err != nil {
		return fmt.Errorf("drop duplicate alerts: %w", err)
	}
	return nil
}
