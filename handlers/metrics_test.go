package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"tracesvc/cmd/wire"
	"tracesvc/handlers"
	"tracesvc/recall"
	"tracesvc/recall/webhook"
)

// scrape reads GET /metrics with the regulator's key and parses it as
// Prometheus does.
func (e *env) scrape() (map[string]*dto.MetricFamily, string) {
	e.t.Helper()
	r := e.must(http.StatusOK, "GET", "/metrics", e.reg, nil)
	if ct := r.Hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		e.t.Fatalf("/metrics Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		e.t.Fatalf("parse /metrics: %v\n%s", err, r.Body)
	}
	return fams, string(r.Body)
}

// series finds the series of family name whose labels include want; nil
// when there is none.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is a counter's or a gauge's value.
func value(m *dto.Metric) float64 {
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// TestMetricsScrape: after real traffic (requests matched and not, codes
// issued, a capture with an accepted and a rejected event, scans, an
// alert, a notice through the outbox) /metrics has every named series,
// histograms with their buckets, and the store's operations timed on the
// backend in use.
func TestMetricsScrape(t *testing.T) { eachBackend(t, testMetricsScrape) }

func testMetricsScrape(t *testing.T, backend string) {
	ctx := context.Background()
	reg := wire.NewRegistry()
	e := newEnvWith(t, backend, func(o *wire.Options) {
		o.Metrics = reg
		o.WebhookPolicy = webhook.Policy{AllowPrivate: true, AllowHTTPHosts: []string{"127.0.0.1"}}
		o.Notices = recall.OutboxConfig{MaxAttempts: 4, Workers: 2, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
			AttemptTimeout: 2 * time.Second, Poll: 20 * time.Millisecond}
	})
	e.runOutbox(t)
	b := batchEnvOver(e)

	var got issued
	if err := json.Unmarshal(b.must(http.StatusCreated, "POST", b.codesPath, b.owner, map[string]any{"count": 3}).Body, &got); err != nil {
		t.Fatal(err)
	}
	obj := `{"type":"ObjectEvent","action":"OBSERVE","epcList":["urn:epc:id:sgtin:0614141.107346.2017"],"eventTimeZoneOffset":"+08:00"`
	good := obj + `,"eventTime":"2026-11-20T10:00:00+08:00","eventID":"urn:uuid:22222222-2222-4222-8222-222222222222"}`
	bad := obj + `}` // no eventTime
	if code, job := e.capture(b.owner, doc(good, bad), "GS1-Capture-Error-Behaviour", "proceed"); code != http.StatusAccepted || job["captured"] != 1.0 {
		t.Fatalf("capture: %d %v", code, job)
	}
	e.get(path(got.Codes[0].URI), "application/json", "")
	e.get("/01/"+b.gtin+"/21/FAKE23456789", "application/json", "") // an unknown serial: an alert
	if r := e.do("GET", "/no/such/endpoint", "", nil); r.Code != http.StatusNotFound {
		t.Fatalf("unknown endpoint: %d", r.Code)
	}
	rc := newReceiver(t, []string{hookSecret}, nil)
	shop := e.hooked(rc.URL, hookSecret)
	if err := e.outbox.Enqueue(ctx, []recall.Delivery{notice("metrics-1", shop)}); err != nil {
		t.Fatal(err)
	}
	if d := e.settle("metrics-1")["metrics-1"]; d.State != recall.DeliveryDelivered {
		t.Fatalf("notice: %+v", d)
	}
	// Closing the resolver stores the queued scans and raises their alerts.
	if err := e.resolver.Close(ctx); err != nil {
		t.Fatal(err)
	}

	fams, text := e.scrape()
	counters := []struct {
		name   string
		labels map[string]string
		want   float64 // at least this much
	}{
		{"tracesvc_http_requests_total", map[string]string{"method": "POST", "route": "/api/v1/products/:gtin/batches/:lot/codes", "code": "201"}, 1},
		{"tracesvc_http_requests_total", map[string]string{"method": "GET", "route": "/01/*rest", "code": "200"}, 2},
		{"tracesvc_http_requests_total", map[string]string{"method": "GET", "route": "unmatched", "code": "404"}, 1},
		{"tracesvc_capture_events_total", map[string]string{"result": "accepted"}, 1},
		{"tracesvc_capture_events_total", map[string]string{"result": "rejected"}, 1},
		{"tracesvc_codes_issued_total", map[string]string{"kind": "item"}, 3},
		{"tracesvc_scans_stored_total", nil, 2},
		{"tracesvc_alerts_raised_total", map[string]string{"kind": "unknown_serial"}, 1},
		{"tracesvc_outbox_attempts_total", map[string]string{"outcome": "delivered"}, 1},
		{"tracesvc_outbox_depth", nil, 0},
		{"tracesvc_outbox_dead_letters", nil, 0},
		{"tracesvc_scan_queue_length", nil, 0},
		{"go_goroutines", nil, 1},
		{"process_start_time_seconds", nil, 1},
	}
	for _, c := range counters {
		m := series(fams, c.name, c.labels)
		if m == nil {
			t.Errorf("no series %s%v", c.name, c.labels)
			continue
		}
		if v := value(m); v < c.want {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, v, c.want)
		}
	}
	if v := value(series(fams, "tracesvc_capture_events_total", map[string]string{"result": "accepted"})); v != 1 {
		t.Errorf("accepted events %v, want 1", v)
	}
	if v := value(series(fams, "tracesvc_codes_issued_total", map[string]string{"kind": "item"})); v != 3 {
		t.Errorf("codes issued %v, want 3", v)
	}

	ops := map[string][]string{"sqlite": {"select", "insert", "commit"}, "mongo": {"find", "insert", "update"}}[backend]
	storeBackend := map[string]string{"sqlite": "sqlite", "mongo": "mongodb"}[backend]
	histograms := []struct {
		name   string
		labels map[string]string
	}{
		{"tracesvc_http_request_duration_seconds", map[string]string{"method": "GET", "route": "/01/*rest"}},
		{"tracesvc_http_request_duration_seconds", map[string]string{"method": "POST", "route": "/epcis/capture"}},
	}
	for _, op := range ops {
		histograms = append(histograms, struct {
			name   string
			labels map[string]string
		}{"tracesvc_store_operation_duration_seconds", map[string]string{"backend": storeBackend, "operation": op}})
	}
	for _, h := range histograms {
		m := series(fams, h.name, h.labels)
		if m == nil || m.Histogram == nil {
			t.Errorf("no histogram %s%v", h.name, h.labels)
			continue
		}
		hist := m.Histogram
		if hist.GetSampleCount() == 0 || len(hist.GetBucket()) < 10 || hist.GetSampleSum() <= 0 {
			t.Errorf("%s%v: %d samples, %d buckets, sum %v", h.name, h.labels, hist.GetSampleCount(), len(hist.GetBucket()), hist.GetSampleSum())
		}
		if last := hist.GetBucket()[len(hist.GetBucket())-1]; last.GetCumulativeCount() > hist.GetSampleCount() {
			t.Errorf("%s%v: buckets count more than the samples", h.name, h.labels)
		}
	}
	for _, line := range []string{`tracesvc_http_request_duration_seconds_bucket{method="GET",route="/01/*rest",le="0.001"}`,
		`tracesvc_store_operation_duration_seconds_bucket{backend="` + storeBackend + `",operation="` + ops[0] + `",le="+Inf"}`} {
		if !strings.Contains(text, line) {
			t.Errorf("/metrics has no line %s", line)
		}
	}
	if other := series(fams, "tracesvc_store_operation_duration_seconds", map[string]string{"backend": map[string]string{"sqlite": "mongodb", "mongo": "sqlite"}[backend]}); other != nil {
		t.Errorf("operations timed on the other backend: %v", other)
	}
}

// TestMetricsInspector: inspectors read /metrics as regulators do
// (TestMetrics tries no key, a wrong key and an entity's).
func TestMetricsInspector(t *testing.T) {
	e := newEnv(t)
	_, inspector := e.newInspector()
	e.must(http.StatusOK, "GET", "/metrics", inspector, nil)
}

// TestRequestID: a sane X-Request-Id is echoed, anything else replaced by
// an id of our own; the access line (method, route, status, duration)
// carries the request's id, added from its context by LogRequestIDs.
func TestRequestID(t *testing.T) {
	var logs bytes.Buffer
	e := newEnvWith(t, "sqlite", func(o *wire.Options) {
		o.Logger = slog.New(handlers.LogRequestIDs(slog.NewJSONHandler(&logs, nil)))
	})
	ours := regexp.MustCompile(`^[0-9a-f]{16}$`)
	for name, tc := range map[string]struct{ sent, want string }{
		"uuid":        {"3f2c6a1e-8d3b-4c55-9a8e-0b1c2d3e4f50", "3f2c6a1e-8d3b-4c55-9a8e-0b1c2d3e4f50"},
		"proxy's":     {"req_01:ab.CD", "req_01:ab.CD"},
		"none":        {"", ""},
		"too long":    {strings.Repeat("a", 65), ""},
		"spaces":      {"a b", ""},
		"line breaks": {"a\"}\n{\"level\":\"ERROR\"", ""},
		"non-ascii":   {"réq", ""},
	} {
		t.Run(name, func(t *testing.T) {
			logs.Reset()
			req := httptest.NewRequest("GET", "/api/v1/products/"+gtin(t, 7), nil)
			if tc.sent != "" {
				req.Header.Set("X-Request-Id", tc.sent)
			}
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			id := rec.Header().Get("X-Request-Id")
			if tc.want != "" && id != tc.want || tc.want == "" && !ours.MatchString(id) {
				t.Fatalf("X-Request-Id %q sent, %q echoed", tc.sent, id)
			}
			var line struct {
				Level, Msg, Method, Route string
				Status                    int
				DurationMS                *float64 `json:"duration_ms"`
				RequestID                 string   `json:"request_id"`
			}
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("access log %q: %v", logs.String(), err)
			}
			if line.Level != "INFO" || line.Msg != "request" || line.Method != "GET" || line.Route != "/api/v1/products/:gtin" ||
				line.Status != http.StatusNotFound || line.DurationMS == nil || line.RequestID != id {
				t.Fatalf("access log %s", logs.Bytes())
			}
		})
	}
	// Two requests without an id get two ids.
	a, b := e.do("GET", "/healthz", "", nil).Hdr.Get("X-Request-Id"), e.do("GET", "/healthz", "", nil).Hdr.Get("X-Request-Id")
	if a == b {
		t.Fatalf("two requests got the same id %s", a)
	}
}

// TestLogRequestIDs: records logged with a context that carries no request
// id are left alone, and the wrapper keeps the handler's attributes and
// groups.
func TestLogRequestIDs(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(handlers.LogRequestIDs(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	logger.InfoContext(context.Background(), "plain")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["component"] != "test" || line["request_id"] != nil {
		t.Fatalf("%s: %v", buf.Bytes(), err)
	}
	if handlers.RequestID(context.Background()) != "" {
		t.Fatal("a request id out of nowhere")
	}
	slog.New(handlers.LogRequestIDs(slog.NewJSONHandler(io.Discard, nil))).WithGroup("g").Info("grouped")
}

// TestMetricsStoreDown: when the store does not answer, a scrape still
// gathers everything kept in memory, without the outbox's counts (read
// from the store), and without an error that would fail it. (Over HTTP
// the scrape's key could not be checked either: this reads the registry
// /metrics serves.)
func TestMetricsStoreDown(t *testing.T) {
	reg := wire.NewRegistry()
	e := newEnvWith(t, "sqlite", func(o *wire.Options) { o.Metrics = reg })
	e.must(http.StatusOK, "GET", "/healthz", "", nil)
	e.db.Close()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	have := map[string]bool{}
	for _, f := range fams {
		have[f.GetName()] = true
	}
	if have["tracesvc_outbox_depth"] || have["tracesvc_outbox_dead_letters"] {
		t.Error("outbox counts reported from a store that does not answer")
	}
	for _, name := range []string{"tracesvc_http_requests_total", "tracesvc_scans_stored_total", "tracesvc_outbox_attempts_total", "go_goroutines"} {
		if !have[name] {
			t.Errorf("no %s", name)
		}
	}
}
