package trace

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

	"tracesvc/trace/gs1"
)

// RecallNotice is an open recall as a consumer must see it.
type RecallNotice struct {
	ID           string `json:"id"`
	Class        string `json:"class,omitempty"` // I, II or III
	Hazard       string `json:"hazard"`          // what can go wrong, plainly
	Instructions string `json:"instructions"`    // e.g. "Stop using this product."
	Remedy       string `json:"remedy"`          // refund, repair, replace, …
	Contact      string `json:"contact,omitempty"`
}

// RecallLookup tells whether a product, lot or item is under recall. The
// recall domain implements it; cmd wires it in.
type RecallLookup interface {
	RecallFor(ctx context.Context, gtin, lot, serial string) (*RecallNotice, error)
}

// DeclaredStandard is one standard a product is declared to follow.
type DeclaredStandard struct {
	Type   string `json:"type"`   // GB, GB/T, QB/T, DB.., T/.., Q/..
	Number string `json:"number"` // e.g. GB 2760-2014
	Name   string `json:"name"`
}

// StandardsLookup lists the published standard declarations of a product.
// The standards domain implements it.
type StandardsLookup interface {
	DeclaredStandards(ctx context.Context, gtin string) ([]DeclaredStandard, error)
}

// CreditClass is an entity's published credit class.
type CreditClass struct {
	Class  string `json:"class"`  // good, warning, dishonest, seriously_dishonest
	Colour string `json:"colour"` // green, yellow, red, black
	Basis  string `json:"basis,omitempty"`
}

// CreditLookup gives an entity's credit class. The recall domain's credit
// record implements it.
type CreditLookup interface {
	CreditClass(ctx context.Context, entityID string) (CreditClass, error)
}

// Maker is the product's owner as a consumer sees it.
type Maker struct {
	ID     string       `json:"id"`
	Name   string       `json:"name"`
	Region string       `json:"region"`
	Credit *CreditClass `json:"credit,omitempty"` // absent until a credit record is wired in
}

// ProductFacts is what a scan shows of a product.
type ProductFacts struct {
	GTIN     string   `json:"gtin"`
	Name     string   `json:"name"`
	Brand    string   `json:"brand,omitempty"`
	Model    string   `json:"model,omitempty"`
	Category Category `json:"category"`
	Maker    Maker    `json:"maker"`
}

// BatchFacts is what a scan shows of a batch.
type BatchFacts struct {
	Lot            string `json:"lot"`
	ProductionDate string `json:"productionDate"`
	ExpiryDate     string `json:"expiryDate,omitempty"`
	Expired        bool   `json:"expired"`
}

// Stage is one step of the custody timeline a consumer sees: never prices,
// order numbers or personal data, and places only to city level.
type Stage struct {
	Stage     string    `json:"stage"` // farm_lab, processing, distribution, retail
	Step      string    `json:"step"`  // the CBV business step, e.g. shipping
	Date      string    `json:"date"`  // YYYY-MM-DD
	Time      time.Time `json:"time"`
	Place     string    `json:"place,omitempty"`     // the custodian's region
	Custodian string    `json:"custodian,omitempty"` // the custodian's name
}

// Resolution is what resolving a Digital Link tells the consumer.
type Resolution struct {
	Verdict    Verdict            `json:"verdict"`
	URI        string             `json:"uri"`
	GTIN       string             `json:"gtin"`
	Lot        string             `json:"lot,omitempty"`
	Serial     string             `json:"serial,omitempty"`
	State      CodeState          `json:"codeState,omitempty"`
	Product    *ProductFacts      `json:"product"`
	Batch      *BatchFacts        `json:"batch"`
	Provenance []Stage            `json:"provenance"`
	Recall     *RecallNotice      `json:"recall,omitempty"`
	Standards  []DeclaredStandard `json:"standards,omitempty"`
	ScannedAt  time.Time          `json:"scannedAt"`
	ScanID     string             `json:"scanId,omitempty"`
}

// ScanClient is who scanned and where, as far as the service may know.
type ScanClient struct {
	Fingerprint string // keyed hash of address and agent
	Lat, Lon    *float64
}

// ResolverConfig configures the counterfeit signals.
type ResolverConfig struct {
	MaxScans    int     // more scans of one serial than this raise an alert; 0 means 50
	MaxSpeedKmh float64 // faster travel between two scans raises an alert; 0 means 900 (an airliner)
	Recalls     RecallLookup
	Standards   StandardsLookup
	Credit      CreditLookup
	Logger      *slog.Logger // for failures of the background recorder; nil discards
}

// Resolver answers consumer scans and records them.
type Resolver struct {
	registry *Registry
	codes    CodeStore
	chain    *Chain
	scans    ScanStore
	cfg      ResolverConfig

	queue   chan Scan
	queueMu sync.RWMutex // guards closed against sends on a closed queue
	closed  bool
	done    chan struct{}
	closing sync.Once

	flushMu sync.Mutex
	counts  map[string]int  // code → scans seen; guarded by flushMu
	alerted map[string]bool // "kind code" pairs known to have their alert
	pending map[string]bool // codes whose count was read from the store in this flush

	mu       sync.Mutex
	history  map[string]cachedHistory // lot key → upstream events
	entities map[string]cachedEntity  // makers and custodians shown on pages
}

// NewResolver returns a resolver and starts its scan recorder; call Close
// to drain it.
func NewResolver(registry *Registry, codes CodeStore, chain *Chain, scans ScanStore, cfg ResolverConfig) *Resolver {
	if cfg.MaxScans <= 0 {
		cfg.MaxScans = 50
	}
	if cfg.MaxSpeedKmh <= 0 {
		cfg.MaxSpeedKmh = 900
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Resolver{registry: registry, codes: codes, chain: chain, scans: scans, cfg: cfg,
		queue: make(chan Scan, 1<<16), done: make(chan struct{}),
		history: map[string]cachedHistory{}, entities: map[string]cachedEntity{}, counts: map[string]int{}, pending: map[string]bool{}, alerted: map[string]bool{}}
	go r.record()
	return r
}

// Resolve tells what a Digital Link stands for, and logs the scan of a
// serial asynchronously. An unknown code is an answer (VerdictUnknownCode),
// not an error; a malformed link is [ErrInvalid].
func (r *Resolver) Resolve(ctx context.Context, uri string, e gs1.Elements, client ScanClient) (Resolution, error) {
	gtin, _ := e.Get("01")
	lot, hasLot := e.Get("10")
	serial, hasSerial := e.Get("21")
	if gtin == "" {
		return Resolution{}, Invalid("uri", "a scan link needs a GTIN, AI (01)")
	}
	now := r.registry.Now()
	res := Resolution{Verdict: VerdictGenuine, URI: uri, GTIN: gtin, Lot: lot, Serial: serial, ScannedAt: now,
		Provenance: []Stage{}}
	p, err := r.registry.store.Product(ctx, gtin)
	switch {
	case errors.Is(err, ErrNotFound):
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

	var code *Code
	container := ""
	if hasSerial {
		c, err := r.codes.Code(ctx, gtin, serial)
		switch {
		case errors.Is(err, ErrNotFound):
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
		b, err := r.registry.store.Batch(ctx, gtin, lot)
		switch {
		case errors.Is(err, ErrNotFound):
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
	case res.Recall != nil || res.State == StateRecalled:
		res.Verdict = VerdictRecalled
	case res.State == StateSold || res.State == StateDecommissioned || res.State == StateDestroyed:
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
	var events []StoredEvent
	if lot != "" {
		up, err := r.lotHistory(ctx, LotKey(gtin, lot))
		if err != nil {
			return nil, err
		}
		events = append(events, up...)
	}
	if serial != "" {
		keys := []string{itemKey(gtin, serial)}
		if container != "" {
			keys = append(keys, container)
		}
		own, err := r.chain.store.EventHeaders(ctx, keys, 200)
		if err != nil {
			return nil, err
		}
		events = append(events, own...)
	}
	slices.SortFunc(events, func(a, b StoredEvent) int {
		if d := a.EventTime.Compare(b.EventTime); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	events = slices.CompactFunc(events, func(a, b StoredEvent) bool { return a.ID == b.ID })
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
	e     Entity
	until time.Time
}

type cachedHistory struct {
	events []StoredEvent
	until  time.Time
}

// lotHistory returns the events of a lot and of everything it was made
// from (a backward trace), cached for historyTTL.
func (r *Resolver) lotHistory(ctx context.Context, lotKey string) ([]StoredEvent, error) {
	now := time.Now()
	r.mu.Lock()
	h, ok := r.history[lotKey]
	r.mu.Unlock()
	if ok && now.Before(h.until) {
		return h.events, nil
	}
	g, err := r.chain.Trace(ctx, []string{lotKey}, Backward, TraceOptions{MaxDepth: 6, MaxNodes: 500})
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, n := range g.Nodes {
		if n.Kind == NodeLot || n.Kind == NodeOther {
			keys = append(keys, n.Key)
		}
	}
	events, err := r.chain.store.EventHeaders(ctx, keys, 200)
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
func (r *Resolver) entity(ctx context.Context, id string) (Entity, error) {
	now := time.Now()
	r.mu.Lock()
	c, ok := r.entities[id]
	r.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.e, nil
	}
	e, err := r.registry.store.Entity(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Entity{}, nil
	}
	if err != nil {
		return Entity{}, err
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
func stageOf(ev StoredEvent, by Entity) string {
	switch {
	case ev.BizStep == "retail_selling" || by.HasKind(KindRetailer):
		return "retail"
	case ev.Type == "TransformationEvent" || by.HasKind(KindProcessor) || (by.HasKind(KindManufacturer) && !by.HasKind(KindFarm) && !by.HasKind(KindLab)):
		return "processing"
	case by.HasKind(KindDistributor):
		return "distribution"
	case by.HasKind(KindFarm) || by.HasKind(KindLab):
		return "farm_lab"
	}
	return "distribution"
}

// log queues the scan of a serial for recording; class-level resolves
// are not logged.
func (r *Resolver) log(res Resolution, owner string, c ScanClient) error {
	if res.Serial == "" {
		return nil
	}
	s := Scan{ID: NewID(res.ScannedAt), GTIN: res.GTIN, Serial: res.Serial, Lot: res.Lot, At: res.ScannedAt,
		Client: c.Fingerprint, Verdict: res.Verdict, Owner: owner}
	if c.Lat != nil && c.Lon != nil {
		s.HasLocation, s.Lat, s.Lon = true, math.Round(*c.Lat*100)/100, math.Round(*c.Lon*100)/100
	}
	r.queueMu.RLock()
	queued := false
	if !r.closed {
		select {
		case r.queue <- s:
			queued = true
		default:
		}
	}
	r.queueMu.RUnlock()
	if !queued {
		// The queue is full, or closed by a shutdown that outran this
		// request: record the scan in line rather than lose it.
		r.flush(context.Background(), []Scan{s})
	}
	return nil
}

// record writes queued scans in batches and raises alerts, until Close.
func (r *Resolver) record() {
	defer close(r.done)
	batch := make([]Scan, 0, 512)
	for s := range r.queue {
		batch = append(batch, s)
	drain:
		for len(batch) < cap(batch) {
			select {
			case s, ok := <-r.queue:
				if !ok {
					break drain
				}
				batch = append(batch, s)
			default:
				break drain
			}
		}
		r.flush(context.Background(), batch)
		batch = batch[:0]
	}
}

// flush stores scans and checks them for counterfeit signals. A store
// failure is retried a few times; scans are never dropped silently.
func (r *Resolver) flush(ctx context.Context, scans []Scan) {
	r.flushMu.Lock() // the recorder, or a caller when the queue is full
	defer r.flushMu.Unlock()
	defer clear(r.pending)
	for attempt := 0; ; attempt++ {
		err := r.scans.InsertScans(ctx, scans)
		if err == nil {
			break
		}
		// Keep the scans and try again: the store may be restarting.
		r.cfg.Logger.ErrorContext(ctx, "recording scans failed; retrying", "scans", len(scans), "attempt", attempt, "err", err)
		time.Sleep(min(time.Duration(attempt+1)*100*time.Millisecond, 5*time.Second))
	}
	for _, s := range scans {
		if err := r.signals(ctx, s); err != nil {
			// The next scan of the code checks again.
			r.cfg.Logger.WarnContext(ctx, "checking counterfeit signals failed", "gtin", s.GTIN, "serial", s.Serial, "err", err)
		}
	}
}

// Queued reports how many scans wait to be recorded.
func (r *Resolver) Queued() int { return len(r.queue) }

// Close stops queueing scans and waits until every queued scan is stored.
// Scans logged after Close are stored in line.
func (r *Resolver) Close() {
	r.closing.Do(func() {
		r.queueMu.Lock()
		r.closed = true
		close(r.queue)
		r.queueMu.Unlock()
	})
	<-r.done
}

// signals raises the counterfeit alerts a scan calls for.
func (r *Resolver) signals(ctx context.Context, s Scan) error {
	alerted := func(kind AlertKind) bool { return r.alerted[string(kind)+" "+s.GTIN+"/"+s.Serial] }
	raise := func(kind AlertKind, scans []string, detail string) error {
		if s.Owner == "" && kind != AlertImpossibleTravel {
			return nil // a GTIN nobody here owns: nobody to alert but officials, and no code to protect
		}
		if alerted(kind) {
			return nil
		}
		seen, err := r.scans.HasAlert(ctx, kind, s.GTIN, s.Serial)
		if err != nil {
			return err
		}
		if len(r.alerted) > 1_000_000 {
			clear(r.alerted)
		}
		r.alerted[string(kind)+" "+s.GTIN+"/"+s.Serial] = true
		if seen {
			return nil
		}
		err = r.scans.InsertAlert(ctx, Alert{ID: NewID(s.At), Kind: kind, GTIN: s.GTIN, Serial: s.Serial, Owner: s.Owner,
			Scans: scans, Detail: detail, CreatedAt: s.At})
		if errors.Is(err, ErrConflict) {
			return nil
		}
		return err
	}
	switch s.Verdict {
	case VerdictUnknownCode:
		if err := raise(AlertUnknownSerial, []string{s.ID}, "serial "+s.Serial+" was never issued under this GTIN"); err != nil {
			return err
		}
	case VerdictDecommissioned:
		if err := raise(AlertScannedAfterSale, []string{s.ID}, "scanned after it was sold or decommissioned"); err != nil {
			return err
		}
	}
	n, err := r.count(ctx, s)
	if err != nil {
		return err
	}
	if n > r.cfg.MaxScans && !alerted(AlertTooManyScans) {
		recent, err := r.scans.RecentScans(ctx, s.GTIN, s.Serial, 10)
		if err != nil {
			return err
		}
		var ids []string
		for _, x := range recent {
			ids = append(ids, x.ID)
		}
		if err := raise(AlertTooManyScans, ids, fmt.Sprintf("scanned %d times (more than %d)", n, r.cfg.MaxScans)); err != nil {
			return err
		}
	}
	if !s.HasLocation {
		return nil
	}
	recent, err := r.scans.RecentScans(ctx, s.GTIN, s.Serial, 20)
	if err != nil {
		return err
	}
	for _, prev := range recent {
		if prev.ID >= s.ID || !prev.HasLocation { // IDs are time-ordered: skip this scan and later ones
			continue
		}
		km := distanceKm(prev.Lat, prev.Lon, s.Lat, s.Lon)
		hours := math.Abs(s.At.Sub(prev.At).Hours())
		// Locations are rounded to ~1 km; allow for that before judging speed.
		if km > 5 && km/math.Max(hours, 1.0/3600) > r.cfg.MaxSpeedKmh {
			return raise(AlertImpossibleTravel, []string{prev.ID, s.ID},
				fmt.Sprintf("scanned %.0f km apart within %s", km, s.At.Sub(prev.At).Abs().Round(time.Second)))
		}
		break // compare with the latest earlier scan that has a location
	}
	return nil
}

// count returns how many times s's code has been scanned, s included.
// The store is asked once per code; the recorder (the only writer of this
// instance's scans) counts on from there. Scans recorded by other
// instances are seen when the code's count is next read from the store.
func (r *Resolver) count(ctx context.Context, s Scan) (int, error) {
	key := s.GTIN + "/" + s.Serial
	if n, ok := r.counts[key]; ok {
		if r.pending[key] {
			return n, nil // read from the store in this flush: this scan is in it
		}
		r.counts[key] = n + 1
		return n + 1, nil
	}
	n, err := r.scans.CountScans(ctx, s.GTIN, s.Serial)
	if err != nil {
		return 0, err
	}
	if len(r.counts) > 1_000_000 {
		clear(r.counts) // bounded memory: counts are re-read from the store
	}
	// The stored count includes every scan of this batch of the code, so
	// later scans of the same batch must not add to it again.
	r.counts[key] = n
	r.pending[key] = true
	return n, nil
}

// distanceKm is the great-circle distance between two points.
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

// Alerts returns one page of counterfeit alerts, of one owner's products
// when owner is set.
func (r *Resolver) Alerts(ctx context.Context, f AlertFilter, p Page) ([]Alert, string, error) {
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	switch f.Kind {
	case "", AlertUnknownSerial, AlertScannedAfterSale, AlertImpossibleTravel, AlertTooManyScans:
	default:
		return nil, "", Invalid("kind", "unknown alert kind %q", f.Kind)
	}
	list, err := r.scans.ListAlerts(ctx, f, Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list alerts: %w", err)
	}
	return PageOf(list, p.Limit, func(a Alert) string { return a.ID })
}
