package handlers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRegister measures entity, product and batch creation through the
// HTTP handlers on the embedded SQLite store (synchronous=FULL: every 201 is
// on disk).
func BenchmarkRegister(b *testing.B) {
	b.Run("entity", func(b *testing.B) {
		e := newEnv(b)
		for b.Loop() {
			e.newEntity("manufacturer")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	})
	b.Run("product", func(b *testing.B) {
		e := newEnv(b)
		_, key := e.newEntity()
		n := 0
		for b.Loop() {
			n++
			e.newProduct(key, n)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	})
	b.Run("batch", func(b *testing.B) {
		e := newEnv(b)
		_, key := e.newEntity()
		g := e.newProduct(key, 1)
		n := 0
		for b.Loop() {
			n++
			e.must(http.StatusCreated, "POST", "/api/v1/products/"+g+"/batches", key, map[string]any{
				"lot": fmt.Sprintf("L%d", n), "productionDate": "2026-11-01", "expiryDate": "2027-11-01",
				"quantity": 100, "unit": "kg"})
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
	})
	b.Run("product-read", func(b *testing.B) {
		e := newEnv(b)
		_, key := e.newEntity()
		g := e.newProduct(key, 1)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e.must(http.StatusOK, "GET", "/api/v1/products/"+g, "", nil)
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
	})
}

// discardWriter is a streaming client that reads and drops the body.
type discardWriter struct {
	h     http.Header
	code  int
	bytes int64
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }
func (d *discardWriter) Flush()                      {}
func (d *discardWriter) Write(p []byte) (int, error) { d.bytes += int64(len(p)); return len(p), nil }

// BenchmarkIssueMillion issues 1,000,000 codes for one batch through the
// HTTP handler (streamed CSV) on the embedded store, and reports codes/s
// and the peak heap seen while it ran.
func BenchmarkIssueMillion(b *testing.B) {
	const n = 1_000_000
	e := newEnv(b)
	_, key := e.newEntity()
	g := e.newProduct(key, 1)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	defer close(stop)
	i := 0
	for b.Loop() {
		i++
		lot := fmt.Sprintf("M%d", i)
		e.must(http.StatusCreated, "POST", "/api/v1/products/"+g+"/batches", key, map[string]any{
			"lot": lot, "productionDate": "2026-11-01", "expiryDate": "2027-11-01", "quantity": n, "unit": "EA"})
		req := httptest.NewRequest("POST", "/api/v1/products/"+g+"/batches/"+lot+"/codes", strings.NewReader(fmt.Sprintf(`{"count":%d}`, n)))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Accept", "text/csv")
		w := &discardWriter{h: http.Header{}}
		e.h.ServeHTTP(w, req)
		if w.code != http.StatusCreated || w.h.Get("X-Issued-Count") != fmt.Sprint(n) {
			b.Fatalf("status %d, issued %s", w.code, w.h.Get("X-Issued-Count"))
		}
		b.SetBytes(w.bytes)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "codes/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}
