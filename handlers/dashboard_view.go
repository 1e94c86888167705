package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"tracesvc/recall"
	"tracesvc/recall/credit"
	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/scan"
)

// dashView is what the dashboard's templates render.
type dashView struct {
	CSS                    template.CSS
	Lang, SwitchURL        string
	LangQuery, ActionQuery string // "?lang=…" for links and form actions
	T                      map[string]string
	CSRF                   string // the page's forms' token
	Role                   string // the official's role, in words; "" before login
	Message                string // the login form's complaint
	Now                    string

	Recalls                   []recallCard
	Reports                   []reportRow
	Overdue                   []awarenessRow
	OverdueHidden             bool // the overdue awareness records are the regulator's
	Alerts                    []alertRow
	Credit                    creditChart
	Tipoffs                   []tipoffRow
	TipoffsHidden, DeadHidden bool
	Dead                      []deadRow

	Detail *detailView
}

// bar is one horizontal bar of an inline SVG chart: Width of 200.
type bar struct {
	Label     string
	Value, Of int
	Width     int
	Colour    string
	Y         int // its row in a chart of several
}

func newBar(label string, value, of int, colour string) bar {
	b := bar{Label: label, Value: value, Of: of, Colour: colour}
	if of > 0 {
		b.Width = int(math.Round(200 * float64(min(value, of)) / float64(of)))
	}
	return b
}

// pct writes a share (0 to 1) as a whole percentage.
func pct(share float64) string { return fmt.Sprintf("%.0f%%", 100*share) }

// recallCard is an open recall with its effectiveness per level.
type recallCard struct {
	ID, Title, Class, Depth, Opened string
	Share                           float64
	Overall                         bar
	CheckLevel                      string
	Consignees                      recall.Consignees
	Levels                          []levelBars
}

type levelBars struct {
	Name              string
	Recovered, Acked  bar
	HasUnits, HasCons bool
}

// clock is a deadline clock: a ring filled with the share of the time
// used, red once the deadline passed.
type clock struct {
	Used  int // 0 to 100: the ring's circumference is 100
	Late  bool
	Words string
}

type reportRow struct {
	ID, Product, Severity, Status, Filed, Deadline string
	Clock                                          clock
}

type awarenessRow struct {
	ID, Product, Source, Aware, Deadline string
	Clock                                clock
}

type alertRow struct{ ID, Kind, Product, Detail, When string }

type tipoffRow struct{ Receipt, Subject, Category, Filed, Deadline string }

type deadRow struct{ ID, Entity, Kind, Ref, Error, When string }

// creditChart is the distribution of the entities' credit classes.
type creditChart struct {
	Bars    []bar
	Total   int
	Flagged []entityBadge // entities not in good standing
	Partial bool          // more entities than were counted
	Height  int           // of the SVG
}

type entityBadge struct{ ID, Name, Class, Colour string }

// classColours are the credit classes' colours on every page.
var classColours = map[string]string{"green": "#1e8e3e", "yellow": "#f9ab00", "red": "#d93025", "black": "#000000"}

var classOrder = []credit.Class{credit.Good, credit.Warning, credit.Dishonest, credit.SeriouslyDishonest}

var classColourOf = map[credit.Class]string{credit.Good: "green", credit.Warning: "yellow", credit.Dishonest: "red",
	credit.SeriouslyDishonest: "black"}

// maxCreditEntities bounds the entities the overview classifies.
const maxCreditEntities = 1000

// listed is how many items each section of the overview shows.
const listed = 20

// recentDays is how far back the overview lists incident reports.
const recentDays = 30

// hidden says whether err only means the official's role may not see a
// section; any other error is returned.
func hidden(err error) (bool, error) {
	if errors.Is(err, trace.ErrForbidden) {
		return true, nil
	}
	return false, err
}

// as decodes v's JSON form into out: the services answer with views
// whose shape depends on the caller.
func as(v, out any) {
	buf, _ := json.Marshal(v)
	_ = json.Unmarshal(buf, out)
}

func (v dashView) when(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

// span writes a duration in days and hours, in the page's language.
func (v dashView) span(d time.Duration) string {
	d = d.Round(time.Hour)
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if days > 0 {
		return fmt.Sprintf(v.T["span_dh"], days, hours)
	}
	return fmt.Sprintf(v.T["span_h"], hours)
}

// deadlineClock is the clock of a period from start to due, seen at now,
// or at done when the period ended with a filing.
func (v dashView) deadlineClock(start, due, now, done time.Time) clock {
	at := now
	if !done.IsZero() {
		at = done
	}
	c := clock{Used: 100}
	if total := due.Sub(start); total > 0 {
		c.Used = int(min(100, max(0, math.Round(100*float64(at.Sub(start))/float64(total)))))
	}
	switch {
	case !done.IsZero() && !done.Before(due):
		c.Late, c.Words = true, fmt.Sprintf(v.T["clock_filed_late"], v.span(done.Sub(due)))
	case !done.IsZero():
		c.Words = fmt.Sprintf(v.T["clock_filed"], v.span(due.Sub(done)))
	case !now.Before(due):
		c.Late, c.Words = true, fmt.Sprintf(v.T["clock_overdue"], v.span(now.Sub(due)))
	default:
		c.Words = fmt.Sprintf(v.T["clock_left"], v.span(due.Sub(now)))
	}
	return c
}

// dayStart is the start of a YYYY-MM-DD day in loc.
func dayStart(day string, loc *time.Location) time.Time {
	t, _ := time.ParseInLocation(time.DateOnly, day, loc)
	return t
}

// dashboardPage answers GET /dashboard: every section the official's role
// may see.
func (s *Server) dashboardPage(c *gin.Context) {
	if err := s.fillDashboard(c); err != nil {
		writeError(c, s.logger, err)
	}
}

func (s *Server) fillDashboard(c *gin.Context) error {
	ctx, p := c.Request.Context(), principal(c)
	v := s.dash.base(c)
	loc := s.incidents.Location()
	now := s.now.Now()
	v.Now = v.when(now, loc)

	open, _, err := s.recalls.List(ctx, p, recall.CampaignQuery{Status: recall.Open}, trace.Page{Limit: listed})
	if err != nil {
		return err
	}
	for _, item := range open {
		var rc recall.Campaign
		as(item, &rc)
		full, err := s.recalls.Get(ctx, p, rc.ID)
		if err != nil {
			return err
		}
		f, ok := full.(recall.Full)
		if !ok || f.Effectiveness == nil {
			continue
		}
		v.Recalls = append(v.Recalls, v.recallCard(f, loc))
	}

	// The reports of the last 30 days: the list is in filing order.
	reports, _, err := s.incidents.List(ctx, p, standards.IncidentFilter{FiledFrom: now.AddDate(0, 0, -recentDays)},
		trace.Page{Limit: listed})
	if err != nil {
		return err
	}
	for _, item := range reports {
		var r standards.Incident
		as(item, &r)
		v.Reports = append(v.Reports, reportRow{ID: r.ID, Product: s.productName(c, r.GTIN) + lotSuffix(r.Lot),
			Severity: v.word("severity_", string(r.Severity)), Status: v.word("status_", string(r.Status)),
			Filed: v.when(r.CreatedAt, loc), Deadline: r.DeadlineDate,
			Clock: v.deadlineClock(dayStart(r.DeadlineFrom, loc), r.Deadline, now, r.CreatedAt)})
	}
	overdue, _, err := s.incidents.Overdue(ctx, p, trace.Page{Limit: listed})
	if v.OverdueHidden, err = hidden(err); err != nil {
		return err
	}
	for _, a := range overdue {
		v.Overdue = append(v.Overdue, awarenessRow{ID: a.ID, Product: s.productName(c, a.GTIN) + lotSuffix(a.Lot),
			Source: v.word("source_", a.Source), Aware: a.AwareDate, Deadline: a.DeadlineDate,
			Clock: v.deadlineClock(dayStart(a.AwareDate, loc), a.Deadline, now, time.Time{})})
	}

	alerts, _, err := s.resolver.Alerts(ctx, p, "", trace.Page{Limit: listed})
	if err != nil {
		return err
	}
	for _, a := range alerts {
		v.Alerts = append(v.Alerts, alertRow{ID: a.ID, Kind: v.word("alert_", string(a.Kind)), Product: s.productName(c, a.GTIN),
			Detail: a.Detail, When: v.when(a.CreatedAt, loc)})
	}

	if v.Credit, err = s.creditChart(c, v); err != nil {
		return err
	}

	tips, _, err := s.tipoffs.List(ctx, p, "", true, trace.Page{Limit: listed})
	if v.TipoffsHidden, err = hidden(err); err != nil {
		return err
	}
	for _, t := range tips {
		subject := t.Code + t.GTIN + t.EntityID
		if t.GTIN != "" {
			subject = s.productName(c, t.GTIN)
		}
		v.Tipoffs = append(v.Tipoffs, tipoffRow{Receipt: t.Receipt, Subject: subject, Category: v.word("cat_", t.Category),
			Filed: v.when(t.CreatedAt, loc), Deadline: v.when(t.Deadline, loc)})
	}

	dead, _, err := s.outbox.List(ctx, p, recall.DeliveryDead, trace.Page{Limit: listed})
	if v.DeadHidden, err = hidden(err); err != nil {
		return err
	}
	for _, d := range dead {
		v.Dead = append(v.Dead, deadRow{ID: d.ID, Entity: s.entityName(c, d.EntityID), Kind: v.word("delivery_", d.Kind), Ref: d.Ref,
			Error: d.LastError, When: v.when(d.UpdatedAt, loc)})
	}
	s.dash.render(c, 200, "overview", v)
	return nil
}

// word is a value's name in the page's language, or the value itself.
func (v dashView) word(prefix, value string) string {
	if w, ok := v.T[prefix+value]; ok {
		return w
	}
	if w, ok := v.T[strings.ReplaceAll(prefix+value, ".", "_")]; ok {
		return w
	}
	return value
}

func lotSuffix(lot string) string {
	if lot == "" {
		return ""
	}
	return " · " + lot
}

// productName names a GTIN, or shows it when it names nothing registered.
func (s *Server) productName(c *gin.Context, gtin string) string {
	if gtin == "" {
		return ""
	}
	if p, err := s.registry.Product(c.Request.Context(), gtin); err == nil {
		return p.Name
	}
	return gtin
}

func (s *Server) entityName(c *gin.Context, id string) string {
	if e, err := s.registry.Entity(c.Request.Context(), id); err == nil {
		return e.Name
	}
	return id
}

func (v dashView) recallCard(f recall.Full, loc *time.Location) recallCard {
	e := f.Effectiveness
	var names []string
	for _, p := range f.Products {
		names = append(names, p.Name)
	}
	rc := recallCard{ID: f.ID, Title: strings.Join(names, ", "), Class: f.Class, Depth: v.word("depth_", f.Depth),
		Opened: v.when(f.OpenedAt, loc), Share: e.Share, CheckLevel: e.CheckLevel, Consignees: e.Consignees,
		Overall: newBar(v.T["recovered"], e.RecoveredTotal, e.Units, "#1e8e3e")}
	for _, level := range []string{recall.LevelMaker, recall.LevelWholesale, recall.LevelRetail, recall.LevelConsumer} {
		le, ok := e.ByLevel[level]
		if !ok {
			continue
		}
		recovered := 0
		for _, n := range le.Recovered {
			recovered += n
		}
		rc.Levels = append(rc.Levels, levelBars{Name: v.word("level_", level),
			Recovered: newBar(v.T["recovered"], recovered, le.Units, "#1e8e3e"),
			Acked:     newBar(v.T["acknowledged"], le.Consignees.Acknowledged, le.Consignees.Total, "#0b57d0"),
			HasUnits:  le.Units > 0, HasCons: le.Consignees.Total > 0})
	}
	return rc
}

// creditChart counts the entities' credit classes today.
func (s *Server) creditChart(c *gin.Context, v dashView) (creditChart, error) {
	ctx := c.Request.Context()
	counts := map[credit.Class]int{}
	var ch creditChart
	for p := (trace.Page{Limit: trace.MaxLimit}); ch.Total < maxCreditEntities; {
		ents, next, err := s.registry.Entities(ctx, trace.EntityFilter{}, p)
		if err != nil {
			return creditChart{}, err
		}
		for _, e := range ents {
			st, err := s.credit.Standing(ctx, e.ID, "")
			if err != nil {
				return creditChart{}, err
			}
			counts[st.Class]++
			ch.Total++
			if st.Class != credit.Good && len(ch.Flagged) < listed {
				ch.Flagged = append(ch.Flagged, entityBadge{ID: e.ID, Name: e.Name, Class: v.word("credit_", string(st.Class)),
					Colour: st.Colour})
			}
		}
		if next == "" {
			break
		}
		p.After = next
		ch.Partial = ch.Total >= maxCreditEntities
	}
	for i, cl := range classOrder {
		b := newBar(v.word("credit_", string(cl)), counts[cl], ch.Total, classColours[classColourOf[cl]])
		b.Y = 4 + i*30
		ch.Bars = append(ch.Bars, b)
	}
	ch.Height = 4 + len(classOrder)*30
	return ch, nil
}

// detailView is one item on a page of its own: its headline and every
// member of its record.
type detailView struct {
	Kind, Title string
	Fields      []detailField
	Recall      *recallCard
	Back        string
}

type detailField struct{ Name, Value string }

// dashboardDetail answers GET /dashboard/{kind}s/{id}: the record as the
// official may read it through the same service the API uses.
func (s *Server) dashboardDetail(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, p, id := c.Request.Context(), principal(c), c.Param("id")
		v := s.dash.base(c)
		loc := s.incidents.Location()
		var record any
		var err error
		d := &detailView{Kind: v.T["kind_"+kind], Title: id}
		switch kind {
		case "recall":
			record, err = s.recalls.Get(ctx, p, id)
			if f, ok := record.(recall.Full); ok && f.Effectiveness != nil {
				rc := v.recallCard(f, loc)
				d.Recall, d.Title = &rc, rc.Title
			}
		case "incident":
			record, err = s.incidents.Get(ctx, p, id)
		case "awareness":
			record, err = findPaged(func(pg trace.Page) ([]standards.Awareness, string, error) { return s.incidents.Overdue(ctx, p, pg) },
				func(a standards.Awareness) bool { return a.ID == id })
		case "alert":
			record, err = findPaged(func(pg trace.Page) ([]scan.Alert, string, error) { return s.resolver.Alerts(ctx, p, "", pg) },
				func(a scan.Alert) bool { return a.ID == id })
		case "tipoff":
			var full *standards.Tipoff
			if _, full, err = s.tipoffs.Lookup(ctx, p, id); err == nil {
				if full == nil {
					err = fmt.Errorf("tip-offs are the regulator's to read: %w", trace.ErrForbidden)
				} else {
					record = full
				}
			}
		case "entity":
			var e trace.Entity
			if e, err = s.registry.Entity(ctx, id); err == nil {
				var st credit.Standing
				st, err = s.credit.Standing(ctx, id, "")
				record, d.Title = map[string]any{"entity": e, "credit": st}, e.Name
			}
		case "delivery":
			record, err = findPaged(func(pg trace.Page) ([]recall.Delivery, string, error) { return s.outbox.List(ctx, p, "", pg) },
				func(dl recall.Delivery) bool { return dl.ID == id })
		}
		if err != nil {
			writeError(c, s.logger, err)
			return
		}
		d.Fields = fields(record)
		v.Detail = d
		s.dash.render(c, 200, "detail", v)
	}
}

// findPaged reads pages of a list until match finds the item, for the
// lists the services answer only as lists (up to 50 pages).
func findPaged[T any](list func(trace.Page) ([]T, string, error), match func(T) bool) (T, error) {
	var zero T
	p := trace.Page{Limit: trace.MaxLimit}
	for range 50 {
		items, next, err := list(p)
		if err != nil {
			return zero, err
		}
		for _, it := range items {
			if match(it) {
				return it, nil
			}
		}
		if next == "" {
			break
		}
		p.After = next
	}
	return zero, fmt.Errorf("no such item: %w", trace.ErrNotFound)
}

// fields lists the members of v's JSON form in their order: strings as
// they are, anything else as compact JSON.
func fields(v any) []detailField {
	buf, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(buf))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return []detailField{{Name: "", Value: string(buf)}}
	}
	var out []detailField
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		name, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			break
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		if len(s) > 2000 {
			s = s[:2000] + "…"
		}
		out = append(out, detailField{Name: name, Value: s})
	}
	return out
}
