package tracemongo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/trace"
	"tracesvc/trace/schemamongo"
)

var _ trace.EventStore = (*Store)(nil)

const (
	colEvents      = "events"
	colCaptureJobs = "capture_jobs"
)

func eventIndexes() map[string][]mongo.IndexModel {
	// byTime is an index on field (if any), then a query order (time and
	// _id): equality, then sort and range, so that a filter on the field
	// also serves the order and the cursor (on MongoDB).
	byTime := func(name, field, order string) mongo.IndexModel {
		keys := bson.D{}
		if field != "" {
			keys = append(keys, bson.E{Key: field, Value: 1})
		}
		keys = append(keys, bson.E{Key: order, Value: 1}, bson.E{Key: "_id", Value: 1})
		return mongo.IndexModel{Keys: keys, Options: options.Index().SetName(name)}
	}
	return map[string][]mongo.IndexModel{
		colEvents: {
			byTime("recordTime", "", "recordTime"),
			byTime("eventTime", "", "eventTime"),
			// Multikey: roleKeys and visible are arrays of plain strings,
			// at most one array field per index.
			byTime("roleKeys", "roleKeys", "recordTime"),
			byTime("roleKeys_eventTime", "roleKeys", "eventTime"),
			byTime("visible", "visible", "recordTime"),
			byTime("visible_eventTime", "visible", "eventTime"),
			byTime("bizStep", "bizStep", "recordTime"),
			byTime("bizStep_eventTime", "bizStep", "eventTime"),
			byTime("bizLocation", "bizLocation", "recordTime"),
			byTime("bizLocation_eventTime", "bizLocation", "eventTime"),
		},
	}
}

// eventDoc is a stored event. Refs keeps the identifiers in order, for the
// round trip; roleKeys ("role|key") holds them again as an array of plain
// strings, which every wire server can match element by element and
// MongoDB indexes as multikey ($elemMatch on the refs subdocuments does not
// work on FerretDB). A key in any role is every role's entry: one index
// serves both, where an array of bare keys would hold each key again.
type eventDoc struct {
	ID          string    `bson:"_id"`
	Type        string    `bson:"type"`
	Action      string    `bson:"action"`
	BizStep     string    `bson:"bizStep"`
	Disposition string    `bson:"disposition"`
	ReadPoint   string    `bson:"readPoint"`
	BizLocation string    `bson:"bizLocation"`
	EventTime   time.Time `bson:"eventTime"`
	RecordTime  time.Time `bson:"recordTime"`
	CapturedBy  string    `bson:"capturedBy"`
	Refs        []refDoc  `bson:"refs"`
	RoleKeys    []string  `bson:"roleKeys,omitempty"`
	Parties     []string  `bson:"parties"`
	Visible     []string  `bson:"visible"`
	Raw         []byte    `bson:"raw"`              // BSON binary: the JSON comes back byte for byte
	Intent      string    `bson:"intent,omitempty"` // the capture intent that stored it (see capture.go)
}

type refDoc struct {
	Key      string  `bson:"key"`
	Role     string  `bson:"role"`
	Quantity float64 `bson:"quantity,omitempty"`
	UOM      string  `bson:"uom,omitempty"`
}

// roleKey is the roleKeys entry of key in role. Roles have no "|", so the
// first one splits it whatever the key holds.
func roleKey(role, key string) string { return role + "|" + key }

func newEventDoc(e trace.StoredEvent) eventDoc {
	d := eventDoc{ID: e.ID, Type: e.Type, Action: e.Action, BizStep: e.BizStep, Disposition: e.Disposition,
		ReadPoint: e.ReadPoint, BizLocation: e.BizLocation, EventTime: e.EventTime, RecordTime: e.RecordTime,
		CapturedBy: e.CapturedBy, Parties: e.Parties, Visible: e.Visible, Raw: []byte(e.Raw)}
	if e.Refs != nil {
		d.Refs = make([]refDoc, len(e.Refs))
	}
	for i, r := range e.Refs {
		d.Refs[i] = refDoc{Key: r.Key, Role: r.Role, Quantity: r.Quantity, UOM: r.UOM}
		d.RoleKeys = append(d.RoleKeys, roleKey(r.Role, r.Key))
	}
	return d
}

func (d eventDoc) event() trace.StoredEvent {
	e := trace.StoredEvent{ID: d.ID, Type: d.Type, Action: d.Action, BizStep: d.BizStep, Disposition: d.Disposition,
		ReadPoint: d.ReadPoint, BizLocation: d.BizLocation, EventTime: d.EventTime.UTC(), RecordTime: d.RecordTime.UTC(),
		CapturedBy: d.CapturedBy, Parties: d.Parties, Visible: d.Visible, Raw: d.Raw}
	if d.Refs != nil {
		e.Refs = make([]trace.EventRef, len(d.Refs))
	}
	for i, r := range d.Refs {
		e.Refs[i] = trace.EventRef{Key: r.Key, Role: r.Role, Quantity: r.Quantity, UOM: r.UOM}
	}
	return e
}

// StoredEventIDs implements [trace.EventStore].
func (s *Store) StoredEventIDs(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	err := schemamongo.Chunks(ids, func(part []string) error {
		docs, err := schemamongo.FindAll[struct {
			ID         string `bson:"_id"`
			CapturedBy string `bson:"capturedBy"`
		}](ctx, s.db.Collection(colEvents), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: part}}}},
			options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "capturedBy", Value: 1}}))
		for _, d := range docs {
			out[d.ID] = d.CapturedBy
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// custodyID returns the collection and _id that hold the custody state of
// a code key, or false when key is not a code key.
func custodyID(key string) (col, id string, ok bool) {
	switch {
	case strings.HasPrefix(key, "01/"):
		gtin, serial, _ := strings.Cut(key[3:], "/21/")
		if len(gtin) != 14 || serial == "" || strings.Contains(serial, "/") {
			return "", "", false
		}
		return colCodes, gtin + serial, true
	case strings.HasPrefix(key, "00/") && len(key) == 21:
		return colSSCCs, key[3:], true
	}
	return "", "", false
}

// optTime is an optional time as stored: nil is the zero time.
func optTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// codeCustody returns the custody states of the item codes matching q, in
// _id order. The owner is the owner of the code's batch; a code whose
// batch is missing is left out, as the SQLite join does.
func (s *Store) codeCustody(ctx context.Context, q bson.D) ([]trace.Custody, error) {
	docs, err := schemamongo.FindAll[codeDoc](ctx, s.db.Collection(colCodes), q,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var batches []string
	seen := map[string]bool{}
	for _, d := range docs {
		if id := batchID(d.GTIN, d.Lot); !seen[id] {
			seen[id] = true
			batches = append(batches, id)
		}
	}
	owners := map[string]string{}
	err = schemamongo.Chunks(batches, func(part []string) error {
		list, err := schemamongo.FindAll[batchDoc](ctx, s.db.Collection(colBatches), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: part}}}},
			options.Find().SetProjection(bson.D{{Key: "ownerId", Value: 1}}))
		for _, b := range list {
			owners[b.ID] = b.OwnerID
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []trace.Custody
	for _, d := range docs {
		owner, ok := owners[batchID(d.GTIN, d.Lot)]
		if !ok {
			continue
		}
		out = append(out, trace.Custody{Key: "01/" + d.GTIN + "/21/" + d.Serial, Owner: owner, State: trace.CodeState(d.State),
			Possessor: d.Possessor, PendingTo: d.PendingTo, Container: d.Container,
			LastEventAt: optTime(d.LastEventAt), Version: d.Version})
	}
	return out, nil
}

// ssccCustody returns the custody states of the SSCCs matching q, in _id
// order.
func (s *Store) ssccCustody(ctx context.Context, q bson.D) ([]trace.Custody, error) {
	docs, err := schemamongo.FindAll[ssccDoc](ctx, s.db.Collection(colSSCCs), q,
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, err
	}
	out := make([]trace.Custody, len(docs))
	for i, d := range docs {
		out[i] = trace.Custody{Key: "00/" + d.SSCC, Owner: d.OwnerID, State: trace.CodeState(d.State),
			Possessor: d.Possessor, PendingTo: d.PendingTo, Container: d.Container,
			LastEventAt: optTime(d.LastEventAt), Version: d.Version}
	}
	return out, nil
}

// Custody implements [trace.EventStore], with $in queries on _id.
func (s *Store) Custody(ctx context.Context, keys []string) (map[string]trace.Custody, error) {
	ids := map[string][]string{}
	for _, k := range keys {
		if col, id, ok := custodyID(k); ok {
			ids[col] = append(ids[col], id)
		}
	}
	out := map[string]trace.Custody{}
	for col, list := range ids {
		err := schemamongo.Chunks(list, func(part []string) error {
			q := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: part}}}}
			var cs []trace.Custody
			var err error
			if col == colCodes {
				cs, err = s.codeCustody(ctx, q)
			} else {
				cs, err = s.ssccCustody(ctx, q)
			}
			for _, c := range cs {
				out[c.Key] = c
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("custody: %w", err)
		}
	}
	return out, nil
}

// Contents implements [trace.EventStore]: item codes, then SSCCs.
func (s *Store) Contents(ctx context.Context, container string) ([]trace.Custody, error) {
	q := bson.D{{Key: "container", Value: container}}
	codes, err := s.codeCustody(ctx, q)
	if err != nil {
		return nil, err
	}
	units, err := s.ssccCustody(ctx, q)
	if err != nil {
		return nil, err
	}
	return append(codes, units...), nil
}

// QueryEvents implements [trace.EventStore].
func (s *Store) QueryEvents(ctx context.Context, f trace.EventFilter, order trace.EventOrder, after *trace.EventCursor, limit int) ([]trace.StoredEvent, error) {
	if limit <= 0 {
		return nil, nil
	}
	q := bson.D{}
	in := func(field string, vals []string) {
		if len(vals) > 0 {
			q = append(q, bson.E{Key: field, Value: bson.D{{Key: "$in", Value: vals}}})
		}
	}
	in("type", f.Types)
	in("action", f.Actions)
	in("bizStep", f.BizSteps)
	in("disposition", f.Dispositions)
	in("bizLocation", f.BizLocations)
	in("readPoint", f.ReadPoints)
	in("_id", f.EventIDs)
	var and bson.A // the roles' conditions and the cursor's, under one $and
	ref := func(keys []string, roles ...string) {
		if len(keys) == 0 {
			return
		}
		var rk []string
		for _, r := range roles {
			for _, k := range keys {
				rk = append(rk, roleKey(r, k))
			}
		}
		and = append(and, bson.D{{Key: "roleKeys", Value: bson.D{{Key: "$in", Value: rk}}}})
	}
	ref(f.EPCs, trace.RoleEPC)
	ref(f.AnyEPCs, trace.RoleEPC, trace.RoleParent, trace.RoleChild, trace.RoleInput, trace.RoleOutput)
	ref(f.Parents, trace.RoleParent)
	ref(f.Inputs, trace.RoleInput)
	ref(f.Outputs, trace.RoleOutput)
	ref(f.Classes, trace.RoleClass, trace.RoleChildClass, trace.RoleInputClass, trace.RoleOutputClass)
	span := func(field string, from, to time.Time) {
		var cond bson.D
		if !from.IsZero() {
			cond = append(cond, bson.E{Key: "$gte", Value: from})
		}
		if !to.IsZero() {
			cond = append(cond, bson.E{Key: "$lt", Value: to})
		}
		if len(cond) > 0 {
			q = append(q, bson.E{Key: field, Value: cond})
		}
	}
	span("eventTime", f.EventTimeFrom, f.EventTimeTo)
	span("recordTime", f.RecordTimeFrom, f.RecordTimeTo)
	if f.VisibleTo != "" {
		q = append(q, bson.E{Key: "visible", Value: f.VisibleTo})
	}
	col := "recordTime"
	if order == trace.ByEventTime {
		col = "eventTime"
	}
	if after != nil {
		// The $gte bounds the index range at the cursor; the $or alone
		// would scan every earlier entry on each page.
		and = append(and, bson.D{{Key: col, Value: bson.D{{Key: "$gte", Value: after.Time}}}},
			bson.D{{Key: "$or", Value: bson.A{
				bson.D{{Key: col, Value: bson.D{{Key: "$gt", Value: after.Time}}}},
				bson.D{{Key: col, Value: after.Time}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: after.ID}}}},
			}}})
	}
	if len(and) > 0 {
		q = append(q, bson.E{Key: "$and", Value: and})
	}
	docs, err := schemamongo.FindAll[eventDoc](ctx, s.db.Collection(colEvents), q, options.Find().
		SetSort(bson.D{{Key: col, Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)).
		SetProjection(bson.D{{Key: "roleKeys", Value: 0}}))
	if err != nil {
		return nil, err
	}
	out := make([]trace.StoredEvent, len(docs))
	for i, d := range docs {
		out[i] = d.event()
	}
	return out, nil
}

// EventsByKeys implements [trace.EventStore], in no particular order.
func (s *Store) EventsByKeys(ctx context.Context, keys []string, limit int) ([]trace.StoredEvent, error) {
	return s.eventsByKeys(ctx, keys, limit, bson.D{{Key: "raw", Value: 0}, {Key: "roleKeys", Value: 0}})
}

// EventHeaders implements [trace.EventStore].
func (s *Store) EventHeaders(ctx context.Context, keys []string, limit int) ([]trace.StoredEvent, error) {
	return s.eventsByKeys(ctx, keys, limit, bson.D{{Key: "raw", Value: 0}, {Key: "roleKeys", Value: 0},
		{Key: "refs", Value: 0}, {Key: "parties", Value: 0}, {Key: "visible", Value: 0}})
}

// roleKeysOf lists the roleKeys an event naming any of keys in any role
// holds.
func roleKeysOf(keys []string) []string {
	rk := make([]string, 0, len(keys)*len(trace.Roles))
	for _, k := range keys {
		for _, r := range trace.Roles {
			rk = append(rk, roleKey(r, k))
		}
	}
	return rk
}

// eventsByKeys finds the events naming any of keys, with a projection.
func (s *Store) eventsByKeys(ctx context.Context, keys []string, limit int, projection bson.D) ([]trace.StoredEvent, error) {
	var out []trace.StoredEvent
	seen := map[string]bool{}
	err := schemamongo.Chunks(keys, func(part []string) error {
		if len(out) >= limit {
			return nil
		}
		// Up to limit, not limit-len(out): the events found so far may
		// match this part's keys too and come again.
		rk := roleKeysOf(part)
		docs, err := schemamongo.FindAll[eventDoc](ctx, s.db.Collection(colEvents),
			bson.D{{Key: "roleKeys", Value: bson.D{{Key: "$in", Value: rk}}}}, options.Find().
				SetLimit(int64(limit)).SetProjection(projection))
		for _, d := range docs {
			if !seen[d.ID] && len(out) < limit {
				seen[d.ID] = true
				out = append(out, d.event())
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WalkEvents implements [trace.EventStore]: the events come with their
// references, from which those naming keys are picked; only linking events
// keep them all. Events are found by key alone (seqs are only checked): the
// roleKeys index serves any key. With merge, the events that have a sole
// holder become one entry per holder as they are read.
func (s *Store) WalkEvents(ctx context.Context, keys, seqs []string, merge bool, limit int) ([]trace.WalkEvent, error) {
	if seqs != nil && len(seqs) != len(keys) {
		return nil, fmt.Errorf("walk events: %d keys and %d seqs: %w", len(keys), len(seqs), trace.ErrInvalid)
	}
	asked := make(map[string]bool, len(keys))
	for _, k := range keys {
		asked[k] = true
	}
	var out []trace.WalkEvent
	seen := map[string]bool{}
	merged := map[string]int{} // holder → its entry in out
	err := schemamongo.Chunks(keys, func(part []string) error {
		if len(out) >= limit {
			return nil
		}
		rk := roleKeysOf(part)
		docs, err := schemamongo.FindAll[eventDoc](ctx, s.db.Collection(colEvents),
			bson.D{{Key: "roleKeys", Value: bson.D{{Key: "$in", Value: rk}}}}, options.Find().
				SetLimit(int64(limit)).SetProjection(bson.D{{Key: "raw", Value: 0}, {Key: "roleKeys", Value: 0}, {Key: "visible", Value: 0}}))
		for _, d := range docs {
			if seen[d.ID] || len(out) >= limit {
				continue
			}
			seen[d.ID] = true
			e := trace.WalkEvent{StoredEvent: d.event()}
			for _, r := range e.Refs {
				if asked[r.Key] {
					e.Touched = append(e.Touched, r)
				}
			}
			if e.Type != "AggregationEvent" && e.Type != "TransformationEvent" {
				e.Refs = nil
			}
			if h := e.SoleHolder(); merge && h != "" {
				if i, ok := merged[h]; ok {
					out[i].Touched = append(out[i].Touched, e.Touched...)
					continue
				}
				merged[h] = len(out)
				e = trace.WalkEvent{StoredEvent: trace.StoredEvent{Type: "ObjectEvent", CapturedBy: h}, Touched: e.Touched, Merged: true}
			}
			e.Visible = nil
			out = append(out, e)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EventRaws implements [trace.EventStore], with $in queries on _id.
func (s *Store) EventRaws(ctx context.Context, ids []string) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(ids))
	err := schemamongo.Chunks(ids, func(part []string) error {
		docs, err := schemamongo.FindAll[struct {
			ID  string `bson:"_id"`
			Raw []byte `bson:"raw"`
		}](ctx, s.db.Collection(colEvents), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: part}}}},
			options.Find().SetProjection(bson.D{{Key: "raw", Value: 1}}))
		for _, d := range docs {
			out[d.ID] = d.Raw
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("events: %w", translate(err, nil, nil))
	}
	return out, nil
}

// Possessors implements [trace.EventStore], with $in queries on _id.
func (s *Store) Possessors(ctx context.Context, keys []string) (map[string]string, error) {
	ids := map[string][]string{}
	key := map[string]string{} // col/_id → key
	for _, k := range keys {
		if col, id, ok := custodyID(k); ok {
			ids[col] = append(ids[col], id)
			key[col+"/"+id] = k
		}
	}
	out := map[string]string{}
	for col, list := range ids {
		err := schemamongo.Chunks(list, func(part []string) error {
			docs, err := schemamongo.FindAll[struct {
				ID        string `bson:"_id"`
				Possessor string `bson:"possessor"`
			}](ctx, s.db.Collection(col), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: part}}}},
				options.Find().SetProjection(bson.D{{Key: "possessor", Value: 1}}))
			for _, d := range docs {
				if d.Possessor != "" {
					out[key[col+"/"+d.ID]] = d.Possessor
				}
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("possessors: %w", translate(err, nil, nil))
		}
	}
	return out, nil
}

type captureJobDoc struct {
	ID             string            `bson:"_id"`
	OwnerID        string            `bson:"ownerId"`
	Running        bool              `bson:"running"`
	Success        bool              `bson:"success"`
	ErrorBehaviour string            `bson:"errorBehaviour"`
	Events         int               `bson:"events"`
	Captured       int               `bson:"captured"`
	Duplicates     int               `bson:"duplicates"`
	Errors         []captureErrorDoc `bson:"errors"`
	CreatedAt      time.Time         `bson:"createdAt"`
	FinishedAt     *time.Time        `bson:"finishedAt,omitempty"` // absent while running
}

type captureErrorDoc struct {
	Index     int    `bson:"index"`
	EventID   string `bson:"eventId"`
	Pointer   string `bson:"pointer"`
	Rule      string `bson:"rule"`
	Message   string `bson:"message"`
	Custodian string `bson:"custodian"`
}

// SaveCaptureJob implements [trace.EventStore] with an upsert.
func (s *Store) SaveCaptureJob(ctx context.Context, j trace.CaptureJob) error {
	d := captureJobDoc{ID: j.ID, OwnerID: j.OwnerID, Running: j.Running, Success: j.Success, ErrorBehaviour: j.ErrorBehaviour,
		Events: j.Events, Captured: j.Captured, Duplicates: j.Duplicates, CreatedAt: j.CreatedAt}
	if !j.FinishedAt.IsZero() {
		d.FinishedAt = &j.FinishedAt
	}
	if j.Errors != nil {
		d.Errors = make([]captureErrorDoc, len(j.Errors))
	}
	for i, e := range j.Errors {
		d.Errors[i] = captureErrorDoc{Index: e.Index, EventID: e.EventID, Pointer: e.Pointer, Rule: e.Rule,
			Message: e.Message, Custodian: e.Custodian}
	}
	_, err := s.db.Collection(colCaptureJobs).ReplaceOne(ctx, bson.D{{Key: "_id", Value: j.ID}}, d,
		options.Replace().SetUpsert(true))
	return translate(err, nil, nil)
}

// CaptureJob implements [trace.EventStore].
func (s *Store) CaptureJob(ctx context.Context, id string) (trace.CaptureJob, error) {
	var d captureJobDoc
	if err := s.db.Collection(colCaptureJobs).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return trace.CaptureJob{}, translate(err, nil, nil)
	}
	j := trace.CaptureJob{ID: d.ID, OwnerID: d.OwnerID, Running: d.Running, Success: d.Success, ErrorBehaviour: d.ErrorBehaviour,
		Events: d.Events, Captured: d.Captured, Duplicates: d.Duplicates, CreatedAt: d.CreatedAt.UTC(),
		FinishedAt: optTime(d.FinishedAt)}
	if d.Errors != nil {
		j.Errors = make([]trace.CaptureError, len(d.Errors))
	}
	for i, e := range d.Errors {
		j.Errors[i] = trace.CaptureError{Index: e.Index, EventID: e.EventID, Pointer: e.Pointer, Rule: e.Rule,
			Message: e.Message, Custodian: e.Custodian}
	}
	return j, nil
}
