package credit

import (
	"context"
	"encoding/json"
	"time"

	"tracesvc/trace"
)

// Record is one stored credit record: a recorded event, the status of a
// derived event (voided or repaired), an objection, a repair application
// or a listing. Body is the record's JSON; Kind and State are what lists
// filter on.
type Record struct {
	ID        string
	EntityID  string
	Kind      string // "event", "status", "objection", "repair", "listing"
	State     string // the record's state, for lists (e.g. an objection's "filed")
	Body      json.RawMessage
	Version   int // 1 when created; updates are optimistic
	CreatedAt time.Time
}

// The record kinds.
const (
	KindEvent     = "event"
	KindStatus    = "status"
	KindObjection = "objection"
	KindRepair    = "repair"
	KindListing   = "listing"
)

// RecordFilter narrows a list of records; empty fields match all.
type RecordFilter struct {
	EntityID string
	Kind     string
	State    string
}

// Store keeps credit records. recall/recallsql and recall/recallmongo
// implement it; recall/storetest holds them to it.
type Store interface {
	// CreateRecord stores r with Version 1; [ErrConflict] when its ID
	// exists.
	CreateRecord(ctx context.Context, r Record) error
	// Record returns the record with id, or [ErrNotFound].
	Record(ctx context.Context, id string) (Record, error)
	// UpdateRecord replaces the record with r.ID if its stored Version is
	// r.Version-1; [ErrConflict] when it moved, [ErrNotFound] when absent.
	// Its entity and kind never change.
	UpdateRecord(ctx context.Context, r Record) error
	// ListRecords returns records in ID order after p.After.
	ListRecords(ctx context.Context, f RecordFilter, p trace.Page) ([]Record, error)
}
