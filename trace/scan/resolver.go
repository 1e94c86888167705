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
)

// Codes is what the resolver reads of the code register; trace.CodeStore
// implements it.
type Codes interface {
	// Code returns the issued code, or [trace.ErrNotFound].
	Code(ctx context.Context, gtin, serial string) (trace.Code, error)
}

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
	Logger      *slog.Logger // for failures of the background recorder; nil discards
	Now         trace.Clock

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

	mu       sync.Mutex
	history  map[string]cachedHistory // lot key → upstream events
	entities map[string]cachedEntity  // makers and custodians shown on pages
}

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
		history: map[string]cachedHistory{}, entities: map[string]cachedEntity{}}
	r.rec = newRecorder(r)
	return r
}

// Resolve tells what a Digital Link stands for, and logs the scan of a
// serial asynchronously. An unknown code is an answer (VerdictUnknownCode),
// not an error; a malformed link is [ErrInvalid].
func (r *Resolver) Resolve(ctx context.Context, uri string, e gs1.Elements, client Client) (Resolution, error) {
	gtin, _ := e.Get("01")
	lot, hasLot := e.Get("10")
	serial, hasSerial := e.Get("21")
	if gtin == "" {
		return Resolution{}, trace.Invalid("uri", "a scan link needs a GTIN, AI (01)")
	}
	now := r.cfg.Now.Now()
	res := Resolution{Verdict: VerdictGenuine, URI: uri, GTIN: gtin, Lot: lot, Serial: serial, ScannedAt: now,
		Provenance: []Stage{}}
	p, err := r.register.Product(ctx, gtin)
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

	var code *trace.Code
	container := ""
	if hasSerial {
		c, err := r.codes.Code(ctx, gtin, serial)
		switch {
		case errors.Is(err, trace.ErrNotFound):
		case err != nil:
			return Resolution{}, err
		default:
			if !hasLot || c.Lot == lot {
				code = &c
			}
		}
		if code == nil {
			res.Verdict = VerdictUnknownCode
			return res, r.log(res, p.OwnerID, client)
		}
		lot, res.Lot, res.State, container = code.Lot, code.Lot, code.State, code.Container
	}
	if lot != "" {
		b, err := r.register.Batch(ctx, gtin, lot)
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
	}
	if res.Provenance, err = r.provenance(ctx, gtin, lot, serial, container); err != nil {
		return Resolution{}, err
	}
	if r.cfg.Recalls != nil {
		if res.Recall, err = r.cfg.Recalls.RecallFor(ctx, gtin, lot, serial); err != nil {
			return Resolution{}, err
		}
	}
	switch {
	case res.Recall != nil || res.State == trace.StateRecalled:
		res.Verdict = VerdictRecalled
	case res.State == trace.StateSold || res.State == trace.StateDecommissioned || res.State == trace.StateDestroyed:
		res.Verdict = VerdictDecommissioned
	case res.Batch != nil && res.Batch.Expired:
		res.Verdict = VerdictExpired
	}
	return res, r.log(res, p.OwnerID, client)
}

// provenance is the custody timeline of an item or lot: the events of the
// item and of what it is packed in, and the upstream history of its lot
// (what the lot was made from, back to the farm or lab), which all items
// of the lot share and which is cached for a short while.
func (r *Resolver) provenance(ctx context.Context, gtin, lot, serial string, container string) ([]Stage, error) {
	var events []trace.StoredEvent
	if lot != "" {
		up, err := r.lotHistory(ctx, trace.LotKey(gtin, lot))
		if err != nil {
			return nil, err
		}
		events = append(events, up...)
	}
	if serial != "" {
		keys := []string{trace.ItemKey(gtin, serial)}
		if container != "" {
			keys = append(keys, container)
		}
		own, err := r.timeline.EventHeaders(ctx, keys, 200)
		if err != nil {
			return nil, err
		}
		events = append(events, own...)
	}
	slices.SortFunc(events, func(a, b trace.StoredEvent) int {
		if d := a.EventTime.Compare(b.EventTime); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	events = slices.CompactFunc(events, func(a, b trace.StoredEvent) bool { return a.ID == b.ID })
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
