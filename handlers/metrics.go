package handlers

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// metrics counts requests per route and status class, in the Prometheus
// text format, without a client library.
type metrics struct {
	mu    sync.Mutex
	count map[metricKey]uint64
	secs  map[string]float64 // route → total seconds
	hits  map[string]uint64  // route → requests
	start time.Time
}

type metricKey struct{ method, route, class string }

func newMetrics() *metrics {
	return &metrics{count: map[metricKey]uint64{}, secs: map[string]float64{}, hits: map[string]uint64{}, start: time.Now()}
}

// observe records one finished request.
func (m *metrics) observe(c *gin.Context, d time.Duration) {
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	class := fmt.Sprintf("%dxx", c.Writer.Status()/100)
	m.mu.Lock()
	m.count[metricKey{c.Request.Method, route, class}]++
	m.secs[route] += d.Seconds()
	m.hits[route]++
	m.mu.Unlock()
}

// serveMetrics answers GET /metrics for officials (Prometheus scrapes with
// a bearer key).
func (s *Server) serveMetrics(c *gin.Context) {
	var b strings.Builder
	m := s.metrics
	m.mu.Lock()
	keys := make([]metricKey, 0, len(m.count))
	for k := range m.count {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b metricKey) int {
		return strings.Compare(a.route+a.method+a.class, b.route+b.method+b.class)
	})
	b.WriteString("# HELP tracesvc_http_requests_total Requests answered, by route and status class.\n")
	b.WriteString("# TYPE tracesvc_http_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "tracesvc_http_requests_total{method=%q,route=%q,code=%q} %d\n", k.method, k.route, k.class, m.count[k])
	}
	routes := make([]string, 0, len(m.hits))
	for r := range m.hits {
		routes = append(routes, r)
	}
	slices.Sort(routes)
	b.WriteString("# HELP tracesvc_http_request_duration_seconds Time spent answering, by route.\n")
	b.WriteString("# TYPE tracesvc_http_request_duration_seconds summary\n")
	for _, r := range routes {
		fmt.Fprintf(&b, "tracesvc_http_request_duration_seconds_sum{route=%q} %g\n", r, m.secs[r])
		fmt.Fprintf(&b, "tracesvc_http_request_duration_seconds_count{route=%q} %d\n", r, m.hits[r])
	}
	uptime := time.Since(m.start).Seconds()
	m.mu.Unlock()
	st := s.resolver.Stats()
	b.WriteString("# HELP tracesvc_scan_queue_length Scans waiting to be recorded.\n# TYPE tracesvc_scan_queue_length gauge\n")
	fmt.Fprintf(&b, "tracesvc_scan_queue_length %d\n", st.Queued)
	b.WriteString("# HELP tracesvc_scans_stored_total Scans recorded since start.\n# TYPE tracesvc_scans_stored_total counter\n")
	fmt.Fprintf(&b, "tracesvc_scans_stored_total %d\n", st.Stored)
	b.WriteString("# HELP tracesvc_scans_dropped_total Scans given up (queue full, or the store failed every try).\n# TYPE tracesvc_scans_dropped_total counter\n")
	fmt.Fprintf(&b, "tracesvc_scans_dropped_total %d\n", st.Dropped)
	b.WriteString("# HELP tracesvc_uptime_seconds Seconds since start.\n# TYPE tracesvc_uptime_seconds gauge\n")
	fmt.Fprintf(&b, "tracesvc_uptime_seconds %g\n", uptime)
	c.Data(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", []byte(b.String()))
}
