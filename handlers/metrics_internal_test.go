package handlers

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestRouteMetricsConcurrent: requests racing on a route's first uses
// of several status codes lose no count, and once a code's series exist a
// request allocates nothing.
func TestRouteMetricsConcurrent(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newHTTPMetrics(reg)
	m.addRoutes(gin.RoutesInfo{{Method: "GET", Path: "/x/:id"}})
	r := m.route("GET", "/x/:id")
	const workers, each = 8, 500
	codes := []int{200, 404, 500, 201}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r.observe(codes[(w+i)%len(codes)], time.Millisecond)
			}
		})
	}
	wg.Wait()
	total := 0.0
	for _, c := range codes {
		var v dto.Metric
		if err := m.requests.WithLabelValues("GET", "/x/:id", strconv.Itoa(c)).Write(&v); err != nil {
			t.Fatal(err)
		}
		total += v.GetCounter().GetValue()
	}
	var h dto.Metric
	if err := m.duration.WithLabelValues("GET", "/x/:id").(prometheus.Metric).Write(&h); err != nil {
		t.Fatal(err)
	}
	if total != workers*each || h.GetHistogram().GetSampleCount() != workers*each {
		t.Fatalf("%v requests counted and %d timed, want %d", total, h.GetHistogram().GetSampleCount(), workers*each)
	}
	if a := testing.AllocsPerRun(100, func() { m.route("GET", "/x/:id").observe(404, time.Millisecond) }); a != 0 {
		t.Errorf("a request allocates %v times", a)
	}
	if u := m.route("FOO", ""); u.route != unmatched || u.method != "other" {
		t.Errorf("an invented method is %s %s", u.method, u.route)
	}
}
