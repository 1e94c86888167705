package scan_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/gs1"
	"tracesvc/trace/scan"
	"tracesvc/trace/sqlitedb"
	"tracesvc/trace/tracesql"
)

// countingStore is the real embedded store, counting the reads of items:
// their codes, and the timelines of serials (not of lots).
type countingStore struct {
	*tracesql.Store
	codes, headers atomic.Int64
}

func (c *countingStore) Code(ctx context.Context, gtin, serial string) (trace.Code, error) {
	c.codes.Add(1)
	return c.Store.Code(ctx, gtin, serial)
}

func (c *countingStore) EventHeaders(ctx context.Context, keys []string, limit int) ([]trace.StoredEvent, error) {
	if strings.Contains(keys[0], "/21/") {
		c.headers.Add(1)
	}
	return c.Store.EventHeaders(ctx, keys, limit)
}

// itemEnv is a maker with one product, one lot and two commissioned
// items, S1 and S2, on the embedded store.
type itemEnv struct {
	t     *testing.T
	dir   string
	st    *tracesql.Store
	via   *tracesql.Store // the store captures are written through: st unless a test says
	count *countingStore
	maker string
	at    time.Time
	seq   int
}

const itemGTIN = "09506000134352"

func newItemEnv(t *testing.T) *itemEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, st := openItems(t, dir)
	reg := trace.NewRegistry(st, trace.RegistryConfig{GTINsWithoutPrefix: true})
	e, err := reg.CreateEntity(ctx, trace.Principal{Role: trace.RoleRegulator}, trace.NewEntity{Name: "Haihe Dairy",
		USCC: "91350100M000100Y43", Kinds: []trace.Kind{trace.KindManufacturer}, Region: "Tianjin", Address: "1 Haihe Rd"})
	if err != nil {
		t.Fatal(err)
	}
	maker := trace.Principal{Role: trace.RoleEntity, EntityID: e.ID}
	if _, err := reg.CreateProduct(ctx, maker, trace.NewProduct{GTIN: itemGTIN, Name: "Whole milk 1 L", Category: "food"}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.CreateBatch(ctx, maker, itemGTIN, trace.NewBatch{Lot: "L1", ProductionDate: "2026-11-20", ExpiryDate: "2099-11-20",
		Quantity: 2, Unit: "EA"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.W.ExecContext(ctx, `INSERT INTO codes (gtin, serial, lot, iss, pos, state, possessor, issued_at, updated_at)
		VALUES (?, 'S1', 'L1', 'i1', 'i1.1', 'issued', '', 1, 1), (?, 'S2', 'L1', 'i1', 'i1.2', 'issued', '', 1, 1)`, itemGTIN, itemGTIN); err != nil {
		t.Fatal(err)
	}
	env := &itemEnv{t: t, dir: dir, st: st, via: st, count: &countingStore{Store: st}, maker: e.ID, at: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)}
	env.capture("ObjectEvent", "commissioning", []trace.EventRef{item("S1", trace.RoleEPC), item("S2", trace.RoleEPC)},
		custody("S1", trace.StateCommissioned, "", 1), custody("S2", trace.StateCommissioned, "", 1))
	return env
}

// openItems opens the embedded store in dir as the service does: counting
// captures in the folder's shared counter.
func openItems(t *testing.T, dir string) (*sqlitedb.DB, *tracesql.Store) {
	t.Helper()
	db, err := sqlitedb.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := tracesql.New(context.Background(), db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	st.ShareCaptures(db.Counter)
	return db, st
}

func item(serial, role string) trace.EventRef {
	return trace.EventRef{Key: trace.ItemKey(itemGTIN, serial), Role: role}
}

func custody(serial string, state trace.CodeState, container string, version int64) trace.Custody {
	return trace.Custody{Key: trace.ItemKey(itemGTIN, serial), State: state, Container: container, Version: version}
}

// capture stores an event, with the custody it changes, as the service
// does.
func (e *itemEnv) capture(typ, step string, refs []trace.EventRef, cs ...trace.Custody) {
	e.t.Helper()
	e.seq++
	e.at = e.at.Add(time.Hour)
	for i := range cs {
		cs[i].Possessor, cs[i].LastEventAt = e.maker, e.at
	}
	ev := trace.StoredEvent{ID: "ev" + string(rune('0'+e.seq)), Type: typ, Action: "OBSERVE", BizStep: step, EventTime: e.at,
		RecordTime: e.at, CapturedBy: e.maker, Refs: refs, Visible: []string{e.maker}, Raw: []byte(`{}`)}
	if err := e.via.ApplyCapture(context.Background(), trace.CaptureWrite{Events: []trace.StoredEvent{ev}, Custody: cs}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *itemEnv) resolver(cfg scan.Config) *scan.Resolver {
	reg := trace.NewRegistry(e.st, trace.RegistryConfig{GTINsWithoutPrefix: true})
	chain := trace.NewChain(e.st, e.st, reg, trace.ChainConfig{EntityURIPrefix: "https://x/api/v1/entities/"})
	r := scan.New(reg, e.count, e.count, chain, e.st, cfg)
	e.t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

// scan resolves serial and returns its state and its timeline's steps.
func (e *itemEnv) scan(r *scan.Resolver, serial string) (trace.CodeState, []string) {
	e.t.Helper()
	el := gs1.Elements{{AI: "01", Value: itemGTIN}, {AI: "21", Value: serial}}
	res, err := r.Resolve(context.Background(), "https://x/01/"+itemGTIN+"/21/"+serial, el, scan.Client{Fingerprint: "f"})
	if err != nil {
		e.t.Fatal(err)
	}
	var steps []string
	for _, s := range res.Provenance {
		steps = append(steps, s.Step)
	}
	return res.State, steps
}

// TestItemsBetweenCaptures: with the store telling captures, a scanned
// item is read once and kept until a capture touches it or its
// container, and every scan shows what a read of the store would.
func TestItemsBetweenCaptures(t *testing.T) {
	e := newItemEnv(t)
	r := e.resolver(scan.Config{Captures: e.st})
	reads := func(want int64, when string) {
		t.Helper()
		if got := e.count.codes.Load(); got != want || e.count.headers.Load() != want {
			t.Fatalf("%s: %d code and %d timeline reads, want %d", when, got, e.count.headers.Load(), want)
		}
	}
	check := func(serial string, state trace.CodeState, steps string) {
		t.Helper()
		gotState, gotSteps := e.scan(r, serial)
		if gotState != state || strings.Join(gotSteps, " ") != steps {
			t.Fatalf("%s: %s %s, want %s %s", serial, gotState, strings.Join(gotSteps, " "), state, steps)
		}
	}
	check("S1", trace.StateCommissioned, "commissioning")
	reads(1, "first scan")
	check("S1", trace.StateCommissioned, "commissioning")
	reads(1, "scanned again")

	// Another item's capture leaves S1 in memory.
	e.capture("ObjectEvent", "inspecting", []trace.EventRef{item("S2", trace.RoleEPC)}, custody("S2", trace.StateCommissioned, "", 2))
	check("S1", trace.StateCommissioned, "commissioning")
	reads(1, "after another item's capture")

	// Packed into a case: S1's own capture.
	const box = "00/069012300000000011"
	e.capture("AggregationEvent", "packing", []trace.EventRef{{Key: box, Role: trace.RoleParent}, item("S1", trace.RoleChild)},
		custody("S1", trace.StateCommissioned, box, 2))
	check("S1", trace.StateCommissioned, "commissioning packing")
	reads(2, "after packing")
	check("S1", trace.StateCommissioned, "commissioning packing")
	reads(2, "scanned again after packing")

	// The case shipped: a capture naming only the container.
	e.capture("ObjectEvent", "shipping", []trace.EventRef{{Key: box, Role: trace.RoleEPC}})
	check("S1", trace.StateCommissioned, "commissioning packing shipping")
	reads(3, "after the case shipped")

	// Sold.
	e.capture("ObjectEvent", "retail_selling", []trace.EventRef{item("S1", trace.RoleEPC)}, custody("S1", trace.StateSold, box, 3))
	check("S1", trace.StateSold, "commissioning packing shipping retail_selling")
	reads(4, "after the sale")
}

// TestItemsAcrossProcesses: two processes on one data folder (two opens of
// it here, each mapping the folder's counter as a process would): a capture
// stored by the other shows at the next scan, though it told this one no
// keys, and items are kept again after it.
func TestItemsAcrossProcesses(t *testing.T) {
	e := newItemEnv(t)
	r := e.resolver(scan.Config{Captures: e.st})
	e.scan(r, "S1")
	e.scan(r, "S1")
	if n := e.count.codes.Load(); n != 1 {
		t.Fatalf("%d code reads for two scans, want 1", n)
	}
	_, e.via = openItems(t, e.dir)
	e.capture("ObjectEvent", "retail_selling", []trace.EventRef{item("S1", trace.RoleEPC)}, custody("S1", trace.StateSold, "", 2))
	if state, steps := e.scan(r, "S1"); state != trace.StateSold || strings.Join(steps, " ") != "commissioning retail_selling" {
		t.Fatalf("after the other process's sale: %s %v", state, steps)
	}
	e.scan(r, "S1")
	if n := e.count.codes.Load(); n != 2 {
		t.Fatalf("%d code reads, want 2: one before the other's capture, one after", n)
	}
}

// TestItemsTwoResolversOneStore: a second resolver on the same store takes
// over the store's telling (NotifyCaptures keeps one f); the first, told
// nothing more, takes the captures it sees counted for another process's
// and still shows each at the next scan.
func TestItemsTwoResolversOneStore(t *testing.T) {
	e := newItemEnv(t)
	first := e.resolver(scan.Config{Captures: e.st})
	e.scan(first, "S1")
	second := e.resolver(scan.Config{Captures: e.st})
	e.scan(second, "S1")
	e.capture("ObjectEvent", "retail_selling", []trace.EventRef{item("S1", trace.RoleEPC)}, custody("S1", trace.StateSold, "", 2))
	for i, r := range []*scan.Resolver{first, second} {
		if state, _ := e.scan(r, "S1"); state != trace.StateSold {
			t.Fatalf("resolver %d after the sale: %s", i+1, state)
		}
	}
}

// TestItemsWithoutCaptures: a resolver whose store does not tell captures
// (several processes write MongoDB) reads every scanned item.
func TestItemsWithoutCaptures(t *testing.T) {
	e := newItemEnv(t)
	r := e.resolver(scan.Config{})
	for range 3 {
		e.scan(r, "S1")
	}
	if n := e.count.codes.Load(); n != 3 {
		t.Fatalf("%d code reads for three scans, want 3", n)
	}
}
