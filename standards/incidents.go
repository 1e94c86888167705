package standards

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"tracesvc/standards/workday"
	"tracesvc/trace"
	"tracesvc/trace/gs1"
)

// Holders tells whether custody events show that an entity held a
// product's goods. cmd wires it to the trace graph.
type Holders interface {
	// Held reports whether entity held goods of gtin (of that lot, when
	// lot is not empty).
	Held(ctx context.Context, entityID, gtin, lot string) (bool, error)
}

// Cluster is a cluster of incident reports on one product, as a risk
// alert shows it. Key is the event date of its first report: one alert
// per product and key.
type Cluster struct {
	GTIN     string
	OwnerID  string
	Category trace.Category
	Key      string // YYYY-MM-DD, the first report's event date
	Reports  int
	From, To string // event dates of its first and last reports
	Days     int    // the window
}

// RiskAlerts keeps the risk alerts that clusters of reports raise. cmd
// wires it to the alerts officials list (GET /api/v1/alerts).
type RiskAlerts interface {
	// HasCluster reports whether a cluster alert with key exists for gtin.
	HasCluster(ctx context.Context, gtin, key string) (bool, error)
	// RaiseCluster stores a cluster alert; one that exists already is
	// not an error.
	RaiseCluster(ctx context.Context, c Cluster) error
}

// IncidentConfig tunes the incident service. Zero values are defaults.
type IncidentConfig struct {
	Deadlines      DeadlineRules // nil: [DefaultDeadlineRules]
	ClusterReports int           // reports on one product that make a cluster; 0 means 3
	ClusterDays    int           // within this many days of event dates; 0 means 30
	Logger         *slog.Logger  // nil discards
}

// Incidents files mandatory incident reports, keeps their deadlines and
// lets regulators follow them up.
type Incidents struct {
	store    IncidentStore
	register trace.Register
	holders  Holders
	alerts   RiskAlerts
	now      trace.Clock
	days     *workday.Calendar
	cfg      IncidentConfig
}

// NewIncidents returns the incident service. days counts its deadlines:
// the one calendar of the service.
func NewIncidents(store IncidentStore, register trace.Register, holders Holders, alerts RiskAlerts, now trace.Clock,
	days *workday.Calendar, cfg IncidentConfig) *Incidents {
	if cfg.Deadlines == nil {
		cfg.Deadlines = DefaultDeadlineRules()
	}
	if cfg.ClusterReports <= 0 {
		cfg.ClusterReports = 3
	}
	if cfg.ClusterDays <= 0 {
		cfg.ClusterDays = 30
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Incidents{store: store, register: register, holders: holders, alerts: alerts, now: now, days: days, cfg: cfg}
}

// NewIncident is what an entity (or a regulator on its behalf) files.
type NewIncident struct {
	EntityID        string   `json:"entityId"` // only a regulator names it
	GTIN            string   `json:"gtin"`
	Lot             string   `json:"lot"`
	Codes           []string `json:"codes"`
	EventDate       string   `json:"eventDate"`
	AwareDate       string   `json:"awareDate"`
	Severity        Severity `json:"severity"`
	PersonsAffected int      `json:"personsAffected"`
	Description     string   `json:"description"`
	Location        string   `json:"location"`
	Distribution    string   `json:"distribution"`
	RemedialAction  string   `json:"remedialAction"`
	Contact         Contact  `json:"contact"`
}

// Limits of a report.
const (
	MaxIncidentCodes   = 100
	MaxPersonsAffected = 1_000_000
)

// checkDate parses a YYYY-MM-DD date that is real and not after today.
func checkDate(field, s, today string) (string, error) {
	if s == "" {
		return "", invalid(field, "is required (YYYY-MM-DD)")
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return "", invalid(field, "must be a real date, YYYY-MM-DD, got %q", clipText(s))
	}
	if t.Year() < 2000 {
		return "", invalid(field, "must be in 2000 or later")
	}
	if s > today {
		return "", invalid(field, "is in the future (today is %s)", today)
	}
	return s, nil
}

// clipText shortens untrusted text quoted in an error.
func clipText(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// check validates a report's own fields (not the register's facts) and
// returns it normalized; today is the regulator's date.
func (in NewIncident) check(today string) (NewIncident, error) {
	g, err := gs1.ValidateGTIN(in.GTIN)
	if err != nil {
		return in, invalid("gtin", "%v", err)
	}
	in.GTIN = g
	if err := checkText("lot", in.Lot, false, 20); err != nil {
		return in, err
	}
	if in.EventDate, err = checkDate("eventDate", in.EventDate, today); err != nil {
		return in, err
	}
	if in.AwareDate, err = checkDate("awareDate", in.AwareDate, today); err != nil {
		return in, err
	}
	if in.AwareDate < in.EventDate {
		return in, invalid("awareDate", "is before eventDate: one cannot learn of an incident before it happens")
	}
	if !slices.Contains(Severities, in.Severity) {
		return in, invalid("severity", "must be one of %s", joinSeverities())
	}
	if in.PersonsAffected < 0 || in.PersonsAffected > MaxPersonsAffected {
		return in, invalid("personsAffected", "must be between 0 and %d", MaxPersonsAffected)
	}
	switch in.Severity {
	case SeverityDeath, SeveritySeriousInjury, SeverityMinorInjury:
		if in.PersonsAffected < 1 {
			return in, invalid("personsAffected", "must be at least 1 for %s", in.Severity)
		}
	}
	for _, f := range []struct {
		field    string
		v        *string
		required bool
		max      int
	}{
		{"description", &in.Description, true, 4000},
		{"location", &in.Location, true, 500},
		{"distribution", &in.Distribution, false, 2000},
		{"remedialAction", &in.RemedialAction, false, 2000},
		{"contact.name", &in.Contact.Name, true, 100},
		{"contact.phone", &in.Contact.Phone, false, 40},
		{"contact.email", &in.Contact.Email, false, 200},
	} {
		if err := checkText(f.field, *f.v, f.required, f.max); err != nil {
			return in, err
		}
		*f.v = strings.TrimSpace(*f.v)
	}
	if in.Contact.Phone == "" && in.Contact.Email == "" {
		return in, invalid("contact.phone", "give a phone number or an email address the regulator can reach")
	}
	if in.Contact.Phone != "" && strings.Trim(in.Contact.Phone, "+0123456789 -()") != "" {
		return in, invalid("contact.phone", "may hold only digits, spaces, +, - and brackets")
	}
	if e := in.Contact.Email; e != "" {
		if at := strings.IndexByte(e, '@'); at < 1 || at == len(e)-1 || strings.ContainsAny(e, " \t") {
			return in, invalid("contact.email", "is not an email address")
		}
	}
	if len(in.Codes) > MaxIncidentCodes {
		return in, invalid("codes", "at most %d codes per report", MaxIncidentCodes)
	}
	for i, code := range in.Codes {
		field := "codes[" + strconv.Itoa(i) + "]"
		if err := checkText(field, code, true, 500); err != nil {
			return in, err
		}
		var el gs1.Elements
		if strings.HasPrefix(code, "http://") || strings.HasPrefix(code, "https://") {
			el, err = gs1.ParseDigitalLink(code)
		} else {
			el, err = gs1.ParseElementString(code)
		}
		if err != nil {
			return in, invalid(field, "is neither a GS1 Digital Link nor an element string: %v", err)
		}
		if g, _ := el.Get("01"); g != in.GTIN {
			return in, invalid(field, "is not a code of GTIN %s", in.GTIN)
		}
		if lot, ok := el.Get("10"); ok && in.Lot != "" && lot != in.Lot {
			return in, invalid(field, "is of lot %q, not %q", clipText(lot), in.Lot)
		}
	}
	if in.Codes == nil {
		in.Codes = []string{}
	}
	return in, nil
}

func joinSeverities() string {
	s := make([]string, len(Severities))
	for i, v := range Severities {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// today is the regulator's date now.
func (s *Incidents) today() string {
	return s.now.Now().In(s.days.Location()).Format(time.DateOnly)
}

// deadline counts the working days of a report from the aware date.
func (s *Incidents) deadline(aware string, c trace.Category, sev Severity) workday.Deadline {
	d, _ := time.ParseInLocation(time.DateOnly, aware, s.days.Location())
	return s.days.Deadline(d.Add(12*time.Hour), s.cfg.Deadlines.Days(c, sev))
}

// File validates and stores a report. An entity files for itself, about
// a product it owns or goods custody events show it held; a regulator
// files on an entity's behalf, naming entityId. The deadline runs from
// the reporter's aware date, or from the earlier aware date of an open
// awareness record of the regulator's on the same entity and product,
// which the report then answers.
func (s *Incidents) File(ctx context.Context, caller trace.Principal, in NewIncident) (Incident, error) {
	if err := caller.Require(trace.RoleEntity, trace.RoleRegulator); err != nil {
		return Incident{}, err
	}
	switch {
	case caller.Role == trace.RoleEntity && in.EntityID == "":
		in.EntityID = caller.EntityID
	case caller.Role == trace.RoleEntity && in.EntityID != caller.EntityID:
		return Incident{}, &trace.FieldError{Field: "entityId", Kind: trace.ErrForbidden, Msg: "an entity files its own reports only"}
	case in.EntityID == "":
		return Incident{}, invalid("entityId", "is required: name the entity you file for")
	}
	in, err := in.check(s.today())
	if err != nil {
		return Incident{}, err
	}
	if _, err := s.register.Entity(ctx, in.EntityID); errors.Is(err, trace.ErrNotFound) {
		return Incident{}, invalid("entityId", "no entity %q is registered", clipText(in.EntityID))
	} else if err != nil {
		return Incident{}, fmt.Errorf("file incident: %w", err)
	}
	product, err := s.goods(ctx, in.GTIN, in.Lot)
	if err != nil {
		return Incident{}, err
	}
	if product.OwnerID != in.EntityID {
		held, err := s.holders.Held(ctx, in.EntityID, in.GTIN, in.Lot)
		if err != nil {
			return Incident{}, fmt.Errorf("file incident: custody of %s: %w", in.GTIN, err)
		}
		if !held {
			msg := "is neither the reporter's product nor goods custody events show it held"
			if caller.Role == trace.RoleEntity {
				return Incident{}, &trace.FieldError{Field: "gtin", Kind: trace.ErrForbidden, Msg: msg}
			}
			return Incident{}, invalid("gtin", "%s", msg)
		}
	}
	now := s.now.Now()
	r := Incident{ID: trace.NewID(now), EntityID: in.EntityID, FiledBy: caller.KeyID, OwnerID: product.OwnerID,
		GTIN: in.GTIN, Lot: in.Lot, Category: product.Category, Codes: in.Codes, EventDate: in.EventDate,
		AwareDate: in.AwareDate, Severity: in.Severity, PersonsAffected: in.PersonsAffected,
		Description: in.Description, Location: in.Location, Distribution: in.Distribution,
		RemedialAction: in.RemedialAction, Contact: &in.Contact, DeadlineFrom: in.AwareDate,
		Status: IncidentReceived, CreatedAt: now, UpdatedAt: now}
	open, err := s.store.OpenAwareness(ctx, in.EntityID, in.GTIN)
	if err != nil {
		return Incident{}, fmt.Errorf("file incident: awareness records: %w", err)
	}
	for _, a := range open {
		if a.Lot == "" || in.Lot == "" || a.Lot == in.Lot {
			r.AwarenessID = a.ID
			r.DeadlineFrom = min(a.AwareDate, in.AwareDate)
			break
		}
	}
	dl := s.deadline(r.DeadlineFrom, r.Category, r.Severity)
	r.DeadlineDate, r.Deadline, r.Provisional = dl.Date, dl.Due, dl.Provisional
	r.Late = !now.Before(dl.Due)
	if err := s.store.CreateIncident(ctx, r); err != nil {
		return Incident{}, fmt.Errorf("file incident: %w", err)
	}
	// The report is stored: what follows may fail without losing it. The
	// awareness record would then still show as overdue, which a
	// regulator sees and can check, rather than hide a missed report.
	if r.AwarenessID != "" {
		if err := s.store.LinkAwareness(ctx, r.AwarenessID, r.ID); err != nil {
			s.cfg.Logger.WarnContext(ctx, "linking an awareness record to its report failed",
				"awareness", r.AwarenessID, "incident", r.ID, "err", err)
		}
	}
	if err := s.checkCluster(ctx, r); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "checking for a cluster of incident reports failed", "gtin", r.GTIN, "err", err)
	}
	return r, nil
}

// goods checks that gtin is registered, and lot when given.
func (s *Incidents) goods(ctx context.Context, gtin, lot string) (trace.Product, error) {
	product, err := s.register.Product(ctx, gtin)
	if errors.Is(err, trace.ErrNotFound) {
		return trace.Product{}, invalid("gtin", "no product %s is registered", gtin)
	} else if err != nil {
		return trace.Product{}, fmt.Errorf("product %s: %w", gtin, err)
	}
	if lot != "" {
		if _, err := s.register.Batch(ctx, gtin, lot); errors.Is(err, trace.ErrNotFound) {
			return trace.Product{}, invalid("lot", "no lot %q of %s is registered", clipText(lot), gtin)
		} else if err != nil {
			return trace.Product{}, fmt.Errorf("lot %s of %s: %w", lot, gtin, err)
		}
	}
	return product, nil
}

// maxClusterDates bounds the reports read to look for a cluster.
const maxClusterDates = 1000

// checkCluster raises a cluster alert when r makes ClusterReports or more
// reports on its product whose event dates fall within ClusterDays days.
// The cluster is the earliest such window holding r; its key is its
// first report's event date. A cluster alert keyed within ClusterDays
// before that, or inside the window, is the same cluster going on: no
// second alert. A cluster months later gets its own.
func (s *Incidents) checkCluster(ctx context.Context, r Incident) error {
	w := s.cfg.ClusterDays
	day, _ := time.Parse(time.DateOnly, r.EventDate)
	shift := func(d string, n int) string {
		t, _ := time.Parse(time.DateOnly, d)
		return t.AddDate(0, 0, n).Format(time.DateOnly)
	}
	from, to := day.AddDate(0, 0, -2*(w-1)).Format(time.DateOnly), day.AddDate(0, 0, w-1).Format(time.DateOnly)
	dates, err := s.store.IncidentDates(ctx, r.GTIN, from, to, maxClusterDates)
	if err != nil {
		return err
	}
	for i, start := range dates {
		end := shift(start, w-1)
		if start > r.EventDate {
			break
		}
		if end < r.EventDate {
			continue
		}
		j := i
		for j < len(dates) && dates[j] <= end {
			j++
		}
		if j-i < s.cfg.ClusterReports {
			continue
		}
		// Is an alert already keyed at a report of this cluster or of the
		// window before it?
		earliest := shift(start, -(w - 1))
		for k, d := range dates[:j] {
			if d < earliest || k > 0 && dates[k-1] == d {
				continue
			}
			seen, err := s.alerts.HasCluster(ctx, r.GTIN, d)
			if err != nil {
				return err
			}
			if seen {
				return nil
			}
		}
		return s.alerts.RaiseCluster(ctx, Cluster{GTIN: r.GTIN, OwnerID: r.OwnerID, Category: r.Category, Key: start,
			Reports: j - i, From: start, To: dates[j-1], Days: w})
	}
	return nil
}

// IncidentSummary is what a product's owner sees of a report another
// entity filed about its product: what happened to which goods, not who
// reported it, their contact, their account or their timeliness.
type IncidentSummary struct {
	ID              string         `json:"id"`
	GTIN            string         `json:"gtin"`
	Lot             string         `json:"lot,omitempty"`
	Category        trace.Category `json:"category"`
	Codes           []string       `json:"codes"`
	EventDate       string         `json:"eventDate"`
	Severity        Severity       `json:"severity"`
	PersonsAffected int            `json:"personsAffected"`
	Status          IncidentStatus `json:"status"`
	RecallID        string         `json:"recallId,omitempty"`
	CreatedAt       time.Time      `json:"createdAt"`
}

// view is what caller may see of r, or nil: regulators and the reporting
// entity see all of it; inspectors all but the reporter's contact; the
// product's owner an [IncidentSummary].
func view(caller trace.Principal, r Incident) any {
	switch {
	case caller.Role == trace.RoleRegulator || caller.IsEntity(r.EntityID):
		return r
	case caller.Role == trace.RoleInspector:
		r.Contact = nil
		return r
	case caller.IsEntity(r.OwnerID):
		return IncidentSummary{ID: r.ID, GTIN: r.GTIN, Lot: r.Lot, Category: r.Category, Codes: r.Codes,
			EventDate: r.EventDate, Severity: r.Severity, PersonsAffected: r.PersonsAffected, Status: r.Status,
			RecallID: r.RecallID, CreatedAt: r.CreatedAt}
	}
	return nil
}

// Get returns what caller may see of report id (see view): an
// [Incident] or an [IncidentSummary]. Another entity gets
// [trace.ErrForbidden].
func (s *Incidents) Get(ctx context.Context, caller trace.Principal, id string) (any, error) {
	if err := caller.Require(trace.RoleRegulator, trace.RoleInspector, trace.RoleEntity); err != nil {
		return nil, err
	}
	r, err := s.store.Incident(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("incident %s: %w", clipText(id), err)
	}
	v := view(caller, r)
	if v == nil {
		return nil, fmt.Errorf("incident %s is not yours: %w", id, trace.ErrForbidden)
	}
	return v, nil
}

// List returns one page of the reports caller may see, filtered: all for
// officials; for an entity, those it filed and (as summaries) those about
// its products. An entity's filters on the reporter or on lateness keep
// to its own reports, which would otherwise tell it who reported.
func (s *Incidents) List(ctx context.Context, caller trace.Principal, f IncidentFilter, p trace.Page) ([]any, string, error) {
	if err := caller.Require(trace.RoleRegulator, trace.RoleInspector, trace.RoleEntity); err != nil {
		return nil, "", err
	}
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	if f.Status != "" && !slices.Contains(IncidentStatuses, f.Status) {
		return nil, "", invalid("status", "unknown status %q", clipText(string(f.Status)))
	}
	if f.Severity != "" && !slices.Contains(Severities, f.Severity) {
		return nil, "", invalid("severity", "must be one of %s", joinSeverities())
	}
	if f.GTIN != "" {
		if f.GTIN, err = gs1.ValidateGTIN(f.GTIN); err != nil {
			return nil, "", invalid("gtin", "%v", err)
		}
	}
	if caller.Role == trace.RoleEntity {
		f.Party = caller.EntityID
		if f.EntityID != "" && f.EntityID != caller.EntityID {
			return nil, "", &trace.FieldError{Field: "entity", Kind: trace.ErrForbidden, Msg: "an entity lists its own reports only"}
		}
		if f.Late != nil {
			f.EntityID = caller.EntityID
		}
	}
	list, err := s.store.ListIncidents(ctx, f, trace.Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list incidents: %w", err)
	}
	list, next, _ := trace.PageOf(list, p.Limit, func(r Incident) string { return r.ID })
	out := make([]any, len(list))
	for i, r := range list {
		out[i] = view(caller, r)
	}
	return out, next, nil
}

// LateReports returns one page of the late reports entity filed in
// [from, to): the credit record's question.
func (s *Incidents) LateReports(ctx context.Context, entityID string, from, to time.Time, p trace.Page) ([]Incident, string, error) {
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	late := true
	list, err := s.store.ListIncidents(ctx, IncidentFilter{EntityID: entityID, Late: &late, FiledFrom: from, FiledTo: to},
		trace.Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("late reports of %s: %w", entityID, err)
	}
	return trace.PageOf(list, p.Limit, func(r Incident) string { return r.ID })
}

// IncidentStats is the public's view of incident reports: counts only.
type IncidentStats struct {
	From   string          `json:"from"` // YYYY-MM
	To     string          `json:"to"`
	Counts []IncidentCount `json:"counts"`
}

// MaxStatsMonths is the longest period the statistics cover at once.
const MaxStatsMonths = 36

// Stats counts reports by product category and event month, for months
// in [from, to] (YYYY-MM; by default the last twelve). Anyone may ask.
func (s *Incidents) Stats(ctx context.Context, from, to string) (IncidentStats, error) {
	now := s.now.Now().In(s.days.Location())
	if to == "" {
		to = now.Format("2006-01")
	}
	end, err := time.Parse("2006-01", to)
	if err != nil || end.Format("2006-01") != to {
		return IncidentStats{}, invalid("to", "must be a month, YYYY-MM")
	}
	if from == "" {
		from = end.AddDate(0, -11, 0).Format("2006-01")
	}
	start, err := time.Parse("2006-01", from)
	if err != nil || start.Format("2006-01") != from {
		return IncidentStats{}, invalid("from", "must be a month, YYYY-MM")
	}
	if from > to {
		return IncidentStats{}, invalid("from", "is after to")
	}
	if start.AddDate(0, MaxStatsMonths, 0).Before(end.AddDate(0, 1, 0)) {
		return IncidentStats{}, invalid("from", "the period may span at most %d months", MaxStatsMonths)
	}
	counts, err := s.store.IncidentStats(ctx, from, to)
	if err != nil {
		return IncidentStats{}, fmt.Errorf("incident statistics: %w", err)
	}
	if counts == nil {
		counts = []IncidentCount{}
	}
	return IncidentStats{From: from, To: to, Counts: counts}, nil
}

// incidentNext lists the statuses a report may move to from each status.
var incidentNext = map[IncidentStatus][]IncidentStatus{
	IncidentReceived:     {IncidentAssessing},
	IncidentAssessing:    {IncidentClosed, IncidentRecallLinked},
	IncidentRecallLinked: {IncidentClosed},
}

// IncidentUpdate is a regulator's move of a report.
type IncidentUpdate struct {
	Status   IncidentStatus `json:"status"`
	RecallID string         `json:"recallId"` // required with recall_linked
	Note     string         `json:"note"`
}

// Update moves a report: received → under_assessment → closed, or →
// recall_linked (naming the recall) → closed. Other moves are
// [ErrConflict], as is a move another regulator made first.
func (s *Incidents) Update(ctx context.Context, caller trace.Principal, id string, u IncidentUpdate) (Incident, error) {
	if err := caller.Require(trace.RoleRegulator); err != nil {
		return Incident{}, err
	}
	if !slices.Contains(IncidentStatuses, u.Status) {
		return Incident{}, invalid("status", "must be one of received, under_assessment, closed, recall_linked")
	}
	if err := checkText("note", u.Note, false, 4000); err != nil {
		return Incident{}, err
	}
	if err := checkText("recallId", u.RecallID, u.Status == IncidentRecallLinked, 100); err != nil {
		return Incident{}, err
	}
	if u.RecallID != "" && u.Status != IncidentRecallLinked {
		return Incident{}, invalid("recallId", "goes with status recall_linked")
	}
	r, err := s.store.Incident(ctx, id)
	if err != nil {
		return Incident{}, fmt.Errorf("incident %s: %w", clipText(id), err)
	}
	if !slices.Contains(incidentNext[r.Status], u.Status) {
		return Incident{}, &trace.FieldError{Field: "status", Kind: ErrConflict,
			Msg: fmt.Sprintf("a report that is %s cannot become %s", r.Status, u.Status)}
	}
	up, err := s.store.UpdateIncident(ctx, id, IncidentChange{From: r.Status, Status: u.Status, RecallID: strings.TrimSpace(u.RecallID),
		Note: u.Note, By: caller.KeyID, At: s.now.Now()})
	if err != nil {
		return Incident{}, fmt.Errorf("update incident %s: %w", id, err)
	}
	return up, nil
}

// ForRecall returns the report with id for a recall campaign being
// drafted (a system read: the campaign checks who may link it).
func (s *Incidents) ForRecall(ctx context.Context, id string) (Incident, error) {
	r, err := s.store.Incident(ctx, id)
	if err != nil {
		return Incident{}, fmt.Errorf("incident %s: %w", id, err)
	}
	return r, nil
}

// LinkRecall fills a report's recall link when a campaign that names it
// opens: a report received or under assessment becomes recall_linked; one
// linked to that recall already is left alone; any other is
// [ErrConflict].
func (s *Incidents) LinkRecall(ctx context.Context, id, recallID string) error {
	r, err := s.store.Incident(ctx, id)
	if err != nil {
		return fmt.Errorf("incident %s: %w", id, err)
	}
	if r.RecallID == recallID {
		return nil
	}
	if r.Status != IncidentReceived && r.Status != IncidentAssessing {
		return fmt.Errorf("incident %s is %s: it cannot be linked to recall %s: %w", id, r.Status, recallID, ErrConflict)
	}
	_, err = s.store.UpdateIncident(ctx, id, IncidentChange{From: r.Status, Status: IncidentRecallLinked, RecallID: recallID,
		Note: r.Note, By: "recall:" + recallID, At: s.now.Now()})
	if err != nil {
		return fmt.Errorf("link incident %s to recall %s: %w", id, recallID, err)
	}
	return nil
}

// NewAwareness is a regulator's record that an entity became aware of an
// incident.
type NewAwareness struct {
	EntityID  string   `json:"entityId"`
	GTIN      string   `json:"gtin"`
	Lot       string   `json:"lot"`
	Source    string   `json:"source"`
	Reference string   `json:"reference"`
	AwareDate string   `json:"awareDate"`
	Severity  Severity `json:"severity"` // optional: picks the deadline rule
}

// RecordAwareness stores a regulator's awareness record; its deadline is
// the one a report of that product (and severity, when given) would have
// from that aware date.
func (s *Incidents) RecordAwareness(ctx context.Context, caller trace.Principal, in NewAwareness) (Awareness, error) {
	if err := caller.Require(trace.RoleRegulator); err != nil {
		return Awareness{}, err
	}
	if !slices.Contains(AwarenessSources, in.Source) {
		return Awareness{}, invalid("source", "must be one of %s", strings.Join(AwarenessSources, ", "))
	}
	if err := checkText("reference", in.Reference, false, 200); err != nil {
		return Awareness{}, err
	}
	if in.Severity != "" && !slices.Contains(Severities, in.Severity) {
		return Awareness{}, invalid("severity", "must be one of %s", joinSeverities())
	}
	g, err := gs1.ValidateGTIN(in.GTIN)
	if err != nil {
		return Awareness{}, invalid("gtin", "%v", err)
	}
	if err := checkText("lot", in.Lot, false, 20); err != nil {
		return Awareness{}, err
	}
	if in.AwareDate, err = checkDate("awareDate", in.AwareDate, s.today()); err != nil {
		return Awareness{}, err
	}
	if _, err := s.register.Entity(ctx, in.EntityID); errors.Is(err, trace.ErrNotFound) {
		return Awareness{}, invalid("entityId", "no entity %q is registered", clipText(in.EntityID))
	} else if err != nil {
		return Awareness{}, fmt.Errorf("record awareness: %w", err)
	}
	product, err := s.goods(ctx, g, in.Lot)
	if err != nil {
		return Awareness{}, err
	}
	now := s.now.Now()
	dl := s.deadline(in.AwareDate, product.Category, in.Severity)
	a := Awareness{ID: trace.NewID(now), EntityID: in.EntityID, GTIN: g, Lot: in.Lot, Source: in.Source,
		Reference: strings.TrimSpace(in.Reference), AwareDate: in.AwareDate, Severity: in.Severity,
		DeadlineDate: dl.Date, Deadline: dl.Due, RecordedBy: caller.KeyID, CreatedAt: now}
	if err := s.store.CreateAwareness(ctx, a); err != nil {
		return Awareness{}, fmt.Errorf("record awareness: %w", err)
	}
	// The entity may have reported already: its latest report on the same
	// goods, about an incident that happened by the aware date, filed at
	// most the cluster window before it and answering no other record,
	// answers this one.
	aware, _ := time.ParseInLocation(time.DateOnly, a.AwareDate, s.days.Location())
	reports, err := s.store.ListIncidents(ctx, IncidentFilter{EntityID: a.EntityID, GTIN: a.GTIN,
		FiledFrom: aware.AddDate(0, 0, -s.cfg.ClusterDays)}, trace.Page{Limit: trace.MaxLimit})
	if err != nil {
		return Awareness{}, fmt.Errorf("record awareness: reports filed already: %w", err)
	}
	for _, r := range slices.Backward(reports) {
		if r.AwarenessID == "" && r.EventDate <= a.AwareDate && (a.Lot == "" || r.Lot == "" || a.Lot == r.Lot) {
			if err := s.store.LinkAwareness(ctx, a.ID, r.ID); err != nil {
				return Awareness{}, fmt.Errorf("record awareness: link report %s: %w", r.ID, err)
			}
			a.IncidentID = r.ID
			break
		}
	}
	return a, nil
}

// Overdue returns one page of awareness records no report answered by
// their deadline: for regulators.
func (s *Incidents) Overdue(ctx context.Context, caller trace.Principal, p trace.Page) ([]Awareness, string, error) {
	if err := caller.Require(trace.RoleRegulator); err != nil {
		return nil, "", err
	}
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	list, err := s.store.ListAwareness(ctx, s.now.Now(), trace.Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("overdue awareness records: %w", err)
	}
	return trace.PageOf(list, p.Limit, func(a Awareness) string { return a.ID })
}

// Location is the regulator's time zone, in which deadlines are counted
// and shown.
func (s *Incidents) Location() *time.Location { return s.days.Location() }
