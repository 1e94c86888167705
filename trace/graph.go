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

// Direction is the way a trace walks the graph.
type Direction string

// The trace directions.
const (
	Forward  Direction = "forward"  // where did it go: containers, products made from it, receivers
	Backward Direction = "backward" // where did it come from: contents, inputs, earlier custodians
)

// Node kinds of a trace graph.
const (
	NodeItem    = "item"          // a serialized item (SGTIN)
	NodeLot     = "lot"           // a batch or class (LGTIN, or a whole GTIN)
	NodeUnit    = "logistic_unit" // a case or pallet (SSCC)
	NodeParty   = "party"         // a custodian the goods moved to
	NodeOther   = "other"         // any other identifier
	EdgeContain = "contains"
	EdgeMadeOf  = "made-from"
	EdgeMovedTo = "moved-to"
)

// TraceNode is one thing in a trace graph.
type TraceNode struct {
	Key    string `json:"key"`
	Kind   string `json:"kind"`
	GTIN   string `json:"gtin,omitempty"`
	Lot    string `json:"lot,omitempty"`
	Serial string `json:"serial,omitempty"`
	SSCC   string `json:"sscc,omitempty"`
	Entity string `json:"entityId,omitempty"` // for party nodes
	Depth  int    `json:"depth"`
	// Opaque marks another entity's goods in an entity's trace: the trace
	// continues there, but their contents, serials and custodians are not
	// the caller's to see. Count is how many items one opaque item node
	// stands for.
	Opaque bool `json:"opaque,omitempty"`
	Count  int  `json:"count,omitempty"`
}

// TraceEdge links two nodes: From contains To, From is made from To, or
// From moved to To; EventID is the event that says so.
type TraceEdge struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	Kind      string    `json:"kind"`
	EventID   string    `json:"eventId"`
	EventTime time.Time `json:"eventTime"`
}

// Holding is what a custodian holds or held of the traced goods.
type Holding struct {
	EntityID string             `json:"entityId"`
	Name     string             `json:"name,omitempty"`
	Items    int                `json:"items"`                // distinct items and logistic units
	Amounts  map[string]float64 `json:"quantities,omitempty"` // class-level quantities by unit of measure
	Current  int                `json:"currentItems"`         // issued codes it holds now
	Keys     []string           `json:"keys"`
}

// TraceGraph is the result of a trace walk.
type TraceGraph struct {
	Start      []string    `json:"start"`
	Direction  Direction   `json:"direction"`
	MaxDepth   int         `json:"maxDepth"`
	Truncated  bool        `json:"truncated"`
	Reason     string      `json:"truncatedReason,omitempty"`
	Nodes      []TraceNode `json:"nodes"`
	Edges      []TraceEdge `json:"edges"`
	Custodians []Holding   `json:"custodians"`
}

// TraceOptions bound a walk.
type TraceOptions struct {
	MaxDepth int // levels of events to follow; 0 means 10
	MaxNodes int // 0 means 10,000
}

// Limits of [TraceOptions].
const (
	DefaultTraceDepth = 10
	MaxTraceDepth     = 50
	DefaultTraceNodes = 10_000
	MaxTraceNodes     = 100_000
)

// NodeOf describes a canonical key.
func NodeOf(key string) TraceNode {
	n := TraceNode{Key: key, Kind: NodeOther}
	if id, ok := strings.CutPrefix(key, "entity:"); ok {
		return TraceNode{Key: key, Kind: NodeParty, Entity: id}
	}
	e, err := gs1.ParseDigitalLink("https://x/" + key)
	if err != nil {
		return n
	}
	if v, ok := e.Get("00"); ok {
		n.Kind, n.SSCC = NodeUnit, v
		return n
	}
	if g, ok := e.Get("01"); ok {
		n.GTIN = g
		n.Lot, _ = e.Get("10")
		n.Serial, _ = e.Get("21")
		n.Kind = NodeLot
		if n.Serial != "" {
			n.Kind = NodeItem
		}
	}
	return n
}

// LotKey is the canonical class key of a batch.
func LotKey(gtin, lot string) string {
	k, _ := gs1.Key(gs1.Elements{{AI: "01", Value: gtin}, {AI: "10", Value: lot}})
	return k
}

// Trace walks the custody graph from the start keys (canonical keys, see
// gs1.ParseEPC) in one direction, level by level with indexed lookups,
// tolerating cycles. It is the engine recall scoping calls (as [System]).
// Officials trace anything and see everything. An entity traces from its
// own products and logistic units (see [Chain.MayTrace]) and sees only
// goods it owns or held: the walk does not go past other entities' goods,
// which appear as opaque nodes (other entities' items collapsed into one
// node per GTIN), and custodians list only what the entity may see.
func (c *Chain) Trace(ctx context.Context, p Principal, start []string, dir Direction, opt TraceOptions) (TraceGraph, error) {
	if err := p.Require(RoleRegulator, RoleInspector, RoleEntity); err != nil {
		return TraceGraph{}, err
	}
	if p.Role == RoleEntity {
		if err := c.MayTrace(ctx, p.EntityID, start); err != nil {
			return TraceGraph{}, err
		}
	}
	if dir != Forward && dir != Backward {
		return TraceGraph{}, Invalid("direction", "must be forward or backward")
	}
	if opt.MaxDepth == 0 {
		opt.MaxDepth = DefaultTraceDepth
	}
	if opt.MaxDepth < 1 || opt.MaxDepth > MaxTraceDepth {
		return TraceGraph{}, Invalid("depth", "must be between 1 and %d", MaxTraceDepth)
	}
	if opt.MaxNodes == 0 {
		opt.MaxNodes = DefaultTraceNodes
	}
	if opt.MaxNodes < 1 || opt.MaxNodes > MaxTraceNodes {
		return TraceGraph{}, Invalid("maxNodes", "must be between 1 and %d", MaxTraceNodes)
	}
	w := &walk{chain: c, dir: dir, opt: opt, nodes: map[string]*TraceNode{}, edgeSeen: map[string]bool{},
		held: map[string]map[string]bool{}, maxQty: map[string]map[[2]string]float64{}, containerOnly: map[string]bool{},
		eventSeen: map[string]bool{}, viewer: p.Scope(), owners: map[string]string{}}
	g := TraceGraph{Start: start, Direction: dir, MaxDepth: opt.MaxDepth}
	frontier := []string{}
	for _, k := range start {
		if w.addNode(k, 0) {
			frontier = append(frontier, k)
		}
	}
	for depth := 1; len(frontier) > 0; depth++ {
		if depth > opt.MaxDepth {
			g.Truncated, g.Reason = true, fmt.Sprintf("stopped at depth %d with %d nodes left to follow", opt.MaxDepth, len(frontier))
			break
		}
		next, err := w.level(ctx, frontier, depth)
		if err != nil {
			return TraceGraph{}, err
		}
		if w.full {
			g.Truncated, g.Reason = true, fmt.Sprintf("stopped at %d nodes", opt.MaxNodes)
			break
		}
		frontier = next
	}
	if err := w.finish(ctx, &g); err != nil {
		return TraceGraph{}, err
	}
	return g, nil
}

// walk is the state of one trace.
type walk struct {
	chain         *Chain
	dir           Direction
	opt           TraceOptions
	nodes         map[string]*TraceNode
	order         []string
	edges         []TraceEdge
	edgeSeen      map[string]bool
	eventSeen     map[string]bool
	held          map[string]map[string]bool       // entity → keys held
	maxQty        map[string]map[[2]string]float64 // entity → (class key, uom) → largest quantity seen
	containerOnly map[string]bool                  // reached as a container: follow its moves, not its contents
	full          bool
	viewer        string            // the entity tracing; "" for officials, who see everything
	owners        map[string]string // GTIN or SSCC key → owning entity, for viewers
}

// visible reports whether the viewer may see key's contents: it owns the
// product or logistic unit, or held it.
func (w *walk) visible(ctx context.Context, key string) (bool, error) {
	if w.viewer == "" || w.held[w.viewer][key] {
		return true, nil
	}
	n := w.nodes[key]
	if n == nil {
		n = &TraceNode{}
		*n = NodeOf(key)
	}
	var ownerKey string
	switch n.Kind {
	case NodeParty:
		return true, nil
	case NodeItem, NodeLot:
		ownerKey = n.GTIN
	case NodeUnit:
		ownerKey = "00/" + n.SSCC
	default:
		return false, nil
	}
	owner, ok := w.owners[ownerKey]
	if !ok {
		if n.Kind == NodeUnit {
			if u, err := w.chain.codes.SSCC(ctx, n.SSCC); err == nil {
				owner = u.OwnerID
			} else if !errors.Is(err, ErrNotFound) {
				return false, err
			}
		} else if p, err := w.chain.register.Product(ctx, n.GTIN); err == nil {
			owner = p.OwnerID
		} else if !errors.Is(err, ErrNotFound) {
			return false, err
		}
		w.owners[ownerKey] = owner
	}
	return owner == w.viewer, nil
}

func (w *walk) addNode(key string, depth int) bool {
	if _, ok := w.nodes[key]; ok {
		return false
	}
	if len(w.nodes) >= w.opt.MaxNodes {
		w.full = true
		return false
	}
	n := NodeOf(key)
	n.Depth = depth
	w.nodes[key] = &n
	w.order = append(w.order, key)
	return true
}

func (w *walk) edge(from, to, kind string, ev StoredEvent) {
	k := from + "\x00" + to + "\x00" + kind + "\x00" + ev.ID
	if w.edgeSeen[k] {
		return
	}
	w.edgeSeen[k] = true
	w.edges = append(w.edges, TraceEdge{From: from, To: to, Kind: kind, EventID: ev.ID, EventTime: ev.EventTime})
}

func (w *walk) hold(entity, key string) {
	if entity == "" {
		return
	}
	if w.held[entity] == nil {
		w.held[entity] = map[string]bool{}
	}
	w.held[entity][key] = true
}

// level follows one level of events from frontier and returns the keys
// reached for the first time.
func (w *walk) level(ctx context.Context, frontier []string, depth int) ([]string, error) {
	// An entity's walk does not go past goods it may not see.
	open := frontier[:0:0]
	for _, k := range frontier {
		ok, err := w.visible(ctx, k)
		if err != nil {
			return nil, err
		}
		if ok {
			open = append(open, k)
		}
	}
	frontier = open
	if len(frontier) == 0 {
		return nil, nil
	}
	var next []string
	reach := func(key string, asContainer bool) {
		if w.addNode(key, depth) {
			next = append(next, key)
			if asContainer {
				w.containerOnly[key] = true
			}
		}
	}
	// Issued items and their batches are linked by the code register, not by events.
	for _, k := range frontier {
		n := w.nodes[k]
		switch {
		case n.Kind == NodeItem && w.dir == Backward:
			if cd, err := w.chain.codes.Code(ctx, n.GTIN, n.Serial); err == nil {
				lot := LotKey(cd.GTIN, cd.Lot)
				reach(lot, false)
				w.edge(lot, k, EdgeContain, StoredEvent{})
			}
		case n.Kind == NodeLot && n.Lot != "" && w.dir == Forward:
			codes, err := w.chain.codes.ListCodes(ctx, CodeFilter{GTIN: n.GTIN, Lot: n.Lot}, Page{Limit: w.opt.MaxNodes})
			if err != nil {
				return nil, err
			}
			for _, cd := range codes {
				item := ItemKey(cd.GTIN, cd.Serial)
				reach(item, false)
				w.edge(k, item, EdgeContain, StoredEvent{})
			}
		}
	}
	events, err := w.chain.store.EventsByKeys(ctx, frontier, 100_000)
	if err != nil {
		return nil, fmt.Errorf("trace level %d: %w", depth, err)
	}
	inFrontier := make(map[string]bool, len(frontier))
	for _, k := range frontier {
		inFrontier[k] = true
	}
	for _, ev := range events {
		byRole := map[string][]string{}
		for _, r := range ev.Refs {
			byRole[r.Role] = append(byRole[r.Role], r.Key)
		}
		touches := func(roles ...string) []string {
			var out []string
			for _, role := range roles {
				for _, k := range byRole[role] {
					if inFrontier[k] {
						out = append(out, k)
					}
				}
			}
			return out
		}
		instances := slices.Concat(byRole[RoleEPC], byRole[RoleParent], byRole[RoleChild], byRole[RoleInput], byRole[RoleOutput])
		switch ev.Type {
		case "AggregationEvent":
			parents := byRole[RoleParent]
			children := slices.Concat(byRole[RoleChild], byRole[RoleChildClass])
			for _, k := range touches(RoleChild, RoleChildClass) {
				for _, p := range parents {
					w.edge(p, k, EdgeContain, ev)
					reach(p, w.dir == Backward)
				}
			}
			if w.dir == Backward {
				for _, p := range touches(RoleParent) {
					if w.containerOnly[p] {
						continue
					}
					for _, ch := range children {
						w.edge(p, ch, EdgeContain, ev)
						reach(ch, false)
					}
				}
			}
		case "TransformationEvent":
			ins := slices.Concat(byRole[RoleInput], byRole[RoleInputClass])
			outs := slices.Concat(byRole[RoleOutput], byRole[RoleOutputClass])
			if w.dir == Forward {
				if len(touches(RoleInput, RoleInputClass)) > 0 {
					for _, o := range outs {
						for _, in := range ins {
							w.edge(o, in, EdgeMadeOf, ev)
						}
						reach(o, false)
					}
				}
			} else if len(touches(RoleOutput, RoleOutputClass)) > 0 {
				for _, in := range ins {
					for _, o := range outs {
						w.edge(o, in, EdgeMadeOf, ev)
					}
					reach(in, false)
				}
			}
		}
		// Who held what: the capturer holds what it records, and a
		// shipment moves it to its destination.
		if w.eventSeen[ev.ID] {
			continue
		}
		w.eventSeen[ev.ID] = true
		held := slices.Concat(instances, byRole[RoleClass])
		if ev.BizStep != "shipping" || len(ev.Destinations()) == 0 {
			for _, k := range held {
				if _, ok := w.nodes[k]; ok {
					w.hold(ev.CapturedBy, k)
				}
			}
		}
		for _, p := range ev.Sources() {
			for _, k := range held {
				if _, ok := w.nodes[k]; ok {
					w.hold(p, k)
				}
			}
		}
		if ev.BizStep == "shipping" || ev.BizStep == "receiving" {
			for _, d := range ev.Destinations() {
				party := "entity:" + d
				moved := false
				for _, k := range touches(RoleEPC, RoleClass, RoleParent) {
					w.edge(k, party, EdgeMovedTo, ev)
					w.hold(d, k)
					moved = true
				}
				if moved && w.dir == Forward {
					w.addNode(party, depth)
				}
			}
		}
		w.quantities(ev)
	}
	return next, nil
}

// quantities records the class-level quantities an event shows its
// holder holding: the destination of a shipment, else the capturer. A
// holder's amount of one class is the largest seen, so the same stock
// recorded by several events is not counted twice.
func (w *walk) quantities(ev StoredEvent) {
	holders := []string{ev.CapturedBy}
	if ev.BizStep == "shipping" && len(ev.Destinations()) > 0 {
		holders = ev.Destinations()
	}
	for _, r := range ev.Refs {
		if r.Quantity == 0 {
			continue
		}
		if _, ok := w.nodes[r.Key]; !ok {
			continue
		}
		for _, h := range holders {
			if w.maxQty[h] == nil {
				w.maxQty[h] = map[[2]string]float64{}
			}
			k := [2]string{r.Key, r.UOM}
			w.maxQty[h][k] = max(w.maxQty[h][k], r.Quantity)
		}
	}
}

// Sources returns the registered entities named in the event's sourceList.
func (ev StoredEvent) Sources() []string { return partiesWith(ev, "source:") }

// Destinations returns the registered entities named in the event's
// destinationList.
func (ev StoredEvent) Destinations() []string { return partiesWith(ev, "destination:") }

func partiesWith(ev StoredEvent, prefix string) []string {
	var out []string
	for _, p := range ev.Parties {
		if id, ok := strings.CutPrefix(p, prefix); ok {
			out = append(out, id)
		}
	}
	return out
}

// finish fills the graph's lists and the custodians, with current holders
// of issued codes from the custody register.
func (w *walk) finish(ctx context.Context, g *TraceGraph) error {
	g.Nodes = make([]TraceNode, 0, len(w.order))
	var codeKeys []string
	hidden := map[string]bool{}   // keys the viewer may not see
	rename := map[string]string{} // hidden item key → its collapsed node
	collapsed := map[string]int{} // collapsed node key → index in g.Nodes
	for _, k := range w.order {
		n := *w.nodes[k]
		ok, err := w.visible(ctx, k)
		if err != nil {
			return err
		}
		if !ok {
			hidden[k] = true
			n.Opaque = true
			if n.Kind == NodeItem {
				// Another entity's items: one node per GTIN, no serials.
				ck := "opaque:01/" + n.GTIN
				rename[k] = ck
				if i, ok := collapsed[ck]; ok {
					g.Nodes[i].Count++
					continue
				}
				collapsed[ck] = len(g.Nodes)
				n = TraceNode{Key: ck, Kind: NodeItem, GTIN: n.GTIN, Depth: n.Depth, Opaque: true, Count: 1}
			}
			g.Nodes = append(g.Nodes, n)
			continue
		}
		g.Nodes = append(g.Nodes, n)
		if n.Kind == NodeItem || n.Kind == NodeUnit {
			codeKeys = append(codeKeys, k)
		}
	}
	g.Edges = []TraceEdge{}
	seen := map[TraceEdge]bool{}
	for _, e := range w.edges {
		if to, ok := rename[e.To]; ok {
			e.To = to
		}
		if from, ok := rename[e.From]; ok {
			e.From = from
		}
		if !seen[e] {
			seen[e] = true
			g.Edges = append(g.Edges, e)
		}
	}
	current := map[string]int{}
	for start := 0; start < len(codeKeys); start += 1000 {
		states, err := w.chain.store.Custody(ctx, codeKeys[start:min(start+1000, len(codeKeys))])
		if err != nil {
			return err
		}
		for k, s := range states {
			if s.Possessor != "" {
				w.hold(s.Possessor, k)
				current[s.Possessor]++
			}
		}
	}
	g.Custodians = []Holding{}
	for id, keys := range w.held {
		for k := range keys {
			if hidden[k] {
				delete(keys, k)
			}
		}
		if len(keys) == 0 {
			continue // only goods the viewer may not see
		}
		h := Holding{EntityID: id, Current: current[id]}
		for k, q := range w.maxQty[id] {
			if hidden[k[0]] {
				continue
			}
			if h.Amounts == nil {
				h.Amounts = map[string]float64{}
			}
			h.Amounts[k[1]] += q
		}
		for k := range keys {
			h.Keys = append(h.Keys, k)
			if n, ok := w.nodes[k]; ok && (n.Kind == NodeItem || n.Kind == NodeUnit) {
				h.Items++
			}
		}
		slices.Sort(h.Keys)
		if e, err := w.chain.register.Entity(ctx, id); err == nil {
			h.Name = e.Name
		}
		g.Custodians = append(g.Custodians, h)
	}
	slices.SortFunc(g.Custodians, func(a, b Holding) int { return strings.Compare(a.EntityID, b.EntityID) })
	return nil
}

// MayTrace checks that entity may trace from keys: each must be a product,
// lot or item of one of its products, or an SSCC it issued. Officials may
// trace anything and do not call this.
func (c *Chain) MayTrace(ctx context.Context, entityID string, keys []string) error {
	for _, k := range keys {
		n := NodeOf(k)
		switch n.Kind {
		case NodeItem, NodeLot:
			p, err := c.register.Product(ctx, n.GTIN)
			if err == nil && p.OwnerID == entityID {
				continue
			}
		case NodeUnit:
			s, err := c.codes.SSCC(ctx, n.SSCC)
			if err == nil && s.OwnerID == entityID {
				continue
			}
		}
		return &FieldError{Field: "epc", Kind: ErrForbidden,
			Msg: fmt.Sprintf("%s is not one of your products or logistic units; only officials may trace it", k)}
	}
	return nil
}
