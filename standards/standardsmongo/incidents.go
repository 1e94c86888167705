package standardsmongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/schemamongo"
)

var _ standards.IncidentStore = (*Store)(nil)

// The incident reports' collections.
const (
	colIncidents = "incidents"
	colAwareness = "incident_awareness"
)

// incidentIndexes serve the incident queries: the credit record's late
// reports of an entity, a product's reports by event date (clusters),
// the statistics by month, a party's and a status's lists, and the open
// and overdue awareness records.
func incidentIndexes() schemamongo.Indexes {
	ix := func(name string, keys ...string) mongo.IndexModel {
		d := bson.D{}
		for _, k := range keys {
			d = append(d, bson.E{Key: k, Value: 1})
		}
		return mongo.IndexModel{Keys: d, Options: options.Index().SetName(name)}
	}
	return schemamongo.Indexes{
		colIncidents: {
			ix("entity_late", "entityId", "late", "createdAt"),
			ix("gtin_event", "gtin", "eventDate"),
			ix("owner", "ownerId", "_id"),
			ix("status", "status", "_id"),
			ix("month", "eventMonth", "category"),
		},
		colAwareness: {
			ix("open", "entityId", "gtin", "incidentId", "awareDate"),
			ix("overdue", "incidentId", "deadline"),
		},
	}
}

// incidentDoc is a stored report. Dates are YYYY-MM-DD strings, which sort
// as they compare.
type incidentDoc struct {
	ID              string    `bson:"_id"`
	EntityID        string    `bson:"entityId"`
	FiledBy         string    `bson:"filedBy"`
	OwnerID         string    `bson:"ownerId"`
	GTIN            string    `bson:"gtin"`
	Lot             string    `bson:"lot"`
	Category        string    `bson:"category"`
	Codes           []string  `bson:"codes"`
	EventDate       string    `bson:"eventDate"`
	EventMonth      string    `bson:"eventMonth"`
	AwareDate       string    `bson:"awareDate"`
	Severity        string    `bson:"severity"`
	PersonsAffected int       `bson:"personsAffected"`
	Description     string    `bson:"description"`
	Location        string    `bson:"location"`
	Distribution    string    `bson:"distribution"`
	RemedialAction  string    `bson:"remedialAction"`
	ContactName     string    `bson:"contactName"`
	ContactPhone    string    `bson:"contactPhone"`
	ContactEmail    string    `bson:"contactEmail"`
	DeadlineDate    string    `bson:"deadlineDate"`
	Deadline        time.Time `bson:"deadline"`
	DeadlineFrom    string    `bson:"deadlineFrom"`
	Provisional     bool      `bson:"provisional"`
	Late            bool      `bson:"late"`
	AwarenessID     string    `bson:"awarenessId"`
	Status          string    `bson:"status"`
	RecallID        string    `bson:"recallId"`
	Note            string    `bson:"note"`
	HandledBy       string    `bson:"handledBy"`
	CreatedAt       time.Time `bson:"createdAt"`
	UpdatedAt       time.Time `bson:"updatedAt"`
}

func (d incidentDoc) incident() standards.Incident {
	codes := d.Codes
	if codes == nil {
		codes = []string{}
	}
	return standards.Incident{ID: d.ID, EntityID: d.EntityID, FiledBy: d.FiledBy, OwnerID: d.OwnerID, GTIN: d.GTIN,
		Lot: d.Lot, Category: trace.Category(d.Category), Codes: codes, EventDate: d.EventDate, AwareDate: d.AwareDate,
		Severity: standards.Severity(d.Severity), PersonsAffected: d.PersonsAffected, Description: d.Description,
		Location: d.Location, Distribution: d.Distribution, RemedialAction: d.RemedialAction,
		Contact:      &standards.Contact{Name: d.ContactName, Phone: d.ContactPhone, Email: d.ContactEmail},
		DeadlineDate: d.DeadlineDate, Deadline: d.Deadline.UTC(), DeadlineFrom: d.DeadlineFrom, Provisional: d.Provisional,
		Late: d.Late, AwarenessID: d.AwarenessID, Status: standards.IncidentStatus(d.Status), RecallID: d.RecallID,
		Note: d.Note, HandledBy: d.HandledBy, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

// CreateIncident implements [standards.IncidentStore].
func (s *Store) CreateIncident(ctx context.Context, r standards.Incident) error {
	var c standards.Contact
	if r.Contact != nil {
		c = *r.Contact
	}
	codes := r.Codes
	if codes == nil {
		codes = []string{}
	}
	_, err := s.db.Collection(colIncidents).InsertOne(ctx, incidentDoc{ID: r.ID, EntityID: r.EntityID, FiledBy: r.FiledBy,
		OwnerID: r.OwnerID, GTIN: r.GTIN, Lot: r.Lot, Category: string(r.Category), Codes: codes, EventDate: r.EventDate,
		EventMonth: r.EventDate[:min(7, len(r.EventDate))], // YYYY-MM
		AwareDate:  r.AwareDate, Severity: string(r.Severity), PersonsAffected: r.PersonsAffected,
		Description: r.Description, Location: r.Location, Distribution: r.Distribution, RemedialAction: r.RemedialAction,
		ContactName: c.Name, ContactPhone: c.Phone, ContactEmail: c.Email, DeadlineDate: r.DeadlineDate,
		Deadline: r.Deadline, DeadlineFrom: r.DeadlineFrom, Provisional: r.Provisional, Late: r.Late,
		AwarenessID: r.AwarenessID, Status: string(r.Status), RecallID: r.RecallID, Note: r.Note, HandledBy: r.HandledBy,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt})
	return translate(err, map[string]string{"_id_": "id"}, func() string { return "id" })
}

// Incident implements [standards.IncidentStore].
func (s *Store) Incident(ctx context.Context, id string) (standards.Incident, error) {
	var d incidentDoc
	if err := s.db.Collection(colIncidents).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return standards.Incident{}, translate(err, nil, nil)
	}
	return d.incident(), nil
}

// ListIncidents implements [standards.IncidentStore].
func (s *Store) ListIncidents(ctx context.Context, f standards.IncidentFilter, p trace.Page) ([]standards.Incident, error) {
	q := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}}}
	if f.Party != "" {
		q = append(q, bson.E{Key: "$or", Value: bson.A{bson.D{{Key: "entityId", Value: f.Party}}, bson.D{{Key: "ownerId", Value: f.Party}}}})
	}
	for _, c := range []struct{ key, v string }{{"entityId", f.EntityID}, {"gtin", f.GTIN}, {"status", string(f.Status)},
		{"severity", string(f.Severity)}} {
		if c.v != "" {
			q = append(q, bson.E{Key: c.key, Value: c.v})
		}
	}
	if f.Late != nil {
		q = append(q, bson.E{Key: "late", Value: *f.Late})
	}
	if !f.FiledFrom.IsZero() || !f.FiledTo.IsZero() {
		r := bson.D{}
		if !f.FiledFrom.IsZero() {
			r = append(r, bson.E{Key: "$gte", Value: f.FiledFrom})
		}
		if !f.FiledTo.IsZero() {
			r = append(r, bson.E{Key: "$lt", Value: f.FiledTo})
		}
		q = append(q, bson.E{Key: "createdAt", Value: r})
	}
	return findPage(ctx, s.db.Collection(colIncidents), q, p.Limit, infallible(incidentDoc.incident))
}

// UpdateIncident implements [standards.IncidentStore], conditional on the
// status read.
func (s *Store) UpdateIncident(ctx context.Context, id string, c standards.IncidentChange) (standards.Incident, error) {
	set := bson.D{{Key: "status", Value: string(c.Status)}, {Key: "note", Value: c.Note},
		{Key: "handledBy", Value: c.By}, {Key: "updatedAt", Value: c.At}}
	if c.RecallID != "" {
		set = append(set, bson.E{Key: "recallId", Value: c.RecallID})
	}
	col := s.db.Collection(colIncidents)
	var d incidentDoc
	err := col.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: id}, {Key: "status", Value: string(c.From)}},
		bson.D{{Key: "$set", Value: set}}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		var now incidentDoc
		if err := col.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&now); err != nil {
			return standards.Incident{}, translate(err, nil, nil)
		}
		return standards.Incident{}, fmt.Errorf("incident %s is %s now, not %s: %w", id, now.Status, c.From, standards.ErrConflict)
	}
	if err != nil {
		return standards.Incident{}, translate(err, nil, nil)
	}
	return d.incident(), nil
}

// IncidentDates implements [standards.IncidentStore].
func (s *Store) IncidentDates(ctx context.Context, gtin, from, to string, limit int) ([]string, error) {
	type dateDoc struct {
		EventDate string `bson:"eventDate"`
	}
	docs, err := schemamongo.FindAll[dateDoc](ctx, s.db.Collection(colIncidents),
		bson.D{{Key: "gtin", Value: gtin}, {Key: "eventDate", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lte", Value: to}}}},
		options.Find().SetSort(bson.D{{Key: "eventDate", Value: 1}}).SetLimit(int64(limit)).
			SetProjection(bson.D{{Key: "eventDate", Value: 1}}))
	if err != nil {
		return nil, translate(err, nil, nil)
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.EventDate
	}
	return out, nil
}

// IncidentStats implements [standards.IncidentStore]. It counts on the
// client from an indexed, projected range read rather than with $group,
// which not every MongoDB-wire server runs alike; reports are few.
func (s *Store) IncidentStats(ctx context.Context, fromMonth, toMonth string) ([]standards.IncidentCount, error) {
	type cellDoc struct {
		Month    string `bson:"eventMonth"`
		Category string `bson:"category"`
	}
	docs, err := schemamongo.FindAll[cellDoc](ctx, s.db.Collection(colIncidents),
		bson.D{{Key: "eventMonth", Value: bson.D{{Key: "$gte", Value: fromMonth}, {Key: "$lte", Value: toMonth}}}},
		options.Find().SetProjection(bson.D{{Key: "eventMonth", Value: 1}, {Key: "category", Value: 1}, {Key: "_id", Value: 0}}))
	if err != nil {
		return nil, translate(err, nil, nil)
	}
	counts := map[[2]string]int{}
	for _, d := range docs {
		counts[[2]string{d.Month, d.Category}]++
	}
	out := make([]standards.IncidentCount, 0, len(counts))
	for k, n := range counts {
		out = append(out, standards.IncidentCount{Month: k[0], Category: trace.Category(k[1]), Reports: n})
	}
	slices.SortFunc(out, func(a, b standards.IncidentCount) int {
		if c := strings.Compare(a.Month, b.Month); c != 0 {
			return c
		}
		return strings.Compare(string(a.Category), string(b.Category))
	})
	return out, nil
}

// awarenessDoc is a stored awareness record; incidentId is "" until a
// report answers it.
type awarenessDoc struct {
	ID           string    `bson:"_id"`
	EntityID     string    `bson:"entityId"`
	GTIN         string    `bson:"gtin"`
	Lot          string    `bson:"lot"`
	Source       string    `bson:"source"`
	Reference    string    `bson:"reference"`
	AwareDate    string    `bson:"awareDate"`
	Severity     string    `bson:"severity"`
	DeadlineDate string    `bson:"deadlineDate"`
	Deadline     time.Time `bson:"deadline"`
	IncidentID   string    `bson:"incidentId"`
	RecordedBy   string    `bson:"recordedBy"`
	CreatedAt    time.Time `bson:"createdAt"`
}

func (d awarenessDoc) awareness() standards.Awareness {
	return standards.Awareness{ID: d.ID, EntityID: d.EntityID, GTIN: d.GTIN, Lot: d.Lot, Source: d.Source,
		Reference: d.Reference, AwareDate: d.AwareDate, Severity: standards.Severity(d.Severity),
		DeadlineDate: d.DeadlineDate, Deadline: d.Deadline.UTC(), IncidentID: d.IncidentID, RecordedBy: d.RecordedBy,
		CreatedAt: d.CreatedAt.UTC()}
}

// CreateAwareness implements [standards.IncidentStore].
func (s *Store) CreateAwareness(ctx context.Context, a standards.Awareness) error {
	_, err := s.db.Collection(colAwareness).InsertOne(ctx, awarenessDoc{ID: a.ID, EntityID: a.EntityID, GTIN: a.GTIN,
		Lot: a.Lot, Source: a.Source, Reference: a.Reference, AwareDate: a.AwareDate, Severity: string(a.Severity),
		DeadlineDate: a.DeadlineDate, Deadline: a.Deadline, IncidentID: a.IncidentID, RecordedBy: a.RecordedBy,
		CreatedAt: a.CreatedAt})
	return translate(err, map[string]string{"_id_": "id"}, func() string { return "id" })
}

func (s *Store) findAwareness(ctx context.Context, q bson.D, opts ...options.Lister[options.FindOptions]) ([]standards.Awareness, error) {
	docs, err := schemamongo.FindAll[awarenessDoc](ctx, s.db.Collection(colAwareness), q, opts...)
	if err != nil {
		return nil, translate(err, nil, nil)
	}
	out := make([]standards.Awareness, len(docs))
	for i, d := range docs {
		out[i] = d.awareness()
	}
	return out, nil
}

// OpenAwareness implements [standards.IncidentStore].
func (s *Store) OpenAwareness(ctx context.Context, entityID, gtin string) ([]standards.Awareness, error) {
	return s.findAwareness(ctx, bson.D{{Key: "entityId", Value: entityID}, {Key: "gtin", Value: gtin}, {Key: "incidentId", Value: ""}},
		options.Find().SetSort(bson.D{{Key: "awareDate", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(100))
}

// LinkAwareness implements [standards.IncidentStore].
func (s *Store) LinkAwareness(ctx context.Context, id, incidentID string) error {
	col := s.db.Collection(colAwareness)
	res, err := col.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "incidentId", Value: ""}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "incidentId", Value: incidentID}}}})
	if err != nil {
		return translate(err, nil, nil)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	var now awarenessDoc
	if err := col.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&now); err != nil {
		return fmt.Errorf("awareness %s: %w", id, translate(err, nil, nil))
	}
	return fmt.Errorf("awareness %s is answered by report %s already: %w", id, now.IncidentID, standards.ErrConflict)
}

// ListAwareness implements [standards.IncidentStore].
func (s *Store) ListAwareness(ctx context.Context, overdueAt time.Time, p trace.Page) ([]standards.Awareness, error) {
	q := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}}}
	if !overdueAt.IsZero() {
		q = append(q, bson.E{Key: "incidentId", Value: ""}, bson.E{Key: "deadline", Value: bson.D{{Key: "$lte", Value: overdueAt}}})
	}
	return s.findAwareness(ctx, q, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(p.Limit)))
}
