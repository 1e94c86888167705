package recall

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"tracesvc/standards"
	"tracesvc/standards/workday"
	"tracesvc/trace"
	"tracesvc/trace/gs1"
	"tracesvc/trace/scan"
	"tracesvc/trace/ttl"
)

// Graph is what a campaign needs of the custody record: the trace engine
// that expands its scope, and capture, which records serials reported
// recovered as EPCIS events. trace.Chain implements it.
type Graph interface {
	Trace(ctx context.Context, p trace.Principal, start []string, dir trace.Direction, opt trace.TraceOptions) (trace.TraceGraph, error)
	Capture(ctx context.Context, p trace.Principal, req trace.CaptureRequest) (trace.CaptureJob, error)
}

// Register is what a campaign reads of the register; trace.Registry
// implements it.
type Register interface {
	trace.Register
	Batches(ctx context.Context, gtin string, p trace.Page) ([]trace.Batch, string, error)
}

// Custodies reads the custody states of codes; trace's event stores
// implement it.
type Custodies interface {
	Custody(ctx context.Context, keys []string) (map[string]trace.Custody, error)
}

// Codes finds issued codes; trace's code stores implement it.
type Codes interface {
	Code(ctx context.Context, gtin, serial string) (trace.Code, error)
}

// ScanCounts counts consumer scans of recalled units; the scan store
// implements it.
type ScanCounts interface {
	CountRecalledScans(ctx context.Context, gtin string, since time.Time, limit int) (map[string]int, error)
}

// IncidentLinks reads incident reports for a campaign and fills their
// recall link; standards.Incidents implements it.
type IncidentLinks interface {
	ForRecall(ctx context.Context, id string) (standards.Incident, error)
	LinkRecall(ctx context.Context, id, recallID string) error
}

// CampaignsConfig is what [NewCampaigns] wires together.
type CampaignsConfig struct {
	Store     CampaignStore
	Register  Register
	Graph     Graph
	Custodies Custodies
	Codes     Codes
	Scans     ScanCounts
	Incidents IncidentLinks
	Sender    Sender
	Days      *workday.Calendar
	Now       trace.Clock
	Logger    *slog.Logger // nil discards
	// BaseURL is the service's public origin, for the links in notices.
	BaseURL string
	// AckDays is how many working days a custodian has to acknowledge a
	// notice; 0 means DefaultAckDays.
	AckDays int
}

// DefaultAckDays is the working days a custodian has to acknowledge a
// notice by default.
const DefaultAckDays = 2

// Campaigns drives recall campaigns: drafting, opening with a scope from
// the trace graph, notices to custodians, their acknowledgements and
// returns, effectiveness, and the end of a campaign. It is also the scan
// page's [scan.RecallLookup].
type Campaigns struct {
	cfg CampaignsConfig
	// notices keeps what the scan page shows of an opened campaign: it
	// never changes once the campaign is open, and reading it means
	// reading the whole campaign, scope and all. Which campaigns cover a
	// code is read from the store at every scan.
	notices *ttl.Cache[string, scan.RecallNotice]
}

// NewCampaigns returns the campaign service.
func NewCampaigns(cfg CampaignsConfig) *Campaigns {
	if cfg.AckDays <= 0 {
		cfg.AckDays = DefaultAckDays
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Campaigns{cfg: cfg, notices: ttl.New[string, scan.RecallNotice](time.Hour, 10_000)}
}

// NewCampaign is what a regulator (an ordered recall) or an entity (a
// voluntary recall of its own products) drafts.
type NewCampaign struct {
	Class                 string     `json:"class"`
	Depth                 string     `json:"depth"`
	Hazard                string     `json:"hazard"`
	Reason                string     `json:"reason"`
	Remedy                string     `json:"remedy"`
	CustodianInstructions string     `json:"custodianInstructions"`
	ConsumerInstructions  string     `json:"consumerInstructions"`
	Contact               string     `json:"contact"`
	Incidents             []string   `json:"incidents"`
	Scope                 ScopeInput `json:"scope"`
}

// Classes and depths.
var (
	Classes = []string{"I", "II", "III"}
	Depths  = []string{LevelWholesale, LevelRetail, LevelConsumer}
)

// Limits of a campaign's input.
const (
	MaxScopeItems = 1000 // products, lots and serials named, each
	MaxIncidents  = 50
)

// check validates in for caller and returns the campaign's makers and
// products, with the input in canonical form.
func (s *Campaigns) check(ctx context.Context, caller trace.Principal, in *NewCampaign) ([]string, []ProductName, error) {
	if !slices.Contains(Classes, in.Class) {
		return nil, nil, invalid("class", "must be I, II or III (I: death or serious harm likely; II: temporary or reversible harm; III: unlikely to harm)")
	}
	if !slices.Contains(Depths, in.Depth) {
		return nil, nil, invalid("depth", "must be wholesale, retail or consumer")
	}
	if !slices.Contains(Remedies, in.Remedy) {
		return nil, nil, invalid("remedy", "must be one of repair, replace, refund, warning")
	}
	for _, f := range []struct {
		name     string
		v        *string
		required bool
		max      int
	}{
		{"hazard", &in.Hazard, true, 2000}, {"reason", &in.Reason, false, 4000},
		{"custodianInstructions", &in.CustodianInstructions, false, 4000},
		{"consumerInstructions", &in.ConsumerInstructions, false, 2000},
		{"contact", &in.Contact, false, 300},
	} {
		if err := checkText(f.name, *f.v, f.required, f.max); err != nil {
			return nil, nil, err
		}
		*f.v = strings.TrimSpace(*f.v)
	}
	if in.ConsumerInstructions == "" {
		in.ConsumerInstructions = "Stop using this product."
	}
	if in.CustodianInstructions == "" {
		in.CustodianInstructions = "Stop selling and shipping the affected stock at once; hold it apart, acknowledge this notice, " +
			"report what you recover, and tell the customers you passed it to. Remedy: " + in.Remedy + "."
	}
	sc := &in.Scope
	if len(sc.Products)+len(sc.Lots)+len(sc.Serials) == 0 {
		return nil, nil, invalid("scope", "name the products, lots or serials recalled")
	}
	for _, n := range []struct {
		field string
		count int
	}{{"scope.products", len(sc.Products)}, {"scope.lots", len(sc.Lots)}, {"scope.serials", len(sc.Serials)}} {
		if n.count > MaxScopeItems {
			return nil, nil, invalid(n.field, "at most %d", MaxScopeItems)
		}
	}
	if (sc.ProducedFrom != "" || sc.ProducedTo != "") && len(sc.Products) == 0 {
		return nil, nil, invalid("scope.producedFrom", "a production-date range selects lots of the products named in scope.products")
	}
	for _, d := range []struct{ field, v string }{{"scope.producedFrom", sc.ProducedFrom}, {"scope.producedTo", sc.ProducedTo}} {
		if _, err := time.Parse(time.DateOnly, d.v); d.v != "" && err != nil {
			return nil, nil, invalid(d.field, "must be a date YYYY-MM-DD, got %q", d.v)
		}
	}
	if sc.ProducedFrom != "" && sc.ProducedTo != "" && sc.ProducedTo < sc.ProducedFrom {
		return nil, nil, invalid("scope.producedTo", "is before scope.producedFrom")
	}
	products := map[string]trace.Product{}
	product := func(field, g string) (string, error) {
		gtin, err := gs1.ValidateGTIN(g)
		if err != nil {
			return "", invalid(field, "%v", err)
		}
		if _, ok := products[gtin]; ok {
			return gtin, nil
		}
		p, err := s.cfg.Register.Product(ctx, gtin)
		if errors.Is(err, trace.ErrNotFound) {
			return "", invalid(field, "no product %s is registered", gtin)
		} else if err != nil {
			return "", err
		}
		if caller.Role == trace.RoleEntity && p.OwnerID != caller.EntityID {
			return "", &trace.FieldError{Field: field, Kind: trace.ErrForbidden,
				Msg: fmt.Sprintf("product %s is another entity's: an entity recalls its own products; a regulator orders other recalls", gtin)}
		}
		products[gtin] = p
		return gtin, nil
	}
	for i, g := range sc.Products {
		var err error
		if sc.Products[i], err = product(fmt.Sprintf("scope.products[%d]", i), g); err != nil {
			return nil, nil, err
		}
	}
	for i, l := range sc.Lots {
		field := fmt.Sprintf("scope.lots[%d]", i)
		gtin, err := product(field+".gtin", l.GTIN)
		if err != nil {
			return nil, nil, err
		}
		if _, err := s.cfg.Register.Batch(ctx, gtin, l.Lot); errors.Is(err, trace.ErrNotFound) {
			return nil, nil, invalid(field+".lot", "product %s has no lot %q", gtin, l.Lot)
		} else if err != nil {
			return nil, nil, err
		}
		sc.Lots[i].GTIN = gtin
	}
	for i, sr := range sc.Serials {
		field := fmt.Sprintf("scope.serials[%d]", i)
		gtin, err := product(field+".gtin", sr.GTIN)
		if err != nil {
			return nil, nil, err
		}
		if _, err := s.cfg.Codes.Code(ctx, gtin, sr.Serial); errors.Is(err, trace.ErrNotFound) {
			return nil, nil, invalid(field+".serial", "no code %s was issued under %s", sr.Serial, gtin)
		} else if err != nil {
			return nil, nil, err
		}
		sc.Serials[i].GTIN = gtin
	}
	if len(in.Incidents) > MaxIncidents {
		return nil, nil, invalid("incidents", "at most %d", MaxIncidents)
	}
	for i, id := range in.Incidents {
		field := fmt.Sprintf("incidents[%d]", i)
		r, err := s.cfg.Incidents.ForRecall(ctx, id)
		if errors.Is(err, standards.ErrNotFound) {
			return nil, nil, invalid(field, "no incident report %q", id)
		} else if err != nil {
			return nil, nil, err
		}
		if _, ok := products[r.GTIN]; !ok {
			return nil, nil, invalid(field, "report %s is about %s, which this recall does not name", id, r.GTIN)
		}
	}
	var makers []string
	var names []ProductName
	for _, g := range slices.Sorted(maps.Keys(products)) {
		p := products[g]
		names = append(names, ProductName{GTIN: g, Name: p.Name})
		if !slices.Contains(makers, p.OwnerID) {
			makers = append(makers, p.OwnerID)
		}
	}
	return makers, names, nil
}

// Create drafts a campaign: ordered when a regulator drafts it, voluntary
// when an entity does.
func (s *Campaigns) Create(ctx context.Context, caller trace.Principal, in NewCampaign) (Campaign, error) {
	if err := caller.Require(trace.RoleRegulator, trace.RoleEntity); err != nil {
		return Campaign{}, err
	}
	makers, products, err := s.check(ctx, caller, &in)
	if err != nil {
		return Campaign{}, err
	}
	now := s.cfg.Now.Now()
	c := Campaign{ID: trace.NewID(now), Kind: Ordered, Makers: makers, StartedBy: caller.String(), Class: in.Class,
		Depth: in.Depth, Hazard: in.Hazard, Reason: in.Reason, Remedy: in.Remedy,
		CustodianInstructions: in.CustodianInstructions, ConsumerInstructions: in.ConsumerInstructions,
		Contact: in.Contact, Incidents: in.Incidents, Products: products, Input: in.Scope, Status: Draft,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	if caller.Role == trace.RoleEntity {
		c.Kind = Voluntary
	}
	if err := s.cfg.Store.CreateCampaign(ctx, c); err != nil {
		return Campaign{}, fmt.Errorf("create recall: %w", err)
	}
	return c, nil
}

// mayManageCampaign lets regulators manage any campaign and an entity its own
// voluntary ones.
func mayManageCampaign(caller trace.Principal, c Campaign) error {
	if caller.Role == trace.RoleRegulator {
		return nil
	}
	if err := caller.Require(trace.RoleRegulator, trace.RoleEntity); err != nil {
		return err
	}
	if c.Kind == Voluntary && slices.Contains(c.Makers, caller.EntityID) {
		return nil
	}
	return fmt.Errorf("recall %s is not yours to manage: %w", c.ID, trace.ErrForbidden)
}

// mayReadAll reports whether caller sees a campaign whole: officials and
// its makers.
func mayReadAll(caller trace.Principal, c Campaign) bool {
	return caller.IsOfficial() || caller.Role == trace.RoleEntity && slices.Contains(c.Makers, caller.EntityID)
}

// Public is what anyone sees of a campaign that is not a draft: what is
// recalled, why, what to do; no consignee data.
type Public struct {
	ID                   string        `json:"id"`
	Kind                 Kind          `json:"kind"`
	Class                string        `json:"class"`
	Depth                string        `json:"depth"`
	Hazard               string        `json:"hazard"`
	Remedy               string        `json:"remedy"`
	ConsumerInstructions string        `json:"consumerInstructions"`
	Contact              string        `json:"contact,omitempty"`
	Products             []ProductName `json:"products"`
	Lots                 []LotRef      `json:"lots"`
	Status               Status        `json:"status"`
	OpenedAt             time.Time     `json:"openedAt,omitzero"`
	EndedAt              time.Time     `json:"endedAt,omitzero"`
}

// PublicOf is the public view of c.
func PublicOf(c Campaign) Public {
	p := Public{ID: c.ID, Kind: c.Kind, Class: c.Class, Depth: c.Depth, Hazard: c.Hazard, Remedy: c.Remedy,
		ConsumerInstructions: c.ConsumerInstructions, Contact: c.Contact, Products: c.Products, Lots: c.Input.Lots,
		Status: c.Status, OpenedAt: c.OpenedAt, EndedAt: c.EndedAt}
	if c.Scope != nil {
		p.Lots = c.Scope.Lots
	}
	if p.Lots == nil {
		p.Lots = []LotRef{}
	}
	return p
}

// Get returns the campaign with id as caller may see it: whole (with its
// effectiveness) to officials and its makers, the public view to anyone
// else once it is no draft.
func (s *Campaigns) Get(ctx context.Context, caller trace.Principal, id string) (any, error) {
	c, err := s.cfg.Store.Campaign(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("recall %s: %w", id, err)
	}
	if mayReadAll(caller, c) {
		eff, err := s.Effectiveness(ctx, c)
		if err != nil {
			return nil, err
		}
		return Full{Campaign: c, Effectiveness: eff}, nil
	}
	if c.Status == Draft || c.Status == Cancelled {
		if err := caller.Require(trace.RoleRegulator, trace.RoleEntity); err != nil {
			return nil, fmt.Errorf("recall %s is not public: %w", id, err)
		}
		return nil, fmt.Errorf("recall %s is not yours: %w", id, trace.ErrForbidden)
	}
	return PublicOf(c), nil
}

// Full is a campaign with its effectiveness, as officials and its makers
// see it.
type Full struct {
	Campaign
	Effectiveness *Effectiveness `json:"effectiveness,omitempty"`
}

// CampaignQuery narrows a list of campaigns.
type CampaignQuery struct {
	Status Status
	Maker  string
}

// List returns one page of campaigns: open, completed and terminated ones
// to anyone as their public view; officials also see drafts and cancelled
// ones, and an entity its own.
func (s *Campaigns) List(ctx context.Context, caller trace.Principal, q CampaignQuery, p trace.Page) ([]any, string, error) {
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	f := CampaignFilter{Maker: q.Maker}
	public := []Status{Open, Completed, Terminated}
	switch {
	case q.Status == "":
		f.Statuses = public
		if caller.IsOfficial() || caller.Role == trace.RoleEntity && q.Maker == caller.EntityID {
			f.Statuses = nil
		}
	case !slices.Contains(Statuses, q.Status):
		return nil, "", invalid("status", "must be one of draft, open, completed, terminated, cancelled")
	case slices.Contains(public, q.Status):
		f.Statuses = []Status{q.Status}
	default:
		if !caller.IsOfficial() && !(caller.Role == trace.RoleEntity && q.Maker == caller.EntityID) {
			if err := caller.Require(trace.RoleEntity); err != nil {
				return nil, "", err
			}
			return nil, "", &trace.FieldError{Field: "status", Kind: trace.ErrForbidden,
				Msg: "drafts and cancelled recalls are listed to officials, and to their maker (set maker to yours)"}
		}
		f.Statuses = []Status{q.Status}
	}
	list, err := s.cfg.Store.ListCampaigns(ctx, f, trace.Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list recalls: %w", err)
	}
	page, next, err := trace.PageOf(list, p.Limit, func(c Campaign) string { return c.ID })
	out := make([]any, len(page))
	for i, c := range page {
		if mayReadAll(caller, c) {
			out[i] = c
		} else {
			out[i] = PublicOf(c)
		}
	}
	return out, next, err
}

// update applies change to the campaign with id, retrying when another
// writer moved it meanwhile, and stores it.
func (s *Campaigns) update(ctx context.Context, id string, change func(*Campaign) error) (Campaign, error) {
	for attempt := 0; ; attempt++ {
		c, err := s.cfg.Store.Campaign(ctx, id)
		if err != nil {
			return Campaign{}, fmt.Errorf("recall %s: %w", id, err)
		}
		if err := change(&c); err != nil {
			return Campaign{}, err
		}
		c.Version++
		c.UpdatedAt = s.cfg.Now.Now()
		err = s.cfg.Store.UpdateCampaign(ctx, c)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, ErrConflict) || attempt == 4 {
			return Campaign{}, fmt.Errorf("recall %s: %w", id, err)
		}
	}
}

// statusConflict is an [ErrConflict] about a campaign's status.
func statusConflict(c Campaign, format string, args ...any) error {
	return &trace.FieldError{Field: "status", Kind: ErrConflict,
		Msg: fmt.Sprintf("recall %s is %s: ", c.ID, c.Status) + fmt.Sprintf(format, args...)}
}

// Cancel cancels a draft.
func (s *Campaigns) Cancel(ctx context.Context, caller trace.Principal, id string) (Campaign, error) {
	return s.update(ctx, id, func(c *Campaign) error {
		if err := mayManageCampaign(caller, *c); err != nil {
			return err
		}
		if c.Status != Draft {
			return statusConflict(*c, "only a draft is cancelled; a regulator terminates an open recall")
		}
		c.Status, c.EndedAt = Cancelled, s.cfg.Now.Now()
		return nil
	})
}

// Terminate ends an open campaign with a reason, whatever is still
// unaccounted for: for regulators.
func (s *Campaigns) Terminate(ctx context.Context, caller trace.Principal, id, reason string) (Campaign, error) {
	if err := caller.Require(trace.RoleRegulator); err != nil {
		return Campaign{}, err
	}
	if err := checkText("reason", reason, true, 2000); err != nil {
		return Campaign{}, err
	}
	return s.update(ctx, id, func(c *Campaign) error {
		if c.Status != Open {
			return statusConflict(*c, "only an open recall is terminated")
		}
		c.Status, c.EndedAt, c.EndReason = Terminated, s.cfg.Now.Now(), strings.TrimSpace(reason)
		return nil
	})
}

// Complete ends an open campaign once every affected unit is accounted
// for (recovered), or, when its scope has no serialized units, once every
// notice is acknowledged.
func (s *Campaigns) Complete(ctx context.Context, caller trace.Principal, id string) (Campaign, error) {
	c, err := s.cfg.Store.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, fmt.Errorf("recall %s: %w", id, err)
	}
	if err := mayManageCampaign(caller, c); err != nil {
		return Campaign{}, err
	}
	if c.Status != Open {
		return Campaign{}, statusConflict(c, "only an open recall is completed")
	}
	eff, err := s.Effectiveness(ctx, c)
	if err != nil {
		return Campaign{}, err
	}
	if eff.Outstanding > 0 || eff.Units == 0 && eff.Consignees.Silent > 0 {
		return Campaign{}, &trace.FieldError{Field: "status", Kind: ErrConflict, Msg: fmt.Sprintf(
			"recall %s cannot be completed: %d of %d units are unaccounted for and %d consignees have not acknowledged; a regulator may terminate it with a reason",
			id, eff.Outstanding, eff.Units, eff.Consignees.Silent)}
	}
	return s.update(ctx, id, func(c *Campaign) error {
		if c.Status != Open {
			return statusConflict(*c, "only an open recall is completed")
		}
		c.Status, c.EndedAt = Completed, s.cfg.Now.Now()
		return nil
	})
}

// RecallFor implements [scan.RecallLookup]: the campaign covering the
// item, its lot or its whole product, read from the store on every call
// (no cache), so that every replica shows an opened recall at once.
func (s *Campaigns) RecallFor(ctx context.Context, gtin, lot, serial string) (*scan.RecallNotice, error) {
	keys := []string{"01/" + gtin}
	if lot != "" {
		keys = append(keys, trace.LotKey(gtin, lot))
	}
	if serial != "" {
		keys = append(keys, trace.ItemKey(gtin, serial))
	}
	return s.recallFor(ctx, keys)
}

// RecallForUnit implements [scan.RecallLookup] for cases and pallets.
func (s *Campaigns) RecallForUnit(ctx context.Context, sscc string) (*scan.RecallNotice, error) {
	return s.recallFor(ctx, []string{"00/" + sscc})
}

// recallFor returns the campaign, open or ended, covering any of keys.
func (s *Campaigns) recallFor(ctx context.Context, keys []string) (*scan.RecallNotice, error) {
	ids, err := s.cfg.Store.CampaignsByKeys(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("recalls of %s: %w", keys[0], err)
	}
	now := s.cfg.Now.Now()
	for _, id := range ids {
		if n, ok := s.notices.Get(id, now); ok {
			return &n, nil
		}
		c, err := s.cfg.Store.Campaign(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("recall %s: %w", id, err)
		}
		if c.Status == Draft || c.Status == Cancelled {
			continue // keys are added just before a campaign opens
		}
		n := scan.RecallNotice{ID: c.ID, Class: c.Class, Hazard: c.Hazard, Instructions: c.ConsumerInstructions,
			Remedy: c.Remedy, Contact: c.Contact}
		s.notices.Put(id, n, now)
		return &n, nil
	}
	return nil, nil
}
