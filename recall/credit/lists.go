package credit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"tracesvc/trace"
)

// Listing is an entity's entry on a list, and its removal.
type Listing struct {
	ID            string    `json:"id"`
	List          string    `json:"list"`
	EntityID      string    `json:"entityId"`
	EnteredOn     string    `json:"enteredOn"`
	EntryReason   string    `json:"entryReason"`
	EnteredBy     string    `json:"enteredBy"`
	RemovedOn     string    `json:"removedOn,omitempty"`
	RemovalReason string    `json:"removalReason,omitempty"`
	RemovedBy     string    `json:"removedBy,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
}

// events are the listing's ledger events: its entry and, once removed,
// its removal. They are published as long as the listing stands.
func (l Listing) events() []Event {
	out := []Event{{ID: string(ListEntry) + ":" + l.ID, EntityID: l.EntityID, Type: ListEntry, Date: l.EnteredOn,
		Source: "list:" + l.ID, List: l.List, Reason: l.EntryReason, RecordedBy: l.EnteredBy, CreatedAt: l.CreatedAt}}
	if l.RemovedOn != "" {
		out = append(out, Event{ID: string(ListRemoval) + ":" + l.ID, EntityID: l.EntityID, Type: ListRemoval, Date: l.RemovedOn,
			Source: "list:" + l.ID, List: l.List, Reason: l.RemovalReason, RecordedBy: l.RemovedBy, CreatedAt: l.CreatedAt})
	}
	return out
}

// listState is a listing record's state: the list while it stands,
// "removed" after.
func (l Listing) state() string {
	if l.RemovedOn != "" {
		return "removed"
	}
	return l.List
}

func checkList(list string) error {
	if list != AbnormalList && list != SeriousList {
		return fmt.Errorf("no list %q (the lists are %s and %s): %w", list, AbnormalList, SeriousList, ErrNotFound)
	}
	return nil
}

// checkDay validates a YYYY-MM-DD day not after today; "" is today.
func (s *Service) checkDay(field, day string) (string, error) {
	if day == "" {
		return s.today(), nil
	}
	if d, err := time.Parse(time.DateOnly, day); err != nil || d.Format(time.DateOnly) != day {
		return "", invalid(field, "must be a date YYYY-MM-DD, got %q", day)
	}
	if day > s.today() {
		return "", invalid(field, "%s is in the future", day)
	}
	return day, nil
}

// Enter puts an entity on a list, with a reason: for regulators.
func (s *Service) Enter(ctx context.Context, caller trace.Principal, list, entityID, reason, day string) (Listing, error) {
	if err := caller.Require(trace.RoleRegulator); err != nil {
		return Listing{}, err
	}
	if err := checkList(list); err != nil {
		return Listing{}, err
	}
	if _, err := s.cfg.Register.Entity(ctx, entityID); errors.Is(err, trace.ErrNotFound) {
		return Listing{}, invalid("entityId", "no entity %q is registered", entityID)
	} else if err != nil {
		return Listing{}, err
	}
	if err := checkText("reason", reason, true, 2000); err != nil {
		return Listing{}, err
	}
	day, err := s.checkDay("date", day)
	if err != nil {
		return Listing{}, err
	}
	standing, err := s.listings(ctx, list, entityID)
	if err != nil {
		return Listing{}, err
	}
	if len(standing) > 0 {
		return Listing{}, fmt.Errorf("entity %s is on the %s list already (since %s): %w", entityID, list, standing[0].EnteredOn, ErrConflict)
	}
	now := s.cfg.Now.Now()
	l := Listing{ID: trace.NewID(now), List: list, EntityID: entityID, EnteredOn: day, EntryReason: reason, EnteredBy: caller.KeyID, CreatedAt: now}
	body, err := json.Marshal(l)
	if err != nil {
		return Listing{}, err
	}
	if err := s.cfg.Store.CreateRecord(ctx, Record{ID: l.ID, EntityID: entityID, Kind: KindListing, State: l.state(), Body: body, CreatedAt: now}); err != nil {
		return Listing{}, fmt.Errorf("list entry: %w", err)
	}
	return l, nil
}

// listings returns the standing listings of entity on list.
func (s *Service) listings(ctx context.Context, list, entityID string) ([]Listing, error) {
	records, err := s.records(ctx, RecordFilter{EntityID: entityID, Kind: KindListing, State: list})
	if err != nil {
		return nil, err
	}
	out := make([]Listing, 0, len(records))
	for _, r := range records {
		var l Listing
		if err := json.Unmarshal(r.Body, &l); err != nil {
			return nil, fmt.Errorf("listing %s: %w", r.ID, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// Remove takes a listing off its list, with a reason: for regulators.
func (s *Service) Remove(ctx context.Context, caller trace.Principal, id, reason, day string) (Listing, error) {
	if err := caller.Require(trace.RoleRegulator); err != nil {
		return Listing{}, err
	}
	if err := checkText("reason", reason, true, 2000); err != nil {
		return Listing{}, err
	}
	day, err := s.checkDay("date", day)
	if err != nil {
		return Listing{}, err
	}
	r, err := s.cfg.Store.Record(ctx, id)
	if err != nil || r.Kind != KindListing {
		return Listing{}, fmt.Errorf("listing %s: %w", id, ErrNotFound)
	}
	var l Listing
	if err := json.Unmarshal(r.Body, &l); err != nil {
		return Listing{}, err
	}
	if l.RemovedOn != "" {
		return Listing{}, fmt.Errorf("listing %s was removed on %s: %w", id, l.RemovedOn, ErrConflict)
	}
	if day < l.EnteredOn {
		return Listing{}, invalid("date", "is before the entry on %s", l.EnteredOn)
	}
	l.RemovedOn, l.RemovalReason, l.RemovedBy = day, reason, caller.KeyID
	if r.Body, err = json.Marshal(l); err != nil {
		return Listing{}, err
	}
	r.State, r.Version = l.state(), r.Version+1
	if err := s.cfg.Store.UpdateRecord(ctx, r); err != nil {
		return Listing{}, fmt.Errorf("listing %s: %w", id, err)
	}
	return l, nil
}

// List returns one page of a list's standing entries (or, with removed,
// its removed ones): public.
func (s *Service) List(ctx context.Context, list string, removed bool, p trace.Page) ([]Listing, string, error) {
	if err := checkList(list); err != nil {
		return nil, "", err
	}
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	state := list
	if removed {
		state = "removed"
	}
	records, err := s.cfg.Store.ListRecords(ctx, RecordFilter{Kind: KindListing, State: state}, trace.Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", list, err)
	}
	var out []Listing
	for _, r := range records {
		var l Listing
		if err := json.Unmarshal(r.Body, &l); err != nil {
			return nil, "", err
		}
		if l.List == list {
			out = append(out, l)
		}
	}
	return trace.PageOf(out, p.Limit, func(l Listing) string { return l.ID })
}

// Proposals lists the entities on the abnormal-operations list for the
// configured period (3 years by default), proposed for the
// serious-violation list: for regulators.
func (s *Service) Proposals(ctx context.Context, caller trace.Principal) ([]Listing, error) {
	if err := caller.Require(trace.RoleRegulator); err != nil {
		return nil, err
	}
	records, err := s.records(ctx, RecordFilter{Kind: KindListing, State: AbnormalList})
	if err != nil {
		return nil, err
	}
	today := s.today()
	out := []Listing{}
	for _, r := range records {
		var l Listing
		if err := json.Unmarshal(r.Body, &l); err != nil {
			return nil, err
		}
		if due, err := addPeriod(l.EnteredOn, s.cfg.SeriousAfter); err == nil && due <= today {
			out = append(out, l)
		}
	}
	return out, nil
}

// Confirm moves a proposed entity from the abnormal-operations list to the
// serious-violation list: for regulators.
func (s *Service) Confirm(ctx context.Context, caller trace.Principal, abnormalID string) (Listing, error) {
	proposals, err := s.Proposals(ctx, caller)
	if err != nil {
		return Listing{}, err
	}
	for _, l := range proposals {
		if l.ID != abnormalID {
			continue
		}
		reason := fmt.Sprintf("on the abnormal-operations list since %s (%s)", l.EnteredOn, l.EntryReason)
		serious, err := s.Enter(ctx, caller, SeriousList, l.EntityID, reason, "")
		if err != nil {
			return Listing{}, err
		}
		if _, err := s.Remove(ctx, caller, l.ID, "moved to the serious-violation list", ""); err != nil {
			return Listing{}, err
		}
		return serious, nil
	}
	return Listing{}, fmt.Errorf("listing %s is not proposed for the serious-violation list (on the abnormal-operations list for %s): %w",
		abnormalID, s.cfg.SeriousAfter, ErrConflict)
}
