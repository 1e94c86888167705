package tracesql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/access"
	"tracesvc/trace/fsma"
	"tracesvc/trace/gs1"
	"tracesvc/trace/sqlitedb"
	"tracesvc/trace/tracesql"
)

// The wide-trace store (issue 14, item 3): 10,000,000 events, among which
// one lot (WIDE) whose forward subgraph holds 100,000 units in 2,000 cases
// on 50 pallets, in the hands of 200 custodians; and a lot (SPARE) of
// 1,000,000 codes issued and never moved but one, as after the README's
// issuance. Built once through the store's bulk path (ApplyCapture of
// 10,000 events a transaction, InsertCodes) into a folder under the
// system's temp folder, and reused while wideLayout is unchanged.
const (
	wideLayout   = "wide-v1"
	wideEvents   = 10_000_000 // TRACESVC_WIDE_EVENTS sets another size, for a quick try
	wideUnits    = 100_000
	wideCase     = 50 // units a case
	widePallet   = 40 // cases a pallet
	wideCases    = wideUnits / wideCase
	widePallets  = wideCases / widePallet
	wideDists    = 10
	wideShops    = 189 // with the maker and the distributors: 200 custodians
	spareCodes   = 1_000_000
	wideBatch    = 10_000 // events a transaction
	wideCommit   = 20_000 // units a commissioning event names
	wideMaker    = "wide-maker"
	wideFarm     = "wide-farm"
	wideURIHost  = "https://id.example.cn"
	serialLetter = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
)

var wideT0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// wideGTIN is the n-th GTIN-14 under prefix 690123.
func wideGTIN(n int) string {
	first := fmt.Sprintf("0690123%06d", n)
	c, err := gs1.CheckDigit(first)
	if err != nil {
		panic(err)
	}
	return first + string(c)
}

// wideSSCC is the n-th SSCC of the maker.
func wideSSCC(n int) string {
	first := fmt.Sprintf("06901234%09d", n)
	c, err := gs1.CheckDigit(first)
	if err != nil {
		panic(err)
	}
	return first + string(c)
}

func wideDist(i int) string { return fmt.Sprintf("wide-dist-%02d", i) }
func wideShop(i int) string { return fmt.Sprintf("wide-shop-%03d", i) }

// wideStats is what the build recorded.
type wideStats struct {
	Layout     string   `json:"layout"`
	Events     int      `json:"events"`
	Sold       int      `json:"sold"` // of WIDE's units, each sold in an event of its own
	WideEvents int      `json:"wideEvents"`
	Seconds    float64  `json:"buildSeconds"`
	Bytes      int64    `json:"bytes"`
	GTIN       string   `json:"gtin"`  // of both lots
	Units      []string `json:"Units"` // keys of 100 of WIDE's units
	AdminKey   string   `json:"adminKey"`
	MakerKey   string   `json:"makerKey"`
}

// wideSize is how many events the store holds.
func wideSize() int {
	if n, err := strconv.Atoi(os.Getenv("TRACESVC_WIDE_EVENTS")); err == nil && n > 0 {
		return n
	}
	return wideEvents
}

// wideSold is how many of WIDE's units were sold, each in an event of
// its own (TRACESVC_WIDE_SOLD, a percentage; all by default).
func wideSold() int {
	if n, err := strconv.Atoi(os.Getenv("TRACESVC_WIDE_SOLD")); err == nil && n >= 0 && n <= 100 {
		return wideUnits * n / 100
	}
	return wideUnits
}

// wideDir is where the store is kept: TRACESVC_WIDE_DIR, or a folder of
// the system's temp folder named for its layout and size.
func wideDir() string {
	if d := os.Getenv("TRACESVC_WIDE_DIR"); d != "" {
		return d
	}
	name := fmt.Sprintf("tracesvc-%s-%d", wideLayout, wideSize())
	if wideSold() != wideUnits {
		name += fmt.Sprintf("-sold%d", wideSold())
	}
	return filepath.Join(os.TempDir(), name)
}

// dirBytes is the size on disk of the files in dir.
func dirBytes(dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !info.IsDir() {
			n += info.Size()
		}
	}
	return n
}

// wideStore returns the folder of the wide-trace store, building it first
// when needed.
func wideStore(b *testing.B) (string, wideStats) {
	b.Helper()
	dir := wideDir()
	mark := filepath.Join(dir, "wide.json")
	var st wideStats
	if raw, err := os.ReadFile(mark); err == nil && json.Unmarshal(raw, &st) == nil && st.Layout == wideLayout && st.Events == wideSize() &&
		(st.Sold == wideSold() || st.Sold == 0 && wideSold() == wideUnits) {
		if st.GTIN == "" { // recorded before the field was
			st.GTIN = wideGTIN(1)
			raw, _ = json.MarshalIndent(st, "", " ")
			if err := os.WriteFile(mark, raw, 0o600); err != nil {
				b.Fatal(err)
			}
		}
		return dir, st
	}
	if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	b.Logf("building the wide-trace store in %s (minutes)", dir)
	start := time.Now()
	st = buildWide(b, dir)
	st.GTIN, st.Sold = wideGTIN(1), wideSold()
	st.Seconds = time.Since(start).Seconds()
	st.Bytes = dirBytes(dir)
	raw, _ := json.MarshalIndent(st, "", " ")
	if err := os.WriteFile(mark, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	return dir, st
}

// wideBuilder writes the store's events in transactions of wideBatch.
type wideBuilder struct {
	b     *testing.B
	ctx   context.Context
	s     *tracesql.Store
	batch []trace.StoredEvent
	n     int
}

func (w *wideBuilder) add(e trace.StoredEvent) {
	if e.RecordTime.IsZero() {
		e.RecordTime = e.EventTime.Add(time.Minute)
	}
	w.batch = append(w.batch, e)
	if len(w.batch) == wideBatch {
		w.flush()
	}
}

func (w *wideBuilder) flush() {
	if len(w.batch) == 0 {
		return
	}
	if err := w.s.ApplyCapture(w.ctx, trace.CaptureWrite{Events: w.batch}); err != nil {
		w.b.Fatal(err)
	}
	w.n += len(w.batch)
	w.batch = w.batch[:0]
}

// wideRaw is an event's JSON as a capture would keep it: its fields and
// the identifiers it names as Digital Link URIs.
func wideRaw(id, typ, step string, at time.Time, refs []trace.EventRef, parties []string) json.RawMessage {
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"eventID":%q,"type":%q,"action":"OBSERVE","bizStep":"https://ref.gs1.org/cbv/BizStep-%s",`+
		`"disposition":"https://ref.gs1.org/cbv/Disp-in_progress","eventTime":%q,"eventTimeZoneOffset":"+08:00",`+
		`"readPoint":{"id":"https://id.gs1.org/414/6901234000009"},"bizLocation":{"id":"https://id.gs1.org/414/6901234000009"}`,
		id, typ, step, at.Format(time.RFC3339))
	if len(refs) > 0 {
		sb.WriteString(`,"epcList":[`)
		for i, r := range refs {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `"%s/%s"`, wideURIHost, r.Key)
		}
		sb.WriteByte(']')
	}
	for _, p := range parties {
		if id, ok := strings.CutPrefix(p, "destination:"); ok {
			fmt.Fprintf(&sb, `,"destinationList":[{"type":"possessing_party","destination":"%s/api/v1/entities/%s"}],`+
				`"bizTransactionList":[{"type":"desadv","bizTransaction":"urn:epcglobal:cbv:bt:6901234000009:%s"}]`, wideURIHost, id, id)
		}
	}
	sb.WriteByte('}')
	return json.RawMessage(sb.String())
}

func wideEvent(id, typ, step string, at time.Time, by string, parties []string, refs ...trace.EventRef) trace.StoredEvent {
	visible := []string{by}
	for _, p := range parties {
		_, who, _ := strings.Cut(p, ":")
		visible = append(visible, who)
	}
	return trace.StoredEvent{ID: id, Type: typ, Action: "OBSERVE", BizStep: step, EventTime: at, CapturedBy: by,
		Refs: refs, Parties: parties, Visible: visible, Raw: wideRaw(id, typ, step, at, refs, parties)}
}

func ref(k, role string) trace.EventRef { return trace.EventRef{Key: k, Role: role} }

// buildWide builds the store in dir and returns what it wrote.
func buildWide(b *testing.B, dir string) wideStats {
	ctx := context.Background()
	db, err := sqlitedb.OpenBudget(ctx, dir, 1<<30)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		b.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			b.Helper()
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(14, 3))
	// The register: the maker, the farm, 10 distributors, 189 shops.
	entity := func(id, name string, kinds ...trace.Kind) {
		must(s.CreateEntity(ctx, trace.Entity{ID: id, Name: name, USCC: "USCC-" + id, Kinds: kinds, Region: "Tianjin",
			Address: name + " Road", CreatedAt: wideT0, UpdatedAt: wideT0}))
	}
	entity(wideMaker, "Wide Foods Co.", trace.KindManufacturer)
	entity(wideFarm, "Wide Meadow Farm", trace.KindFarm)
	for i := range wideDists {
		entity(wideDist(i), fmt.Sprintf("Distributor %02d", i), trace.KindDistributor)
	}
	for i := range wideShops {
		entity(wideShop(i), fmt.Sprintf("Shop %03d", i), trace.KindRetailer)
	}
	product, ingredient := wideGTIN(1), wideGTIN(2)
	must(s.CreateProduct(ctx, trace.Product{GTIN: product, OwnerID: wideMaker, Name: "Wide yoghurt 500 g", Category: "food",
		CreatedAt: wideT0, UpdatedAt: wideT0}))
	must(s.CreateProduct(ctx, trace.Product{GTIN: ingredient, OwnerID: wideFarm, Name: "Raw milk", Category: "food",
		CreatedAt: wideT0, UpdatedAt: wideT0}))
	batch := func(gtin, lot, owner string, qty float64, unit string) {
		must(s.CreateBatch(ctx, trace.Batch{GTIN: gtin, Lot: lot, OwnerID: owner, ProductionDate: "2026-11-01",
			Quantity: qty, Unit: unit, CreatedAt: wideT0}))
	}
	batch(product, "WIDE", wideMaker, wideUnits, "EA")
	batch(product, "SPARE", wideMaker, spareCodes, "EA")
	for i := range 3 {
		batch(ingredient, fmt.Sprintf("ING%d", i), wideFarm, 1000, "KGM")
	}
	// Keys for the built binary (see deploy/bench/wide-trace-rss.sh).
	st := wideStats{Layout: wideLayout, AdminKey: "tsk_wide" + randomText(rng, 40), MakerKey: "tsk_wide" + randomText(rng, 40)}
	must(s.CreateKey(ctx, access.Key{ID: access.BootstrapKeyID, Hash: access.HashSecret(st.AdminKey), Role: trace.RoleRegulator,
		Label: "bootstrap regulator key", CreatedBy: "bootstrap", CreatedAt: wideT0}))
	must(s.CreateKey(ctx, access.Key{ID: "wide-maker-key", Hash: access.HashSecret(st.MakerKey), Role: trace.RoleEntity,
		EntityID: wideMaker, Label: "maker", CreatedBy: "bootstrap", CreatedAt: wideT0}))

	// The codes: WIDE's units, SPARE's million, the cases and pallets.
	codes := func(lot string, n int) []string {
		serials := make([]string, 0, n)
		seen := map[string]bool{}
		var list []trace.Code
		for i := 0; len(serials) < n; i++ {
			sr := randomText(rng, 12)
			if seen[sr] {
				continue
			}
			seen[sr] = true
			serials = append(serials, sr)
			list = append(list, trace.Code{GTIN: product, Serial: sr, Lot: lot, Issuance: "iss-" + lot,
				Seq: fmt.Sprintf("iss-%s.%07d", lot, len(serials)-1), State: trace.StateIssued, IssuedAt: wideT0, UpdatedAt: wideT0})
			if len(list) == 100_000 {
				_, err := s.InsertCodes(ctx, list)
				must(err)
				list = list[:0]
			}
		}
		_, err := s.InsertCodes(ctx, list)
		must(err)
		return serials
	}
	units := codes("WIDE", wideUnits)
	spare := codes("SPARE", spareCodes)
	var ssccs []trace.SSCC
	for i := range wideCases + widePallets {
		ssccs = append(ssccs, trace.SSCC{SSCC: wideSSCC(i), OwnerID: wideMaker, Issuance: "iss-sscc",
			Seq: fmt.Sprintf("iss-sscc.%07d", i), State: trace.StateIssued, IssuedAt: wideT0, UpdatedAt: wideT0})
	}
	_, err = s.InsertSSCCs(ctx, ssccs)
	must(err)
	unitKey := func(i int) string { return "01/" + product + "/21/" + units[i] }
	caseKey := func(c int) string { return "00/" + wideSSCC(c) }
	palletKey := func(p int) string { return "00/" + wideSSCC(wideCases+p) }
	wideLot, spareLot := "01/"+product+"/10/WIDE", "01/"+product+"/10/SPARE"

	// The lots' events, in the order they happened.
	var wide []trace.StoredEvent
	n := 0
	id := func() string { n++; return fmt.Sprintf("urn:uuid:wide-%07d", n) }
	at := func(h float64) time.Time { return wideT0.Add(time.Duration(h * float64(time.Hour))) }
	qty := func(k, role string, q float64, uom string) trace.EventRef {
		return trace.EventRef{Key: k, Role: role, Quantity: q, UOM: uom}
	}
	for i := range 3 {
		ing := fmt.Sprintf("01/%s/10/ING%d", ingredient, i)
		wide = append(wide,
			wideEvent(id(), "ObjectEvent", "commissioning", at(0), wideFarm, nil, qty(ing, trace.RoleClass, 1000, "KGM")),
			wideEvent(id(), "ObjectEvent", "shipping", at(1), wideFarm, []string{"destination:" + wideMaker, "source:" + wideFarm},
				qty(ing, trace.RoleClass, 1000, "KGM")),
			wideEvent(id(), "ObjectEvent", "receiving", at(2), wideMaker, nil, qty(ing, trace.RoleClass, 1000, "KGM")))
	}
	wide = append(wide, wideEvent(id(), "TransformationEvent", "commissioning", at(3), wideMaker, nil,
		qty("01/"+ingredient+"/10/ING0", trace.RoleInputClass, 1000, "KGM"), qty("01/"+ingredient+"/10/ING1", trace.RoleInputClass, 1000, "KGM"),
		qty("01/"+ingredient+"/10/ING2", trace.RoleInputClass, 1000, "KGM"), qty(wideLot, trace.RoleOutputClass, wideUnits, "EA")))
	for start := 0; start < wideUnits; start += wideCommit {
		var refs []trace.EventRef
		for i := start; i < start+wideCommit; i++ {
			refs = append(refs, ref(unitKey(i), trace.RoleEPC))
		}
		wide = append(wide, wideEvent(id(), "ObjectEvent", "commissioning", at(4), wideMaker, nil, refs...))
	}
	for c := range wideCases {
		refs := []trace.EventRef{ref(caseKey(c), trace.RoleParent)}
		for i := c * wideCase; i < (c+1)*wideCase; i++ {
			refs = append(refs, ref(unitKey(i), trace.RoleChild))
		}
		wide = append(wide, wideEvent(id(), "AggregationEvent", "packing", at(5), wideMaker, nil, refs...))
	}
	for p := range widePallets {
		refs := []trace.EventRef{ref(palletKey(p), trace.RoleParent)}
		for c := p * widePallet; c < (p+1)*widePallet; c++ {
			refs = append(refs, ref(caseKey(c), trace.RoleChild))
		}
		wide = append(wide, wideEvent(id(), "AggregationEvent", "packing", at(6), wideMaker, nil, refs...))
	}
	for p := range widePallets {
		d := wideDist(p % wideDists)
		wide = append(wide, wideEvent(id(), "ObjectEvent", "shipping", at(7), wideMaker, []string{"destination:" + d, "source:" + wideMaker},
			ref(palletKey(p), trace.RoleEPC)))
		wide = append(wide, wideEvent(id(), "ObjectEvent", "receiving", at(8), d, nil, ref(palletKey(p), trace.RoleEPC)))
		refs := []trace.EventRef{ref(palletKey(p), trace.RoleParent)}
		for c := p * widePallet; c < (p+1)*widePallet; c++ {
			refs = append(refs, ref(caseKey(c), trace.RoleChild))
		}
		unpack := wideEvent(id(), "AggregationEvent", "unpacking", at(9), d, nil, refs...)
		unpack.Action = "DELETE"
		wide = append(wide, unpack)
	}
	for c := range wideCases {
		d, shop := wideDist((c/widePallet)%wideDists), wideShop(c%wideShops)
		wide = append(wide, wideEvent(id(), "ObjectEvent", "shipping", at(10), d, []string{"destination:" + shop, "source:" + d},
			ref(caseKey(c), trace.RoleEPC)))
		wide = append(wide, wideEvent(id(), "ObjectEvent", "receiving", at(11), shop, nil, ref(caseKey(c), trace.RoleEPC)))
	}
	for i := range wideSold() {
		shop := wideShop((i / wideCase) % wideShops)
		wide = append(wide, wideEvent(id(), "ObjectEvent", "retail_selling", at(12+float64(i)/1000), shop, nil, ref(unitKey(i), trace.RoleEPC)))
	}
	// SPARE: the lot commissioned by quantity, one code commissioned,
	// shipped and received (the README's walk-through).
	spareItem := "01/" + product + "/21/" + spare[0]
	wide = append(wide,
		wideEvent(id(), "ObjectEvent", "commissioning", at(3), wideMaker, nil, qty(spareLot, trace.RoleClass, spareCodes, "EA")),
		wideEvent(id(), "ObjectEvent", "commissioning", at(4), wideMaker, nil, ref(spareItem, trace.RoleEPC)),
		wideEvent(id(), "ObjectEvent", "shipping", at(5), wideMaker, []string{"destination:" + wideDist(0), "source:" + wideMaker}, ref(spareItem, trace.RoleEPC)),
		wideEvent(id(), "ObjectEvent", "receiving", at(6), wideDist(0), nil, ref(spareItem, trace.RoleEPC)))
	st.WideEvents = len(wide)

	// Filler: chains of 10 events (farm lot → product lot → 3 items →
	// pallet → shipped → received → one sold), the lots' events spread
	// among them in ten parts, as they would arrive among other traffic.
	w := &wideBuilder{b: b, ctx: ctx, s: s}
	chains := (wideSize() - len(wide)) / 10
	extra := wideSize() - len(wide) - chains*10
	part := (len(wide) + 9) / 10
	for i := range chains {
		if i%(chains/10) == chains/20 && len(wide) > 0 {
			k := min(part, len(wide))
			for _, e := range wide[:k] {
				w.add(e)
			}
			wide = wide[k:]
		}
		fillerChain(w, i)
		if i%100_000 == 0 && i > 0 {
			b.Logf("%d events stored", w.n)
		}
	}
	for _, e := range wide {
		w.add(e)
	}
	for i := range extra {
		at := wideT0.Add(time.Duration(i) * time.Second)
		w.add(wideEvent(fmt.Sprintf("x%09d", i), "ObjectEvent", "inspecting", at, "shop", nil, ref(fmt.Sprintf("00/%018d", i), trace.RoleEPC)))
	}
	w.flush()
	st.Events = w.n

	// Where the codes are now: every unit sold by its shop, from its case;
	// the cases at their shops, the pallets at their distributors.
	var custody []trace.Custody
	put := func(c trace.Custody) {
		c.Owner, c.Version, c.LastEventAt = wideMaker, 1, at(12)
		custody = append(custody, c)
		if len(custody) == 10_000 {
			must(s.ApplyCapture(ctx, trace.CaptureWrite{Custody: custody}))
			custody = custody[:0]
		}
	}
	for i := range wideUnits {
		state := trace.StateSold
		if i >= wideSold() {
			state = trace.StateInCustody
		}
		put(trace.Custody{Key: unitKey(i), State: state, Possessor: wideShop((i / wideCase) % wideShops), Container: caseKey(i / wideCase)})
	}
	for c := range wideCases {
		put(trace.Custody{Key: caseKey(c), State: trace.StateInCustody, Possessor: wideShop(c % wideShops)})
	}
	for p := range widePallets {
		put(trace.Custody{Key: palletKey(p), State: trace.StateInCustody, Possessor: wideDist(p % wideDists)})
	}
	put(trace.Custody{Key: spareItem, State: trace.StateInCustody, Possessor: wideDist(0)})
	must(s.ApplyCapture(ctx, trace.CaptureWrite{Custody: custody}))
	for i := 0; i < wideUnits; i += wideUnits / 100 {
		st.Units = append(st.Units, unitKey(i))
	}
	return st
}

// fillerChain stores chain i of the filler: 10 events.
func fillerChain(w *wideBuilder, i int) {
	at := wideT0.Add(time.Duration(i) * time.Second)
	root := fmt.Sprintf("01/09506000134352/10/R%07d", i)
	prod := fmt.Sprintf("01/04006381333931/10/P%07d", i)
	unit := fmt.Sprintf("00/%018d", i)
	var items []trace.EventRef
	for j := range 3 {
		items = append(items, ref(fmt.Sprintf("01/04006381333931/21/X%07dY%d", i, j), trace.RoleOutput))
	}
	id := func(n int) string { return fmt.Sprintf("f%08d-%d", i, n) }
	w.add(wideEvent(id(0), "ObjectEvent", "commissioning", at, "farm", nil, ref(root, trace.RoleClass)))
	w.add(wideEvent(id(1), "ObjectEvent", "shipping", at, "farm", []string{"destination:proc"}, ref(root, trace.RoleClass)))
	w.add(wideEvent(id(2), "ObjectEvent", "receiving", at, "proc", nil, ref(root, trace.RoleClass)))
	w.add(wideEvent(id(3), "TransformationEvent", "", at, "proc", nil, ref(root, trace.RoleInputClass), ref(prod, trace.RoleOutputClass)))
	w.add(wideEvent(id(4), "TransformationEvent", "", at, "proc", nil, append([]trace.EventRef{ref(prod, trace.RoleInputClass)}, items...)...))
	children := []trace.EventRef{ref(unit, trace.RoleParent)}
	for _, it := range items {
		children = append(children, ref(it.Key, trace.RoleChild))
	}
	w.add(wideEvent(id(5), "AggregationEvent", "packing", at, "dist", nil, children...))
	w.add(wideEvent(id(6), "ObjectEvent", "inspecting", at, "dist", nil, ref(unit, trace.RoleEPC)))
	w.add(wideEvent(id(7), "ObjectEvent", "shipping", at, "dist", []string{"destination:shop"}, ref(unit, trace.RoleEPC)))
	w.add(wideEvent(id(8), "ObjectEvent", "receiving", at, "shop", nil, ref(unit, trace.RoleEPC)))
	w.add(wideEvent(id(9), "ObjectEvent", "retail_selling", at, "shop", nil, ref(items[0].Key, trace.RoleEPC)))
}

func randomText(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = serialLetter[rng.IntN(len(serialLetter))]
	}
	return string(b)
}

// countSink counts what a walk sends.
type countSink struct {
	nodes, edges, custodians, parties, unmoved int
	zeroTimes                                  int
}

func (c *countSink) Node(n trace.TraceNode) error {
	c.nodes++
	if n.Kind == trace.NodeParty {
		c.parties++
	}
	return nil
}
func (c *countSink) Edge(e trace.TraceEdge) error {
	c.edges++
	if e.EventTime.IsZero() {
		c.zeroTimes++
	}
	return nil
}
func (c *countSink) Unmoved(u trace.UnmovedCodes) error { c.unmoved += u.Count; return nil }
func (c *countSink) Custodian(trace.Holding) error      { c.custodians++; return nil }

// heapPeak runs f while sampling the heap every millisecond and returns
// the most it grew above what it was before f (after a collection): the
// extra memory f needed, garbage not yet collected included.
func heapPeak(f func()) uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// BenchmarkWideTrace (issue 14, item 3) measures, on the 10,000,000-event
// store (built on the first run, see wideStore): the forward walk of WIDE
// (100,000 units, 2,000 cases, 50 pallets, 200 custodians), streamed; four
// at once; the JSON graph of it (cut at 100,000 nodes); the backward walk
// of one unit; SPARE's forward walk (a million codes counted, or listed);
// and the FSMA 204 exports of both lots. Each reports its time and the
// most the heap grew while it ran.
//
//	go test -run XXX -bench BenchmarkWideTrace -benchtime 5x -timeout 2h ./trace/tracesql/
func BenchmarkWideTrace(b *testing.B) {
	dir, st := wideStore(b)
	b.Logf("store: %d events (%d of the two lots; %d of WIDE's units sold one by one) in %s, built in %.0f s (%.1f min), %.2f GB on disk now (%.2f GB after the build)",
		st.Events, st.WideEvents, wideSold(), dir, st.Seconds, st.Seconds/60, float64(dirBytes(dir))/1e9, float64(st.Bytes)/1e9)
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		b.Fatal(err)
	}
	reg := trace.NewRegistry(s, trace.RegistryConfig{GTINsWithoutPrefix: true})
	chain := trace.NewChain(s, s, reg, trace.ChainConfig{EntityURIPrefix: wideURIHost + "/api/v1/entities/"})
	product := wideGTIN(1)
	wideLot, spareLot := trace.LotKey(product, "WIDE"), trace.LotKey(product, "SPARE")
	report := func(b *testing.B, peak uint64) {
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	}
	walk := func(b *testing.B, start string, dir trace.Direction, opt trace.TraceOptions) *countSink {
		sink := &countSink{}
		if _, err := chain.Walk(ctx, trace.System, []string{start}, dir, opt, sink); err != nil {
			b.Fatal(err)
		}
		return sink
	}
	b.Run("forward", func(b *testing.B) {
		var sink *countSink
		var peak uint64
		for b.Loop() {
			peak = max(peak, heapPeak(func() { sink = walk(b, wideLot, trace.Forward, trace.TraceOptions{SummariseUnmoved: true}) }))
		}
		if sink.nodes < wideUnits+wideCases+widePallets+wideDists+wideShops || sink.custodians != 1+wideDists+wideShops || sink.zeroTimes > 0 {
			b.Fatalf("forward walk: %+v", *sink)
		}
		b.ReportMetric(float64(sink.nodes), "nodes")
		b.ReportMetric(float64(sink.edges), "edges")
		report(b, peak)
	})
	b.Run("forward-4-at-once", func(b *testing.B) {
		var peak uint64
		for b.Loop() {
			peak = max(peak, heapPeak(func() {
				var wg sync.WaitGroup
				for range 4 {
					wg.Go(func() { walk(b, wideLot, trace.Forward, trace.TraceOptions{SummariseUnmoved: true}) })
				}
				wg.Wait()
			}))
		}
		report(b, peak)
	})
	b.Run("forward-json", func(b *testing.B) {
		var g trace.TraceGraph
		var peak uint64
		for b.Loop() {
			peak = max(peak, heapPeak(func() {
				var err error
				g, err = chain.Trace(ctx, trace.System, []string{wideLot}, trace.Forward,
					trace.TraceOptions{MaxNodes: trace.MaxTraceNodes, SummariseUnmoved: true})
				if err != nil {
					b.Fatal(err)
				}
			}))
		}
		b.ReportMetric(float64(len(g.Nodes)), "nodes")
		report(b, peak)
	})
	b.Run("backward", func(b *testing.B) {
		var sink *countSink
		var peak uint64
		i := 0
		for b.Loop() {
			unit := st.Units[i%len(st.Units)]
			i++
			peak = max(peak, heapPeak(func() { sink = walk(b, unit, trace.Backward, trace.TraceOptions{}) }))
		}
		if sink.nodes < 5 || sink.custodians < 3 {
			b.Fatalf("backward walk: %+v", *sink)
		}
		b.ReportMetric(float64(sink.nodes), "nodes")
		report(b, peak)
	})
	b.Run("spare-summary", func(b *testing.B) {
		var sink *countSink
		var peak uint64
		for b.Loop() {
			peak = max(peak, heapPeak(func() { sink = walk(b, spareLot, trace.Forward, trace.TraceOptions{SummariseUnmoved: true}) }))
		}
		if sink.unmoved != spareCodes-1 || sink.parties == 0 {
			b.Fatalf("spare walk: %+v", *sink)
		}
		b.ReportMetric(float64(sink.nodes), "nodes")
		report(b, peak)
	})
	b.Run("spare-all-codes", func(b *testing.B) {
		var sink *countSink
		var peak uint64
		for b.Loop() {
			peak = max(peak, heapPeak(func() { sink = walk(b, spareLot, trace.Forward, trace.TraceOptions{}) }))
		}
		if sink.nodes < spareCodes {
			b.Fatalf("spare walk, all codes: %+v", *sink)
		}
		b.ReportMetric(float64(sink.nodes), "nodes")
		report(b, peak)
	})
	x := fsma.New(reg, s, s)
	for _, lot := range []string{"WIDE", "SPARE"} {
		b.Run("fsma-"+strings.ToLower(lot), func(b *testing.B) {
			var peak uint64
			var out countWriter
			for b.Loop() {
				out = countWriter{}
				peak = max(peak, heapPeak(func() {
					if err := x.Export(ctx, trace.System, product, lot, &out); err != nil {
						b.Fatal(err)
					}
				}))
			}
			b.ReportMetric(float64(out.lines-1), "rows")
			report(b, peak)
		})
	}
}

// countWriter counts the lines written to it.
type countWriter struct{ lines int }

func (c *countWriter) Write(p []byte) (int, error) {
	c.lines += strings.Count(string(p), "\n")
	return len(p), nil
}

var _ io.Writer = (*countWriter)(nil)
