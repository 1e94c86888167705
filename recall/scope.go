package recall

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"tracesvc/trace"
)

// stock is what one custodian holds or held of a campaign's scope.
type stock struct {
	custodian Custodian
	keys      []string
}

// levelOf places an entity in the chain by its kinds: a retailer is
// retail, a distributor wholesale, anyone else (farms, makers, labs,
// processors) the maker level.
func levelOf(e trace.Entity) string {
	switch {
	case slices.Contains(e.Kinds, trace.KindRetailer):
		return LevelRetail
	case slices.Contains(e.Kinds, trace.KindDistributor):
		return LevelWholesale
	}
	return LevelMaker
}

// reaches reports whether a campaign of depth notifies custodians at
// level: a wholesale recall stops at wholesalers; a retail or consumer
// recall reaches retailers too (consumers are reached through the scan
// page and the public list).
func reaches(depth, level string) bool {
	return depth != LevelWholesale || level != LevelRetail
}

// starts are the keys the scope's trace starts from, and the product keys
// a whole-product recall covers besides.
func (s *Campaigns) starts(ctx context.Context, in ScopeInput) (start, products []string, err error) {
	for _, g := range in.Products {
		whole := in.ProducedFrom == "" && in.ProducedTo == ""
		if whole {
			products = append(products, "01/"+g)
		}
		for p := (trace.Page{Limit: trace.MaxLimit}); ; {
			batches, next, err := s.cfg.Register.Batches(ctx, g, p)
			if err != nil {
				return nil, nil, fmt.Errorf("lots of %s: %w", g, err)
			}
			for _, b := range batches {
				if in.ProducedFrom != "" && b.ProductionDate < in.ProducedFrom || in.ProducedTo != "" && b.ProductionDate > in.ProducedTo {
					continue
				}
				start = append(start, trace.LotKey(b.GTIN, b.Lot))
			}
			if next == "" {
				break
			}
			p.After = next
		}
	}
	for _, l := range in.Lots {
		start = append(start, trace.LotKey(l.GTIN, l.Lot))
	}
	for _, sr := range in.Serials {
		start = append(start, trace.ItemKey(sr.GTIN, sr.Serial))
	}
	slices.Sort(start)
	return slices.Compact(start), products, nil
}

// scope expands c's input through the trace graph: every unit, what was
// made from them, the cases and pallets holding them, and who holds or
// held them. It returns the scope, the keys that find the campaign from
// a scanned code, and each custodian's stock.
func (s *Campaigns) scope(ctx context.Context, c Campaign, version int) (Scope, []string, map[string]stock, error) {
	start, keys, err := s.starts(ctx, c.Input)
	if err != nil {
		return Scope{}, nil, nil, err
	}
	sc := Scope{Version: version, ComputedAt: s.cfg.Now.Now(), ByLevel: LevelCount{}, Lots: []LotRef{}, GTINs: []string{},
		Custodians: []Custodian{}}
	out := map[string]stock{}
	if len(start) == 0 {
		return sc, keys, out, nil
	}
	// Codes no custody event named yet are counted per lot rather than
	// walked one by one: a lot of a million issued codes would otherwise
	// fill the walk's bound before it reached a single shop. The lot's key
	// makes them resolve recalled.
	g, err := s.cfg.Graph.Trace(ctx, trace.System, start, trace.Forward,
		trace.TraceOptions{MaxDepth: trace.MaxTraceDepth, MaxNodes: trace.MaxTraceNodes, SummariseUnmoved: true})
	if err != nil {
		return Scope{}, nil, nil, fmt.Errorf("trace the scope of recall %s: %w", c.ID, err)
	}
	sc.Truncated = g.Truncated
	var items []string
	for _, n := range g.Nodes {
		if n.GTIN != "" && !slices.Contains(sc.GTINs, n.GTIN) {
			sc.GTINs = append(sc.GTINs, n.GTIN)
		}
		switch n.Kind {
		case trace.NodeItem:
			items = append(items, n.Key)
		case trace.NodeLot:
			if n.Lot != "" {
				sc.Lots = append(sc.Lots, LotRef{GTIN: n.GTIN, Lot: n.Lot})
			}
		case trace.NodeUnit:
			sc.Logistic++
		default:
			continue
		}
		keys = append(keys, n.Key)
	}
	sc.Units = len(items)
	for _, u := range g.Unmoved {
		// Never in anyone's custody: at the maker, unless taken out of use.
		sc.Units += u.Count
		if u.State == trace.StateIssued || u.State == trace.StateCommissioned {
			sc.ByLevel[LevelMaker] += u.Count
		}
	}
	levels := map[string]string{}
	level := func(id string) (string, error) {
		if l, ok := levels[id]; ok {
			return l, nil
		}
		e, err := s.cfg.Register.Entity(ctx, id)
		if err != nil {
			return "", fmt.Errorf("custodian %s: %w", id, err)
		}
		levels[id] = levelOf(e)
		return levels[id], nil
	}
	for i := 0; i < len(items); i += 1000 {
		states, err := s.cfg.Custodies.Custody(ctx, items[i:min(i+1000, len(items))])
		if err != nil {
			return Scope{}, nil, nil, fmt.Errorf("custody of recall %s: %w", c.ID, err)
		}
		for _, k := range items[i:min(i+1000, len(items))] {
			st := states[k]
			switch {
			case st.State == trace.StateSold:
				sc.Sold++
				sc.ByLevel[LevelConsumer]++
			case st.Possessor != "":
				l, err := level(st.Possessor)
				if err != nil {
					return Scope{}, nil, nil, err
				}
				sc.ByLevel[l]++
			default: // issued, not yet in anyone's custody: at the maker
				sc.ByLevel[LevelMaker]++
			}
		}
	}
	for _, h := range g.Custodians {
		l, err := level(h.EntityID)
		if err != nil {
			return Scope{}, nil, nil, err
		}
		cu := Custodian{EntityID: h.EntityID, Name: h.Name, Level: l, Units: h.Current, Quantities: h.Amounts,
			Holding: h.Current > 0, Notice: c.ID + "." + h.EntityID}
		if cu.Units == 0 {
			cu.Units = h.Items
		}
		for uom, q := range h.Amounts {
			if sc.Quantities == nil {
				sc.Quantities = map[string]float64{}
			}
			if l == LevelMaker { // the amounts made, not every hand they passed
				sc.Quantities[uom] += q
			}
		}
		sc.Custodians = append(sc.Custodians, cu)
		out[h.EntityID] = stock{custodian: cu, keys: h.Keys}
	}
	slices.Sort(sc.GTINs)
	slices.SortFunc(sc.Lots, func(a, b LotRef) int { return compareLot(a, b) })
	sc.Lots = slices.Compact(sc.Lots)
	slices.Sort(keys)
	return sc, slices.Compact(keys), out, nil
}

func compareLot(a, b LotRef) int {
	if a.GTIN != b.GTIN {
		if a.GTIN < b.GTIN {
			return -1
		}
		return 1
	}
	switch {
	case a.Lot < b.Lot:
		return -1
	case a.Lot > b.Lot:
		return 1
	}
	return 0
}

// Open opens a draft: it computes the scope from the trace graph, makes
// every affected code resolve as recalled, sends each custodian its
// notice, and fills the linked incident reports' recall link. Opening an
// open campaign again finishes what a crash may have left undone.
func (s *Campaigns) Open(ctx context.Context, caller trace.Principal, id string) (Campaign, error) {
	c, err := s.cfg.Store.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, fmt.Errorf("recall %s: %w", id, err)
	}
	if err := mayManageCampaign(caller, c); err != nil {
		return Campaign{}, err
	}
	switch c.Status {
	case Open:
		return s.Rescope(ctx, trace.System, id)
	case Draft:
	default:
		return Campaign{}, statusConflict(c, "only a draft is opened")
	}
	sc, keys, held, err := s.scope(ctx, c, 1)
	if err != nil {
		return Campaign{}, err
	}
	// The keys first: a code resolves as recalled once the campaign is
	// open, and not a moment later.
	if err := s.cfg.Store.AddRecallKeys(ctx, c.ID, keys); err != nil {
		return Campaign{}, fmt.Errorf("recall %s: %w", id, err)
	}
	c, err = s.update(ctx, id, func(c *Campaign) error {
		if c.Status != Draft {
			return statusConflict(*c, "it was opened or cancelled meanwhile")
		}
		c.Status, c.OpenedAt, c.Scope = Open, s.cfg.Now.Now(), &sc
		return nil
	})
	if err != nil {
		return Campaign{}, err
	}
	if _, err := s.notify(ctx, c, held); err != nil {
		return Campaign{}, err
	}
	for _, inc := range c.Incidents {
		if err := s.cfg.Incidents.LinkRecall(ctx, inc, c.ID); err != nil {
			s.cfg.Logger.WarnContext(ctx, "an incident report could not be linked to its recall", "recall", c.ID, "incident", inc, "err", err)
		}
	}
	return c, nil
}

// Rescope recomputes an open campaign's scope, for events that arrived
// late: new keys resolve as recalled, custodians with new stock get an
// update, new custodians their notice, and the change is kept with the
// campaign. Officials and the campaign's managers may ask for it; the
// service runs it itself from time to time (see [Campaigns.Sweep]).
func (s *Campaigns) Rescope(ctx context.Context, caller trace.Principal, id string) (Campaign, error) {
	c, err := s.cfg.Store.Campaign(ctx, id)
	if err != nil {
		return Campaign{}, fmt.Errorf("recall %s: %w", id, err)
	}
	if err := mayManageCampaign(caller, c); err != nil {
		return Campaign{}, err
	}
	if c.Status != Open {
		return Campaign{}, statusConflict(c, "only an open recall's scope is recomputed")
	}
	old := c.Scope
	if old == nil {
		old = &Scope{}
	}
	sc, keys, held, err := s.scope(ctx, c, old.Version+1)
	if err != nil {
		return Campaign{}, err
	}
	if err := s.cfg.Store.AddRecallKeys(ctx, c.ID, keys); err != nil {
		return Campaign{}, fmt.Errorf("recall %s: %w", id, err)
	}
	change, err := s.notify(ctx, c, held)
	if err != nil {
		return Campaign{}, err
	}
	known := map[string]bool{}
	for _, cu := range old.Custodians {
		known[cu.EntityID] = true
	}
	for _, cu := range sc.Custodians {
		if !known[cu.EntityID] && !slices.Contains(change.NewCustodians, cu.EntityID) {
			change.NewCustodians = append(change.NewCustodians, cu.EntityID)
		}
	}
	if change.AddedKeys == 0 && len(change.NewCustodians) == 0 && sc.Units == old.Units {
		return c, nil // nothing arrived
	}
	change.Version, change.At, change.AddedUnits = sc.Version, sc.ComputedAt, sc.Units-old.Units
	slices.Sort(change.NewCustodians)
	return s.update(ctx, id, func(c *Campaign) error {
		if c.Status != Open {
			return statusConflict(*c, "it ended meanwhile")
		}
		if c.Scope != nil && c.Scope.Version >= sc.Version {
			return nil // another process recomputed it
		}
		c.Scope = &sc
		c.Changes = append(c.Changes, change)
		return nil
	})
}

// Sweep recomputes the scope of every open campaign, so that late events
// reach it and a notice a crash left unsent goes out. Processes sharing a
// store may sweep at once: notices and deliveries are idempotent.
func (s *Campaigns) Sweep(ctx context.Context) error {
	open, err := trace.All(func(p trace.Page) ([]Campaign, error) {
		return s.cfg.Store.ListCampaigns(ctx, CampaignFilter{Statuses: []Status{Open}}, p)
	}, func(c Campaign) string { return c.ID })
	if err != nil {
		return fmt.Errorf("open recalls: %w", err)
	}
	for _, c := range open {
		if _, err := s.Rescope(ctx, trace.System, c.ID); err != nil {
			s.cfg.Logger.ErrorContext(ctx, "recomputing a recall's scope failed", "recall", c.ID, "err", err)
		}
	}
	return nil
}

// message is the body of a delivery to a custodian's webhook.
type message struct {
	Type         string    `json:"type"` // recall_notice or scope_update
	Notice       string    `json:"notice"`
	Recall       Public    `json:"recall"`
	Reason       string    `json:"reason,omitempty"`
	Instructions string    `json:"instructions"`
	Custodian    string    `json:"custodian"`
	Level        string    `json:"level"`
	Units        int       `json:"units"`
	Codes        []string  `json:"codes"`               // affected codes, lots and logistic units at the custodian, as links
	NewCodes     []string  `json:"newCodes,omitempty"`  // in a scope update: what was added
	AckBy        time.Time `json:"ackBy"`               //
	AckURL       string    `json:"ackUrl"`              // POST to acknowledge
	ReturnsURL   string    `json:"returnsUrl"`          // POST recovered stock
	ScopeVersion int       `json:"scopeVersion"`        //
	SentAt       time.Time `json:"sentAt"`              //
	Sub          string    `json:"subRecall,omitempty"` // what to tell one's own customers
}

// links turns canonical keys into Digital Links on the service's origin.
func (s *Campaigns) links(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = s.cfg.BaseURL + "/" + k
	}
	return out
}

// delivery builds the outbox record of a notice message.
func (s *Campaigns) delivery(id, kind string, n Notice, m message) (Delivery, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return Delivery{}, fmt.Errorf("notice %s: %w", n.ID, err)
	}
	now := s.cfg.Now.Now()
	return Delivery{ID: id, EntityID: n.EntityID, Kind: kind, Ref: n.ID, Body: body, State: DeliveryPending,
		NextAt: now, CreatedAt: now, UpdatedAt: now}, nil
}

// notify makes sure every custodian the depth reaches has its notice,
// with every affected key it holds or held, and that the outbox carries
// each notice and each later addition to it. It returns what was added.
func (s *Campaigns) notify(ctx context.Context, c Campaign, held map[string]stock) (ScopeChange, error) {
	var change ScopeChange
	now := s.cfg.Now.Now()
	ackBy := s.cfg.Days.Deadline(now, s.cfg.AckDays).Due
	var fresh []Notice
	ids := slices.Sorted(maps.Keys(held))
	for _, id := range ids {
		st := held[id]
		if !reaches(c.Depth, st.custodian.Level) || c.Kind == Voluntary && slices.Contains(c.Makers, id) {
			continue // beyond the depth, or the maker recalling its own goods
		}
		fresh = append(fresh, Notice{ID: st.custodian.Notice, CampaignID: c.ID, EntityID: id, Level: st.custodian.Level,
			Units: st.custodian.Units, Keys: st.keys, Instructions: c.CustodianInstructions, CreatedAt: now, AckBy: ackBy,
			Recovery: Recovery{Counts: map[string]int{}}, Version: 1})
	}
	for i := 0; i < len(fresh); i += 1000 {
		if err := s.cfg.Store.PutNotices(ctx, fresh[i:min(i+1000, len(fresh))]); err != nil {
			return change, fmt.Errorf("notices of recall %s: %w", c.ID, err)
		}
	}
	var out []Delivery
	for _, want := range fresh {
		n, added, err := s.extend(ctx, want)
		if err != nil {
			return change, err
		}
		m := message{Type: "recall_notice", Notice: n.ID, Recall: PublicOf(c), Reason: c.Reason, Instructions: c.CustodianInstructions,
			Custodian: n.EntityID, Level: n.Level, Units: n.Units, Codes: s.links(n.Keys), AckBy: n.AckBy,
			AckURL: s.cfg.BaseURL + "/api/v1/notices/" + n.ID + "/ack", ReturnsURL: s.cfg.BaseURL + "/api/v1/notices/" + n.ID + "/returns",
			SentAt: now, Sub: "If you passed this stock on, tell your customers with these instructions."}
		if c.Scope != nil {
			m.ScopeVersion = c.Scope.Version
		}
		d, err := s.delivery(n.ID, "recall_notice", n, m)
		if err != nil {
			return change, err
		}
		out = append(out, d)
		if len(added) > 0 {
			change.AddedKeys += len(added)
			m.Type, m.NewCodes = "scope_update", s.links(added)
			d, err := s.delivery(fmt.Sprintf("%s.v%d", n.ID, n.Version), "scope_update", n, m)
			if err != nil {
				return change, err
			}
			out = append(out, d)
		}
	}
	for i := 0; i < len(out); i += 1000 {
		if err := s.cfg.Sender.Enqueue(ctx, out[i:min(i+1000, len(out))]); err != nil {
			return change, fmt.Errorf("send the notices of recall %s: %w", c.ID, err)
		}
	}
	return change, nil
}

// extend adds to the stored notice the keys of want it lacks, and returns
// it with what was added.
func (s *Campaigns) extend(ctx context.Context, want Notice) (Notice, []string, error) {
	for attempt := 0; ; attempt++ {
		n, err := s.cfg.Store.Notice(ctx, want.ID)
		if err != nil {
			return Notice{}, nil, fmt.Errorf("notice %s: %w", want.ID, err)
		}
		have := make(map[string]bool, len(n.Keys))
		for _, k := range n.Keys {
			have[k] = true
		}
		var added []string
		for _, k := range want.Keys {
			if !have[k] {
				added = append(added, k)
			}
		}
		if len(added) == 0 {
			return n, nil, nil
		}
		n.Keys = append(n.Keys, added...)
		slices.Sort(n.Keys)
		n.Units = max(n.Units, want.Units)
		n.Version++
		err = s.cfg.Store.UpdateNotice(ctx, n)
		if err == nil {
			return n, added, nil
		}
		if !isConflict(err) || attempt == 4 {
			return Notice{}, nil, fmt.Errorf("notice %s: %w", n.ID, err)
		}
	}
}
