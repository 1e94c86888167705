package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tracesvc/cmd/wire"
	"tracesvc/recall"
	"tracesvc/recall/webhook"
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
// HTTP handler (streamed CSV) on the embedded store; then stores the same
// rows, read back, straight into a fresh store with InsertCodes in the
// issuer's chunks of 100,000 (the raw insert rate). It reports both rates,
// their ratio and the peak heap seen while the handler ran.
func BenchmarkIssueMillion(b *testing.B) {
	const n, chunk = 1_000_000, 100_000
	ctx := context.Background()
	e := newEnv(b)
	_, key := e.newEntity()
	g := e.newProduct(key, 1)
	var peak atomic.Uint64
	var measuring atomic.Bool
	stop := make(chan struct{})
	go func() {
		// Heap in use, read without stopping the world (ReadMemStats
		// would, fifty times a second, during the issuance only).
		heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if !measuring.Load() {
				continue
			}
			metrics.Read(heap)
			if inUse := heap[0].Value.Uint64() + heap[1].Value.Uint64(); inUse > peak.Load() {
				peak.Store(inUse)
			}
		}
	}()
	defer close(stop)
	var viaHTTP, raw time.Duration
	for i := 1; i <= b.N; i++ {
		lot := fmt.Sprintf("M%d", i)
		e.must(http.StatusCreated, "POST", "/api/v1/products/"+g+"/batches", key, map[string]any{
			"lot": lot, "productionDate": "2026-11-01", "expiryDate": "2027-11-01", "quantity": n, "unit": "EA"})
		req := httptest.NewRequest("POST", "/api/v1/products/"+g+"/batches/"+lot+"/codes", strings.NewReader(fmt.Sprintf(`{"count":%d}`, n)))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Accept", "text/csv")
		w := &discardWriter{h: http.Header{}}
		runtime.GC()
		measuring.Store(true)
		start := time.Now()
		e.h.ServeHTTP(w, req)
		viaHTTP += time.Since(start)
		measuring.Store(false)
		if w.code != http.StatusCreated || w.h.Get("X-Issued-Count") != fmt.Sprint(n) {
			b.Fatalf("status %d, issued %s", w.code, w.h.Get("X-Issued-Count"))
		}
		b.SetBytes(w.bytes)

		// The same rows, read back, into a fresh store of the same kind.
		codes, err := trace.All(func(p trace.Page) ([]trace.Code, error) {
			return e.st.Codes.ListCodes(ctx, trace.CodeFilter{GTIN: g, Lot: lot}, p)
		}, func(c trace.Code) string { return c.Seq })
		if err != nil || len(codes) != n {
			b.Fatalf("read back %d codes: %v", len(codes), err)
		}
		st, closeStore := freshStores(b)
		runtime.GC()
		start = time.Now()
		for part := range slices.Chunk(codes, chunk) {
			if taken, err := st.Codes.InsertCodes(ctx, part); err != nil || len(taken) > 0 {
				b.Fatalf("raw insert: %d taken, %v", len(taken), err)
			}
		}
		raw += time.Since(start)
		closeStore()
	}
	httpRate, rawRate := float64(n*b.N)/viaHTTP.Seconds(), float64(n*b.N)/raw.Seconds()
	b.ReportMetric(httpRate, "codes/s")
	b.ReportMetric(rawRate, "raw-insert-codes/s")
	b.ReportMetric(100*httpRate/rawRate, "%-of-raw")
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
		st, closeStore := freshStores(b)
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
		closeStore()
	}
	n := float64(docs * perDoc * b.N)
	httpRate, rawRate := n/viaHTTP.Seconds(), n/raw.Seconds()
	b.ReportMetric(httpRate, "captured-events/s")
	b.ReportMetric(rawRate, "raw-store-events/s")
	b.ReportMetric(100*httpRate/rawRate, "%-of-raw")
}

// BenchmarkCaptureIssued captures, through POST /epcis/capture on the
// embedded store, the sale of 20,000 codes issued here, each in an event of
// its own, in documents of 1,000 and in an order unrelated to their
// issuance, as tills report sales; the codes were commissioned beforehand
// (not timed). What one sale costs end to end: decoding, custody rules,
// the code's custody, its references by key and by the code's row.
func BenchmarkCaptureIssued(b *testing.B) {
	const codes, perDoc = 20_000, 1000
	var took time.Duration
	for b.Loop() {
		e := newEnv(b)
		_, key := e.newEntity()
		g := e.newProduct(key, 1)
		e.must(201, "POST", "/api/v1/products/"+g+"/batches", key, map[string]any{"lot": "S1",
			"productionDate": "2026-11-01", "quantity": codes, "unit": "EA"})
		var uris []string
		for range codes / 10_000 { // the most one answer lists
			var got issued
			json.Unmarshal(e.must(201, "POST", "/api/v1/products/"+g+"/batches/S1/codes", key, map[string]any{"count": 10_000}).Body, &got)
			for _, c := range got.Codes {
				uris = append(uris, c.URI)
			}
		}
		for start := 0; start < len(uris); start += perDoc {
			e.captureOK(key, objectEvent("ADD", "commissioning", "2026-11-02T08:00:00+08:00", uris[start:start+perDoc], ""))
		}
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(uris), func(i, j int) { uris[i], uris[j] = uris[j], uris[i] })
		bodies := make([]string, 0, codes/perDoc)
		for start := 0; start < len(uris); start += perDoc {
			events := make([]string, perDoc)
			for i := range events {
				events[i] = objectEvent("OBSERVE", "retail_selling", "2026-11-03T08:00:00+08:00", uris[start+i:start+i+1], "")
			}
			bodies = append(bodies, doc(events...))
		}
		begin := time.Now()
		for _, body := range bodies {
			if code, job := e.capture(key, body); code != 202 || job["captured"] != float64(perDoc) {
				b.Fatalf("capture: %d %v", code, job)
			}
		}
		took += time.Since(begin)
	}
	b.ReportMetric(float64(codes*b.N)/took.Seconds(), "sales/s")
}

// BenchmarkResolve resolves item codes as phones do (Accept: text/html,
// scan logged) from 32 concurrent clients on the embedded store, and
// reports resolves/s, the 99th percentile latency and the process CPU time
// per resolve (recording its scan included).
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
			cpu := processCPU()
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
			cpu = processCPU() - cpu
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "resolves/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/resolve")
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

// BenchmarkRecallScale (issue 12): a recall whose scope reaches 10,000
// custodians — one lot of 10,000 units, each shipped to a shop of its own
// with a webhook on one loopback receiver — opened, scoped from the trace
// graph, and every notice delivered and verified; beside it, 10,000 bare
// signed POSTs to the same receiver at the outbox's concurrency. The
// set-up (registering the shops, the codes and the shipments) is not
// timed. Embedded store.
func BenchmarkRecallScale(b *testing.B) {
	const shops = 10_000
	var received atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	secret := "whsec_bench-0123456789abcdef"

	b.Run("recall", func(b *testing.B) {
		e := newEnvWith(b, "sqlite", func(o *wire.Options) {
			o.WebhookPolicy = webhook.Policy{AllowPrivate: true, AllowHTTPHosts: []string{"127.0.0.1"}}
		})
		e.runOutbox(b)
		_, maker := e.newEntity("manufacturer")
		g := e.newProduct(maker, 1)
		e.must(201, "POST", "/api/v1/products/"+g+"/batches", maker, map[string]any{"lot": "L1",
			"productionDate": "2026-11-01", "quantity": shops, "unit": "EA"})
		var got issued
		json.Unmarshal(e.must(201, "POST", "/api/v1/products/"+g+"/batches/L1/codes", maker, map[string]any{"count": shops}).Body, &got)
		uris := make([]string, len(got.Codes))
		for i, c := range got.Codes {
			uris[i] = c.URI
		}
		e.captureOK(maker, objectEvent("ADD", "commissioning", "2026-11-02T08:00:00+08:00", uris, ""))
		var ships []string
		for i := range shops {
			n := e.serial.Add(1)
			id := e.must(201, "POST", "/api/v1/entities", e.reg, map[string]any{"name": fmt.Sprintf("Shop %d", i),
				"uscc": validUSCC(b, n), "kinds": []string{"retailer"}, "region": "Tianjin", "address": "Shop Road",
				"webhookUrl": fmt.Sprintf("%s/hooks/%d", rc.URL, i), "webhookSecret": secret}).JSON()["entity"].(map[string]any)["id"].(string)
			ships = append(ships, objectEvent("OBSERVE", "shipping", "2026-11-03T08:00:00+08:00", uris[i:i+1],
				`"destinationList":[{"type":"owning_party","destination":"https://id.example.cn/api/v1/entities/`+id+`"}]`))
			if len(ships) == 1000 {
				e.captureOK(maker, ships...)
				ships = ships[:0]
			}
		}
		received.Store(0)
		b.ResetTimer()
		for b.Loop() {
			r := e.must(201, "POST", "/api/v1/recalls", e.reg, map[string]any{"class": "II", "depth": "retail", "hazard": "a loose part",
				"remedy": "replace", "custodianInstructions": "Stop selling.",
				"scope": map[string]any{"lots": []map[string]any{{"gtin": g, "lot": "L1"}}}}).JSON()
			start := time.Now()
			opened := e.must(200, "POST", "/api/v1/recalls/"+r["id"].(string)+"/open", e.reg, nil).JSON()
			scoped := time.Since(start)
			if n := len(opened["scope"].(map[string]any)["custodians"].([]any)); n < shops {
				b.Fatalf("%d custodians in scope", n)
			}
			for received.Load() < shops {
				if time.Since(start) > 2*time.Minute {
					b.Fatalf("%d of %d notices delivered after 2 minutes", received.Load(), shops)
				}
				time.Sleep(5 * time.Millisecond)
			}
			b.ReportMetric(scoped.Seconds(), "scope-s")
			b.ReportMetric(time.Since(start).Seconds(), "all-delivered-s")
			received.Store(0)
		}
	})
	b.Run("bare-posts", func(b *testing.B) {
		d := webhook.New(webhook.Config{Policy: webhook.Policy{AllowPrivate: true, AllowHTTPHosts: []string{"127.0.0.1"}}})
		for b.Loop() {
			start := time.Now()
			var wg sync.WaitGroup
			next := atomic.Int64{}
			for range recall.DefaultNoticeWorkers {
				wg.Go(func() {
					for i := next.Add(1); i <= shops; i = next.Add(1) {
						res := d.Deliver(context.Background(), webhook.Attempt{URL: fmt.Sprintf("%s/hooks/%d", rc.URL, i),
							Body: fmt.Appendf(nil, `{"notice":"n%d"}`, i), Secrets: [][]byte{[]byte(secret)}, IdempotencyKey: fmt.Sprint(i)})
						if res.Outcome != webhook.Delivered {
							panic(res.Reason)
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(time.Since(start).Seconds(), "all-delivered-s")
		}
	})
}

// freshStores opens the stores on a new embedded database, for a
// benchmark's raw writes beside its requests, and returns its closer.
func freshStores(b *testing.B) (wire.Stores, func()) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	st, err := wire.SQLite(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	return st, func() { db.Close() }
}
