package wire

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"tracesvc/recall"
	"tracesvc/trace"
	"tracesvc/trace/scan"
)

// NewRegistry returns the registry of one process's metrics, with the Go
// runtime's and the process's collectors on it. There is no global
// registry: cmd makes one, opens the store with [StoreTimer] on it and
// hands it to [Build] in [Options].Metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// storeBuckets bound the store-operation histogram, in seconds: from a
// cached SQLite read (tens of microseconds) to a slow commit.
var storeBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// StoreTimer registers the store-operation histogram on reg and returns
// the function that times backend's ("sqlite" or "mongodb") operations
// into it: hand it to sqlitedb.Config.Observe, or to
// schemamongo.CommandMonitor. ops are the operation names it will be
// told (sqlitedb.Ops, schemamongo.Commands); their series are made at
// once, and any other name counts as "other", so that a lookup allocates
// nothing and the names stay few.
func StoreTimer(reg prometheus.Registerer, backend string, ops []string) func(op string, d time.Duration) {
	vec := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tracesvc_store_operation_duration_seconds",
		Help: "Time the store took for one operation, by backend and operation (SQLite statements by first keyword, " +
			"and begin/commit/rollback; MongoDB commands by name).",
		Buckets: storeBuckets}, []string{"backend", "operation"})
	if err := reg.Register(vec); err != nil {
		are, ok := err.(prometheus.AlreadyRegisteredError)
		if !ok {
			panic(err) // a programming error: a clashing series name
		}
		vec = are.ExistingCollector.(*prometheus.HistogramVec)
	}
	byOp := make(map[string]prometheus.Observer, len(ops)+1)
	for _, op := range slices.Concat(ops, []string{"other"}) {
		byOp[op] = vec.WithLabelValues(backend, op)
	}
	other := byOp["other"]
	return func(op string, d time.Duration) {
		o, ok := byOp[op]
		if !ok {
			o = other
		}
		o.Observe(d.Seconds())
	}
}

// depthEvery is the least time between two counts of the outbox in the
// store: a scrape in between reports the last count.
const depthEvery = 10 * time.Second

// depthTimeout bounds one count of the outbox.
const depthTimeout = 2 * time.Second

// registerDomainMetrics registers the series the domains feed: scans,
// alerts, codes issued and the outbox.
func registerDomainMetrics(reg prometheus.Registerer, resolver *scan.Resolver, alerts *prometheus.CounterVec,
	codes *prometheus.CounterVec, outbox *recall.Outbox, logger *slog.Logger) {
	scans := func(name, help string, typ prometheus.ValueType, v func(scan.Stats) float64) prometheus.Collector {
		desc := prometheus.NewDesc(name, help, nil, nil)
		return collectFunc{desc: desc, collect: func(ch chan<- prometheus.Metric) {
			ch <- prometheus.MustNewConstMetric(desc, typ, v(resolver.Stats()))
		}}
	}
	attempts := prometheus.NewDesc("tracesvc_outbox_attempts_total",
		"Notice delivery attempts this process made, by outcome: delivered, retry, dead (dead-lettered) or no_endpoint.",
		[]string{"outcome"}, nil)
	reg.MustRegister(
		scans("tracesvc_scan_queue_length", "Scans waiting to be recorded.", prometheus.GaugeValue,
			func(s scan.Stats) float64 { return float64(s.Queued) }),
		scans("tracesvc_scans_stored_total", "Scans recorded since start.", prometheus.CounterValue,
			func(s scan.Stats) float64 { return float64(s.Stored) }),
		scans("tracesvc_scans_dropped_total", "Scans given up (queue full, or the store failed every try).", prometheus.CounterValue,
			func(s scan.Stats) float64 { return float64(s.Dropped) }),
		scans("tracesvc_scans_unchecked_total", "Scans recorded but not checked for counterfeit signals: the checks were too far behind.",
			prometheus.CounterValue, func(s scan.Stats) float64 { return float64(s.Unchecked) }),
		alerts, codes,
		collectFunc{desc: attempts, collect: func(ch chan<- prometheus.Metric) {
			st := outbox.Stats()
			for outcome, n := range map[string]int64{"delivered": st.Delivered, "retry": st.Retried, "dead": st.Dead, "no_endpoint": st.NoEndpoint} {
				ch <- prometheus.MustNewConstMetric(attempts, prometheus.CounterValue, float64(n), outcome)
			}
		}},
		newDepthCollector(outbox, logger),
	)
}

// collectFunc is a collector of one series family read when scraped.
type collectFunc struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

// Describe implements [prometheus.Collector].
func (c collectFunc) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements [prometheus.Collector].
func (c collectFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

// depthCollector reports the outbox's pending deliveries and dead letters,
// counted in the store (shared by every process) at most every
// depthEvery, so that frequent scrapes cost the store nothing more.
type depthCollector struct {
	outbox        *recall.Outbox
	logger        *slog.Logger
	pending, dead *prometheus.Desc

	mu              sync.Mutex
	at              time.Time // of the last count; zero before the first
	nPending, nDead int64
}

func newDepthCollector(outbox *recall.Outbox, logger *slog.Logger) *depthCollector {
	return &depthCollector{outbox: outbox, logger: logger,
		pending: prometheus.NewDesc("tracesvc_outbox_depth",
			"Notice deliveries pending in the outbox (every process's), counted at most every 10 s.", nil, nil),
		dead: prometheus.NewDesc("tracesvc_outbox_dead_letters",
			"Notice deliveries dead-lettered and not re-driven (every process's), counted at most every 10 s.", nil, nil)}
}

// Describe implements [prometheus.Collector].
func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.pending; ch <- c.dead }

// Collect implements [prometheus.Collector]. When the store does not
// answer, the series are left out of the scrape (and the failure logged)
// rather than reported stale.
func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || time.Since(c.at) >= depthEvery {
		ctx, cancel := context.WithTimeout(context.Background(), depthTimeout)
		pending, dead, err := c.outbox.Depth(ctx)
		cancel()
		if err != nil {
			c.logger.Warn("counting the outbox for /metrics failed", "err", err)
			return
		}
		c.at, c.nPending, c.nDead = time.Now(), pending, dead
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(c.nPending))
	ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(c.nDead))
}

// countedAlerts counts the alerts stored through it, by kind: the scan
// recorder's, the resolver's, the custody record's and incident
// clusters' all go through the scan store.
type countedAlerts struct {
	scan.Store
	raised *prometheus.CounterVec
}

// InsertAlert implements [scan.Store].
func (s countedAlerts) InsertAlert(ctx context.Context, a scan.Alert) error {
	err := s.Store.InsertAlert(ctx, a)
	if err == nil {
		s.raised.WithLabelValues(string(a.Kind)).Inc()
	}
	return err
}

// alertKinds are the alert kinds whose series exist from the start.
var alertKinds = []scan.AlertKind{scan.AlertUnknownSerial, scan.AlertScannedAfterSale, scan.AlertImpossibleTravel,
	scan.AlertTooManyScans, scan.AlertForgedSerial, scan.AlertRecalledSale, scan.AlertDataMismatch, scan.AlertIncidentCluster}

// countedCodes counts the codes stored through it: item codes and SSCCs
// newly minted (a resumed issuance sends its stored codes again, but
// stores them once).
type countedCodes struct {
	trace.CodeStore
	issued *prometheus.CounterVec
}

// InsertCodes implements [trace.CodeStore].
func (s countedCodes) InsertCodes(ctx context.Context, codes []trace.Code) ([]int, error) {
	taken, err := s.CodeStore.InsertCodes(ctx, codes)
	if err == nil {
		s.issued.WithLabelValues("item").Add(float64(len(codes) - len(taken)))
	}
	return taken, err
}

// InsertSSCCs implements [trace.CodeStore].
func (s countedCodes) InsertSSCCs(ctx context.Context, ssccs []trace.SSCC) ([]int, error) {
	taken, err := s.CodeStore.InsertSSCCs(ctx, ssccs)
	if err == nil {
		s.issued.WithLabelValues("sscc").Add(float64(len(ssccs) - len(taken)))
	}
	return taken, err
}
