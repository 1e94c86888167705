package trace

import (
	"cmp"
	"context"
	"fmt"
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
	Name   string `json:"name,omitempty"`     // for party nodes: the entity's name
	Depth  int    `json:"depth"`
	// Opaque marks another entity's goods in an entity's trace: the trace
	// continues there, but their contents, serials and custodians are not
	// the caller's to see. Count is how many items one opaque item node
	// stands for.
	Opaque bool `json:"opaque,omitempty"`
	Count  int  `json:"count,omitempty"`
}

// TraceEdge links two nodes: From contains To, From is made from To, or
// From moved to To; EventID is the event that says so, at EventTime. A
// lot contains its codes by the code register, not by an event: such an
// edge names the Issuance that minted the code instead, and EventTime is
// when it was issued.
type TraceEdge struct {
	From      string    `json:"from"`
	To        string    `json:"to"`
	Kind      string    `json:"kind"`
	EventID   string    `json:"eventId"`
	EventTime time.Time `json:"eventTime"`
	Issuance  string    `json:"issuance,omitempty"`
}

// Holding is what a custodian holds or held of the traced goods.
type Holding struct {
	EntityID string             `json:"entityId"`
	Name     string             `json:"name,omitempty"`
	Items    int                `json:"items"`                // distinct items and logistic units
	Amounts  map[string]float64 `json:"quantities,omitempty"` // class-level quantities by unit of measure
	Current  int                `json:"currentItems"`         // issued codes it holds now
	Keys     []string           `json:"keys"`                 // what it holds or held; only in a whole graph (Trace)
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
	// Unmoved counts the codes a summarising walk did not list (see
	// [TraceOptions].SummariseUnmoved).
	Unmoved []UnmovedCodes `json:"unmoved,omitempty"`
}

// TraceOptions bound a walk.
type TraceOptions struct {
	MaxDepth int // levels of events to follow; 0 means 10
	MaxNodes int // 0 means 10,000 ([Chain.Trace]) or 1,000,000 ([Chain.Walk])
	// SummariseUnmoved counts, per lot and state, the codes of a lot that
	// no custody event named yet ([UnmovedCodes]) instead of reaching each
	// as a node: a lot of a million issued codes is one count.
	SummariseUnmoved bool
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
// tolerating cycles, and returns the graph whole. It is the engine recall
// scoping calls (as [System]); [Chain.Walk] is the same walk sent as it
// goes, for graphs too large to hold.
//
// Officials trace anything and see everything. An entity traces from its
// own products and logistic units (see [Chain.MayTrace]) and sees only
// goods it owns or held: the walk does not go past other entities' goods,
// which appear as opaque nodes (other entities' items collapsed into one
// node per GTIN), and custodians list only what the entity may see.
//
// A forward walk reaches a lot's codes from the code register: those some
// custody event named as nodes it walks on; the others, which no event
// names, as leaf nodes, or counted in Unmoved when opt.SummariseUnmoved.
// MaxNodes bounds the nodes of the answer, leaves included.
func (c *Chain) Trace(ctx context.Context, p Principal, start []string, dir Direction, opt TraceOptions) (TraceGraph, error) {
	if opt.MaxNodes == 0 {
		opt.MaxNodes = DefaultTraceNodes
	}
	if opt.MaxNodes < 1 || opt.MaxNodes > MaxTraceNodes {
		return TraceGraph{}, Invalid("maxNodes", "must be between 1 and %d", MaxTraceNodes)
	}
	g := &graphSink{g: TraceGraph{Start: start, Direction: dir, Nodes: []TraceNode{}, Edges: []TraceEdge{}, Custodians: []Holding{}}}
	res, err := c.walk(ctx, p, start, dir, opt, g, walkMode{bounded: true, keys: true})
	if err != nil {
		return TraceGraph{}, err
	}
	g.g.MaxDepth = cmp.Or(opt.MaxDepth, DefaultTraceDepth)
	g.g.Truncated, g.g.Reason = res.Truncated, res.Reason
	return g.g, nil
}

// graphSink builds a [TraceGraph] from a walk.
type graphSink struct{ g TraceGraph }

func (s *graphSink) Node(n TraceNode) error { s.g.Nodes = append(s.g.Nodes, n); return nil }
func (s *graphSink) Edge(e TraceEdge) error { s.g.Edges = append(s.g.Edges, e); return nil }
func (s *graphSink) Unmoved(u UnmovedCodes) error {
	s.g.Unmoved = append(s.g.Unmoved, u)
	return nil
}
func (s *graphSink) Custodian(h Holding) error {
	s.g.Custodians = append(s.g.Custodians, h)
	return nil
}

// Sources returns the registered entities named in the event's sourceList.
func (ev StoredEvent) Sources() []string { return partiesWith(ev, "source:") }

// Destinations returns the registered entities named in the event's
// destinationList.
func (ev StoredEvent) Destinations() []string { return partiesWith(ev, "destination:") }

// SoleHolder is the capturer of an event whose only bearing on a custody
// walk is that its capturer holds what it names: it links nothing (no
// AggregationEvent or TransformationEvent), moves nothing (no shipping or
// receiving) and names no party. Sales, commissioning and inspections
// are such events. It is "" for any other event. A store may merge such
// events by holder for a walk (see [EventStore.WalkEvents]); the walk
// then treats each merged entry as one of them.
func (ev StoredEvent) SoleHolder() string {
	switch {
	case ev.Type == "AggregationEvent" || ev.Type == "TransformationEvent",
		ev.BizStep == "shipping" || ev.BizStep == "receiving",
		len(ev.Parties) > 0:
		return ""
	}
	return ev.CapturedBy
}

func partiesWith(ev StoredEvent, prefix string) []string {
	var out []string
	for _, p := range ev.Parties {
		if id, ok := strings.CutPrefix(p, prefix); ok {
			out = append(out, id)
		}
	}
	return out
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
