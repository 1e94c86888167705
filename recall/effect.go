package recall

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"tracesvc/trace"
)

// Consignees counts a campaign's notified custodians.
type Consignees struct {
	Total int `json:"total"`
	// Notified: the webhook answered 2xx, or the custodian read the notice
	// or acknowledged it.
	Notified     int `json:"notified"`
	Acknowledged int `json:"acknowledged"`
	Silent       int `json:"silent"`  // not acknowledged (yet)
	Overdue      int `json:"overdue"` // not acknowledged by the deadline
}

// LevelEffect is the effectiveness at one level of the chain.
type LevelEffect struct {
	Units      int            `json:"units"` // affected units at this level now
	Recovered  map[string]int `json:"recovered"`
	Consignees Consignees     `json:"consignees"`
}

// ConsumerScans are scans answered "recalled" since the campaign opened:
// units still in use.
type ConsumerScans struct {
	Units int `json:"units"` // distinct units
	Scans int `json:"scans"`
}

// Effectiveness is how far a campaign has got, overall and per level.
type Effectiveness struct {
	Units          int                    `json:"units"`
	Recovered      map[string]int         `json:"recovered"` // by how: returned, destroyed, repaired, replaced
	RecoveredTotal int                    `json:"recoveredTotal"`
	Outstanding    int                    `json:"outstanding"` // units unaccounted for
	Share          float64                `json:"share"`       // recovered / units, 0 to 1
	Consignees     Consignees             `json:"consignees"`
	ByLevel        map[string]LevelEffect `json:"byLevel"`
	ConsumerScans  ConsumerScans          `json:"consumerScans"`
	// CheckLevel is the FDA effectiveness-check level the acknowledged
	// share of consignees reaches: A (100%) to E (none).
	CheckLevel string `json:"checkLevel"`
}

// ConsigneeRow is one custodian's line of the campaign report.
type ConsigneeRow struct {
	Notice    Notice
	Name      string
	Notified  bool
	Delivery  DeliveryState
	Recovered int
}

// consignees reads every notice of c with its delivery.
func (s *Campaigns) consignees(ctx context.Context, c Campaign) ([]ConsigneeRow, error) {
	var rows []ConsigneeRow
	names := map[string]string{}
	if c.Scope != nil {
		for _, cu := range c.Scope.Custodians {
			names[cu.EntityID] = cu.Name
		}
	}
	for p := (trace.Page{Limit: trace.MaxLimit}); ; {
		ns, err := s.cfg.Store.ListNotices(ctx, NoticeFilter{CampaignID: c.ID}, p)
		if err != nil {
			return nil, fmt.Errorf("notices of recall %s: %w", c.ID, err)
		}
		ids := make([]string, len(ns))
		for i, n := range ns {
			ids[i] = n.ID
		}
		ds, err := s.cfg.Sender.Lookup(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("deliveries of recall %s: %w", c.ID, err)
		}
		state := map[string]DeliveryState{}
		for _, d := range ds {
			state[d.ID] = d.State
		}
		for _, n := range ns {
			st := state[n.ID]
			rows = append(rows, ConsigneeRow{Notice: n, Name: names[n.EntityID], Delivery: st, Recovered: n.recovered(),
				Notified: st == DeliveryDelivered || !n.ReadAt.IsZero() || !n.AckedAt.IsZero()})
		}
		if len(ns) < p.Limit {
			return rows, nil
		}
		p.After = ns[len(ns)-1].ID
	}
}

// count adds a consignee to cs.
func (cs *Consignees) count(r ConsigneeRow, overdue bool) {
	cs.Total++
	if r.Notified {
		cs.Notified++
	}
	if r.Notice.AckedAt.IsZero() {
		cs.Silent++
		if overdue {
			cs.Overdue++
		}
	} else {
		cs.Acknowledged++
	}
}

// Effectiveness reports how far c has got: units in scope and recovered,
// consignees notified, acknowledged and silent, overall and per level,
// and consumer scans of its units since it opened.
func (s *Campaigns) Effectiveness(ctx context.Context, c Campaign) (*Effectiveness, error) {
	if c.Scope == nil {
		return nil, nil
	}
	rows, err := s.consignees(ctx, c)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now.Now()
	e := &Effectiveness{Units: c.Scope.Units, Recovered: map[string]int{}, ByLevel: map[string]LevelEffect{}}
	for _, l := range Levels {
		e.ByLevel[l] = LevelEffect{Units: c.Scope.ByLevel[l], Recovered: map[string]int{}}
	}
	for _, r := range rows {
		overdue := r.Notice.AckedAt.IsZero() && !now.Before(r.Notice.AckBy)
		e.Consignees.count(r, overdue)
		le := e.ByLevel[r.Notice.Level]
		le.Consignees.count(r, overdue)
		for how, q := range r.Notice.Recovery.Counts {
			e.Recovered[how] += q
			le.Recovered[how] += q
		}
		for _, how := range r.Notice.Recovery.Serials {
			e.Recovered[how]++
			le.Recovered[how]++
		}
		e.ByLevel[r.Notice.Level] = le
		e.RecoveredTotal += r.Recovered
	}
	e.Outstanding = max(e.Units-e.RecoveredTotal, 0)
	if e.Units > 0 {
		e.Share = float64(min(e.RecoveredTotal, e.Units)) / float64(e.Units)
	}
	e.CheckLevel = checkLevel(e.Consignees)
	if e.ConsumerScans, err = s.consumerScans(ctx, c); err != nil {
		return nil, err
	}
	return e, nil
}

// checkLevel is the FDA effectiveness-check level reached by the share of
// consignees acknowledged: A all, B over 10%, C 10%, D 2%, E none (the
// levels name how many consignees a check must reach; here, how many
// answered).
func checkLevel(c Consignees) string {
	if c.Total == 0 {
		return ""
	}
	share := float64(c.Acknowledged) / float64(c.Total)
	switch {
	case share >= 1:
		return "A"
	case share > 0.10:
		return "B"
	case share >= 0.10:
		return "C"
	case share >= 0.02:
		return "D"
	}
	return "E"
}

// consumerScans counts scans answered "recalled" since c opened, of the
// products c recalls.
func (s *Campaigns) consumerScans(ctx context.Context, c Campaign) (ConsumerScans, error) {
	var out ConsumerScans
	if c.OpenedAt.IsZero() || s.cfg.Scans == nil {
		return out, nil
	}
	gtins := map[string]bool{}
	for _, p := range c.Products {
		gtins[p.GTIN] = true
	}
	for _, g := range c.Scope.GTINs {
		gtins[g] = true
	}
	for _, g := range slices.Sorted(maps.Keys(gtins)) {
		counts, err := s.cfg.Scans.CountRecalledScans(ctx, g, c.OpenedAt, trace.MaxTraceNodes)
		if err != nil {
			return out, fmt.Errorf("scans of %s: %w", g, err)
		}
		for _, n := range counts {
			out.Units++
			out.Scans += n
		}
	}
	return out, nil
}

// ConsigneeReport returns the campaign's figures per consignee, for the
// CSV report: to officials and the campaign's makers.
func (s *Campaigns) ConsigneeReport(ctx context.Context, caller trace.Principal, id string) (Campaign, []ConsigneeRow, error) {
	c, err := s.cfg.Store.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, nil, fmt.Errorf("recall %s: %w", id, err)
	}
	if !mayReadAll(caller, c) {
		if err := caller.Require(trace.RoleRegulator, trace.RoleInspector, trace.RoleEntity); err != nil {
			return Campaign{}, nil, err
		}
		return Campaign{}, nil, fmt.Errorf("recall %s's report is for officials and its makers: %w", id, trace.ErrForbidden)
	}
	rows, err := s.consignees(ctx, c)
	if err != nil {
		return Campaign{}, nil, err
	}
	slices.SortFunc(rows, func(a, b ConsigneeRow) int {
		if a.Notice.Level != b.Notice.Level {
			return slices.Index(Levels, a.Notice.Level) - slices.Index(Levels, b.Notice.Level)
		}
		return strings.Compare(a.Notice.EntityID, b.Notice.EntityID)
	})
	return c, rows, nil
}
