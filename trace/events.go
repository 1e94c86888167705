package trace

import (
	"context"
	"encoding/json"
	"time"
)

// Roles of an identifier in an event, as [EventRef.Role].
const (
	RoleEPC         = "epc"         // epcList
	RoleParent      = "parent"      // parentID
	RoleChild       = "child"       // childEPCs
	RoleInput       = "input"       // inputEPCList
	RoleOutput      = "output"      // outputEPCList
	RoleClass       = "class"       // quantityList
	RoleChildClass  = "childClass"  // childQuantityList
	RoleInputClass  = "inputClass"  // inputQuantityList
	RoleOutputClass = "outputClass" // outputQuantityList
)

// Roles lists every role an identifier can have in an event.
var Roles = []string{RoleEPC, RoleParent, RoleChild, RoleInput, RoleOutput, RoleClass, RoleChildClass, RoleInputClass, RoleOutputClass}

// EventRef is one identifier (a canonical GS1 key, see gs1.ParseEPC) that
// an event names, and in which role.
type EventRef struct {
	Key  string `json:"key"`
	Role string `json:"role"`
	// Quantity and UOM are set for class-level references (quantity lists).
	Quantity float64 `json:"quantity,omitempty"`
	UOM      string  `json:"uom,omitempty"`
}

// StoredEvent is a captured EPCIS event: the fields the service queries
// on, and the event as given.
type StoredEvent struct {
	ID          string
	Type        string
	Action      string
	BizStep     string
	Disposition string
	ReadPoint   string
	BizLocation string
	EventTime   time.Time
	RecordTime  time.Time
	CapturedBy  string     // entity ID of the capturing key
	Refs        []EventRef // every identifier named, with its role
	Parties     []string   // "source:{entity ID}" and "destination:{entity ID}" of registered parties
	Visible     []string   // entity IDs that may read it (capturer, parties, product owners)
	Raw         json.RawMessage
}

// WalkEvent is an event as a wide graph walk reads it (see
// [EventStore.WalkEvents]).
type WalkEvent struct {
	StoredEvent
	// Touched are the event's references to the keys asked for.
	Touched []EventRef
	// Merged is set on an entry that stands for several events with one
	// [StoredEvent.SoleHolder], when the walk allowed it: it has their
	// holder as CapturedBy, Type ObjectEvent, no ID, and their references
	// to the keys asked for as Touched.
	Merged bool
}

// EventFilter selects events. Empty fields match everything; a list
// matches any of its values.
type EventFilter struct {
	Types, Actions, BizSteps, Dispositions []string
	BizLocations, ReadPoints, EventIDs     []string

	// Identifier matches, by role: EPCs in epcList; AnyEPCs in any
	// instance role (epcList, parentID, childEPCs, inputs, outputs);
	// Classes in any quantity list.
	EPCs, AnyEPCs, Parents, Inputs, Outputs, Classes []string

	EventTimeFrom, EventTimeTo   time.Time // [from, to)
	RecordTimeFrom, RecordTimeTo time.Time // [from, to)

	VisibleTo string // entity ID; "" for officials, who see every event
}

// EventOrder is the order of a query's results.
type EventOrder string

// Orders of [EventStore.QueryEvents]; ties break on event ID.
const (
	ByRecordTime EventOrder = "recordTime"
	ByEventTime  EventOrder = "eventTime"
)

// EventCursor is where the next page of a query starts: after the event
// with this time (in the query's order) and ID.
type EventCursor struct {
	Time time.Time
	ID   string
}

// Custody is the custody state of one code this service issued: an item
// (SGTIN) or a logistic unit (SSCC), by its canonical key.
type Custody struct {
	Key         string    // "01/{gtin}/21/{serial}" or "00/{sscc}"
	Owner       string    // entity ID of the batch owner (or SSCC issuer)
	State       CodeState // issued, commissioned, in_custody, sold, …
	Possessor   string    // entity ID holding it now
	PendingTo   string    // entity ID it was last shipped to, until received
	Container   string    // key of the logistic unit it is packed in
	LastEventAt time.Time // time of the latest event applied to it
	Version     int64     // bumped on every change, for optimistic updates
}

// CaptureWrite is everything one capture stores.
type CaptureWrite struct {
	Events  []StoredEvent
	Custody []Custody // new states; each Version is the one read plus one
	// Writer names the process writing (see RecoverCaptures).
	Writer string
	// RecordTime, when set, gives the events' recordTime at the moment
	// the store writes them (under its write lock on SQLite, just before
	// the insert on MongoDB), not when the capture began.
	RecordTime func() time.Time
}

// EventStore is the storage of custody events, their indexes, the custody
// state of issued codes, and capture jobs.
type EventStore interface {
	// StoredEventIDs returns which of ids are stored already, each with
	// the entity that captured it; ids not stored are absent.
	StoredEventIDs(ctx context.Context, ids []string) (map[string]string, error)

	// Custody returns the custody state of those keys that are codes this
	// service issued; other keys are absent from the map.
	Custody(ctx context.Context, keys []string) (map[string]Custody, error)
	// Contents returns the custody states of the codes packed in
	// container (a key), directly.
	Contents(ctx context.Context, container string) ([]Custody, error)

	// ApplyCapture stores w: events whose ID is stored already are skipped,
	// and each custody state replaces the stored one if that still has
	// Version-1; otherwise it returns [ErrConflict] (someone changed the
	// code meanwhile) and, where the backend can (SQLite), stores nothing.
	ApplyCapture(ctx context.Context, w CaptureWrite) error
	// RecoverCaptures finishes the captures that their process left half
	// done (a crash, a lost connection) — those written before before, and
	// any written by writer (when not empty: this process's name, at its
	// start, for what its previous run left): undone, or completed when
	// they had committed. It returns how many it undid. A store that writes
	// a capture in one transaction has none.
	RecoverCaptures(ctx context.Context, before time.Time, writer string) (int, error)

	// QueryEvents returns up to limit events matching f in order, after c.
	QueryEvents(ctx context.Context, f EventFilter, order EventOrder, after *EventCursor, limit int) ([]StoredEvent, error)
	// EventsByKeys returns the events that name any of keys in any role,
	// without their Raw JSON, for graph walks. At most limit.
	EventsByKeys(ctx context.Context, keys []string, limit int) ([]StoredEvent, error)
	// EventHeaders is EventsByKeys without Refs, Parties, Visible and Raw:
	// what a timeline needs, cheap even for events naming thousands of codes.
	EventHeaders(ctx context.Context, keys []string, limit int) ([]StoredEvent, error)
	// WalkEvents returns the events that name any of keys, each once, in
	// no particular order, for wide graph walks: at most limit of them
	// (when more name the keys, it returns exactly limit). Each comes
	// with ID, Type, BizStep, BizLocation, EventTime, CapturedBy and
	// Parties only (a store may fill more); its Touched lists its references to keys
	// (class-level ones with their quantity and unit). Refs holds every
	// reference of AggregationEvents and TransformationEvents, which link
	// what they name to one another, and is nil for the other types, whose
	// events may name thousands of codes of which a walk needs only those
	// it reached. seqs, when not nil, holds beside each key the Seq of the
	// code it names in the code register (see [Code]), "" for a key that
	// names none: a store may find a code's events by it, as the embedded
	// store does (the codes of one lot, listed in Seq order, are found
	// together rather than one random read each). A key and its Seq name
	// the same code. With merge set, a store may return events that have
	// a [StoredEvent.SoleHolder] (most of a wide walk's events: every unit
	// sold) merged, one entry per holder ([WalkEvent].Merged), rather than
	// each: a walk learns from them only who held what. An event may then
	// come both ways, its references split between its holder's entry and
	// its own, each reference once. Limit counts entries, a merged one
	// once.
	WalkEvents(ctx context.Context, keys, seqs []string, merge bool, limit int) ([]WalkEvent, error)
	// EventRaws returns the JSON of the events with these IDs, as captured
	// (no recordTime added); IDs not stored are absent.
	EventRaws(ctx context.Context, ids []string) (map[string]json.RawMessage, error)
	// Possessors returns who holds each of keys now, for those keys that
	// are codes this service issued and that someone holds. It reads from
	// the read pool where there is one, so it may lag a capture being
	// stored.
	Possessors(ctx context.Context, keys []string) (map[string]string, error)

	// SaveCaptureJob creates or replaces a capture job.
	SaveCaptureJob(ctx context.Context, j CaptureJob) error
	CaptureJob(ctx context.Context, id string) (CaptureJob, error)
}

// CaptureError is why one event of a capture was refused.
type CaptureError struct {
	Index   int    `json:"index"`             // position in the document's eventList
	EventID string `json:"eventId,omitempty"` // as given or derived
	Pointer string `json:"pointer"`           // JSON pointer into the document
	Rule    string `json:"rule"`              // the rule broken
	Message string `json:"message"`
	// Custodian is the entity the custody rules expected to act, when a
	// custody rule was broken.
	Custodian string `json:"expectedCustodian,omitempty"`
}

// CaptureJob is the outcome of one capture, as the EPCIS REST binding
// reports it at /epcis/capture/{id}.
type CaptureJob struct {
	ID             string         `json:"captureID"`
	OwnerID        string         `json:"-"`
	Running        bool           `json:"running"`
	Success        bool           `json:"success"`
	ErrorBehaviour string         `json:"captureErrorBehaviour"`
	Events         int            `json:"events"`     // events in the document
	Captured       int            `json:"captured"`   // newly stored
	Duplicates     int            `json:"duplicates"` // already stored: no-ops
	Errors         []CaptureError `json:"errors"`
	CreatedAt      time.Time      `json:"createdAt"`
	FinishedAt     time.Time      `json:"finishedAt"`
}
