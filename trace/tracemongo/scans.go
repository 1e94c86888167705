package tracemongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/trace"
)

var (
	_ trace.ScanStore   = (*Store)(nil)
	_ trace.TipoffStore = (*Store)(nil)
)

const (
	colScans   = "scans"
	colAlerts  = "alerts"
	colTipoffs = "tipoffs"
)

func scanIndexes() map[string][]mongo.IndexModel {
	return map[string][]mongo.IndexModel{
		colScans: {{Keys: bson.D{{Key: "gtin", Value: 1}, {Key: "serial", Value: 1}, {Key: "at", Value: -1}},
			Options: options.Index().SetName("code")}},
		colAlerts: {
			{Keys: bson.D{{Key: "ownerId", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("owner")},
			{Keys: bson.D{{Key: "kind", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("kind")},
			{Keys: bson.D{{Key: "kind", Value: 1}, {Key: "gtin", Value: 1}, {Key: "serial", Value: 1}},
				Options: options.Index().SetName("code")},
		},
		colTipoffs: {
			{Keys: bson.D{{Key: "receipt", Value: 1}}, Options: options.Index().SetUnique(true).SetName("receipt")},
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("status")},
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

func newScanDoc(sc trace.Scan) scanDoc {
	d := scanDoc{ID: sc.ID, GTIN: sc.GTIN, Serial: sc.Serial, Lot: sc.Lot, At: sc.At, Client: sc.Client,
		Verdict: string(sc.Verdict), OwnerID: sc.Owner}
	if sc.HasLocation {
		lat, lon := sc.Lat, sc.Lon
		d.Lat, d.Lon = &lat, &lon
	}
	return d
}

func (d scanDoc) scan() trace.Scan {
	sc := trace.Scan{ID: d.ID, GTIN: d.GTIN, Serial: d.Serial, Lot: d.Lot, At: d.At.UTC(), Client: d.Client,
		Verdict: trace.Verdict(d.Verdict), Owner: d.OwnerID}
	if d.Lat != nil && d.Lon != nil {
		sc.HasLocation, sc.Lat, sc.Lon = true, *d.Lat, *d.Lon
	}
	return sc
}

// InsertScans implements [trace.ScanStore]. Scans whose _id is taken are
// skipped by the unordered insert.
func (s *Store) InsertScans(ctx context.Context, scans []trace.Scan) error {
	if len(scans) == 0 {
		return nil
	}
	docs := make([]any, len(scans))
	for i, sc := range scans {
		docs[i] = newScanDoc(sc)
	}
	_, err := insertIgnoring(ctx, s.db.Collection(colScans), docs)
	return err
}

// RecentScans implements [trace.ScanStore].
func (s *Store) RecentScans(ctx context.Context, gtin, serial string, limit int) ([]trace.Scan, error) {
	docs, err := findAll[scanDoc](ctx, s.db.Collection(colScans),
		bson.D{{Key: "gtin", Value: gtin}, {Key: "serial", Value: serial}},
		options.Find().SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	out := make([]trace.Scan, len(docs))
	for i, d := range docs {
		out[i] = d.scan()
	}
	return out, nil
}

// CountScans implements [trace.ScanStore].
func (s *Store) CountScans(ctx context.Context, gtin, serial string) (int, error) {
	n, err := s.db.Collection(colScans).CountDocuments(ctx, bson.D{{Key: "gtin", Value: gtin}, {Key: "serial", Value: serial}})
	return int(n), err
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

func (d alertDoc) alert() trace.Alert {
	return trace.Alert{ID: d.ID, Kind: trace.AlertKind(d.Kind), GTIN: d.GTIN, Serial: d.Serial, Owner: d.OwnerID,
		Scans: d.Scans, Detail: d.Detail, CreatedAt: d.CreatedAt.UTC()}
}

// InsertAlert implements [trace.ScanStore].
func (s *Store) InsertAlert(ctx context.Context, a trace.Alert) error {
	_, err := s.db.Collection(colAlerts).InsertOne(ctx, alertDoc{ID: a.ID, Kind: string(a.Kind), GTIN: a.GTIN,
		Serial: a.Serial, OwnerID: a.Owner, Scans: a.Scans, Detail: a.Detail, CreatedAt: a.CreatedAt})
	return Translate(err, map[string]string{"_id_": "id"}, field("id"))
}

// ListAlerts implements [trace.ScanStore].
func (s *Store) ListAlerts(ctx context.Context, f trace.AlertFilter, p trace.Page) ([]trace.Alert, error) {
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
	out := make([]trace.Alert, len(docs))
	for i, d := range docs {
		out[i] = d.alert()
	}
	return out, nil
}

// HasAlert implements [trace.ScanStore].
func (s *Store) HasAlert(ctx context.Context, kind trace.AlertKind, gtin, serial string) (bool, error) {
	n, err := s.db.Collection(colAlerts).CountDocuments(ctx,
		bson.D{{Key: "kind", Value: string(kind)}, {Key: "gtin", Value: gtin}, {Key: "serial", Value: serial}},
		options.Count().SetLimit(1))
	return n > 0, err
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
}

// timeOrNil is t as an optional stored time: nil when t is zero (see optTime).
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (d tipoffDoc) tipoff() trace.Tipoff {
	return trace.Tipoff{ID: d.ID, Receipt: d.Receipt, Subject: d.Subject, Code: d.Code, GTIN: d.GTIN,
		EntityID: d.EntityID, Category: d.Category, Description: d.Description, Anonymous: d.Anonymous, Name: d.Name,
		Contact: d.Contact, Client: d.Client, Status: trace.TipoffStatus(d.Status), Note: d.Note, HandledBy: d.HandledBy,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Deadline: optTime(d.Deadline),
		NotifyBy: optTime(d.NotifyBy)}
}

// CreateTipoff implements [trace.TipoffStore].
func (s *Store) CreateTipoff(ctx context.Context, t trace.Tipoff) error {
	c := s.db.Collection(colTipoffs)
	_, err := c.InsertOne(ctx, tipoffDoc{ID: t.ID, Receipt: t.Receipt, Subject: t.Subject, Code: t.Code, GTIN: t.GTIN,
		EntityID: t.EntityID, Category: t.Category, Description: t.Description, Anonymous: t.Anonymous, Name: t.Name,
		Contact: t.Contact, Client: t.Client, Status: string(t.Status), Note: t.Note, HandledBy: t.HandledBy,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Deadline: timeOrNil(t.Deadline), NotifyBy: timeOrNil(t.NotifyBy)})
	return Translate(err, map[string]string{"_id_": "id", "receipt": "receipt"}, func() string {
		n, _ := c.CountDocuments(ctx, bson.D{{Key: "_id", Value: t.ID}})
		if n > 0 {
			return "id"
		}
		return "receipt"
	})
}

// Tipoff implements [trace.TipoffStore].
func (s *Store) Tipoff(ctx context.Context, receipt string) (trace.Tipoff, error) {
	return findOne(ctx, s.db.Collection(colTipoffs), bson.D{{Key: "receipt", Value: receipt}}, tipoffDoc.tipoff)
}

// ListTipoffs implements [trace.TipoffStore].
func (s *Store) ListTipoffs(ctx context.Context, status trace.TipoffStatus, p trace.Page) ([]trace.Tipoff, error) {
	q := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}}}
	if status != "" {
		q = append(q, bson.E{Key: "status", Value: string(status)})
	}
	docs, err := find[tipoffDoc](ctx, s.db.Collection(colTipoffs), q, p.Limit)
	if err != nil {
		return nil, err
	}
	out := make([]trace.Tipoff, len(docs))
	for i, d := range docs {
		out[i] = d.tipoff()
	}
	return out, nil
}

// UpdateTipoff implements [trace.TipoffStore].
func (s *Store) UpdateTipoff(ctx context.Context, receipt string, status trace.TipoffStatus, note, by string, at time.Time) (trace.Tipoff, error) {
	var d tipoffDoc
	err := s.db.Collection(colTipoffs).FindOneAndUpdate(ctx, bson.D{{Key: "receipt", Value: receipt}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "status", Value: string(status)}, {Key: "note", Value: note},
			{Key: "handledBy", Value: by}, {Key: "updatedAt", Value: at}}}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if err != nil {
		return trace.Tipoff{}, Translate(err, nil, nil)
	}
	return d.tipoff(), nil
}
