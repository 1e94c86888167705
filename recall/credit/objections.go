package credit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"tracesvc/trace"
)

// Attachment is a document an entity gives with an objection: a PDF, PNG
// or JPEG, its type checked by content.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Data        []byte `json:"data,omitempty"` // base64 in JSON; left out of lists
	Size        int    `json:"size"`
}

// MaxAttachments caps an objection's attachments: how many, and their
// total size.
const (
	MaxAttachments     = 5
	MaxAttachmentBytes = 2 << 20
)

// sniff tells a document's type by its first bytes.
func sniff(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return "application/pdf"
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	}
	return ""
}

// Decision is a regulator's decision on an objection or a repair.
type Decision struct {
	Granted bool      `json:"granted"` // upheld, or approved
	Reason  string    `json:"reason"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

// Request is an entity's objection to one of its events, or its
// application to repair one.
type Request struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"` // objection or repair
	EntityID string    `json:"entityId"`
	EventID  string    `json:"eventId"`
	Event    Event     `json:"event"`
	Text     string    `json:"text"` // the reasons, or the rectification made
	Filed    time.Time `json:"filedAt"`
	// DecideBy is when the regulator must have decided, in working days.
	DecideBy    time.Time    `json:"decideBy"`
	Status      string       `json:"status"` // filed, upheld, rejected (objections); filed, approved, refused (repairs)
	Decision    *Decision    `json:"decision,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// The request statuses.
const (
	Filed    = "filed"
	Upheld   = "upheld"
	Rejected = "rejected"
	Approved = "approved"
	Refused  = "refused"
)

// NewRequest is what an entity files.
type NewRequest struct {
	Text        string       `json:"text"`
	Attachments []Attachment `json:"attachments"`
}

// never are the events that may never be repaired.
var never = []EventType{LicenceRevoked}

// repairable are the events a repair may lift.
var repairable = []EventType{Penalty, InspectionRefused, MajorAccident, DishonestDebtor, OrderedRecall, LateIncident,
	SpotCheckFailed, UnackedNotice}

// File files an objection (kind "objection") to, or an application to
// repair (kind "repair"), one of caller's own counted events. A repair
// comes once the waiting period has passed: 6 months, or a year for an
// entity making food, drugs or special equipment. Events that may never
// be repaired are refused at once, with the reason, and recorded.
func (s *Service) File(ctx context.Context, caller trace.Principal, kind, entityID, eventID string, in NewRequest) (Request, error) {
	if err := caller.Require(trace.RoleEntity); err != nil {
		return Request{}, err
	}
	if !caller.IsEntity(entityID) {
		return Request{}, fmt.Errorf("an entity objects to and repairs its own credit events: %w", trace.ErrForbidden)
	}
	e, err := s.event(ctx, entityID, eventID)
	if err != nil {
		return Request{}, err
	}
	field := "text"
	if err := checkText(field, in.Text, true, 4000); err != nil {
		return Request{}, err
	}
	if e.Status != Counted {
		return Request{}, fmt.Errorf("credit event %s is %s already: %w", eventID, e.Status, ErrConflict)
	}
	open, err := s.requests(ctx, RecordFilter{EntityID: entityID, Kind: kind, State: Filed})
	if err != nil {
		return Request{}, err
	}
	if slices.ContainsFunc(open, func(r Request) bool { return r.EventID == eventID }) {
		return Request{}, fmt.Errorf("a %s of credit event %s is waiting for a decision: %w", kind, eventID, ErrConflict)
	}
	now := s.cfg.Now.Now()
	r := Request{ID: trace.NewID(now), Kind: kind, EntityID: entityID, EventID: eventID, Event: e, Text: strings.TrimSpace(in.Text),
		Filed: now, DecideBy: s.cfg.Days.Deadline(now, s.cfg.DecideDays).Due, Status: Filed}
	switch kind {
	case KindObjection:
		if r.Attachments, err = checkAttachments(in.Attachments); err != nil {
			return Request{}, err
		}
		if e.Derived && (e.Type == VoluntaryRecall || e.Type == ListEntry || e.Type == ListRemoval) {
			return Request{}, invalid("eventId", "a %s is not objected to here", e.Type)
		}
	case KindRepair:
		if len(in.Attachments) > 0 {
			return Request{}, invalid("attachments", "a repair application states the rectification in text")
		}
		if slices.Contains(never, e.Type) {
			r.Status, r.Decision = Refused, &Decision{Reason: fmt.Sprintf("a %s may never be repaired", e.Type), By: "rules", At: now}
			break
		}
		if !slices.Contains(repairable, e.Type) {
			return Request{}, invalid("eventId", "a %s is not repaired: it does not lower the class", e.Type)
		}
		wait, err := s.repairWait(ctx, entityID)
		if err != nil {
			return Request{}, err
		}
		if after, _ := addPeriod(e.Date, wait); s.today() < after {
			return Request{}, &trace.FieldError{Field: "eventId", Kind: ErrConflict,
				Msg: fmt.Sprintf("a repair of an event of %s may be applied for from %s (after %s)", e.Date, after, wait)}
		}
	default:
		return Request{}, fmt.Errorf("no such request %q: %w", kind, ErrNotFound)
	}
	body, err := json.Marshal(r)
	if err != nil {
		return Request{}, err
	}
	if err := s.cfg.Store.CreateRecord(ctx, Record{ID: r.ID, EntityID: entityID, Kind: kind, State: r.Status, Body: body, CreatedAt: now}); err != nil {
		return Request{}, fmt.Errorf("file %s: %w", kind, err)
	}
	return r, nil
}

// repairWait is the waiting period before a repair: longer for an entity
// making food, drugs or special equipment.
func (s *Service) repairWait(ctx context.Context, entityID string) (string, error) {
	for p := (trace.Page{Limit: trace.MaxLimit}); ; {
		products, next, err := s.cfg.Register.Products(ctx, trace.System, trace.ProductFilter{OwnerID: entityID}, p)
		if err != nil {
			return "", fmt.Errorf("products of %s: %w", entityID, err)
		}
		for _, pr := range products {
			if pr.Category == trace.CategoryFood || pr.Category == trace.CategoryDrug || pr.Category == trace.CategorySpecialEquipment {
				return s.cfg.RepairWaitStrict, nil
			}
		}
		if next == "" {
			return s.cfg.RepairWait, nil
		}
		p.After = next
	}
}

func checkAttachments(as []Attachment) ([]Attachment, error) {
	if len(as) > MaxAttachments {
		return nil, invalid("attachments", "at most %d", MaxAttachments)
	}
	total := 0
	for i, a := range as {
		field := fmt.Sprintf("attachments[%d]", i)
		if err := checkText(field+".name", a.Name, true, 200); err != nil {
			return nil, err
		}
		total += len(a.Data)
		if len(a.Data) == 0 {
			return nil, invalid(field+".data", "is empty (send the file base64-encoded)")
		}
		if total > MaxAttachmentBytes {
			return nil, invalid(field+".data", "attachments are at most %d MiB together", MaxAttachmentBytes>>20)
		}
		ct := sniff(a.Data)
		if ct == "" {
			return nil, invalid(field+".data", "is not a PDF, PNG or JPEG file")
		}
		as[i].ContentType, as[i].Size = ct, len(a.Data)
	}
	return as, nil
}

// requests reads the requests matching f.
func (s *Service) requests(ctx context.Context, f RecordFilter) ([]Request, error) {
	records, err := s.records(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]Request, 0, len(records))
	for _, r := range records {
		var q Request
		if err := json.Unmarshal(r.Body, &q); err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.Kind, r.ID, err)
		}
		out = append(out, q)
	}
	return out, nil
}

// Requests lists objections or repair applications: a regulator's of
// every entity (status filter, e.g. "filed"), an entity's own.
func (s *Service) Requests(ctx context.Context, caller trace.Principal, kind, entityID, status string) ([]Request, error) {
	if err := caller.Require(trace.RoleRegulator, trace.RoleInspector, trace.RoleEntity); err != nil {
		return nil, err
	}
	if scope := caller.Scope(); scope != "" {
		if entityID != "" && entityID != scope {
			return nil, fmt.Errorf("an entity sees its own: %w", trace.ErrForbidden)
		}
		entityID = scope
	}
	list, err := s.requests(ctx, RecordFilter{EntityID: entityID, Kind: kind, State: status})
	for i := range list {
		for j := range list[i].Attachments {
			list[i].Attachments[j].Data = nil
		}
	}
	return list, err
}

// Request returns one request to a regulator or its entity.
func (s *Service) Request(ctx context.Context, caller trace.Principal, kind, id string) (Request, error) {
	r, err := s.cfg.Store.Record(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && r.Kind != kind {
		return Request{}, fmt.Errorf("%s %s: %w", kind, id, ErrNotFound)
	} else if err != nil {
		return Request{}, err
	}
	if err := mayReadLedger(caller, r.EntityID); err != nil {
		return Request{}, err
	}
	var q Request
	if err := json.Unmarshal(r.Body, &q); err != nil {
		return Request{}, err
	}
	return q, nil
}

// Decide is a regulator's decision on a filed request, with reasons. An
// upheld objection voids its event; an approved repair marks it repaired.
// Either way the event is kept, and stops counting from the decision.
func (s *Service) Decide(ctx context.Context, caller trace.Principal, kind, id string, granted bool, reason string) (Request, error) {
	if err := caller.Require(trace.RoleRegulator); err != nil {
		return Request{}, err
	}
	if err := checkText("reason", reason, true, 2000); err != nil {
		return Request{}, err
	}
	rec, err := s.cfg.Store.Record(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && rec.Kind != kind {
		return Request{}, fmt.Errorf("%s %s: %w", kind, id, ErrNotFound)
	} else if err != nil {
		return Request{}, err
	}
	var r Request
	if err := json.Unmarshal(rec.Body, &r); err != nil {
		return Request{}, err
	}
	if r.Status != Filed {
		return Request{}, fmt.Errorf("%s %s was decided already (%s): %w", kind, id, r.Status, ErrConflict)
	}
	now := s.cfg.Now.Now()
	r.Decision = &Decision{Granted: granted, Reason: strings.TrimSpace(reason), By: caller.KeyID, At: now}
	switch {
	case kind == KindObjection && granted:
		r.Status = Upheld
	case kind == KindObjection:
		r.Status = Rejected
	case granted:
		r.Status = Approved
	default:
		r.Status = Refused
	}
	// The event stops counting first: should the process stop between
	// the two writes, the request is still filed and deciding it again
	// finishes.
	if granted {
		status := Voided
		if kind == KindRepair {
			status = Repaired
		}
		if err := s.stop(ctx, r.Event, status, s.day(now), kind+":"+r.ID); err != nil && !errors.Is(err, ErrConflict) {
			return Request{}, err
		}
	}
	if rec.Body, err = json.Marshal(r); err != nil {
		return Request{}, err
	}
	rec.State, rec.Version = r.Status, rec.Version+1
	if err := s.cfg.Store.UpdateRecord(ctx, rec); err != nil {
		return Request{}, fmt.Errorf("%s %s: %w", kind, id, err)
	}
	return r, nil
}
