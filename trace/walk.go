package trace

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"tracesvc/trace/gs1"
)

// TraceSink receives what a walk finds, as it finds it (see [Chain.Walk]).
// An error from one of its methods stops the walk, which returns it.
type TraceSink interface {
	// Node is a node reached for the first time; another entity's items,
	// which an entity's walk collapses into one opaque node per GTIN, come
	// at the end with their count.
	Node(n TraceNode) error
	// Edge is a link found between two nodes already sent.
	Edge(e TraceEdge) error
	// Unmoved counts a lot's codes that no custody event named yet, when
	// the walk summarises them (see [TraceOptions].SummariseUnmoved).
	Unmoved(u UnmovedCodes) error
	// Custodian is one holder of the traced goods, once the walk is over.
	Custodian(h Holding) error
}

// UnmovedCodes counts the codes of a lot in one state that no custody
// event named yet: issued, never commissioned, shipped or packed. A
// forward walk that summarises them does not list them one node each.
type UnmovedCodes struct {
	GTIN  string    `json:"gtin"`
	Lot   string    `json:"lot"`
	State CodeState `json:"state"`
	Count int       `json:"count"`
}

// WalkResult is how a walk ended.
type WalkResult struct {
	Truncated bool   `json:"truncated"`
	Reason    string `json:"truncatedReason,omitempty"`
	Nodes     int    `json:"nodes"` // nodes sent, opaque ones included
	Edges     int    `json:"edges"`
	// Unmoved is how many codes the walk counted instead of listing.
	Unmoved int `json:"unmoved"`
}

// Limits of a streamed walk ([Chain.Walk]), which keeps what it sends in
// no answer: a node costs it about 100 bytes for as long as it runs.
const (
	DefaultStreamNodes = 1_000_000
	MaxStreamNodes     = 1_000_000
)

// Walk limits that bound one step of a walk: keys whose events are read
// together, and events read for them at most.
const (
	walkChunk     = 4096
	maxWalkEvents = 200_000
	codePage      = 10_000
)

// Walk walks the custody graph as [Chain.Trace] does, under the same rules
// of who may trace what and what an entity sees, but sends what it finds
// to sink as it goes instead of building the graph: a walk of a million
// nodes holds no answer in memory. MaxNodes bounds the nodes it walks
// (default and maximum [MaxStreamNodes]); codes of a lot that no event
// named, listed when the walk does not summarise them, are leaves it does
// not remember and does not count.
func (c *Chain) Walk(ctx context.Context, p Principal, start []string, dir Direction, opt TraceOptions, sink TraceSink) (WalkResult, error) {
	if opt.MaxNodes == 0 {
		opt.MaxNodes = DefaultStreamNodes
	}
	if opt.MaxNodes < 1 || opt.MaxNodes > MaxStreamNodes {
		return WalkResult{}, Invalid("maxNodes", "must be between 1 and %d", MaxStreamNodes)
	}
	return c.walk(ctx, p, start, dir, opt, sink, walkMode{})
}

// walkMode is how a walk feeds its caller.
type walkMode struct {
	// bounded counts every node sent against MaxNodes, listed unmoved
	// codes included: the caller holds them all.
	bounded bool
	// keys lists each custodian's keys in its Holding.
	keys bool
}

// walk checks the caller and options and runs one walk into sink.
func (c *Chain) walk(ctx context.Context, p Principal, start []string, dir Direction, opt TraceOptions, sink TraceSink, mode walkMode) (WalkResult, error) {
	if err := p.Require(RoleRegulator, RoleInspector, RoleEntity); err != nil {
		return WalkResult{}, err
	}
	if p.Role == RoleEntity {
		if err := c.MayTrace(ctx, p.EntityID, start); err != nil {
			return WalkResult{}, err
		}
	}
	if dir != Forward && dir != Backward {
		return WalkResult{}, Invalid("direction", "must be forward or backward")
	}
	if opt.MaxDepth == 0 {
		opt.MaxDepth = DefaultTraceDepth
	}
	if opt.MaxDepth < 1 || opt.MaxDepth > MaxTraceDepth {
		return WalkResult{}, Invalid("depth", "must be between 1 and %d", MaxTraceDepth)
	}
	w := &walker{chain: c, dir: dir, opt: opt, mode: mode, sink: sink, viewer: p.Scope(),
		index: map[string]int32{}, held: map[string]*bitset{}, maxQty: map[string]map[[2]string]float64{},
		owners: map[string]string{}, names: map[string]string{}, opaque: map[string]int{}}
	var frontier []int32
	for _, k := range start {
		i, isNew, err := w.reach(ctx, k, 0, false, nil)
		if err != nil {
			return WalkResult{}, err
		}
		if isNew && w.expandable(i) {
			frontier = append(frontier, i)
		}
	}
	for depth := 1; len(frontier) > 0 && !w.stop; depth++ {
		if depth > opt.MaxDepth {
			w.truncate(fmt.Sprintf("stopped at depth %d with %d nodes left to follow", opt.MaxDepth, len(frontier)))
			break
		}
		next, err := w.level(ctx, frontier, depth)
		if err != nil {
			return WalkResult{}, err
		}
		frontier = next
	}
	if err := w.finish(ctx); err != nil {
		return WalkResult{}, err
	}
	return w.res, nil
}

// node flags.
const (
	flagHidden    = 1 << iota // not the viewer's to see: opaque
	flagContainer             // reached as a container: follow its moves, not its contents
)

// walkNode is what a walk remembers of a node: 32 bytes beside its key
// and seq.
type walkNode struct {
	key string
	// seq is the code register's Seq of an item reached from its lot's
	// codes, "" for other nodes: a store finds those items' events by it
	// (see [EventStore.WalkEvents]).
	seq   string
	depth int32
	kind  uint8 // in nodeKinds
	flags uint8
	// poss is who holds the code now, when a code list said so: an index
	// in walker.ids (0: not read; 1: nobody).
	poss int32
}

// nodeKinds numbers the node kinds for walkNode.
var nodeKinds = []string{NodeOther, NodeItem, NodeLot, NodeUnit, NodeParty}

const (
	kindOther uint8 = iota
	kindItem
	kindLot
	kindUnit
	kindParty
)

func kindOf(kind string) uint8 {
	for i, k := range nodeKinds {
		if k == kind {
			return uint8(i)
		}
	}
	return kindOther
}

// walker is the state of one walk.
type walker struct {
	chain  *Chain
	dir    Direction
	opt    TraceOptions
	mode   walkMode
	sink   TraceSink
	viewer string // the entity walking; "" for officials, who see everything

	index  map[string]int32
	nodes  []walkNode
	held   map[string]*bitset               // entity → nodes it holds or held
	maxQty map[string]map[[2]string]float64 // entity → (class key, uom) → largest quantity seen
	owners map[string]string                // GTIN or "00/"+SSCC → owning entity, for viewers
	names  map[string]string                // entity → name
	// ids are the entity IDs nodes refer to (walkNode.poss), and idIndex
	// their indexes.
	ids     []string
	idIndex map[string]int32
	// opaque counts the collapsed nodes of other entities' items, by key;
	// opaqueAt keeps their order and first depth.
	opaque   map[string]int
	opaqueAt []TraceNode
	// seen holds edges that could be found twice: those renamed onto an
	// opaque node, and those of linking events seen from several sides.
	seen   map[TraceEdge]bool
	linked map[string]bool // transformation events whose edges were all sent

	res  WalkResult
	stop bool // truncated: finish the level, then end
}

func (w *walker) truncate(reason string) {
	if !w.res.Truncated {
		w.res.Truncated, w.res.Reason = true, reason
	}
	w.stop = true
}

// expandable reports whether the walk follows node i's events.
func (w *walker) expandable(i int32) bool {
	n := &w.nodes[i]
	return n.flags&flagHidden == 0 && n.kind != kindParty
}

// reach adds key as a node at depth unless it is one already, and returns
// its index and whether it is new; -1 when the walk is full. An entity's
// walk decides here whether the node is the viewer's to see: it owns the
// product or logistic unit, or holders (those event via says hold it)
// include it.
func (w *walker) reach(ctx context.Context, key string, depth int, container bool, holders []string) (int32, bool, error) {
	if i, ok := w.index[key]; ok {
		return i, false, nil
	}
	if len(w.nodes) >= w.opt.MaxNodes || w.mode.bounded && w.res.Nodes >= w.opt.MaxNodes {
		w.truncate(fmt.Sprintf("stopped at %d nodes", w.opt.MaxNodes))
		return -1, false, nil
	}
	n := fastNode(key)
	n.Depth = depth
	i := int32(len(w.nodes))
	wn := walkNode{key: key, kind: kindOf(n.Kind), depth: int32(depth)}
	if container {
		wn.flags |= flagContainer
	}
	w.nodes = append(w.nodes, wn)
	w.index[key] = i
	if w.viewer != "" && !slices.Contains(holders, w.viewer) {
		ok, err := w.owned(ctx, n)
		if err != nil {
			return -1, false, err
		}
		if !ok {
			w.nodes[i].flags |= flagHidden
		}
	}
	return i, true, w.send(ctx, n, w.nodes[i].flags&flagHidden != 0)
}

// send sends a new node, or counts it into its opaque node.
func (w *walker) send(ctx context.Context, n TraceNode, hidden bool) error {
	if hidden {
		n.Opaque = true
		if n.Kind == NodeItem {
			// Another entity's items: one node per GTIN, no serials.
			k := "opaque:01/" + n.GTIN
			if _, ok := w.opaque[k]; !ok {
				w.opaqueAt = append(w.opaqueAt, TraceNode{Key: k, Kind: NodeItem, GTIN: n.GTIN, Depth: n.Depth, Opaque: true})
			}
			w.opaque[k]++
			return nil
		}
	}
	if n.Kind == NodeParty {
		n.Name = w.name(ctx, n.Entity)
	}
	w.res.Nodes++
	return w.sink.Node(n)
}

// owned reports whether the viewer owns n's product or logistic unit;
// parties are everyone's to see.
func (w *walker) owned(ctx context.Context, n TraceNode) (bool, error) {
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

// name returns an entity's name, "" when it is not registered.
func (w *walker) name(ctx context.Context, id string) string {
	if n, ok := w.names[id]; ok {
		return n
	}
	e, _ := w.chain.register.Entity(ctx, id)
	w.names[id] = e.Name
	return e.Name
}

// shown is the key a node is shown under: its own, or its opaque node's.
func (w *walker) shown(i int32) string {
	n := &w.nodes[i]
	if n.flags&flagHidden != 0 && n.kind == kindItem {
		return "opaque:01/" + fastNode(n.key).GTIN
	}
	return n.key
}

// edge sends the edge from → to (node indexes) once.
func (w *walker) edge(from, to int32, kind string, ev StoredEvent, issuance string, dedupe bool) error {
	if from < 0 || to < 0 {
		return nil // an end the walk had no room for
	}
	e := TraceEdge{From: w.shown(from), To: w.shown(to), Kind: kind, EventID: ev.ID, EventTime: ev.EventTime, Issuance: issuance}
	if dedupe || e.From != w.nodes[from].key || e.To != w.nodes[to].key {
		if w.seen == nil {
			w.seen = map[TraceEdge]bool{}
		}
		if w.seen[e] {
			return nil
		}
		w.seen[e] = true
	}
	w.res.Edges++
	return w.sink.Edge(e)
}

// hold records that entity holds or held node i.
func (w *walker) hold(entity string, i int32) {
	if entity == "" || i < 0 {
		return
	}
	b := w.held[entity]
	if b == nil {
		b = &bitset{}
		w.held[entity] = b
	}
	b.set(int(i))
}

// level follows one level of links from frontier (nodes to expand) and
// returns the nodes reached for the first time that the walk may expand.
func (w *walker) level(ctx context.Context, frontier []int32, depth int) ([]int32, error) {
	var next []int32
	add := func(i int32, isNew bool) {
		if isNew && w.expandable(i) {
			next = append(next, i)
		}
	}
	// Issued items and their batches are linked by the code register, not by events.
	for _, i := range frontier {
		n := w.nodes[i]
		switch {
		case n.kind == kindItem && w.dir == Backward:
			nd := fastNode(n.key)
			cd, err := w.chain.codes.Code(ctx, nd.GTIN, nd.Serial)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("trace level %d: %w", depth, err)
			}
			lot, isNew, err := w.reach(ctx, LotKey(cd.GTIN, cd.Lot), depth, false, nil)
			if err != nil {
				return nil, err
			}
			add(lot, isNew)
			if err := w.edge(lot, i, EdgeContain, StoredEvent{EventTime: cd.IssuedAt}, cd.Issuance, false); err != nil {
				return nil, err
			}
		case n.kind == kindLot && w.dir == Forward:
			nd := fastNode(n.key)
			if nd.Lot == "" {
				continue
			}
			reached, err := w.lotCodes(ctx, i, nd.GTIN, nd.Lot, depth)
			if err != nil {
				return nil, err
			}
			next = append(next, reached...)
		}
		if w.stop {
			return next, nil
		}
	}
	// The store reads the next chunk's events while the walk follows
	// these: one query at a time, on another core.
	// Chunks keep the frontier's order: codes issued together are listed
	// together and usually packed and shipped together, so a chunk's events
	// are mostly its own. (Sorting the whole frontier by key spread each
	// case's units over every chunk: 2× slower.)
	keys, seqs := make([]string, len(frontier)), make([]string, len(frontier))
	for j, i := range frontier {
		keys[j], seqs[j] = w.nodes[i].key, w.nodes[i].seq
	}
	start := 0
	err := pipeline(ctx, func(ctx context.Context) ([]WalkEvent, bool, error) {
		end := min(start+walkChunk, len(keys))
		part, partSeqs := keys[start:end], seqs[start:end]
		start = end
		events, err := w.chain.store.WalkEvents(ctx, part, partSeqs, true, maxWalkEvents)
		if err != nil {
			return nil, false, fmt.Errorf("trace level %d: %w", depth, err)
		}
		if len(events) >= maxWalkEvents {
			err = errTooMany
		}
		return events, start < len(keys), err
	}, func(events []WalkEvent) error {
		for _, ev := range events {
			reached, err := w.event(ctx, ev, depth)
			if err != nil {
				return err
			}
			for _, r := range reached {
				add(r, true)
			}
		}
		return nil
	})
	if errors.Is(err, errTooMany) {
		w.truncate(fmt.Sprintf("more than %d events name %d nodes at depth %d", maxWalkEvents, min(walkChunk, len(keys)), depth-1))
		err = nil
	}
	return next, err
}

// errTooMany stops a level whose nodes more events name than a walk reads.
var errTooMany = errors.New("trace: too many events")

// pipeline calls next in a goroutine of its own, one call ahead of use,
// until next says there is no more or either fails. It returns once that
// goroutine is done: next must not touch what use changes.
func pipeline[T any](ctx context.Context, next func(context.Context) (T, bool, error), use func(T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	type item struct {
		v   T
		err error
	}
	ch := make(chan item, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		for {
			v, more, err := next(ctx)
			select {
			case ch <- item{v, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || !more {
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-done
	}()
	for it := range ch {
		if it.err != nil && !errors.Is(it.err, errTooMany) {
			return it.err
		}
		if err := use(it.v); err != nil {
			return err
		}
		if it.err != nil {
			return it.err
		}
	}
	return nil
}

// lotCodes reaches the codes of lot node i from the code register: the
// codes some event named, as nodes to walk; the others, which no event
// names, as a count, or as leaves it sends and forgets.
func (w *walker) lotCodes(ctx context.Context, i int32, gtin, lot string, depth int) ([]int32, error) {
	var next []int32
	lotNode := w.nodes[i]
	if w.opt.SummariseUnmoved {
		all, moved, err := w.chain.codes.CountCodes(ctx, gtin, lot)
		if err != nil {
			return nil, fmt.Errorf("codes of %s: %w", lotNode.key, err)
		}
		w.nodes = slices.Grow(w.nodes, moved)
		if n := all - moved; n > 0 {
			w.res.Unmoved += n
			if err := w.sink.Unmoved(UnmovedCodes{GTIN: gtin, Lot: lot, State: StateIssued, Count: n}); err != nil {
				return nil, err
			}
		}
	}
	after := ""
	full := errors.New("full")
	err := pipeline(ctx, func(ctx context.Context) ([]Code, bool, error) {
		codes, err := w.chain.codes.ListCodes(ctx, CodeFilter{GTIN: gtin, Lot: lot, Moved: true}, Page{Limit: codePage, After: after})
		if err != nil {
			return nil, false, fmt.Errorf("codes of %s: %w", lotNode.key, err)
		}
		if len(codes) == codePage {
			after = codes[len(codes)-1].Seq
		}
		return codes, len(codes) == codePage, nil
	}, func(codes []Code) error {
		for _, cd := range codes {
			k, isNew, err := w.reach(ctx, ItemKey(cd.GTIN, cd.Serial), depth, false, nil)
			if err != nil {
				return err
			}
			if k < 0 {
				return full
			}
			if isNew {
				w.nodes[k].poss, w.nodes[k].seq = w.intern(cd.Possessor), cd.Seq
				if w.expandable(k) {
					next = append(next, k)
				}
			}
			if err := w.edge(i, k, EdgeContain, StoredEvent{EventTime: cd.IssuedAt}, cd.Issuance, false); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case err == full:
		return next, nil
	case err != nil:
		return nil, err
	}
	if w.opt.SummariseUnmoved {
		return next, nil
	}
	// Unmoved codes are leaves: no event names them, so nothing links them
	// to anything else, and the walk need not remember them.
	for after := ""; ; {
		codes, err := w.chain.codes.ListCodes(ctx, CodeFilter{GTIN: gtin, Lot: lot, Unmoved: true}, Page{Limit: codePage, After: after})
		if err != nil {
			return nil, fmt.Errorf("codes of %s: %w", lotNode.key, err)
		}
		for _, cd := range codes {
			key := ItemKey(cd.GTIN, cd.Serial)
			if _, ok := w.index[key]; ok {
				continue // a start of the walk
			}
			if w.mode.bounded && w.res.Nodes >= w.opt.MaxNodes {
				w.truncate(fmt.Sprintf("stopped at %d nodes", w.opt.MaxNodes))
				return next, nil
			}
			n := fastNode(key)
			n.Depth = depth
			if err := w.send(ctx, n, lotNode.flags&flagHidden != 0); err != nil {
				return nil, err
			}
			e := TraceEdge{From: lotNode.key, To: key, Kind: EdgeContain, EventTime: cd.IssuedAt, Issuance: cd.Issuance}
			w.res.Edges++
			if err := w.sink.Edge(e); err != nil {
				return nil, err
			}
		}
		if len(codes) < codePage {
			return next, nil
		}
		after = codes[len(codes)-1].Seq
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// intern returns the index of entity id in w.ids: 1 for nobody ("").
func (w *walker) intern(id string) int32 {
	if id == "" {
		return 1
	}
	if i, ok := w.idIndex[id]; ok {
		return i
	}
	if w.idIndex == nil {
		w.idIndex = map[string]int32{}
		w.ids = []string{"", ""}
	}
	i := int32(len(w.ids))
	w.ids = append(w.ids, id)
	w.idIndex[id] = i
	return i
}

// event follows one event from the frontier keys it names (its Touched)
// and returns the nodes it reached for the first time.
func (w *walker) event(ctx context.Context, ev WalkEvent, depth int) ([]int32, error) {
	var next []int32
	dests := ev.Destinations()
	shipped := ev.BizStep == "shipping" && len(dests) > 0
	// Who holds what the event names: its capturer (unless it ships the
	// goods away) and its sources; a shipment's destination holds what
	// it moves (below).
	holders := ev.Sources()
	if !shipped {
		holders = append(holders, ev.CapturedBy)
	}
	reach := func(key string, container bool) (int32, error) {
		i, isNew, err := w.reach(ctx, key, depth, container, holders)
		if isNew && w.expandable(i) {
			next = append(next, i)
		}
		return i, err
	}
	touched := func(roles ...string) []int32 {
		var out []int32
		for _, r := range ev.Touched {
			if slices.Contains(roles, r.Role) {
				if i, ok := w.index[r.Key]; ok {
					out = append(out, i)
				}
			}
		}
		return out
	}
	byRole := func(roles ...string) []string {
		var out []string
		for _, r := range ev.Refs {
			if slices.Contains(roles, r.Role) {
				out = append(out, r.Key)
			}
		}
		return out
	}
	switch ev.Type {
	case "AggregationEvent":
		parents := byRole(RoleParent)
		for _, k := range touched(RoleChild, RoleChildClass) {
			for _, p := range parents {
				pi, err := reach(p, w.dir == Backward)
				if err != nil {
					return nil, err
				}
				if err := w.edge(pi, k, EdgeContain, ev.StoredEvent, "", w.dir == Backward); err != nil {
					return nil, err
				}
			}
		}
		if w.dir == Backward {
			for _, p := range touched(RoleParent) {
				if w.nodes[p].flags&flagContainer != 0 {
					continue
				}
				for _, ch := range byRole(RoleChild, RoleChildClass) {
					ci, err := reach(ch, false)
					if err != nil {
						return nil, err
					}
					if err := w.edge(p, ci, EdgeContain, ev.StoredEvent, "", true); err != nil {
						return nil, err
					}
				}
			}
		}
	case "TransformationEvent":
		ins, outs := byRole(RoleInput, RoleInputClass), byRole(RoleOutput, RoleOutputClass)
		from, to := []string{RoleInput, RoleInputClass}, outs // the side the walk comes from, the keys it goes to
		if w.dir == Backward {
			from, to = []string{RoleOutput, RoleOutputClass}, ins
		}
		if len(touched(from...)) > 0 && !w.linked[ev.ID] {
			if w.linked == nil {
				w.linked = map[string]bool{}
			}
			w.linked[ev.ID] = true
			for _, k := range to {
				if _, err := reach(k, false); err != nil {
					return nil, err
				}
			}
			for _, o := range outs {
				for _, in := range ins {
					if err := w.edge(w.indexOf(o), w.indexOf(in), EdgeMadeOf, ev.StoredEvent, "", false); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	// What the event names and the walk holds as nodes: all references of
	// a linking event, the ones reached of any other.
	refs := ev.Touched
	if ev.Refs != nil {
		refs = ev.Refs
	}
	for _, r := range refs {
		if i, ok := w.index[r.Key]; ok {
			for _, h := range holders {
				w.hold(h, i)
			}
		}
	}
	if ev.BizStep == "shipping" || ev.BizStep == "receiving" {
		for _, d := range dests {
			moved := touched(RoleEPC, RoleClass, RoleParent)
			if len(moved) == 0 {
				continue
			}
			party, _, err := w.reach(ctx, "entity:"+d, depth, false, nil)
			if err != nil {
				return nil, err
			}
			for _, k := range moved {
				if err := w.edge(k, party, EdgeMovedTo, ev.StoredEvent, "", false); err != nil {
					return nil, err
				}
				w.hold(d, k)
			}
		}
	}
	w.quantities(ev, refs, dests, shipped)
	return next, nil
}

// indexOf is the node index of key, -1 when it is no node.
func (w *walker) indexOf(key string) int32 {
	if i, ok := w.index[key]; ok {
		return i
	}
	return -1
}

// quantities records the class-level quantities an event shows its
// holder holding: the destination of a shipment, else the capturer. A
// holder's amount of one class is the largest seen, so the same stock
// recorded by several events is not counted twice.
func (w *walker) quantities(ev WalkEvent, refs []EventRef, dests []string, shipped bool) {
	holders := []string{ev.CapturedBy}
	if shipped {
		holders = dests
	}
	for _, r := range refs {
		if r.Quantity == 0 {
			continue
		}
		if _, ok := w.index[r.Key]; !ok {
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

// finish sends the opaque nodes, reads who holds the walked codes now,
// and sends the custodians.
func (w *walker) finish(ctx context.Context) error {
	for _, n := range w.opaqueAt {
		n.Count = w.opaque[n.Key]
		w.res.Nodes++
		if err := w.sink.Node(n); err != nil {
			return err
		}
	}
	current := map[string]int{}
	var unknown []string
	possess := func(i int32, who string) {
		if who != "" {
			w.hold(who, i)
			current[who]++
		}
	}
	readPossessors := func() error {
		who, err := w.chain.store.Possessors(ctx, unknown)
		if err != nil {
			return fmt.Errorf("trace custodians: %w", err)
		}
		for _, k := range unknown {
			possess(w.index[k], who[k])
		}
		unknown = unknown[:0]
		return nil
	}
	for i := range w.nodes {
		n := &w.nodes[i]
		if n.flags&flagHidden != 0 || (n.kind != kindItem && n.kind != kindUnit) {
			continue
		}
		if n.poss != 0 {
			possess(int32(i), w.ids[n.poss])
			continue
		}
		if unknown = append(unknown, n.key); len(unknown) == walkChunk {
			if err := readPossessors(); err != nil {
				return err
			}
		}
	}
	if err := readPossessors(); err != nil {
		return err
	}
	ids := make([]string, 0, len(w.held))
	for id := range w.held {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		h := Holding{EntityID: id, Current: current[id]}
		n := 0
		for i := range w.held[id].all() {
			node := &w.nodes[i]
			if node.flags&flagHidden != 0 {
				continue // goods the viewer may not see
			}
			n++
			if node.kind == kindItem || node.kind == kindUnit {
				h.Items++
			}
			if w.mode.keys {
				h.Keys = append(h.Keys, node.key)
			}
		}
		if n == 0 {
			continue
		}
		for k, q := range w.maxQty[id] {
			if i, ok := w.index[k[0]]; !ok || w.nodes[i].flags&flagHidden != 0 {
				continue
			}
			if h.Amounts == nil {
				h.Amounts = map[string]float64{}
			}
			h.Amounts[k[1]] += q
		}
		slices.Sort(h.Keys)
		h.Name = w.name(ctx, id)
		if err := w.sink.Custodian(h); err != nil {
			return err
		}
	}
	return nil
}

// fastNode describes a canonical key as [NodeOf] does, without parsing
// the keys a walk meets most (items, lots, logistic units, parties) as a
// Digital Link: they are canonical already.
func fastNode(key string) TraceNode {
	if id, ok := strings.CutPrefix(key, "entity:"); ok {
		return TraceNode{Key: key, Kind: NodeParty, Entity: id}
	}
	if strings.ContainsRune(key, '%') {
		return NodeOf(key) // escapes to undo
	}
	if sscc, ok := strings.CutPrefix(key, "00/"); ok && len(sscc) == 18 && digits(sscc) && gs1.ValidCheckDigit(sscc) {
		return TraceNode{Key: key, Kind: NodeUnit, SSCC: sscc}
	}
	rest, ok := strings.CutPrefix(key, "01/")
	if !ok || len(rest) < 14 || !digits(rest[:14]) || !gs1.ValidCheckDigit(rest[:14]) {
		return NodeOf(key)
	}
	gtin, rest := rest[:14], rest[14:]
	switch {
	case rest == "":
		return TraceNode{Key: key, Kind: NodeLot, GTIN: gtin}
	case strings.HasPrefix(rest, "/21/") && len(rest) > 4 && !strings.Contains(rest[4:], "/"):
		return TraceNode{Key: key, Kind: NodeItem, GTIN: gtin, Serial: rest[4:]}
	case strings.HasPrefix(rest, "/10/") && len(rest) > 4 && !strings.Contains(rest[4:], "/"):
		return TraceNode{Key: key, Kind: NodeLot, GTIN: gtin, Lot: rest[4:]}
	}
	return NodeOf(key)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// bitset is a growable set of small non-negative integers.
type bitset struct{ words []uint64 }

func (b *bitset) set(i int) {
	w := i / 64
	if w >= len(b.words) {
		b.words = slices.Grow(b.words, w+1-len(b.words))[:w+1]
	}
	b.words[w] |= 1 << (uint(i) % 64)
}

// all yields the set's members in increasing order.
func (b *bitset) all() func(yield func(int) bool) {
	return func(yield func(int) bool) {
		for wi, word := range b.words {
			for word != 0 {
				t := bits.TrailingZeros64(word)
				if !yield(wi*64 + t) {
					return
				}
				word &= word - 1
			}
		}
	}
}
