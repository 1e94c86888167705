package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// load is the mixed load of one soak.
type load struct {
	cl    *client
	w     *world
	cfg   config
	ctx   context.Context // of the requests: they are never cut short at the end, only waited for
	reads atomic.Int64    // API reads sent, to take them in turn
	ships atomic.Int64    // shipments started
}

// run sets up the supply chain, runs the mixed load for cfg.duration and
// returns what it measured, having written the report to out and progress
// to logw. An error means the soak could not run (the set-up failed); the
// result's failures say whether the service passed.
func run(ctx context.Context, cfg config, out, logw io.Writer) (result, error) {
	log := slog.New(slog.NewTextHandler(logw, nil))
	cl, err := newClient(cfg.base, newStats(log))
	if err != nil {
		return result{}, err
	}
	began := time.Now()
	w, err := setUp(ctx, cl, cfg.key, cfg.codesPerLot)
	if err != nil {
		return result{}, fmt.Errorf("set-up: %w", err)
	}
	log.Info("set up", "took", time.Since(began).Round(time.Millisecond), "codes", len(w.codes), "lots", len(w.lots))
	cl.stats = newStats(log) // the load's answers only

	loadCtx, stop := context.WithTimeout(ctx, cfg.duration)
	defer stop()
	res := result{sampled: cfg.pid > 0}
	memDone := make(chan error, 1)
	if res.sampled {
		go func() {
			var err error
			probe := func() goMemory {
				m := readMetrics(ctx, cl, "read metrics (sampler)", w.reg)
				return goMemory{heapInUse: int64(m["go_memstats_heap_inuse_bytes"]), sys: int64(m["go_memstats_sys_bytes"])}
			}
			res.samples, res.peakRSSKB, err = memoryCurve(loadCtx, cfg.pid, cfg.sample, probe, func(s sample) {
				log.Info("memory", "t", s.at.Round(time.Second), "rss_mb", s.rssKB>>10, "cpu_pct", int(s.cpu),
					"go_heap_inuse_mb", s.goMem.heapInUse>>20, "go_sys_mb", s.goMem.sys>>20)
			})
			memDone <- err
		}()
	} else {
		memDone <- nil
	}

	l := &load{cl: cl, w: w, cfg: cfg, ctx: ctx}
	start := time.Now()
	var wg sync.WaitGroup
	l.pace(loadCtx, &wg, "scan JSON", cfg.scanRate, 64, l.scanJSON)
	l.pace(loadCtx, &wg, "scan page", cfg.pageRate, 32, l.scanPage)
	l.pace(loadCtx, &wg, "scan unknown", cfg.unknownRate, 8, l.scanUnknown)
	l.pace(loadCtx, &wg, "read", cfg.readRate, 16, l.read)
	l.captures(loadCtx, &wg)
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.midRun(loadCtx)
	}()
	<-loadCtx.Done()
	wg.Wait()
	res.elapsed = time.Since(start)
	if err := <-memDone; err != nil {
		return result{}, err
	}
	res.metrics = l.counters()
	res.rows = cl.stats.rows()
	res.verdicts = cl.stats.verdictCounts()
	res.print(out, cfg)
	return res, nil
}

// pace calls fn rate times a second until ctx ends, each call on a
// goroutine of its own, at most inFlight at once: a call due while
// inFlight calls run is counted as skipped under class.
func (l *load) pace(ctx context.Context, wg *sync.WaitGroup, class string, rate float64, inFlight int, fn func()) {
	if rate <= 0 {
		return
	}
	sem := make(chan struct{}, inFlight)
	l.schedule(ctx, wg, rate, func() {
		select {
		case sem <- struct{}{}:
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				fn()
			}()
		default:
			l.cl.stats.skipped(class)
		}
	})
}

// schedule calls due rate times a second, on one goroutine, until ctx
// ends. Calls fall due on a schedule from the start, so a late tick (a
// busy machine) makes the calls it owes rather than losing them.
func (l *load) schedule(ctx context.Context, wg *sync.WaitGroup, rate float64, due func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		start, made := time.Now(), 0
		t := time.NewTicker(min(time.Duration(float64(time.Second)/rate), 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for owed := int(time.Since(start).Seconds() * rate); made < owed; made++ {
				due()
			}
		}
	}()
}

// scanJSON scans an issued code as JSON: genuine, or recalled once its
// lot's recall has opened.
func (l *load) scanJSON() {
	c := l.w.pick(rand.Float64())
	sent := time.Now().UnixNano()
	a, err := l.cl.do(l.ctx, call{class: "scan JSON", method: "GET", path: c.path})
	if err != nil {
		return
	}
	var got struct{ Verdict string }
	if err := decodeInto(a, &got); err != nil {
		l.cl.stats.wrong("scan JSON", err)
		return
	}
	l.cl.stats.verdict(got.Verdict)
	want := "genuine"
	switch opened := c.lot.recalledAt.Load(); {
	case opened != 0 && sent > opened:
		want = "recalled"
	case c.lot.opening.Load() != 0:
		return // sent while the recall was opening: either verdict is right
	}
	if got.Verdict != want {
		l.cl.stats.wrong("scan JSON", fmt.Errorf("%s: verdict %q, want %q", c.uri, got.Verdict, want))
	}
}

// scanPage scans an issued code as a phone's browser would.
func (l *load) scanPage() {
	c := l.w.pick(rand.Float64())
	a, err := l.cl.do(l.ctx, call{class: "scan page", method: "GET", path: c.path, accept: "text/html"})
	if err == nil && !bytes.Contains(a.body, []byte("</html>")) {
		l.cl.stats.wrong("scan page", fmt.Errorf("%s: no HTML page: %.200s", c.uri, a.body))
	}
}

// scanUnknown scans a serial never issued, of one of the maker's
// products: the service answers unknown_code (and raises an alert).
func (l *load) scanUnknown() {
	path := fmt.Sprintf("/01/%s/21/NOPE%08X", l.w.products[rand.IntN(len(l.w.products))], rand.Uint32())
	a, err := l.cl.do(l.ctx, call{class: "scan unknown", method: "GET", path: path})
	if err != nil {
		return
	}
	var got struct{ Verdict string }
	err = decodeInto(a, &got)
	l.cl.stats.verdict(got.Verdict)
	if err != nil || got.Verdict != "unknown_code" {
		l.cl.stats.wrong("scan unknown", fmt.Errorf("%s: verdict %q (%v), want unknown_code", path, got.Verdict, err))
	}
}

// read sends the next of the API reads, in turn.
func (l *load) read() {
	w, n := l.w, l.reads.Add(1)
	lt := w.lots[rand.IntN(len(w.lots))]
	var c call
	switch n % 11 {
	case 0:
		c = call{class: "read events", method: "GET", path: "/epcis/events?EQ_bizStep=shipping&perPage=50", key: w.reg}
	case 1:
		code := w.pick(rand.Float64())
		c = call{class: "read events", method: "GET", path: "/epcis/events?MATCH_epc=" + url.QueryEscape(code.uri), key: w.maker.key}
	case 2:
		c = call{class: "read trace JSON", method: "GET", path: "/api/v1/trace/forward?gtin=" + lt.gtin + "&lot=" + lt.lot, key: w.maker.key}
	case 3:
		c = call{class: "read trace NDJSON", method: "GET", path: "/api/v1/trace/forward?gtin=" + lt.gtin + "&lot=" + lt.lot,
			key: w.reg, accept: "application/x-ndjson"}
	case 4:
		c = call{class: "read products", method: "GET", path: "/api/v1/products", key: w.maker.key}
	case 5:
		c = call{class: "read batches", method: "GET", path: "/api/v1/products/" + lt.gtin + "/batches", key: w.maker.key}
	case 6:
		c = call{class: "read recalls", method: "GET", path: "/api/v1/recalls"}
	case 7:
		c = call{class: "read incidents", method: "GET", path: "/api/v1/incidents", key: w.reg}
	case 8:
		c = call{class: "read credit", method: "GET", path: "/api/v1/entities/" + w.maker.id + "/credit", key: w.reg}
	case 9:
		c = call{class: "read dashboard", method: "GET", path: "/dashboard", accept: "text/html", cookies: true}
	default:
		c = call{class: "read metrics", method: "GET", path: "/metrics", key: w.reg, accept: "text/plain"}
	}
	a, err := l.cl.do(l.ctx, c)
	if err == nil && c.accept == "application/x-ndjson" && !bytes.Contains(a.body, []byte(`{"type":"end"`)) {
		l.cl.stats.wrong(c.class, fmt.Errorf("trace of %s had no end record: %.300s", lt.lot, a.body))
	}
}

// captures runs three shippers sharing cfg.captureRate capture
// documents a second.
func (l *load) captures(ctx context.Context, wg *sync.WaitGroup) {
	if l.cfg.captureRate <= 0 {
		return
	}
	tokens := make(chan struct{})
	l.schedule(ctx, wg, l.cfg.captureRate, func() { // a token per document due; one no shipper is ready for is skipped
		select {
		case tokens <- struct{}{}:
		default:
			l.cl.stats.skipped("capture")
		}
	})
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.shipper(ctx, tokens)
		}()
	}
}

// shipper moves shipments of codes down the chain, one capture document
// per token: the maker ships to the distributor, which receives them, packs
// them on a pallet and ships it to a retailer, which receives it and sells
// a few. Every fourth shipment, the first among them, first issues and
// commissions new codes.
func (l *load) shipper(ctx context.Context, tokens <-chan struct{}) {
	w := l.w
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-tokens:
			return true
		}
	}
	for {
		n := l.ships.Add(1)
		codes, ok := w.nextShipment()
		if n%4 == 1 || !ok {
			if !wait() {
				return
			}
			fresh, err := w.issue(l.ctx, l.cl, "issue", w.fresh, 2*shipSize)
			if err == nil && w.commission(l.ctx, l.cl, "capture", fresh) == nil {
				w.add(fresh)
			}
			if !ok {
				continue
			}
		}
		shop := w.shops[int(n)%len(w.shops)]
		pallet, err := w.pallet(l.ctx, l.cl)
		if err != nil {
			continue
		}
		epcs := uris(codes)
		steps := []func(t time.Time) error{
			func(t time.Time) error {
				return capture(l.ctx, l.cl, "capture", w.maker,
					object("OBSERVE", "shipping", "in_transit", t, epcs, moving(w.party(w.maker), w.party(w.dist))))
			},
			func(t time.Time) error {
				return capture(l.ctx, l.cl, "capture", w.dist, object("OBSERVE", "receiving", "in_progress", t, epcs))
			},
			func(t time.Time) error {
				return capture(l.ctx, l.cl, "capture", w.dist, aggregation(t, pallet, epcs),
					object("OBSERVE", "shipping", "in_transit", t.Add(time.Millisecond), []string{pallet}, moving(w.party(w.dist), w.party(shop))))
			},
			func(t time.Time) error {
				return capture(l.ctx, l.cl, "capture", shop, object("OBSERVE", "receiving", "in_progress", t, []string{pallet}))
			},
			func(t time.Time) error {
				return capture(l.ctx, l.cl, "capture", shop, object("OBSERVE", "retail_selling", "retail_sold", t, epcs[:4]))
			},
		}
		for _, step := range steps {
			if !wait() {
				return
			}
			if step(time.Now()) != nil {
				break // counted; the shipment stays where it got to
			}
		}
	}
}

// midRun changes the state of the world while the load runs: a recall of
// the first lot opened after cfg.recallAt of the run, and cfg.midIssue
// more codes issued (streamed) and commissioned after cfg.issueAt.
func (l *load) midRun(ctx context.Context) {
	start := time.Now()
	sleepUntil := func(frac float64) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Until(start.Add(time.Duration(frac * float64(l.cfg.duration))))):
			return true
		}
	}
	w := l.w
	events := []struct {
		at float64
		do func()
	}{{l.cfg.recallAt, l.recall}, {l.cfg.issueAt, func() {
		lt, err := w.batch(l.ctx, l.cl, "issue", w.products[1], "S2-MID")
		if err != nil {
			return
		}
		codes, err := w.issueStream(l.ctx, l.cl, "issue stream", lt, l.cfg.midIssue)
		if err != nil {
			l.cl.stats.wrong("issue stream", err)
			return
		}
		if w.commission(l.ctx, l.cl, "capture", codes) == nil {
			w.add(codes)
		}
	}}}
	if events[1].at < events[0].at {
		events[0], events[1] = events[1], events[0]
	}
	for _, e := range events {
		if !sleepUntil(e.at) {
			return
		}
		e.do()
	}
}

// recall has the regulator order a recall of the first lot and open it;
// from then on its codes must scan as recalled.
func (l *load) recall() {
	w := l.w
	lt := w.lots[0]
	a, err := l.cl.do(l.ctx, call{class: "recall", method: "POST", path: "/api/v1/recalls", key: w.reg, want: []int{201},
		body: jsonBody(map[string]any{"class": "II", "depth": "consumer", "hazard": "Soak test: fat content below the declared standard",
			"reason": "the soak's mid-run recall", "remedy": "refund",
			"custodianInstructions": "Stop selling; return the stock to the maker.",
			"consumerInstructions":  "Do not drink it; take it back to the shop for a refund.", "contact": "Soak Dairy 400-000-0000",
			"scope": map[string]any{"lots": []map[string]any{{"gtin": lt.gtin, "lot": lt.lot}}}})})
	if err != nil {
		return
	}
	var rc struct{ ID string }
	if err := decodeInto(a, &rc); err != nil {
		l.cl.stats.wrong("recall", err)
		return
	}
	lt.opening.Store(time.Now().UnixNano())
	if _, err := l.cl.do(l.ctx, call{class: "recall", method: "POST", path: "/api/v1/recalls/" + rc.ID + "/open", key: w.reg}); err != nil {
		return
	}
	lt.recalledAt.Store(time.Now().UnixNano())
}

// counters reads the service's own counts at the end from /metrics: scans
// stored and dropped, capture events, codes issued, alerts, notice
// attempts, and the 5xx answers it counted.
func (l *load) counters() map[string]float64 {
	m := readMetrics(l.ctx, l.cl, "read metrics", l.w.reg)
	if m == nil {
		return nil
	}
	out := map[string]float64{"tracesvc_http_requests_total{code=5xx}": 0}
	for name, v := range m {
		switch {
		case strings.HasPrefix(name, "tracesvc_http_requests_total{") && strings.Contains(name, `code="5`):
			out["tracesvc_http_requests_total{code=5xx}"] += v
		case strings.HasPrefix(name, "tracesvc_scans_"), strings.HasPrefix(name, "tracesvc_capture_events_total"),
			strings.HasPrefix(name, "tracesvc_codes_issued_total"), strings.HasPrefix(name, "tracesvc_alerts_raised_total"),
			strings.HasPrefix(name, "tracesvc_outbox_attempts_total"):
			out[name] = v
		}
	}
	return out
}

// readMetrics reads every sample of the service's /metrics as the
// regulator, by series (name and labels); nil when it cannot.
func readMetrics(ctx context.Context, cl *client, class, reg string) map[string]float64 {
	a, err := cl.do(ctx, call{class: class, method: "GET", path: "/metrics", key: reg, accept: "text/plain"})
	if err != nil {
		return nil
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(a.body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		sp := strings.LastIndexByte(line, ' ')
		if strings.HasPrefix(line, "#") || sp < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[sp+1:], 64); err == nil {
			out[line[:sp]] = v
		}
	}
	return out
}
