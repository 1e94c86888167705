package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"tracesvc/cmd/wire"
	"tracesvc/trace/sqlitedb"
)

// TestSoakShort keeps the soak from rotting: it runs it for four seconds,
// at lower rates and with fewer codes than the real one, against the
// service as cmd/wire builds it for cmd/tracesvc, on a fresh embedded store
// behind a real HTTP server, and checks that every answer was right (no
// 5xx, no transport error, no unexpected status or content) and that every
// kind of load, the recall and the streamed issuance among them, ran. It
// samples this test's own process, which holds the service.
func TestSoakShort(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	ctx := context.Background()
	db, err := sqlitedb.OpenConfig(ctx, t.TempDir(), sqlitedb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	st, err := wire.SQLite(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := wire.Build(st, wire.Options{BaseURL: base, Instance: "tracesoak-test",
		SecretKey: bytes.Repeat([]byte{7}, 32), AuditKey: bytes.Repeat([]byte{9}, 32), FingerprintKey: []byte("soak-test")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Resolver.Close(context.Background()) })
	_, key, _, err := svc.Access.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: svc.Handler}}
	srv.Start()
	t.Cleanup(srv.Close)

	cfg := defaults()
	cfg.base, cfg.key, cfg.pid = base, key, os.Getpid()
	cfg.duration, cfg.sample, cfg.maxRSSMB = 4*time.Second, time.Second, 1<<20 // the test binary's memory is not the service's
	cfg.scanRate, cfg.pageRate, cfg.unknownRate, cfg.captureRate, cfg.readRate = 40, 10, 4, 10, 22
	cfg.codesPerLot, cfg.midIssue, cfg.recallAt, cfg.issueAt = 100, 500, 0.25, 0.5
	var out, logs bytes.Buffer
	res, err := run(ctx, cfg, &out, &logs)
	if err != nil {
		t.Fatalf("%v\n%s", err, logs.String())
	}
	if failed := res.failures(cfg); len(failed) > 0 {
		t.Errorf("the soak failed: %s\n%s\n%s", strings.Join(failed, "; "), out.String(), logs.String())
	}
	ran := map[string]int{}
	for _, r := range res.rows {
		ran[r.name] = r.requests
	}
	for _, class := range []string{"scan JSON", "scan page", "scan unknown", "capture", "capture job", "issue", "issue stream",
		"recall", "read events", "read trace JSON", "read trace NDJSON", "read products", "read batches", "read recalls",
		"read incidents", "read credit", "read dashboard", "read metrics"} {
		if ran[class] == 0 {
			t.Errorf("no %q requests ran:\n%s", class, out.String())
		}
	}
	if ran["recall"] != 2 {
		t.Errorf("recall: %d requests, want 2 (create and open)", ran["recall"])
	}
	if res.verdicts["recalled"] == 0 || res.verdicts["genuine"] == 0 || res.verdicts["unknown_code"] == 0 {
		t.Errorf("verdicts %v: want genuine, recalled (after the recall opened) and unknown_code", res.verdicts)
	}
	if len(res.samples) < 4 || res.peakRSSKB == 0 || res.samples[len(res.samples)-1].goMem.heapInUse == 0 {
		t.Errorf("memory curve of %d points, peak %d kB: want a point each second", len(res.samples), res.peakRSSKB)
	}
	if res.metrics["tracesvc_http_requests_total{code=5xx}"] != 0 || res.metrics["tracesvc_scans_stored_total"] == 0 {
		t.Errorf("the service's counters: %v", res.metrics)
	}
	t.Log(out.String())
	for _, want := range []string{"| t | RSS | Go heap in use | Go runtime | CPU |", "| scan JSON |", "5xx: 0;"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestFailures checks what fails a soak: a 5xx, no answer, an unexpected
// status or content, and a peak RSS at the limit.
func TestFailures(t *testing.T) {
	cfg := defaults()
	ok := classRow{name: "scan JSON", requests: 10, statuses: map[int]int{200: 10}}
	for _, tc := range []struct {
		name string
		res  result
		want string
	}{
		{"passes", result{rows: []classRow{ok}, sampled: true, peakRSSKB: 299 << 10}, ""},
		{"5xx", result{rows: []classRow{ok, {name: "capture", statuses: map[int]int{202: 3, 503: 1}, unexpected: 1}}}, "1 answers were 5xx"},
		{"transport", result{rows: []classRow{{name: "read events", transport: 2}}}, "2 requests failed in transport"},
		{"status", result{rows: []classRow{{name: "read events", statuses: map[int]int{404: 1}, unexpected: 1}}}, "1 answers had a status"},
		{"content", result{rows: []classRow{{name: "scan JSON", statuses: map[int]int{200: 1}, wrong: 1}}}, "1 answers said something"},
		{"memory", result{rows: []classRow{ok}, sampled: true, peakRSSKB: 300 << 10}, "peak RSS 300 MB reached the limit of 300 MB"},
		{"memory not sampled", result{rows: []classRow{ok}}, ""},
	} {
		got := strings.Join(tc.res.failures(cfg), "; ")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: failures %q, want %q", tc.name, got, tc.want)
		}
	}
}
