package credit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"tracesvc/recall"
	"tracesvc/standards"
	"tracesvc/standards/workday"
	"tracesvc/trace"
	"tracesvc/trace/scan"
	"tracesvc/trace/ttl"
)

// Recalls are the recall facts the ledger reads; recall.Campaigns
// implements them.
type Recalls interface {
	RecallsOf(ctx context.Context, maker string, from, to time.Time) ([]recall.Campaign, error)
	Unacknowledged(ctx context.Context, entity string, from, to, at time.Time) ([]recall.Notice, error)
}

// LateReports are the incident facts; standards.Incidents implements them.
type LateReports interface {
	LateReports(ctx context.Context, entityID string, from, to time.Time, p trace.Page) ([]standards.Incident, string, error)
}

// SpotChecks are the spot-check facts; standards.SpotChecks implements
// them.
type SpotChecks interface {
	Nonconforming(ctx context.Context, entityID, from, to string) ([]standards.SpotCheck, error)
}

// Register is what the credit record reads of the register;
// trace.Registry implements it.
type Register interface {
	Entity(ctx context.Context, id string) (trace.Entity, error)
	Products(ctx context.Context, caller trace.Principal, f trace.ProductFilter, p trace.Page) ([]trace.Product, string, error)
}

// Config is what [New] wires together.
type Config struct {
	Store      Store
	Rules      *Rules
	Register   Register
	Recalls    Recalls
	Incidents  LateReports
	SpotChecks SpotChecks
	Days       *workday.Calendar
	Now        trace.Clock
	// DecideDays are the working days a regulator has to decide an
	// objection or a repair application; 0 means 15.
	DecideDays int
	// RepairWait is how long after an event its repair may be applied
	// for ("6m"), and RepairWaitStrict the same for entities making food,
	// drugs or special equipment ("1y").
	RepairWait, RepairWaitStrict string
	// SeriousAfter is how long on the abnormal-operations list proposes
	// an entity for the serious-violation list ("3y").
	SeriousAfter string
}

// Service is the credit record.
type Service struct {
	cfg       Config
	scanCache *ttl.Cache[string, scan.CreditClass]
}

// New returns the credit record.
func New(cfg Config) (*Service, error) {
	if cfg.DecideDays <= 0 {
		cfg.DecideDays = 15
	}
	for _, p := range []struct {
		v   *string
		def string
	}{{&cfg.RepairWait, "6m"}, {&cfg.RepairWaitStrict, "1y"}, {&cfg.SeriousAfter, "3y"}} {
		if *p.v == "" {
			*p.v = p.def
		}
		if _, err := addPeriod("2026-01-01", *p.v); err != nil {
			return nil, fmt.Errorf("credit: %w", err)
		}
	}
	return &Service{cfg: cfg, scanCache: ttl.New[string, scan.CreditClass](ScanTTL, 100_000)}, nil
}

// Rules are the rules the classes come from.
func (s *Service) Rules() *Rules { return s.cfg.Rules }

// today is the regulator's date now.
func (s *Service) today() string { return s.day(s.cfg.Now.Now()) }

// day is t's date in the regulator's time zone.
func (s *Service) day(t time.Time) string { return t.In(s.cfg.Days.Location()).Format(time.DateOnly) }

// published is the first day an event of day is no longer published.
func (s *Service) published(day string, minor bool) string {
	p := s.cfg.Rules.Published.Default
	if minor {
		p = s.cfg.Rules.Published.MinorPenalty
	}
	until, _ := addPeriod(day, p)
	return until
}

// statusBody is the stored status of an event that stopped counting.
type statusBody struct {
	EventID string `json:"eventId"`
	Status  string `json:"status"` // voided or repaired
	Since   string `json:"since"`
	Ref     string `json:"ref"` // the objection or repair
}

// Ledger returns entity's ledger: the events regulators recorded, the
// events derived from recalls, incident reports, spot checks, notices
// and lists, each with its status — oldest first.
func (s *Service) Ledger(ctx context.Context, entityID string) ([]Event, error) {
	records, err := s.records(ctx, RecordFilter{EntityID: entityID})
	if err != nil {
		return nil, err
	}
	var events []Event
	statuses := map[string]statusBody{}
	for _, r := range records {
		switch r.Kind {
		case KindEvent:
			var e Event
			if err := json.Unmarshal(r.Body, &e); err != nil {
				return nil, fmt.Errorf("credit event %s: %w", r.ID, err)
			}
			events = append(events, e)
		case KindStatus:
			var st statusBody
			if err := json.Unmarshal(r.Body, &st); err != nil {
				return nil, fmt.Errorf("credit status %s: %w", r.ID, err)
			}
			statuses[st.EventID] = st
		case KindListing:
			var l Listing
			if err := json.Unmarshal(r.Body, &l); err != nil {
				return nil, fmt.Errorf("listing %s: %w", r.ID, err)
			}
			events = append(events, l.events()...)
		}
	}
	derived, err := s.derived(ctx, entityID)
	if err != nil {
		return nil, err
	}
	events = append(events, derived...)
	for i, e := range events {
		events[i].Status = Counted
		if st, ok := statuses[e.ID]; ok {
			events[i].Status, events[i].StatusSince = st.Status, st.Since
		}
	}
	sort.SliceStable(events, func(i, j int) bool {
		if events[i].Date != events[j].Date {
			return events[i].Date < events[j].Date
		}
		return events[i].ID < events[j].ID
	})
	return events, nil
}

// records reads every record matching f.
func (s *Service) records(ctx context.Context, f RecordFilter) ([]Record, error) {
	out, err := trace.All(func(p trace.Page) ([]Record, error) { return s.cfg.Store.ListRecords(ctx, f, p) },
		func(r Record) string { return r.ID })
	if err != nil {
		return nil, fmt.Errorf("credit records: %w", err)
	}
	return out, nil
}

// derived reads the events the service's facts make: recalls of the
// entity's products, the notices it did not acknowledge in time, its late
// incident reports and its non-conform spot checks. They are read, not
// copied, so they never drift from the facts.
func (s *Service) derived(ctx context.Context, entityID string) ([]Event, error) {
	now := s.cfg.Now.Now()
	epoch := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	end := now.Add(time.Hour)
	var out []Event
	add := func(t EventType, sourceKind, sourceID, day, reason string) {
		out = append(out, Event{ID: string(t) + ":" + sourceID, EntityID: entityID, Type: t, Date: day,
			Source: sourceKind + ":" + sourceID, Reason: reason, Derived: true, PublishedUntil: s.published(day, false)})
	}
	campaigns, err := s.cfg.Recalls.RecallsOf(ctx, entityID, epoch, end)
	if err != nil {
		return nil, err
	}
	for _, c := range campaigns {
		t := OrderedRecall
		if c.Kind == recall.Voluntary {
			t = VoluntaryRecall
		}
		add(t, "recall", c.ID, s.day(c.OpenedAt), fmt.Sprintf("class %s recall: %s", c.Class, c.Hazard))
	}
	notices, err := s.cfg.Recalls.Unacknowledged(ctx, entityID, epoch, end, now)
	if err != nil {
		return nil, err
	}
	for _, n := range notices {
		add(UnackedNotice, "notice", n.ID, s.day(n.AckBy.Add(-time.Nanosecond)), "recall notice not acknowledged by its deadline")
	}
	for p := (trace.Page{Limit: trace.MaxLimit}); ; {
		late, next, err := s.cfg.Incidents.LateReports(ctx, entityID, epoch, end, p)
		if err != nil {
			return nil, err
		}
		for _, r := range late {
			add(LateIncident, "incident", r.ID, s.day(r.CreatedAt), fmt.Sprintf("%s incident report filed after its deadline of %s", r.Severity, r.DeadlineDate))
		}
		if next == "" {
			break
		}
		p.After = next
	}
	checks, err := s.cfg.SpotChecks.Nonconforming(ctx, entityID, "2000-01-01", s.day(end))
	if err != nil {
		return nil, err
	}
	for _, c := range checks {
		add(SpotCheckFailed, "spotcheck", c.ID, c.ReportedOn, fmt.Sprintf("sample %s of %s by %s did not conform", c.SampleCode, c.ProductName, c.Lab))
	}
	return out, nil
}

// ClassOn is entity's class on day, with the rule and events behind it.
func (s *Service) ClassOn(ctx context.Context, entityID, day string) (Outcome, error) {
	events, err := s.Ledger(ctx, entityID)
	if err != nil {
		return Outcome{}, err
	}
	return s.cfg.Rules.Classify(events, day), nil
}

// ClassAt is entity's class at t, for the inspection draw.
func (s *Service) ClassAt(ctx context.Context, entityID string, t time.Time) (string, error) {
	o, err := s.ClassOn(ctx, entityID, s.day(t))
	return string(o.Class), err
}

// Allow implements [trace.Gate]: a seriously dishonest entity may not
// register products or batches, or issue codes. The class is read at
// the request, never cached.
func (s *Service) Allow(ctx context.Context, entityID string, act trace.Act, _ *trace.Product) error {
	o, err := s.ClassOn(ctx, entityID, s.today())
	if err != nil {
		return fmt.Errorf("credit of %s: %w", entityID, err)
	}
	if o.Class != SeriouslyDishonest {
		return nil
	}
	var basis []string
	for _, e := range o.Basis {
		basis = append(basis, fmt.Sprintf("%s on %s (%s)", e.Type, e.Date, e.Source))
	}
	return fmt.Errorf("entity %s is seriously dishonest (rule %s: %s; basis: %s): it may not %s: %w",
		entityID, o.Rule.ID, o.Rule.Text, joinList(basis), actText(act), ErrRestricted)
}

func actText(a trace.Act) string {
	switch a {
	case trace.ActRegisterProduct:
		return "register products"
	case trace.ActRegisterBatch:
		return "register batches"
	case trace.ActIssueCodes:
		return "issue codes"
	}
	return string(a)
}

func joinList(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += "; "
		}
		out += v
	}
	return out
}

// PublicEvent is what the public sees of an event in a basis.
type PublicEvent struct {
	Type   EventType `json:"type"`
	Date   string    `json:"date"`
	Source string    `json:"source"`
	Fine   string    `json:"fine,omitempty"`
	List   string    `json:"list,omitempty"`
}

// Standing is an entity's published credit on a day.
type Standing struct {
	EntityID string        `json:"entityId"`
	At       string        `json:"at"`
	Class    Class         `json:"class"`
	Colour   string        `json:"colour"`
	Rule     *Rule         `json:"rule,omitempty"`
	Basis    []PublicEvent `json:"basis"`
	// Inspection is "increased" for a dishonest entity (more frequent
	// inspections) and "restricted" too for a seriously dishonest one.
	Inspection string   `json:"inspection,omitempty"`
	Restricted bool     `json:"restricted"` // barred from registering products and batches and issuing codes
	Lists      []string `json:"lists"`      // lists it is on
}

// Standing returns entity's published credit on day ("" for today): for
// anyone.
func (s *Service) Standing(ctx context.Context, entityID, day string) (Standing, error) {
	if _, err := s.cfg.Register.Entity(ctx, entityID); err != nil {
		return Standing{}, fmt.Errorf("entity %s: %w", entityID, err)
	}
	if day == "" {
		day = s.today()
	} else if _, err := time.Parse(time.DateOnly, day); err != nil {
		return Standing{}, invalid("at", "must be a date YYYY-MM-DD, got %q", day)
	}
	events, err := s.Ledger(ctx, entityID)
	if err != nil {
		return Standing{}, err
	}
	o := s.cfg.Rules.Classify(events, day)
	st := Standing{EntityID: entityID, At: day, Class: o.Class, Colour: o.Colour, Rule: o.Rule, Basis: []PublicEvent{}, Lists: []string{}}
	for _, e := range o.Basis {
		st.Basis = append(st.Basis, PublicEvent{Type: e.Type, Date: e.Date, Source: e.Source, Fine: e.Fine, List: e.List})
	}
	switch o.Class {
	case Dishonest:
		st.Inspection = "increased"
	case SeriouslyDishonest:
		st.Inspection, st.Restricted = "increased", true
	}
	var counted []Event
	for _, e := range events {
		if e.countsAt(day) {
			counted = append(counted, e)
		}
	}
	for _, l := range []string{AbnormalList, SeriousList} {
		if len(onList(counted, l)) > 0 {
			st.Lists = append(st.Lists, l)
		}
	}
	return st, nil
}

// mayReadLedger lets regulators, inspectors and the entity itself read
// the whole ledger.
func mayReadLedger(caller trace.Principal, entityID string) error {
	if caller.IsOfficial() || caller.IsEntity(entityID) {
		return nil
	}
	if err := caller.Require(trace.RoleRegulator, trace.RoleInspector, trace.RoleEntity); err != nil {
		return err
	}
	return fmt.Errorf("entity %s's ledger is for officials and the entity itself: %w", entityID, trace.ErrForbidden)
}

// FullLedger returns the whole ledger, counted or not, to officials and
// the entity itself.
func (s *Service) FullLedger(ctx context.Context, caller trace.Principal, entityID string) ([]Event, error) {
	if err := mayReadLedger(caller, entityID); err != nil {
		return nil, err
	}
	if _, err := s.cfg.Register.Entity(ctx, entityID); err != nil {
		return nil, fmt.Errorf("entity %s: %w", entityID, err)
	}
	return s.Ledger(ctx, entityID)
}

// ClassChange is the class from a day on.
type ClassChange struct {
	From   string `json:"from"`
	Class  Class  `json:"class"`
	Colour string `json:"colour"`
	Rule   string `json:"rule,omitempty"`
}

// History returns the classes entity had from day from to day to: the
// class on from, and each change after it.
func (s *Service) History(ctx context.Context, entityID, from, to string) ([]ClassChange, error) {
	if _, err := s.cfg.Register.Entity(ctx, entityID); err != nil {
		return nil, fmt.Errorf("entity %s: %w", entityID, err)
	}
	if to == "" {
		to = s.today()
	}
	if from == "" {
		if t, err := time.Parse(time.DateOnly, to); err == nil {
			from = t.AddDate(-1, 0, 0).Format(time.DateOnly)
		}
	}
	for _, d := range []struct{ field, v string }{{"from", from}, {"to", to}} {
		if _, err := time.Parse(time.DateOnly, d.v); err != nil {
			return nil, invalid(d.field, "must be a date YYYY-MM-DD, got %q", d.v)
		}
	}
	if to < from {
		return nil, invalid("to", "is before from")
	}
	events, err := s.Ledger(ctx, entityID)
	if err != nil {
		return nil, err
	}
	// The class can change only on a day an event starts, stops being
	// published or stops counting.
	days := []string{from}
	for _, e := range events {
		for _, d := range []string{e.Date, e.PublishedUntil, e.StatusSince} {
			if d > from && d <= to {
				days = append(days, d)
			}
		}
	}
	slices.Sort(days)
	days = slices.Compact(days)
	var out []ClassChange
	for _, d := range days {
		o := s.cfg.Rules.Classify(events, d)
		if len(out) > 0 && out[len(out)-1].Class == o.Class {
			continue
		}
		c := ClassChange{From: d, Class: o.Class, Colour: o.Colour}
		if o.Rule != nil {
			c.Rule = o.Rule.ID
		}
		out = append(out, c)
	}
	return out, nil
}

// NewEvent is an event a regulator records.
type NewEvent struct {
	Type   EventType `json:"type"`
	Date   string    `json:"date"`
	Fine   string    `json:"fine"`
	Minor  bool      `json:"minor"`
	Source string    `json:"source"` // the decision's number, e.g. 津市监罚〔2026〕12号
	Reason string    `json:"reason"`
}

// RecordEvent adds an event a regulator decided to entity's ledger.
func (s *Service) RecordEvent(ctx context.Context, caller trace.Principal, entityID string, in NewEvent) (Event, error) {
	if err := caller.Require(trace.RoleRegulator); err != nil {
		return Event{}, err
	}
	if _, err := s.cfg.Register.Entity(ctx, entityID); errors.Is(err, trace.ErrNotFound) {
		return Event{}, fmt.Errorf("entity %s: %w", entityID, err)
	} else if err != nil {
		return Event{}, err
	}
	if !slices.Contains(Recorded, in.Type) {
		return Event{}, invalid("type", "must be one of penalty, inspection_refused, major_accident, licence_revoked, dishonest_debtor")
	}
	if d, err := time.Parse(time.DateOnly, in.Date); err != nil || d.Format(time.DateOnly) != in.Date {
		return Event{}, invalid("date", "must be a date YYYY-MM-DD, got %q", in.Date)
	} else if in.Date > s.today() {
		return Event{}, invalid("date", "%s is in the future", in.Date)
	}
	if err := checkText("reason", in.Reason, true, 2000); err != nil {
		return Event{}, err
	}
	if err := checkText("source", in.Source, false, 200); err != nil {
		return Event{}, err
	}
	switch {
	case in.Type == Penalty && in.Fine != "":
		f, err := fen(in.Fine)
		if err != nil {
			return Event{}, invalid("fine", "%v", err)
		}
		in.Fine = yuan(f)
	case in.Fine != "":
		return Event{}, invalid("fine", "only a penalty carries a fine")
	case in.Minor && in.Type != Penalty:
		return Event{}, invalid("minor", "only a penalty is minor")
	}
	now := s.cfg.Now.Now()
	e := Event{ID: trace.NewID(now), EntityID: entityID, Type: in.Type, Date: in.Date, Source: in.Source, Fine: in.Fine,
		Minor: in.Minor, Reason: in.Reason, RecordedBy: caller.KeyID, PublishedUntil: s.published(in.Date, in.Minor),
		Status: Counted, CreatedAt: now}
	if e.Source == "" {
		e.Source = "decision:" + e.ID
	}
	body, err := json.Marshal(e)
	if err != nil {
		return Event{}, err
	}
	if err := s.cfg.Store.CreateRecord(ctx, Record{ID: e.ID, EntityID: entityID, Kind: KindEvent, State: Counted, Body: body, CreatedAt: now}); err != nil {
		return Event{}, fmt.Errorf("record credit event: %w", err)
	}
	return e, nil
}

// event returns the event with id of entity's ledger.
func (s *Service) event(ctx context.Context, entityID, id string) (Event, error) {
	events, err := s.Ledger(ctx, entityID)
	if err != nil {
		return Event{}, err
	}
	for _, e := range events {
		if e.ID == id {
			return e, nil
		}
	}
	return Event{}, fmt.Errorf("entity %s has no credit event %s: %w", entityID, id, ErrNotFound)
}

// stop marks an event no longer counted from since on.
func (s *Service) stop(ctx context.Context, e Event, status, since, ref string) error {
	body, err := json.Marshal(statusBody{EventID: e.ID, Status: status, Since: since, Ref: ref})
	if err != nil {
		return err
	}
	err = s.cfg.Store.CreateRecord(ctx, Record{ID: "status:" + e.ID, EntityID: e.EntityID, Kind: KindStatus, State: status,
		Body: body, CreatedAt: s.cfg.Now.Now()})
	if errors.Is(err, ErrConflict) {
		return fmt.Errorf("credit event %s is no longer counted already: %w", e.ID, ErrConflict)
	}
	return err
}

// ScanTTL is how long the scan page may show a maker's class after it
// changed: within the two seconds every replica must show a change in.
const ScanTTL = time.Second

// CreditClass implements [scan.CreditLookup]: the maker's class now, kept
// for [ScanTTL] per process, so a change shows within that on every
// process sharing the store.
func (s *Service) CreditClass(ctx context.Context, entityID string) (scan.CreditClass, error) {
	now := s.cfg.Now.Now()
	if cc, ok := s.scanCache.Get(entityID, now); ok {
		return cc, nil
	}
	o, err := s.ClassOn(ctx, entityID, s.day(now))
	if err != nil {
		return scan.CreditClass{}, err
	}
	cc := scan.CreditClass{Class: string(o.Class), Colour: o.Colour}
	if o.Rule != nil {
		cc.Basis = o.Rule.Text
	}
	s.scanCache.Put(entityID, cc, now)
	return cc, nil
}

// Report is what an entity's printable credit report shows: who it is,
// its class now and the basis, its list entries, and its classes over
// the last two years.
type Report struct {
	Entity   trace.Entity
	Standing Standing
	Listings []Listing
	History  []ClassChange
	From, To string // the history's period
}

// Report gathers an entity's credit report: public.
func (s *Service) Report(ctx context.Context, entityID string) (Report, error) {
	e, err := s.cfg.Register.Entity(ctx, entityID)
	if err != nil {
		return Report{}, fmt.Errorf("entity %s: %w", entityID, err)
	}
	st, err := s.Standing(ctx, entityID, "")
	if err != nil {
		return Report{}, err
	}
	to := s.today()
	t, _ := time.Parse(time.DateOnly, to)
	from := t.AddDate(-2, 0, 0).Format(time.DateOnly)
	h, err := s.History(ctx, entityID, from, to)
	if err != nil {
		return Report{}, err
	}
	records, err := s.records(ctx, RecordFilter{EntityID: entityID, Kind: KindListing})
	if err != nil {
		return Report{}, err
	}
	r := Report{Entity: e, Standing: st, History: h, From: from, To: to, Listings: []Listing{}}
	for _, rec := range records {
		var l Listing
		if err := json.Unmarshal(rec.Body, &l); err != nil {
			return Report{}, err
		}
		r.Listings = append(r.Listings, l)
	}
	return r, nil
}
