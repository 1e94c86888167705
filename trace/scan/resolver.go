// Package scan answers consumer scans of GS1 Digital Links: the verdict,
// the product, batch and custody timeline a consumer may see, any recall,
// the declared standards and the maker's credit class. It logs each scan of
// a serial in the background and raises counterfeit alerts.
package scan

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/gs1"
	"tracesvc/trace/ttl"
)

// Codes is what the resolver reads of the code register; trace.CodeStore
// implements it.
type Codes interface {
	// Code returns the issued code, or [trace.ErrNotFound].
	Code(ctx context.Context, gtin, serial string) (trace.Code, error)
	// SSCC returns the issued SSCC, or [trace.ErrNotFound].
	SSCC(ctx context.Context, sscc string) (trace.SSCC, error)
}

// ErrUnsupportedAI marks a link carrying an AI the resolver does not
// check; it comes with [trace.ErrInvalid].
var ErrUnsupportedAI = errors.New("unsupported AI")

// Timeline is what the resolver reads of custody events; trace.EventStore
// implements it.
type Timeline interface {
	// EventHeaders returns the headers of the events naming any of keys.
	EventHeaders(ctx context.Context, keys []string, limit int) ([]trace.StoredEvent, error)
}

// Tracer walks the trace graph; *trace.Chain implements it.
type Tracer interface {
	Trace(ctx context.Context, p trace.Principal, start []string, dir trace.Direction, opt trace.TraceOptions) (trace.TraceGraph, error)
}

// Config configures the resolver and its counterfeit signals.
type Config struct {
	MaxScans    int     // more scans of one serial than this raise an alert; 0 means 50
	MaxSpeedKmh float64 // faster travel between two scans raises an alert; 0 means 900 (an airliner)
	Recalls     RecallLookup
	Standards   StandardsLookup
	Credit      CreditLookup
	// Captures, when set, tells the resolver what each capture touched,
	// so that it keeps scanned items in memory between captures; nil
	// reads every scanned item from the store.
	Captures Captures
	Logger   *slog.Logger // for failures of the background recorder; nil discards
	Now      trace.Clock

	// StoreAttempts is how many times the recorder tries to store a batch
	// of scans before it drops it (counted in [Stats].Dropped); 0 means 5.
	// RetryWait is the first wait between tries, doubled each time; 0
	// means 100 ms.
	StoreAttempts int
	RetryWait     time.Duration
}

// Resolver answers consumer scans and records them.
type Resolver struct {
	register trace.Register
	codes    Codes
	timeline Timeline
	tracer   Tracer
	scans    Store
	cfg      Config
	rec      *recorder
	items    *items // nil without cfg.Captures

	mu       sync.Mutex
	history  map[string]cachedHistory // lot key → upstream events
	entities map[string]cachedEntity  // makers and custodians shown on pages
	products *ttl.Cache[string, trace.Product]
	batches  *ttl.Cache[string, trace.Batch]
	checks   map[CodeKey]*checkCount // scans of a code: the store's count, and this process's since
}

// checkCount is a code's scans as this process knows them: the store's
// count read at, and the scans this process answered since.
type checkCount struct {
	stored, since int
	at            time.Time
}

// checksTTL is how long a code's stored scan count is counted on from in
// memory before the store is read again: the "checked N times" a page
// shows includes other replicas' scans within it.
const checksTTL = time.Second

// productTTL is how long the resolver keeps a product's facts: a change of
// name or category shows on every replica's scan pages within it. Batches
// never change once registered and are kept for historyTTL.
const productTTL = time.Second

// New returns a resolver and starts its scan recorder; call Close to
// drain it.
func New(register trace.Register, codes Codes, timeline Timeline, tracer Tracer, scans Store, cfg Config) *Resolver {
	if cfg.MaxScans <= 0 {
		cfg.MaxScans = 50
	}
	if cfg.MaxSpeedKmh <= 0 {
		cfg.MaxSpeedKmh = 900
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StoreAttempts <= 0 {
		cfg.StoreAttempts = 5
	}
	if cfg.RetryWait <= 0 {
		cfg.RetryWait = 100 * time.Millisecond
	}
	r := &Resolver{register: register, codes: codes, timeline: timeline, tracer: tracer, scans: scans, cfg: cfg,
		history: map[string]cachedHistory{}, entities: map[string]cachedEntity{},
		products: ttl.New[string, trace.Product](productTTL, 100_000), batches: ttl.New[string, trace.Batch](historyTTL, 100_000),
		checks: map[CodeKey]*checkCount{}}
	if cfg.Captures != nil {
		r.items = newItems(cfg.Captures.Captured)
		cfg.Captures.NotifyCaptures(r.items.touch)
	}
	r.rec = newRecorder(r)
	return r
}

// Resolve tells what a Digital Link stands for, and logs the scan of a
// serial asynchronously. An unknown code is an answer (VerdictUnknownCode),
// not an error; a malformed link is [ErrInvalid].
func (r *Resolver) Resolve(ctx context.Context, uri string, e gs1.Elements, client Client) (Resolution, error) {
	// A scan is a handful of indexed point reads. The embedded store's
	// driver watches a cancellable context on a goroutine of its own per
	// query, which cost more than the reads are worth cancelling.
	ctx = context.WithoutCancel(ctx)
	if err := supported(e); err != nil {
		return Resolution{}, err
	}
	if sscc, ok := e.Get("00"); ok {
		return r.resolveUnit(ctx, uri, sscc)
	}
	gtin, _ := e.Get("01")
	lot, hasLot := e.Get("10")
	serial, hasSerial := e.Get("21")
	now := r.cfg.Now.Now()
	res := Resolution{Verdict: VerdictGenuine, URI: uri, GTIN: gtin, Lot: lot, Serial: serial, ScannedAt: now,
		Provenance: []Stage{}}
	if !hasSerial {
		res.Verdict = VerdictProductInfo
	}
	p, err := r.product(ctx, gtin)
	switch {
	case errors.Is(err, trace.ErrNotFound):
		res.Verdict = VerdictUnknownCode
		return res, r.log(res, "", client)
	case err != nil:
		return Resolution{}, err
	}
	maker, err := r.entity(ctx, p.OwnerID)
	if err != nil {
		return Resolution{}, fmt.Errorf("maker of %s: %w", gtin, err)
	}
	res.Product = &ProductFacts{GTIN: p.GTIN, Name: p.Name, Brand: p.Brand, Model: p.Model, Category: p.Category,
		Maker: Maker{ID: maker.ID, Name: maker.Name, Region: maker.Region}}
	if r.cfg.Credit != nil {
		cc, err := r.cfg.Credit.CreditClass(ctx, maker.ID)
		if err != nil {
			return Resolution{}, fmt.Errorf("credit of %s: %w", maker.ID, err)
		}
		res.Product.Maker.Credit = &cc
	}
	if r.cfg.Standards != nil {
		if res.Standards, err = r.cfg.Standards.DeclaredStandards(ctx, gtin); err != nil {
			return Resolution{}, err
		}
	}

	var mismatches []Mismatch
	var own []trace.StoredEvent // the item's and its container's events
	if hasSerial {
		it, err := r.item(ctx, gtin, serial)
		switch {
		case errors.Is(err, trace.ErrNotFound):
			res.Verdict = VerdictUnknownCode
			return res, r.log(res, p.OwnerID, client)
		case err != nil:
			return Resolution{}, err
		}
		c := it.code
		if hasLot && c.Lot != lot {
			mismatches = append(mismatches, Mismatch{Field: "lot", Link: lot, Record: c.Lot})
		}
		lot, res.Lot, res.State, own = c.Lot, c.Lot, c.State, it.events
	}
	if lot != "" {
		b, err := r.batch(ctx, gtin, lot)
		switch {
		case errors.Is(err, trace.ErrNotFound):
			res.Verdict = VerdictUnknownCode
			return res, r.log(res, p.OwnerID, client)
		case err != nil:
			return Resolution{}, err
		}
		res.Batch = &BatchFacts{Lot: b.Lot, ProductionDate: b.ProductionDate, ExpiryDate: b.ExpiryDate}
		if b.ExpiryDate != "" && b.ExpiryDate < now.Format(time.DateOnly) {
			res.Batch.Expired = true
		}
		mismatches = append(mismatches, dateMismatches(e, b)...)
	}
	if res.Provenance, err = r.provenance(ctx, gtin, lot, own); err != nil {
		return Resolution{}, err
	}
	if r.cfg.Recalls != nil {
		if res.Recall, err = r.cfg.Recalls.RecallFor(ctx, gtin, lot, serial); err != nil {
			return Resolution{}, err
		}
	}
	if res.State == trace.StateSold {
		res.Sale = saleOf(res.Provenance)
	}
	switch {
	case res.Recall != nil || res.State == trace.StateRecalled:
		res.Verdict = VerdictRecalled
	case len(mismatches) > 0:
		res.Verdict, res.Mismatches = VerdictMismatch, mismatches
	case res.State == trace.StateDecommissioned || res.State == trace.StateDestroyed:
		res.Verdict = VerdictDecommissioned
	case res.Batch != nil && res.Batch.Expired:
		res.Verdict = VerdictExpired
	}
	if len(mismatches) > 0 {
		r.alert(ctx, AlertDataMismatch, gtin, serial, p.OwnerID, describe(mismatches))
	}
	if hasSerial {
		n, err := r.check(ctx, CodeKey{GTIN: gtin, Serial: serial})
		if err != nil {
			return Resolution{}, fmt.Errorf("count checks of %s/%s: %w", gtin, serial, err)
		}
		res.Checks = n
		res.Caution = res.Checks > r.cfg.MaxScans
	}
	return res, r.log(res, p.OwnerID, client)
}

// supported refuses links with AIs the resolver does not check, so that
// nothing in a link is silently ignored: an SSCC (00) alone, or a GTIN
// (01) with the qualifiers lot (10) and serial (21) and the data
// attributes production date (11) and expiry date (17), which are checked
// against the record.
func supported(e gs1.Elements) error {
	unsupported := func(ai string) error {
		return fmt.Errorf("%w: %w", trace.Invalid("uri", "this service does not check AI (%s) in links; it checks an SSCC (00) alone, or a GTIN (01) with lot (10), serial (21), production date (11) and expiry date (17)", ai), ErrUnsupportedAI)
	}
	if _, ok := e.Get("00"); ok {
		for _, el := range e {
			if el.AI != "00" {
				return unsupported(el.AI)
			}
		}
		return nil
	}
	if _, ok := e.Get("01"); !ok {
		return fmt.Errorf("%w: %w", trace.Invalid("uri", "a product link must start with a GTIN, AI (01)"), ErrUnsupportedAI)
	}
	for _, el := range e {
		switch el.AI {
		case "01", "10", "21", "11", "17":
		default:
			return unsupported(el.AI)
		}
	}
	return nil
}

// dateMismatches compares the link's dates (YYMMDD; DD 00 means the
// whole month) with the batch's.
func dateMismatches(e gs1.Elements, b trace.Batch) []Mismatch {
	var out []Mismatch
	for _, d := range []struct{ ai, field, record string }{
		{"17", "expiryDate", b.ExpiryDate}, {"11", "productionDate", b.ProductionDate},
	} {
		v, ok := e.Get(d.ai)
		if !ok || len(v) != 6 {
			continue
		}
		date := "20" + v[0:2] + "-" + v[2:4] + "-" + v[4:6]
		if v[4:6] == "00" {
			date = date[:7]
		}
		if d.record == "" || !strings.HasPrefix(d.record, date) {
			out = append(out, Mismatch{Field: d.field, Link: date, Record: d.record})
		}
	}
	return out
}

// describe is the alert detail of mismatches.
func describe(ms []Mismatch) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		rec := m.Record
		if rec == "" {
			rec = "none"
		}
		parts[i] = fmt.Sprintf("%s: the link says %s, the record says %s", m.Field, m.Link, rec)
	}
	return strings.Join(parts, "; ")
}

// resolveUnit answers the link of a logistic unit: issued here or not,
// by whom, and its custody timeline. Its contents are not shown.
func (r *Resolver) resolveUnit(ctx context.Context, uri, sscc string) (Resolution, error) {
	res := Resolution{Verdict: VerdictGenuine, URI: uri, ScannedAt: r.cfg.Now.Now(), Provenance: []Stage{}}
	u, err := r.codes.SSCC(ctx, sscc)
	switch {
	case errors.Is(err, trace.ErrNotFound):
		res.Verdict, res.Unit = VerdictUnknownCode, &UnitFacts{SSCC: sscc}
		return res, nil
	case err != nil:
		return Resolution{}, fmt.Errorf("SSCC %s: %w", sscc, err)
	}
	issuer, err := r.entity(ctx, u.OwnerID)
	if err != nil {
		return Resolution{}, fmt.Errorf("issuer of SSCC %s: %w", sscc, err)
	}
	res.Unit = &UnitFacts{SSCC: sscc, State: u.State, Issuer: Maker{ID: issuer.ID, Name: issuer.Name, Region: issuer.Region}}
	events, err := r.timeline.EventHeaders(ctx, []string{"00/" + sscc}, 200)
	if err != nil {
		return Resolution{}, fmt.Errorf("timeline of SSCC %s: %w", sscc, err)
	}
	if res.Provenance, err = r.stages(ctx, events); err != nil {
		return Resolution{}, err
	}
	if r.cfg.Recalls != nil {
		if res.Recall, err = r.cfg.Recalls.RecallForUnit(ctx, sscc); err != nil {
			return Resolution{}, err
		}
	}
	switch {
	case res.Recall != nil || u.State == trace.StateRecalled:
		res.Verdict = VerdictRecalled
	case u.State == trace.StateDecommissioned || u.State == trace.StateDestroyed:
		res.Verdict = VerdictDecommissioned
	}
	return res, nil
}

// saleOf finds the retail sale in an item's timeline.
func saleOf(stages []Stage) *Sale {
	for i := len(stages) - 1; i >= 0; i-- {
		if stages[i].Step == "retail_selling" {
			return &Sale{Date: stages[i].Date, Shop: stages[i].Custodian}
		}
	}
	return nil
}

// alert raises an alert at once, once per kind and code; it logs its
// failures rather than fail the consumer's scan.
func (r *Resolver) alert(ctx context.Context, kind AlertKind, gtin, serial, owner, detail string) {
	ctx = context.WithoutCancel(ctx)
	seen, err := r.scans.HasAlert(ctx, kind, gtin, serial)
	if err == nil && !seen {
		now := r.cfg.Now.Now()
		err = r.scans.InsertAlert(ctx, Alert{ID: trace.NewID(now), Kind: kind, GTIN: gtin, Serial: serial, Owner: owner,
			Scans: []string{}, Detail: detail, CreatedAt: now})
	}
	if err != nil && !errors.Is(err, trace.ErrConflict) {
		r.cfg.Logger.ErrorContext(ctx, "raising an alert failed", "kind", kind, "gtin", gtin, "serial", serial, "err", err)
	}
}

// provenance is the custody timeline of an item or lot: own, the events
// of the item and of what it is packed in, and the upstream history of its
// lot (what the lot was made from, back to the farm or lab), which all
// items of the lot share and which is cached for a short while.
func (r *Resolver) provenance(ctx context.Context, gtin, lot string, own []trace.StoredEvent) ([]Stage, error) {
	var events []trace.StoredEvent
	if lot != "" {
		up, err := r.lotHistory(ctx, trace.LotKey(gtin, lot))
		if err != nil {
			return nil, err
		}
		events = append(events, up...)
	}
	events = append(events, own...)
	slices.SortFunc(events, func(a, b trace.StoredEvent) int {
		if d := a.EventTime.Compare(b.EventTime); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	events = slices.CompactFunc(events, func(a, b trace.StoredEvent) bool { return a.ID == b.ID })
	return r.stages(ctx, events)
}

// stages turns events, in time order, into the timeline a consumer sees.
func (r *Resolver) stages(ctx context.Context, events []trace.StoredEvent) ([]Stage, error) {
	out := []Stage{}
	for _, ev := range events {
		e, err := r.entity(ctx, ev.CapturedBy)
		if err != nil {
			return nil, err
		}
		step := ev.BizStep
		if step == "" && ev.Type == "TransformationEvent" {
			step = "transforming"
		}
		out = append(out, Stage{Stage: stageOf(ev, e), Step: step, Date: ev.EventTime.Format(time.DateOnly),
			Time: ev.EventTime, Place: e.Region, Custodian: e.Name})
	}
	return out, nil
}

// item returns a serial's code and the headers of the events naming it or
// its container: kept in memory, where the store tells captures (see
// [Captures]), until a capture touches either; else read from the store.
func (r *Resolver) item(ctx context.Context, gtin, serial string) (item, error) {
	code, key := CodeKey{GTIN: gtin, Serial: serial}, trace.ItemKey(gtin, serial)
	var gen uint64
	if r.items != nil {
		if it, ok := r.items.get(code, key, time.Now()); ok {
			return it, nil
		}
		gen = r.items.start()
	}
	c, err := r.codes.Code(ctx, gtin, serial)
	if err != nil {
		return item{}, err
	}
	keys := []string{key}
	if c.Container != "" {
		keys = append(keys, c.Container)
	}
	events, err := r.timeline.EventHeaders(ctx, keys, 200)
	if err != nil {
		return item{}, fmt.Errorf("timeline of %s: %w", key, err)
	}
	it := item{code: c, events: events}
	if r.items != nil {
		r.items.put(code, it, gen, time.Now())
	}
	return it, nil
}

// historyTTL is how long a lot's upstream history is reused.
const historyTTL = 30 * time.Second

type cachedEntity struct {
	e     trace.Entity
	until time.Time
}

type cachedHistory struct {
	events []trace.StoredEvent
	until  time.Time
}

// lotHistory returns the events of a lot and of everything it was made
// from (a backward trace), cached for historyTTL.
func (r *Resolver) lotHistory(ctx context.Context, lotKey string) ([]trace.StoredEvent, error) {
	now := time.Now()
	r.mu.Lock()
	h, ok := r.history[lotKey]
	r.mu.Unlock()
	if ok && now.Before(h.until) {
		return h.events, nil
	}
	g, err := r.tracer.Trace(ctx, trace.System, []string{lotKey}, trace.Backward, trace.TraceOptions{MaxDepth: 6, MaxNodes: 500})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, n := range g.Nodes {
		if n.Kind == trace.NodeLot || n.Kind == trace.NodeOther {
			keys = append(keys, n.Key)
		}
	}
	events, err := r.timeline.EventHeaders(ctx, keys, 200)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if len(r.history) > 10_000 {
		clear(r.history)
	}
	r.history[lotKey] = cachedHistory{events: events, until: now.Add(historyTTL)}
	r.mu.Unlock()
	return events, nil
}

// check counts one more check of code and returns how many it has had,
// this one included: the store's count (every replica's scans), read at
// most once per checksTTL, plus the checks this process answered since.
func (r *Resolver) check(ctx context.Context, code CodeKey) (int, error) {
	now := time.Now()
	r.mu.Lock()
	if c, ok := r.checks[code]; ok && now.Sub(c.at) < checksTTL && !now.Before(c.at) {
		c.since++
		n := c.stored + c.since
		r.mu.Unlock()
		return n, nil
	}
	r.mu.Unlock()
	stored, err := r.scans.CountScans(ctx, code.GTIN, code.Serial)
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.checks) >= 100_000 {
		clear(r.checks)
	}
	r.checks[code] = &checkCount{stored: stored, since: 1, at: now}
	return stored + 1, nil
}

// product returns a registered product, kept for productTTL. Unknown
// GTINs are not kept: a product registered a moment later resolves at once.
func (r *Resolver) product(ctx context.Context, gtin string) (trace.Product, error) {
	now := time.Now()
	if p, ok := r.products.Get(gtin, now); ok {
		return p, nil
	}
	p, err := r.register.Product(ctx, gtin)
	if err == nil {
		r.products.Put(gtin, p, now)
	}
	return p, err
}

// batch returns a registered batch, kept for historyTTL (batches do not
// change). Unknown lots are not kept.
func (r *Resolver) batch(ctx context.Context, gtin, lot string) (trace.Batch, error) {
	now, key := time.Now(), gtin+"\x00"+lot
	if b, ok := r.batches.Get(key, now); ok {
		return b, nil
	}
	b, err := r.register.Batch(ctx, gtin, lot)
	if err == nil {
		r.batches.Put(key, b, now)
	}
	return b, err
}

// entity returns an entity's public facts, cached for historyTTL: names
// and regions of custodians change rarely.
func (r *Resolver) entity(ctx context.Context, id string) (trace.Entity, error) {
	now := time.Now()
	r.mu.Lock()
	c, ok := r.entities[id]
	r.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.e, nil
	}
	e, err := r.register.Entity(ctx, id)
	if errors.Is(err, trace.ErrNotFound) {
		return trace.Entity{}, nil
	}
	if err != nil {
		return trace.Entity{}, err
	}
	r.mu.Lock()
	if len(r.entities) > 10_000 {
		clear(r.entities)
	}
	r.entities[id] = cachedEntity{e: e, until: now.Add(historyTTL)}
	r.mu.Unlock()
	return e, nil
}

// stageOf places an event in the stages consumers think in.
func stageOf(ev trace.StoredEvent, by trace.Entity) string {
	switch {
	case ev.BizStep == "retail_selling" || by.HasKind(trace.KindRetailer):
		return "retail"
	case ev.Type == "TransformationEvent" || by.HasKind(trace.KindProcessor) ||
		(by.HasKind(trace.KindManufacturer) && !by.HasKind(trace.KindFarm) && !by.HasKind(trace.KindLab)):
		return "processing"
	case by.HasKind(trace.KindDistributor):
		return "distribution"
	case by.HasKind(trace.KindFarm) || by.HasKind(trace.KindLab):
		return "farm_lab"
	}
	return "distribution"
}

// distanceKm is the great-circle distance between two points.
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

// Alerts returns one page of counterfeit alerts: all of them to
// officials, an entity's own products' to an entity.
func (r *Resolver) Alerts(ctx context.Context, caller trace.Principal, kind AlertKind, p trace.Page) ([]Alert, string, error) {
	if err := caller.Require(trace.RoleRegulator, trace.RoleInspector, trace.RoleEntity); err != nil {
		return nil, "", err
	}
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	if kind != "" && !slices.Contains(AlertKinds, kind) {
		return nil, "", trace.Invalid("kind", "unknown alert kind %q", kind)
	}
	f := AlertFilter{Owner: caller.Scope(), Kind: kind}
	list, err := r.scans.ListAlerts(ctx, f, trace.Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list alerts: %w", err)
	}
	return trace.PageOf(list, p.Limit, func(a Alert) string { return a.ID })
}
