package trace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"tracesvc/trace/gs1"
)

// Tip-off subjects and categories.
var (
	TipoffSubjects   = []string{"code", "product", "entity"}
	TipoffCategories = []string{"counterfeit", "quality", "safety", "labelling", "expired", "other"}
	TipoffStatuses   = []TipoffStatus{TipoffReceived, TipoffVerifying, TipoffCaseOpened, TipoffClosed, TipoffRejected}
)

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

// Tipoffs files and handles tip-offs from the public.
type Tipoffs struct {
	store    TipoffStore
	registry *Registry
}

// NewTipoffs returns the tip-off service.
func NewTipoffs(store TipoffStore, registry *Registry) *Tipoffs {
	return &Tipoffs{store: store, registry: registry}
}

// File validates and stores a tip-off, and returns it with its receipt.
func (t *Tipoffs) File(ctx context.Context, in NewTipoff, client string) (Tipoff, error) {
	if !slices.Contains(TipoffSubjects, in.Subject) {
		return Tipoff{}, Invalid("subject", "must be one of %s", strings.Join(TipoffSubjects, ", "))
	}
	if in.Category == "" {
		in.Category = "other"
	}
	if !slices.Contains(TipoffCategories, in.Category) {
		return Tipoff{}, Invalid("category", "must be one of %s", strings.Join(TipoffCategories, ", "))
	}
	if err := checkText("description", in.Description, true, 4000); err != nil {
		return Tipoff{}, err
	}
	if strings.TrimSpace(in.Description) != "" && len([]rune(strings.TrimSpace(in.Description))) < 5 {
		return Tipoff{}, Invalid("description", "say in a few words what you saw")
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
			return Tipoff{}, Invalid("code", "is required for a tip-off about a code")
		}
		if len(in.Code) > 500 {
			return Tipoff{}, Invalid("code", "must be at most 500 characters")
		}
		// A counterfeit code may well be malformed: it is kept as given.
	case "product":
		g, err := gs1.ValidateGTIN(in.GTIN)
		if err != nil {
			return Tipoff{}, Invalid("gtin", "%v", err)
		}
		in.GTIN = g
	case "entity":
		if _, err := t.registry.store.Entity(ctx, in.EntityID); errors.Is(err, ErrNotFound) {
			return Tipoff{}, Invalid("entityId", "no entity %q is registered", in.EntityID)
		} else if err != nil {
			return Tipoff{}, err
		}
	}
	now := t.registry.Now()
	tip := Tipoff{ID: NewID(now), Subject: in.Subject, Code: in.Code, GTIN: in.GTIN, EntityID: in.EntityID,
		Category: in.Category, Description: strings.TrimSpace(in.Description), Name: strings.TrimSpace(in.Name),
		Contact: strings.TrimSpace(in.Contact), Client: client, Status: TipoffReceived, CreatedAt: now, UpdatedAt: now}
	tip.Anonymous = tip.Name == "" && tip.Contact == ""
	src, _ := NewSerialSource(MinSerialLength + 4)
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
}

// Status returns the status of the tip-off with receipt.
func (t *Tipoffs) Status(ctx context.Context, receipt string) (TipoffStatusView, error) {
	tip, err := t.Get(ctx, receipt)
	if err != nil {
		return TipoffStatusView{}, err
	}
	return TipoffStatusView{Receipt: tip.Receipt, Status: tip.Status, CreatedAt: tip.CreatedAt, UpdatedAt: tip.UpdatedAt}, nil
}

// Get returns a whole tip-off, confidential fields included: for regulators.
func (t *Tipoffs) Get(ctx context.Context, receipt string) (Tipoff, error) {
	tip, err := t.store.Tipoff(ctx, strings.ToUpper(strings.TrimSpace(receipt)))
	if err != nil {
		return Tipoff{}, fmt.Errorf("tip-off %s: %w", receipt, err)
	}
	return tip, nil
}

// List returns one page of tip-offs, of one status when set.
func (t *Tipoffs) List(ctx context.Context, status TipoffStatus, p Page) ([]Tipoff, string, error) {
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	if status != "" && !slices.Contains(TipoffStatuses, status) {
		return nil, "", Invalid("status", "unknown status %q", status)
	}
	list, err := t.store.ListTipoffs(ctx, status, Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list tip-offs: %w", err)
	}
	return PageOf(list, p.Limit, func(t Tipoff) string { return t.ID })
}

// Update moves a tip-off to status with a regulator's note.
func (t *Tipoffs) Update(ctx context.Context, receipt string, status TipoffStatus, note, by string) (Tipoff, error) {
	if !slices.Contains(TipoffStatuses, status) {
		return Tipoff{}, Invalid("status", "must be one of received, verifying, case_opened, closed, rejected")
	}
	if err := checkText("note", note, false, 4000); err != nil {
		return Tipoff{}, err
	}
	tip, err := t.store.UpdateTipoff(ctx, strings.ToUpper(strings.TrimSpace(receipt)), status, note, by, t.registry.Now())
	if err != nil {
		return Tipoff{}, fmt.Errorf("update tip-off %s: %w", receipt, err)
	}
	return tip, nil
}
