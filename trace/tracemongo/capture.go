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

// A capture is all-or-nothing without multi-document transactions, which
// the wire servers the tests run on do not have. ApplyCapture:
//
//  1. reads the custody states it changes (a version other than the one
//     the capture decided on is a conflict: nothing is written);
//  2. writes a capture intent: each change, before and after, and the
//     IDs of the events (split in parts when large);
//  3. applies the changes in ordered bulk writes, each conditional on the
//     version read and tagged with the intent;
//  4. inserts the events, tagged with the intent;
//  5. marks the intent committed — the commit point — and deletes it.
//
// A failure before 5 undoes what was written (changes back to their state
// before, where still tagged and at the version written; the intent's
// events deleted). A process that dies leaves its intent: RecoverCaptures
// undoes pending intents and deletes committed ones, so the record holds
// the whole capture or none of it.
//
// The version checks are atomic on MongoDB; FerretDB reads a document and
// writes it back without a lock, so two captures racing for one code can
// both pass there.
const colIntents = "capture_intents"

// maxIntentChanges is the most custody changes one intent part holds
// (about 300 bytes each), well within a document.
const maxIntentChanges = 20_000

func intentIndexes() map[string][]mongo.IndexModel {
	return map[string][]mongo.IndexModel{
		colIntents: {
			{Keys: bson.D{{Key: "createdAt", Value: 1}}, Options: options.Index().SetName("createdAt")},
			{Keys: bson.D{{Key: "writer", Value: 1}}, Options: options.Index().SetName("writer")},
			{Keys: bson.D{{Key: "intent", Value: 1}}, Options: options.Index().SetName("intent")},
		},
	}
}

// custodyFields are the custody fields of a code or SSCC document.
type custodyFields struct {
	State       string     `bson:"state"`
	Possessor   string     `bson:"possessor"`
	PendingTo   string     `bson:"pendingTo"`
	Container   string     `bson:"container,omitempty"`
	LastEventAt *time.Time `bson:"lastEventAt,omitempty"`
	Version     int64      `bson:"version"`
}

// update is the write that sets f on a document, tagged with intent ("":
// untagged).
func (f custodyFields) update(intent string, at time.Time) bson.D {
	set := bson.D{{Key: "state", Value: f.State}, {Key: "possessor", Value: f.Possessor},
		{Key: "pendingTo", Value: f.PendingTo}, {Key: "version", Value: f.Version}, {Key: "updatedAt", Value: at}}
	var unset bson.D
	if intent != "" {
		set = append(set, bson.E{Key: "intent", Value: intent})
	} else {
		unset = append(unset, bson.E{Key: "intent", Value: ""})
	}
	if f.Container != "" {
		set = append(set, bson.E{Key: "container", Value: f.Container})
	} else {
		unset = append(unset, bson.E{Key: "container", Value: ""})
	}
	if f.LastEventAt != nil {
		set = append(set, bson.E{Key: "lastEventAt", Value: *f.LastEventAt})
	} else {
		unset = append(unset, bson.E{Key: "lastEventAt", Value: ""})
	}
	u := bson.D{{Key: "$set", Value: set}}
	if len(unset) > 0 {
		u = append(u, bson.E{Key: "$unset", Value: unset})
	}
	return u
}

type intentChange struct {
	Col  string        `bson:"col"`
	ID   string        `bson:"id"`
	Prev custodyFields `bson:"prev"`
	Next custodyFields `bson:"next"`
}

type intentDoc struct {
	ID        string         `bson:"_id"`    // the intent, then "/1", "/2"… for further parts
	Intent    string         `bson:"intent"` // the intent all parts belong to
	Committed bool           `bson:"committed"`
	Writer    string         `bson:"writer,omitempty"` // the process that wrote it
	CreatedAt time.Time      `bson:"createdAt"`
	Changes   []intentChange `bson:"changes"`
	Events    []string       `bson:"events,omitempty"` // in the first part
}

// ApplyCapture implements [trace.EventStore]: the whole capture or none of
// it (see above). A version that changed meanwhile is [trace.ErrConflict].
func (s *Store) ApplyCapture(ctx context.Context, w trace.CaptureWrite) error {
	if len(w.Custody) == 0 && len(w.Events) == 0 {
		return nil
	}
	now := time.Now().UTC()
	intent := trace.NewID(now)
	changes, err := s.readChanges(ctx, w.Custody)
	if err != nil {
		return err
	}
	var recorded time.Time
	if w.RecordTime != nil {
		recorded = w.RecordTime()
	}
	events := make([]any, len(w.Events))
	ids := make([]string, len(w.Events))
	for i, e := range w.Events {
		if w.RecordTime != nil {
			e.RecordTime = recorded
		}
		d := newEventDoc(e)
		d.Intent = intent
		events[i], ids[i] = d, e.ID
	}
	parts := intentParts(intent, now, changes, ids)
	for i := range parts {
		parts[i].Writer = w.Writer
	}
	docs := make([]any, len(parts))
	for i := range parts {
		docs[i] = parts[i]
	}
	if _, err := s.db.Collection(colIntents).InsertMany(ctx, docs); err != nil {
		return fmt.Errorf("write capture intent: %w", translate(err, nil, nil))
	}
	// From here on a failure is undone, even if the client has gone.
	undo := func(cause error) error {
		if err := s.rollback(context.WithoutCancel(ctx), parts); err != nil {
			return errors.Join(cause, fmt.Errorf("undo capture intent %s (left for recovery): %w", intent, err))
		}
		return cause
	}
	if err := s.fault("intent"); err != nil {
		return undo(err)
	}
	if err := s.applyChanges(ctx, intent, changes, now); err != nil {
		return undo(err)
	}
	if err := s.fault("custody"); err != nil {
		return undo(err)
	}
	if len(events) > 0 {
		if _, err := schemamongo.InsertIgnoring(ctx, s.db.Collection(colEvents), events); err != nil {
			return undo(fmt.Errorf("store events: %w", translate(err, nil, nil)))
		}
	}
	if err := s.fault("events"); err != nil {
		return undo(err)
	}
	if _, err := s.db.Collection(colIntents).UpdateOne(ctx, bson.D{{Key: "_id", Value: intent}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "committed", Value: true}}}}); err != nil {
		return undo(fmt.Errorf("commit capture intent: %w", translate(err, nil, nil)))
	}
	// Committed: the capture stands. Deleting the intent is tidying, which
	// RecoverCaptures finishes if it fails here.
	if err := s.fault("commit"); err != nil {
		return nil
	}
	_, _ = s.db.Collection(colIntents).DeleteMany(context.WithoutCancel(ctx), bson.D{{Key: "intent", Value: intent}})
	return nil
}

// fault is a test's hook into ApplyCapture's steps; nil in the service.
func (s *Store) fault(step string) error {
	if s.faults == nil {
		return nil
	}
	return s.faults(step)
}

// readChanges reads the custody documents w changes and pairs each state
// before with the one after; a version other than the one the capture
// decided on is [trace.ErrConflict].
func (s *Store) readChanges(ctx context.Context, custody []trace.Custody) ([]intentChange, error) {
	byCol := map[string][]string{}
	for _, c := range custody {
		col, id, ok := custodyID(c.Key)
		if !ok {
			return nil, fmt.Errorf("custody of %s: not a code key: %w", c.Key, trace.ErrInvalid)
		}
		byCol[col] = append(byCol[col], id)
	}
	prev := map[string]custodyFields{} // col/id → as stored
	for col, list := range byCol {
		err := schemamongo.Chunks(list, func(part []string) error {
			docs, err := schemamongo.FindAll[struct {
				ID     string        `bson:"_id"`
				Fields custodyFields `bson:",inline"`
			}](ctx, s.db.Collection(col), bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: part}}}})
			for _, d := range docs {
				prev[col+"/"+d.ID] = d.Fields
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("read custody: %w", translate(err, nil, nil))
		}
	}
	out := make([]intentChange, 0, len(custody))
	for _, c := range custody {
		col, id, _ := custodyID(c.Key)
		p, ok := prev[col+"/"+id]
		if !ok || p.Version != c.Version-1 {
			return nil, fmt.Errorf("custody of %s changed meanwhile: %w", c.Key, trace.ErrConflict)
		}
		next := custodyFields{State: string(c.State), Possessor: c.Possessor, PendingTo: c.PendingTo, Container: c.Container,
			Version: c.Version}
		if !c.LastEventAt.IsZero() {
			t := c.LastEventAt
			next.LastEventAt = &t
		}
		out = append(out, intentChange{Col: col, ID: id, Prev: p, Next: next})
	}
	return out, nil
}

// intentParts splits an intent into documents of at most
// maxIntentChanges changes; the first holds the event IDs.
func intentParts(intent string, at time.Time, changes []intentChange, events []string) []intentDoc {
	parts := []intentDoc{{ID: intent, Intent: intent, CreatedAt: at, Events: events}}
	for i := 0; i < len(changes); i += maxIntentChanges {
		if i > 0 {
			parts = append(parts, intentDoc{ID: fmt.Sprintf("%s/%d", intent, len(parts)), Intent: intent, CreatedAt: at})
		}
		last := &parts[len(parts)-1]
		last.Changes = changes[i:min(i+maxIntentChanges, len(changes))]
	}
	return parts
}

// applyChanges writes the changes in ordered bulk writes, each conditional
// on the version read: a document that moved meanwhile is a conflict.
func (s *Store) applyChanges(ctx context.Context, intent string, changes []intentChange, at time.Time) error {
	byCol := map[string][]mongo.WriteModel{}
	for _, c := range changes {
		byCol[c.Col] = append(byCol[c.Col], mongo.NewUpdateOneModel().
			SetFilter(bson.D{{Key: "_id", Value: c.ID}, {Key: "version", Value: c.Prev.Version}}).
			SetUpdate(c.Next.update(intent, at)))
	}
	for col, models := range byCol {
		for start := 0; start < len(models); start += 1000 {
			part := models[start:min(start+1000, len(models))]
			res, err := s.db.Collection(col).BulkWrite(ctx, part, options.BulkWrite().SetOrdered(true))
			if err != nil {
				return fmt.Errorf("custody: %w", translate(err, nil, nil))
			}
			if res.MatchedCount != int64(len(part)) {
				return fmt.Errorf("custody changed meanwhile (%d of %d codes still as read): %w", res.MatchedCount, len(part), trace.ErrConflict)
			}
		}
	}
	return nil
}

// rollback undoes an intent's writes: each change back to its state
// before, where the document still carries this intent at the version it
// wrote (a later capture's change is left alone); the intent's events
// deleted; then the intent. Undoing twice is harmless.
func (s *Store) rollback(ctx context.Context, parts []intentDoc) error {
	if len(parts) == 0 {
		return nil
	}
	intent := parts[0].Intent
	at := time.Now().UTC()
	byCol := map[string][]mongo.WriteModel{}
	var events []string
	for _, p := range parts {
		events = append(events, p.Events...)
		for _, c := range p.Changes {
			byCol[c.Col] = append(byCol[c.Col], mongo.NewUpdateOneModel().
				SetFilter(bson.D{{Key: "_id", Value: c.ID}, {Key: "intent", Value: intent}, {Key: "version", Value: c.Next.Version}}).
				SetUpdate(c.Prev.update("", at)))
		}
	}
	for col, models := range byCol {
		for start := 0; start < len(models); start += 1000 {
			if _, err := s.db.Collection(col).BulkWrite(ctx, models[start:min(start+1000, len(models))],
				options.BulkWrite().SetOrdered(false)); err != nil {
				return fmt.Errorf("restore custody: %w", translate(err, nil, nil))
			}
		}
	}
	err := schemamongo.Chunks(events, func(part []string) error {
		_, err := s.db.Collection(colEvents).DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: part}}},
			{Key: "intent", Value: intent}})
		return err
	})
	if err != nil {
		return fmt.Errorf("delete the intent's events: %w", translate(err, nil, nil))
	}
	if _, err := s.db.Collection(colIntents).DeleteMany(ctx, bson.D{{Key: "intent", Value: intent}}); err != nil {
		return fmt.Errorf("delete the intent: %w", translate(err, nil, nil))
	}
	return nil
}

// RecoverCaptures implements [trace.EventStore]: intents written before
// before, or by writer, that their process never finished are finished —
// undone when not committed, deleted when committed. It returns how many
// captures it undid.
func (s *Store) RecoverCaptures(ctx context.Context, before time.Time, writer string) (int, error) {
	q := bson.D{{Key: "createdAt", Value: bson.D{{Key: "$lt", Value: before}}}}
	if writer != "" {
		q = bson.D{{Key: "$or", Value: bson.A{q, bson.D{{Key: "writer", Value: writer}}}}}
	}
	docs, err := schemamongo.FindAll[intentDoc](ctx, s.db.Collection(colIntents), q)
	if err != nil {
		return 0, fmt.Errorf("read capture intents: %w", translate(err, nil, nil))
	}
	byIntent := map[string][]intentDoc{}
	committed := map[string]bool{}
	for _, d := range docs {
		byIntent[d.Intent] = append(byIntent[d.Intent], d)
		committed[d.Intent] = committed[d.Intent] || d.Committed
	}
	undone := 0
	for intent, parts := range byIntent {
		if committed[intent] {
			if _, err := s.db.Collection(colIntents).DeleteMany(ctx, bson.D{{Key: "intent", Value: intent}}); err != nil {
				return undone, fmt.Errorf("delete committed intent %s: %w", intent, translate(err, nil, nil))
			}
			continue
		}
		if err := s.rollback(ctx, parts); err != nil {
			return undone, fmt.Errorf("undo capture intent %s: %w", intent, err)
		}
		undone++
	}
	return undone, nil
}
