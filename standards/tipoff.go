package standards

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"tracesvc/standards/workday"
	"tracesvc/trace"
	"tracesvc/trace/gs1"
)

// TipoffStatus is where a tip-off is in its handling.
type TipoffStatus string

// The tip-off statuses.
const (
	TipoffReceived   TipoffStatus = "received"
	TipoffVerifying  TipoffStatus = "verifying"
	TipoffCaseOpened TipoffStatus = "case_opened"
	TipoffClosed     TipoffStatus = "closed"
	TipoffRejected   TipoffStatus = "rejected"
)

// Tip-off subjects, categories and statuses.
var (
	TipoffSubjects   = []string{"code", "product", "entity"}
	TipoffCategories = []string{"counterfeit", "quality", "safety", "labelling", "expired", "other"}
	TipoffStatuses   = []TipoffStatus{TipoffReceived, TipoffVerifying, TipoffCaseOpened, TipoffClosed, TipoffRejected}
)

// Tipoff is a report from the public about a code, product or entity.
// Name and Contact are confidential: only regulators see them.
type Tipoff struct {
	ID          string       `json:"id"`                        // time-ordered: the list order
	Receipt     string       `json:"receipt"`                   // what the tipster keeps to ask for its status
	Subject     string       `json:"subject"`                   // "code", "product" or "entity"
	Code        string       `json:"code,omitempty"`            // Digital Link or element string
	GTIN        string       `json:"gtin,omitempty"`            // for a product
	EntityID    string       `json:"entityId,omitempty"`        // for an entity
	Category    string       `json:"category"`                  // counterfeit, quality, safety, labelling, other
	Description string       `json:"description"`               // what the tipster saw
	Anonymous   bool         `json:"anonymous"`                 // no name or contact given
	Name        string       `json:"name,omitempty"`            // confidential
	Contact     string       `json:"contact,omitempty"`         // confidential
	Client      string       `json:"-"`                         // hashed client, for rate limits and abuse review
	Status      TipoffStatus `json:"status"`                    //
	Note        string       `json:"note,omitempty"`            // regulator's note, internal
	HandledBy   string       `json:"handledBy,omitempty"`       // regulator key ID of the last update
	CreatedAt   time.Time    `json:"createdAt"`                 //
	UpdatedAt   time.Time    `json:"updatedAt"`                 //
	Deadline    time.Time    `json:"verifyBy,omitzero"`         // verification deadline
	NotifyBy    time.Time    `json:"notifyTipsterBy,omitzero"`  // when a named tipster must hear back
	Extended    bool         `json:"extended,omitempty"`        // the verification deadline was extended (once)
	Notified    bool         `json:"tipsterNotified,omitempty"` // the named tipster was told of the decision
	Reward      string       `json:"reward,omitempty"`          // the reward paid for a tip-off that led to a penalty, in yuan ("500.00")
}

// TipoffChange is a regulator's change of a tip-off, as the store applies
// it.
type TipoffChange struct {
	From     TipoffStatus // the status it must have now, or [ErrConflict]
	Status   TipoffStatus
	Note     string
	By       string // the regulator's key ID
	At       time.Time
	Deadline time.Time // a new verification deadline; zero keeps it
	Extended bool      // set when the deadline is extended
	NotifyBy time.Time // a new notify-by deadline; zero keeps it
	Notified bool      // set when the tipster was told
	Reward   string    // a reward, in yuan; "" keeps it
}

// TipoffFilter narrows a list of tip-offs.
type TipoffFilter struct {
	Status TipoffStatus // "" for any
	// OverdueAt keeps the tip-offs that missed a deadline by then: not
	// decided by their verification deadline, or a named tipster not told
	// by their notify-by deadline. Zero keeps all.
	OverdueAt time.Time
}

// TipoffStore keeps tip-offs. standards/standardssql and
// standards/standardsmongo implement it; standards/storetest holds them to
// it.
type TipoffStore interface {
	// CreateTipoff stores t; [ErrConflict] when its ID or receipt exists.
	CreateTipoff(ctx context.Context, t Tipoff) error
	// Tipoff finds a tip-off by receipt, or [ErrNotFound].
	Tipoff(ctx context.Context, receipt string) (Tipoff, error)
	// ListTipoffs returns tip-offs in ID order after p.After, filtered.
	ListTipoffs(ctx context.Context, f TipoffFilter, p trace.Page) ([]Tipoff, error)
	// UpdateTipoff applies c to the tip-off with receipt if its status is
	// still c.From, and returns it; [ErrNotFound] when there is none,
	// [ErrConflict] when its status moved.
	UpdateTipoff(ctx context.Context, receipt string, c TipoffChange) (Tipoff, error)
}

// NewTipoff is what a member of the public files.
type NewTipoff struct {
	Subject     string `json:"subject"`
	Code        string `json:"code"`
	GTIN        string `json:"gtin"`
	EntityID    string `json:"entityId"`
	Category    string `json:"category"`
	Description string `json:"description"`
	Name        string `json:"name"`
	Contact     string `json:"contact"`
}

// Entities tells whether an entity is registered; trace.Register
// implements it.
type Entities interface {
	Entity(ctx context.Context, id string) (trace.Entity, error)
}

// Tipoffs files and handles tip-offs from the public.
type Tipoffs struct {
	store    TipoffStore
	entities Entities
	now      trace.Clock
	days     *workday.Calendar
}

// VerifyDays is how many working days a regulator has to verify a
// tip-off and decide whether to open a case (market regulation's
// complaint and report rules: 15, extendable once by 15).
const VerifyDays = 15

// NewTipoffs returns the tip-off service; days counts its deadlines.
func NewTipoffs(store TipoffStore, entities Entities, now trace.Clock, days *workday.Calendar) *Tipoffs {
	return &Tipoffs{store: store, entities: entities, now: now, days: days}
}

// File validates and stores a tip-off from anyone, and returns it with its
// receipt. client is the hashed client that filed it.
func (t *Tipoffs) File(ctx context.Context, in NewTipoff, client string) (Tipoff, error) {
	if !slices.Contains(TipoffSubjects, in.Subject) {
		return Tipoff{}, invalid("subject", "must be one of %s", strings.Join(TipoffSubjects, ", "))
	}
	if in.Category == "" {
		in.Category = "other"
	}
	if !slices.Contains(TipoffCategories, in.Category) {
		return Tipoff{}, invalid("category", "must be one of %s", strings.Join(TipoffCategories, ", "))
	}
	if err := checkText("description", in.Description, true, 4000); err != nil {
		return Tipoff{}, err
	}
	if len([]rune(strings.TrimSpace(in.Description))) < 5 {
		return Tipoff{}, invalid("description", "say in a few words what you saw")
	}
	if err := checkText("name", in.Name, false, 100); err != nil {
		return Tipoff{}, err
	}
	if err := checkText("contact", in.Contact, false, 200); err != nil {
		return Tipoff{}, err
	}
	switch in.Subject {
	case "code":
		if in.Code == "" {
			return Tipoff{}, invalid("code", "is required for a tip-off about a code")
		}
		if err := checkText("code", in.Code, true, 500); err != nil {
			return Tipoff{}, err
		}
		// A counterfeit code may well be malformed: it is kept as given.
	case "product":
		g, err := gs1.ValidateGTIN(in.GTIN)
		if err != nil {
			return Tipoff{}, invalid("gtin", "%v", err)
		}
		in.GTIN = g
	case "entity":
		if _, err := t.entities.Entity(ctx, in.EntityID); errors.Is(err, trace.ErrNotFound) {
			return Tipoff{}, invalid("entityId", "no entity %q is registered", in.EntityID)
		} else if err != nil {
			return Tipoff{}, err
		}
	}
	now := t.now.Now()
	tip := Tipoff{ID: trace.NewID(now), Subject: in.Subject, Code: in.Code, GTIN: in.GTIN, EntityID: in.EntityID,
		Category: in.Category, Description: strings.TrimSpace(in.Description), Name: strings.TrimSpace(in.Name),
		Contact: strings.TrimSpace(in.Contact), Client: client, Status: TipoffReceived, CreatedAt: now, UpdatedAt: now,
		Deadline: t.days.Deadline(now, VerifyDays).Due}
	tip.Anonymous = tip.Name == "" && tip.Contact == ""
	src, _ := trace.NewSerialSource(trace.MinSerialLength + 4)
	for attempt := 0; ; attempt++ {
		tip.Receipt = "T" + src.Next()
		err := t.store.CreateTipoff(ctx, tip)
		if err == nil {
			return tip, nil
		}
		if !errors.Is(err, ErrConflict) || attempt == 5 {
			return Tipoff{}, fmt.Errorf("file tip-off: %w", err)
		}
	}
}

// TipoffStatusView is all a tipster sees when checking a receipt.
type TipoffStatusView struct {
	Receipt   string       `json:"receipt"`
	Status    TipoffStatus `json:"status"`
	CreatedAt time.Time    `json:"createdAt"`
	UpdatedAt time.Time    `json:"updatedAt"`
	// VerifyBy is when the regulator must have decided whether to open a
	// case: the first instant after the last working day it has.
	VerifyBy time.Time `json:"verifyBy,omitzero"`
	// VerifyByDate is the last day the regulator has, YYYY-MM-DD in its
	// time zone.
	VerifyByDate string `json:"verifyByDate,omitempty"`
	// Code is the code the tip-off is about, as the tipster gave it: the
	// product page they came from.
	Code string `json:"code,omitempty"`
}

// PublicView is what anyone holding the receipt may see of tip.
func (t *Tipoffs) PublicView(tip Tipoff) TipoffStatusView {
	v := TipoffStatusView{Receipt: tip.Receipt, Status: tip.Status, CreatedAt: tip.CreatedAt, UpdatedAt: tip.UpdatedAt,
		VerifyBy: tip.Deadline, Code: tip.Code}
	if !tip.Deadline.IsZero() {
		// The deadline is the first instant after the last day: name the day.
		v.VerifyByDate = tip.Deadline.Add(-time.Nanosecond).In(t.days.Location()).Format(time.DateOnly)
	}
	return v
}

// Lookup returns what p may see of the tip-off with receipt: a regulator
// gets the whole tip-off (full is set), anyone else its status only.
func (t *Tipoffs) Lookup(ctx context.Context, p trace.Principal, receipt string) (view TipoffStatusView, full *Tipoff, err error) {
	tip, err := t.store.Tipoff(ctx, strings.ToUpper(strings.TrimSpace(receipt)))
	if err != nil {
		return TipoffStatusView{}, nil, fmt.Errorf("tip-off %s: %w", receipt, err)
	}
	view = t.PublicView(tip)
	if p.Role == trace.RoleRegulator {
		full = &tip
	}
	return view, full, nil
}

// List returns one page of tip-offs, of one status when set, or only
// those overdue now: for regulators only, since tip-offs name their
// tipsters.
func (t *Tipoffs) List(ctx context.Context, caller trace.Principal, status TipoffStatus, overdue bool, p trace.Page) ([]Tipoff, string, error) {
	if err := caller.Require(trace.RoleRegulator); err != nil {
		return nil, "", err
	}
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	if status != "" && !slices.Contains(TipoffStatuses, status) {
		return nil, "", invalid("status", "unknown status %q", status)
	}
	f := TipoffFilter{Status: status}
	if overdue {
		f.OverdueAt = t.now.Now()
	}
	list, err := t.store.ListTipoffs(ctx, f, trace.Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list tip-offs: %w", err)
	}
	return trace.PageOf(list, p.Limit, func(t Tipoff) string { return t.ID })
}

// Working days of the tip-off workflow (market regulation's complaint and
// report rules).
const (
	// ExtendDays is the one extension of the verification deadline.
	ExtendDays = 15
	// NotifyDays is how long a named tipster may wait to hear whether a
	// case was opened, from the decision.
	NotifyDays = 5
)

// yuan validates an amount of money in yuan, to the fen, and returns it
// with two decimals.
func yuan(s string) (string, error) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if whole == "" || len(whole) > 9 || strings.Trim(whole, "0123456789") != "" || len(frac) > 2 || strings.Trim(frac, "0123456789") != "" {
		return "", invalid("reward", "must be an amount in yuan such as 500 or 500.00, got %q", s)
	}
	n, _ := strconv.Atoi(whole)
	for len(frac) < 2 {
		frac += "0"
	}
	if n == 0 && frac == "00" {
		return "", invalid("reward", "must be more than zero")
	}
	return strconv.Itoa(n) + "." + frac, nil
}

// next lists the statuses a tip-off may move to from each status.
var next = map[TipoffStatus][]TipoffStatus{
	TipoffReceived:   {TipoffVerifying, TipoffCaseOpened, TipoffRejected},
	TipoffVerifying:  {TipoffCaseOpened, TipoffRejected},
	TipoffCaseOpened: {TipoffClosed},
	TipoffRejected:   {TipoffClosed},
}

// TipoffUpdate is what a regulator changes: the status (or the same one,
// with a note), an extension of the verification deadline, or that the
// named tipster was told of the decision.
type TipoffUpdate struct {
	Status          TipoffStatus `json:"status"`
	Note            string       `json:"note"`
	Extend          bool         `json:"extend"`
	TipsterNotified bool         `json:"tipsterNotified"`
	// Reward marks a tip-off that led to a penalty rewarded, with the
	// amount in yuan ("500" or "500.00"); only once its case is closed.
	Reward string `json:"reward"`
}

// Update applies a regulator's update: received → verifying → case_opened
// or rejected (no case opened) → closed. Deciding starts the notify-by
// deadline of a named tipster; the verification deadline may be extended
// once, before the decision.
func (t *Tipoffs) Update(ctx context.Context, caller trace.Principal, receipt string, u TipoffUpdate) (Tipoff, error) {
	if err := caller.Require(trace.RoleRegulator); err != nil {
		return Tipoff{}, err
	}
	if !slices.Contains(TipoffStatuses, u.Status) {
		return Tipoff{}, invalid("status", "must be one of received, verifying, case_opened, closed, rejected")
	}
	if err := checkText("note", u.Note, false, 4000); err != nil {
		return Tipoff{}, err
	}
	receipt = strings.ToUpper(strings.TrimSpace(receipt))
	tip, err := t.store.Tipoff(ctx, receipt)
	if err != nil {
		return Tipoff{}, fmt.Errorf("tip-off %s: %w", receipt, err)
	}
	now := t.now.Now()
	c := TipoffChange{From: tip.Status, Status: u.Status, Note: u.Note, By: caller.KeyID, At: now}
	if u.Status != tip.Status && !slices.Contains(next[tip.Status], u.Status) {
		return Tipoff{}, &trace.FieldError{Field: "status", Kind: ErrConflict,
			Msg: fmt.Sprintf("a tip-off that is %s cannot become %s", tip.Status, u.Status)}
	}
	if u.Extend {
		switch {
		case tip.Extended:
			return Tipoff{}, &trace.FieldError{Field: "extend", Kind: ErrConflict, Msg: "the verification deadline was extended once already"}
		case tip.Status != TipoffReceived && tip.Status != TipoffVerifying:
			return Tipoff{}, &trace.FieldError{Field: "extend", Kind: ErrConflict, Msg: "the decision is made: there is nothing to extend"}
		}
		c.Deadline, c.Extended = t.days.Deadline(tip.Deadline.Add(-time.Nanosecond), ExtendDays).Due, true
	}
	decided := (u.Status == TipoffCaseOpened || u.Status == TipoffRejected) && u.Status != tip.Status
	if decided && !tip.Anonymous {
		c.NotifyBy = t.days.Deadline(now, NotifyDays).Due
	}
	if u.TipsterNotified {
		if tip.NotifyBy.IsZero() && c.NotifyBy.IsZero() {
			return Tipoff{}, &trace.FieldError{Field: "tipsterNotified", Kind: ErrConflict,
				Msg: "there is no decision to tell a named tipster of"}
		}
		c.Notified = true
	}
	if u.Reward != "" {
		amount, err := yuan(u.Reward)
		if err != nil {
			return Tipoff{}, err
		}
		if u.Status != TipoffClosed || tip.Status != TipoffClosed && tip.Status != TipoffCaseOpened {
			return Tipoff{}, &trace.FieldError{Field: "reward", Kind: ErrConflict,
				Msg: "a reward is for a tip-off whose case led to a penalty: close the case with it"}
		}
		if tip.Reward != "" {
			return Tipoff{}, &trace.FieldError{Field: "reward", Kind: ErrConflict, Msg: "this tip-off was rewarded already (" + tip.Reward + " yuan)"}
		}
		c.Reward = amount
	}
	up, err := t.store.UpdateTipoff(ctx, receipt, c)
	if err != nil {
		return Tipoff{}, fmt.Errorf("update tip-off %s: %w", receipt, err)
	}
	return up, nil
}
