package handlers

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tracesvc/trace"
)

// requestBuckets bound the request-time histogram, in seconds: from a
// cached resolve (under a millisecond) to a streamed issuance.
var requestBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// unmatched is the route label of requests no route matched (404, 405).
const unmatched = "unmatched"

// httpMetrics are the series the HTTP layer feeds: requests and their
// times per route, and captured events.
type httpMetrics struct {
	requests *prometheus.CounterVec   // method, route, code
	duration *prometheus.HistogramVec // method, route
	captured *prometheus.CounterVec   // result
	// routes holds every registered route's series; it is filled once
	// the routes are registered and only read afterwards, so lookups
	// need no lock and, keyed by strings gin already holds, allocate
	// nothing.
	routes map[routeKey]*routeMetrics
	// other holds the series of unmatched requests, by method.
	other map[string]*routeMetrics
}

// routeKey is a route as gin registers it.
type routeKey struct{ method, path string }

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracesvc_http_requests_total",
			Help: "Requests answered, by method, route (unmatched for none) and status code."}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tracesvc_http_request_duration_seconds",
			Help: "Time from a request's arrival to its handler's return, by method and route.", Buckets: requestBuckets},
			[]string{"method", "route"}),
		captured: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracesvc_capture_events_total",
			Help: "EPCIS events in capture requests, by result: accepted (stored), duplicate (stored before) or rejected."},
			[]string{"result"}),
		routes: map[routeKey]*routeMetrics{},
		other:  map[string]*routeMetrics{},
	}
	for _, r := range []string{"accepted", "duplicate", "rejected"} {
		m.captured.WithLabelValues(r)
	}
	reg.MustRegister(m.requests, m.duration, m.captured)
	return m
}

// addRoutes makes the series holders of the engine's routes, and of
// unmatched requests by method. Call it once, after the routes are
// registered and before serving.
func (m *httpMetrics) addRoutes(routes gin.RoutesInfo) {
	for _, r := range routes {
		m.routes[routeKey{r.Method, r.Path}] = &routeMetrics{m: m, method: r.Method, route: r.Path}
	}
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace, "other"} {
		m.other[method] = &routeMetrics{m: m, method: method, route: unmatched}
	}
}

// route returns the series holder of a request to path (gin's FullPath,
// empty when no route matched) with method.
func (m *httpMetrics) route(method, path string) *routeMetrics {
	if r, ok := m.routes[routeKey{method, path}]; ok {
		return r
	}
	if r, ok := m.other[method]; ok {
		return r
	}
	return m.other["other"] // methods are the client's to invent: keep the label values few
}

// capturedJob counts the events of a finished capture job.
func (m *httpMetrics) capturedJob(job trace.CaptureJob) {
	m.captured.WithLabelValues("accepted").Add(float64(job.Captured))
	m.captured.WithLabelValues("duplicate").Add(float64(job.Duplicates))
	if rejected := job.Events - job.Captured - job.Duplicates; rejected > 0 {
		m.captured.WithLabelValues("rejected").Add(float64(rejected))
	}
}

// routeMetrics holds one route's series. They are made on the route's
// first request, so that /metrics lists the routes in use rather than
// every route with zeros; after that a request costs a few atomic
// operations and no allocation.
type routeMetrics struct {
	m             *httpMetrics
	method, route string
	s             atomic.Pointer[routeSeries]
}

// routeSeries is an immutable set of a route's series: a request that
// needs one more status code copies it.
type routeSeries struct {
	duration prometheus.Observer
	codes    []codeCounter
}

// codeCounter is the request counter of one status code.
type codeCounter struct {
	code int
	c    prometheus.Counter
}

// observe counts a request that ended with status after d.
func (r *routeMetrics) observe(status int, d time.Duration) {
	s, c := r.series(status)
	s.duration.Observe(d.Seconds())
	c.Inc()
}

// series returns the route's series and the counter of status.
func (r *routeMetrics) series(status int) (*routeSeries, prometheus.Counter) {
	if s := r.s.Load(); s != nil {
		for _, cc := range s.codes {
			if cc.code == status {
				return s, cc.c
			}
		}
	}
	return r.add(status)
}

// add makes the series of a route's status code, once, and returns them
// as series does.
func (r *routeMetrics) add(status int) (*routeSeries, prometheus.Counter) {
	for {
		old := r.s.Load()
		next := &routeSeries{}
		if old != nil {
			for _, cc := range old.codes {
				if cc.code == status {
					return old, cc.c // another request added it meanwhile
				}
			}
			next.duration, next.codes = old.duration, append(next.codes, old.codes...)
		} else {
			next.duration = r.m.duration.WithLabelValues(r.method, r.route)
		}
		c := r.m.requests.WithLabelValues(r.method, r.route, strconv.Itoa(status))
		next.codes = append(next.codes, codeCounter{status, c})
		if r.s.CompareAndSwap(old, next) {
			return next, c
		}
	}
}

// serveMetrics answers GET /metrics for officials (Prometheus scrapes with
// a bearer key) from the service's registry.
func (s *Server) serveMetrics(c *gin.Context) { s.scrape.ServeHTTP(c.Writer, c.Request) }

// scrapeHandler serves reg in the Prometheus exposition formats. A
// collector that fails (the store's outbox count, say) leaves its series
// out and is logged; the rest is still served.
func scrapeHandler(reg prometheus.Gatherer, logger *slog.Logger) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError,
		ErrorLog: scrapeLog{logger}, MaxRequestsInFlight: 2})
}

// scrapeLog sends promhttp's errors to the service's log.
type scrapeLog struct{ logger *slog.Logger }

// Println implements promhttp.Logger.
func (l scrapeLog) Println(v ...any) { l.logger.Warn("serving /metrics", "err", fmt.Sprint(v...)) }
