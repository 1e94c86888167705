package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tracesvc/cmd/wire"
	"tracesvc/trace"
	"tracesvc/trace/epcis"
	"tracesvc/trace/sqlitedb"
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

// captureDoc returns an EPCIS document of n ObjectEvents about items this
// service did not issue, numbered from first.
func captureDoc(first, n int) string {
	events := make([]string, n)
	for i := range events {
		k := first + i
		events[i] = fmt.Sprintf(`{"eventID":"urn:uuid:00000000-0000-4000-8000-%012d","type":"ObjectEvent","action":"OBSERVE",`+
			`"bizStep":"shipping","disposition":"in_transit","eventTime":"2026-11-20T10:%02d:%02d.000+08:00","eventTimeZoneOffset":"+08:00",`+
			`"epcList":["urn:epc:id:sgtin:0614141.107346.%d","urn:epc:id:sgtin:0614141.107346.%d"],`+
			`"readPoint":{"id":"urn:epc:id:sgln:0614141.07346.1234"},"bizLocation":{"id":"urn:epc:id:sgln:0614141.07346.0"},`+
			`"bizTransactionList":[{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:0614141073467:PO%d"}]}`,
			k, (k/60)%60, k%60, 2*k, 2*k+1, k)
	}
	return doc(events...)
}

// BenchmarkCapture captures 100,000 events, in documents of 1,000, through
// the HTTP handler on the embedded store; then stores the same events
// straight into the store, and reports both rates and their ratio.
func BenchmarkCapture(b *testing.B) {
	const docs, perDoc = 100, 1000
	bodies := make([]string, docs)
	for i := range bodies {
		bodies[i] = captureDoc(i*perDoc, perDoc)
	}
	var viaHTTP, raw time.Duration
	for b.Loop() {
		e := newEnv(b)
		_, key := e.newEntity()
		start := time.Now()
		for _, body := range bodies {
			code, job := e.capture(key, body)
			if code != 202 || job["captured"] != float64(perDoc) {
				b.Fatalf("capture: %d %v", code, job)
			}
		}
		viaHTTP += time.Since(start)

		// The same events, parsed beforehand, written straight to a fresh store.
		ctx := context.Background()
		db, err := sqlitedb.Open(ctx, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		st, err := wire.SQLite(ctx, db.W, db.R)
		if err != nil {
			b.Fatal(err)
		}
		writes := make([]trace.CaptureWrite, docs)
		for i, body := range bodies {
			d, _ := epcis.DecodeDocument([]byte(body))
			for _, r := range d.Events {
				ev, err := epcis.ParseEvent(r)
				if err != nil {
					b.Fatal(err)
				}
				se := trace.StoredEvent{ID: ev.ID, Type: ev.Type, Action: ev.Action, BizStep: ev.BizStep, Disposition: ev.Disposition,
					ReadPoint: ev.ReadPoint, BizLocation: ev.BizLocation, EventTime: ev.EventTime, RecordTime: time.Now(),
					CapturedBy: "e1", Visible: []string{"e1"}, Raw: ev.Raw}
				for _, k := range ev.EPCs {
					se.Refs = append(se.Refs, trace.EventRef{Key: k, Role: trace.RoleEPC})
				}
				writes[i].Events = append(writes[i].Events, se)
			}
		}
		start = time.Now()
		for _, w := range writes {
			if err := st.Events.ApplyCapture(ctx, w); err != nil {
				b.Fatal(err)
			}
		}
		raw += time.Since(start)
		db.Close()
	}
	n := float64(docs * perDoc * b.N)
	httpRate, rawRate := n/viaHTTP.Seconds(), n/raw.Seconds()
	b.ReportMetric(httpRate, "captured-events/s")
	b.ReportMetric(rawRate, "raw-store-events/s")
	b.ReportMetric(100*httpRate/rawRate, "%-of-raw")
}

// BenchmarkResolve resolves item codes as phones do (Accept: text/html,
// scan logged) from 32 concurrent clients on the embedded store, and
// reports resolves/s and the 99th percentile latency.
func BenchmarkResolve(b *testing.B) {
	for _, accept := range []string{"text/html", "application/json"} {
		b.Run(strings.TrimPrefix(accept, "text/"), func(b *testing.B) {
			e := newEnv(b)
			_, key := e.newEntity()
			g := e.newProduct(key, 1)
			// The maker's declared standards are on every scan page.
			d := e.must(201, "POST", "/api/v1/declarations", key, map[string]any{"gtins": []string{g}, "standards": milkStandards}).JSON()
			e.must(200, "POST", "/api/v1/declarations/"+d["id"].(string)+"/publish", key, nil)
			e.must(201, "POST", "/api/v1/products/"+g+"/batches", key, map[string]any{"lot": "B1",
				"productionDate": "2026-11-01", "expiryDate": "2027-11-01", "quantity": 1000, "unit": "EA"})
			var got issued
			json.Unmarshal(e.must(201, "POST", "/api/v1/products/"+g+"/batches/B1/codes", key, map[string]any{"count": 1000}).Body, &got)
			var uris []string
			for _, c := range got.Codes {
				uris = append(uris, c.URI)
			}
			e.captureOK(key, objectEvent("ADD", "commissioning", "2026-11-02T08:00:00+08:00", uris, ""))
			var mu sync.Mutex
			var lat []time.Duration
			var n atomic.Int64
			b.SetParallelism(16) // 32 goroutines on 2 CPUs
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					i := n.Add(1)
					req := httptest.NewRequest("GET", strings.TrimPrefix(uris[int(i)%len(uris)], "https://id.example.cn"), nil)
					req.Header.Set("Accept", accept)
					rec := httptest.NewRecorder()
					start := time.Now()
					e.h.ServeHTTP(rec, req)
					mine = append(mine, time.Since(start))
					if rec.Code != 200 {
						panic(fmt.Sprintf("status %d", rec.Code))
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			e.resolver.Close(context.Background()) // every scan stored before the clock stops
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "resolves/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkCaptureMongo captures 20,000 ObjectEvents in 20 documents of
// 1,000 through POST /epcis/capture on MongoDB (the embedded FerretDB),
// each capture written as one intent (see trace/tracemongo/capture.go).
func BenchmarkCaptureMongo(b *testing.B) {
	const docs, perDoc = 20, 1000
	bodies := make([]string, docs)
	for i := range bodies {
		bodies[i] = captureDoc(i*perDoc, perDoc)
	}
	var took time.Duration
	for b.Loop() {
		e := newEnvOn(b, "mongo", 0, 0)
		_, key := e.newEntity()
		start := time.Now()
		for _, body := range bodies {
			if code, job := e.capture(key, body); code != 202 || job["captured"] != float64(perDoc) {
				b.Fatalf("capture: %d %v", code, job)
			}
		}
		took += time.Since(start)
	}
	b.ReportMetric(float64(docs*perDoc*b.N)/took.Seconds(), "captured-events/s")
}
