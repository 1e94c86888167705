package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"tracesvc/trace/scan"

	"time"

	"tracesvc/cmd/wire"
	"tracesvc/handlers"
	"tracesvc/trace/testtool"
)

// scanEnv has one batch with six issued codes: codes[4] sold, codes[5]
// decommissioned.
type scanEnv struct {
	*batchEnv
	codes []struct{ URI, Serial string }
}

func newScanEnv(t *testing.T) *scanEnv { return newScanEnvOn(t, "sqlite") }

func newScanEnvOn(t *testing.T, backend string) *scanEnv {
	e := newBatchEnvOn(t, backend)
	var got issued
	json.Unmarshal(e.must(201, "POST", e.codesPath, e.owner, map[string]any{"count": 6}).Body, &got)
	s := &scanEnv{batchEnv: e, codes: got.Codes}
	// The owner commissions all, sells one and takes one out of use.
	var uris []string
	for _, c := range got.Codes {
		uris = append(uris, c.URI)
	}
	e.captureOK(e.owner, objectEvent("ADD", "commissioning", "2026-11-02T08:00:00+08:00", uris, ""),
		objectEvent("OBSERVE", "retail_selling", "2026-11-03T08:00:00+08:00", uris[4:5], ""),
		objectEvent("DELETE", "decommissioning", "2026-11-03T09:00:00+08:00", uris[5:], ""))
	return s
}

// path returns the path and query of a Digital Link on the test host.
func path(uri string) string { return strings.TrimPrefix(uri, "https://id.example.cn") }

func (e *env) get(p, accept, lang string) response {
	e.t.Helper()
	req := httptest.NewRequest("GET", p, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return response{Code: rec.Code, Body: rec.Body.Bytes(), Hdr: rec.Header()}
}

func TestResolveJSON(t *testing.T) { eachBackend(t, testResolveJSON) }

func testResolveJSON(t *testing.T, backend string) {
	s := newScanEnvOn(t, backend)
	verdict := func(p string) (int, map[string]any) {
		r := s.get(p, "application/json", "")
		if r.Code == 200 && !strings.HasPrefix(r.Hdr.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: content type %s", p, r.Hdr.Get("Content-Type"))
		}
		return r.Code, r.JSON()
	}
	code, res := verdict(path(s.codes[0].URI))
	if code != 200 || res["verdict"] != "genuine" || res["product"].(map[string]any)["gtin"] != s.gtin ||
		res["batch"].(map[string]any)["lot"] != s.lot || len(res["provenance"].([]any)) == 0 {
		t.Fatalf("genuine: %d %v", code, res)
	}
	maker := res["product"].(map[string]any)["maker"].(map[string]any)
	if maker["id"] != s.ownerID || maker["name"] == "" {
		t.Fatalf("maker: %v", maker)
	}
	stage := res["provenance"].([]any)[0].(map[string]any)
	if stage["custodian"] == "" || stage["date"] != "2026-11-02" {
		t.Fatalf("provenance: %v", stage)
	}
	if code, res = verdict("/01/" + s.gtin + "/10/" + url.PathEscape(s.lot) + "/21/UNKNOWN2345"); code != 200 || res["verdict"] != "unknown_code" {
		t.Fatalf("unknown serial: %d %v", code, res)
	}
	if code, res = verdict(path(s.codes[4].URI)); code != 200 || res["verdict"] != "genuine" || res["codeState"] != "sold" {
		t.Fatalf("sold: %d %v", code, res)
	}
	if code, res = verdict(path(s.codes[5].URI)); code != 200 || res["verdict"] != "decommissioned" {
		t.Fatalf("decommissioned: %d %v", code, res)
	}
	if code, res = verdict("/01/" + s.gtin + "/21/" + s.codes[1].Serial); code != 200 || res["verdict"] != "genuine" || res["lot"] != s.lot {
		t.Fatalf("01+21 without lot: %d %v", code, res)
	}
	if code, res = verdict("/01/" + s.gtin + "/10/OTHERLOT/21/" + s.codes[1].Serial); code != 200 || res["verdict"] != "mismatch" {
		t.Fatalf("serial under the wrong lot: %d %v", code, res)
	}
	if code, res = verdict("/01/" + s.gtin); code != 200 || res["verdict"] != "product_info" || res["batch"] != nil {
		t.Fatalf("product only: %d %v", code, res)
	}
	for _, bad := range []string{"/01/12345", "/01/" + s.gtin + "/21/" + strings.Repeat("A", 21), "/01/09506000134353/21/X"} {
		if r := s.get(bad, "application/json", ""); r.Code != 400 || r.errCode() != "invalid" {
			t.Fatalf("%s: %d %s", bad, r.Code, r.Body)
		}
	}
	// An expired batch.
	s.must(201, "POST", "/api/v1/products/"+s.gtin+"/batches", s.owner, map[string]any{"lot": "OLD1",
		"productionDate": "2020-01-01", "expiryDate": "2021-01-01", "quantity": 1, "unit": "EA"})
	if code, res = verdict("/01/" + s.gtin + "/10/OLD1"); code != 200 || res["verdict"] != "expired" {
		t.Fatalf("expired: %d %v", code, res)
	}
}

func TestResolveHTMLAndLinkset(t *testing.T) { eachBackend(t, testResolveHTMLAndLinkset) }

func testResolveHTMLAndLinkset(t *testing.T, backend string) {
	s := newScanEnvOn(t, backend)
	p := path(s.codes[0].URI)
	r := s.get(p, "text/html,application/xhtml+xml", "en-GB,en;q=0.9")
	if r.Code != 200 || !strings.HasPrefix(r.Hdr.Get("Content-Type"), "text/html") || !strings.Contains(string(r.Body), "Genuine code") {
		t.Fatalf("html: %d %s", r.Code, r.Hdr.Get("Content-Type"))
	}
	zh := s.get(p, "text/html", "zh-CN,zh;q=0.9")
	if !strings.Contains(string(zh.Body), "正品码") || zh.Hdr.Get("Content-Language") != "zh" {
		t.Fatal("Chinese page lacks the verdict")
	}
	if sw := s.get(p+"&lang=en", "text/html", "zh-CN"); !strings.Contains(string(sw.Body), "Genuine code") {
		t.Fatal("?lang=en does not switch")
	}
	page := string(r.Body)
	for _, id := range []string{`id="verdict"`, `id="product"`, `id="batch"`, `id="provenance"`, `id="tipoff"`} {
		if !strings.Contains(page, id) {
			t.Fatalf("page lacks %s", id)
		}
	}
	if strings.Contains(page, `id="standards"`) {
		t.Fatal("standards section shown with no standards source")
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "http://") || strings.Contains(page, "src=\"https") {
		t.Fatal("page loads external assets or scripts")
	}
	if bad := s.get("/01/12345", "text/html", "en"); bad.Code != 400 || !strings.Contains(string(bad.Body), "cannot be read") {
		t.Fatalf("bad link page: %d", bad.Code)
	}

	for _, req := range []struct{ path, accept string }{{p, "application/linkset+json"}, {p + "&linkType=linkset", ""}} {
		ls := s.get(req.path, req.accept, "")
		if ls.Code != 200 || ls.Hdr.Get("Content-Type") != "application/linkset+json" {
			t.Fatalf("linkset: %d %s", ls.Code, ls.Hdr.Get("Content-Type"))
		}
		var body struct{ Linkset []map[string]any }
		if err := json.Unmarshal(ls.Body, &body); err != nil || len(body.Linkset) != 1 {
			t.Fatalf("linkset body: %v %s", err, ls.Body)
		}
		set := body.Linkset[0]
		if set["anchor"] != s.codes[0].URI {
			t.Fatalf("anchor %v, want %s", set["anchor"], s.codes[0].URI)
		}
		for _, rel := range []string{"pip", "recallStatus", "certificationInfo", "traceability"} {
			links, _ := set["https://gs1.org/voc/"+rel].([]any)
			if len(links) == 0 || links[0].(map[string]any)["href"] == "" {
				t.Fatalf("linkset lacks gs1:%s: %v", rel, set)
			}
		}
	}
	rs := s.get(p+"&linkType=gs1:recallStatus", "", "").JSON()
	if rs["recalled"] != false {
		t.Fatalf("recall status: %v", rs)
	}
	wk := s.get("/.well-known/gs1resolver", "", "")
	if wk.Code != 200 || wk.JSON()["resolverRoot"] != "https://id.example.cn" {
		t.Fatalf("well-known: %d %s", wk.Code, wk.Body)
	}
}

func TestAlerts(t *testing.T) { eachBackend(t, testAlerts) }

func testAlerts(t *testing.T, backend string) {
	s := newScanEnvOn(t, backend)
	_, stranger := s.newEntity()
	// 1. An unknown serial under a known GTIN.
	s.get("/01/"+s.gtin+"/21/FAKE23456789", "application/json", "")
	// 2. A decommissioned code scanned (a sold one is not an alert).
	s.get(path(s.codes[5].URI), "application/json", "")
	s.get(path(s.codes[4].URI), "application/json", "")
	// 3. Beijing, then Guangzhou (1,900 km) a moment later.
	s.get(path(s.codes[1].URI)+"&lat=39.9042&lon=116.4074", "application/json", "")
	time.Sleep(5 * time.Millisecond) // the two scans a few milliseconds apart, not at the same instant
	s.get(path(s.codes[1].URI)+"&lat=23.1291&lon=113.2644", "application/json", "")
	// 4. More scans than the limit (5 in this env).
	for range 6 {
		s.get(path(s.codes[2].URI), "application/json", "")
	}
	// Closing the resolver stores every queued scan and checks its signals.
	if err := s.resolver.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]map[string]any{}
	for _, a := range s.must(200, "GET", "/api/v1/alerts", s.reg, nil).JSON()["alerts"].([]any) {
		m := a.(map[string]any)
		kinds[m["kind"].(string)] = m
	}
	for _, k := range []string{"unknown_serial", "scanned_after_end", "impossible_travel", "too_many_scans"} {
		a, ok := kinds[k]
		if !ok {
			t.Fatalf("no %s alert; got %v", k, kinds)
		}
		if len(a["scans"].([]any)) == 0 || a["ownerId"] != s.ownerID {
			t.Fatalf("%s alert: %v", k, a)
		}
	}
	if a := kinds["scanned_after_end"]; a["serial"] != s.codes[5].Serial {
		t.Fatalf("scanned_after_end for %v, want only the decommissioned %s", a["serial"], s.codes[5].Serial)
	}
	if n := len(kinds["impossible_travel"]["scans"].([]any)); n != 2 {
		t.Fatalf("impossible travel links %d scans, want 2", n)
	}
	// Too many scans cites the scans of the batch that crossed the limit:
	// of the six, those stored with the sixth.
	if n := len(kinds["too_many_scans"]["scans"].([]any)); n < 1 || n > 6 {
		t.Fatalf("too many scans cites %d scans, want 1 to 6", n)
	}
	own := s.must(200, "GET", "/api/v1/alerts?kind=too_many_scans", s.owner, nil).JSON()["alerts"].([]any)
	if len(own) != 1 {
		t.Fatalf("owner sees %d too-many-scans alerts", len(own))
	}
	if other := s.must(200, "GET", "/api/v1/alerts", stranger, nil).JSON()["alerts"].([]any); len(other) != 0 {
		t.Fatalf("another entity sees %d alerts", len(other))
	}
	runCases(t, s.env, map[string]authCase{
		"no key":    {"GET", "/api/v1/alerts", "", nil, 401, "unauthorized"},
		"wrong key": {"GET", "/api/v1/alerts", bogusKey, nil, 401, "unauthorized"},
		"bad kind":  {"GET", "/api/v1/alerts?kind=ghosts", s.reg, nil, 400, "invalid"},
	})
}

func TestTipoffs(t *testing.T) {
	e := newEnv(t)
	_, key := e.newEntity()
	anon := e.must(201, "POST", "/api/v1/tipoffs", "", map[string]any{"subject": "code",
		"code": "https://id.example.cn/01/09506000134352/21/FAKE", "category": "counterfeit", "description": "Label misprinted, no seal"}).JSON()
	named := e.must(201, "POST", "/api/v1/tipoffs", "", map[string]any{"subject": "product", "gtin": "9506000134352",
		"category": "safety", "description": "Smells of solvent", "name": "Zhang San", "contact": "13800000000"}).JSON()
	receipt := named["receipt"].(string)
	st := e.must(200, "GET", "/api/v1/tipoffs/"+receipt, "", nil)
	if st.JSON()["status"] != "received" || strings.Contains(string(st.Body), "Zhang") || strings.Contains(string(st.Body), "solvent") {
		t.Fatalf("public status shows more than status: %s", st.Body)
	}
	if e.must(200, "GET", "/api/v1/tipoffs/"+receipt, key, nil).JSON()["name"] != nil {
		t.Fatal("an entity sees the tipster's name")
	}
	full := e.must(200, "GET", "/api/v1/tipoffs/"+receipt, e.reg, nil).JSON()
	if full["name"] != "Zhang San" || full["anonymous"] != false {
		t.Fatalf("regulator view: %v", full)
	}
	if e.must(200, "GET", "/api/v1/tipoffs/"+anon["receipt"].(string), e.reg, nil).JSON()["anonymous"] != true {
		t.Fatal("anonymous tip-off not marked anonymous")
	}
	list := e.must(200, "GET", "/api/v1/tipoffs?status=received", e.reg, nil).JSON()["tipoffs"].([]any)
	if len(list) != 2 {
		t.Fatalf("list: %d", len(list))
	}
	up := e.must(200, "PATCH", "/api/v1/tipoffs/"+receipt, e.reg, map[string]any{"status": "case_opened", "note": "sent to lab"}).JSON()
	if up["status"] != "case_opened" {
		t.Fatalf("update: %v", up)
	}
	if e.must(200, "GET", "/api/v1/tipoffs/"+receipt, "", nil).JSON()["status"] != "case_opened" {
		t.Fatal("tipster does not see the new status")
	}
	runCases(t, e, map[string]authCase{
		"no subject":     {"POST", "/api/v1/tipoffs", e.reg, map[string]any{"description": "something bad"}, 400, "invalid"},
		"no description": {"POST", "/api/v1/tipoffs", e.reg, map[string]any{"subject": "code", "code": "x"}, 400, "invalid"},
		"bad gtin":       {"POST", "/api/v1/tipoffs", e.reg, map[string]any{"subject": "product", "gtin": "1", "description": "bad stuff here"}, 400, "invalid"},
		"no entity":      {"POST", "/api/v1/tipoffs", e.reg, map[string]any{"subject": "entity", "entityId": "x", "description": "bad stuff here"}, 400, "invalid"},
		"missing":        {"GET", "/api/v1/tipoffs/TNOPE", "", nil, 404, "not_found"},
		"list public":    {"GET", "/api/v1/tipoffs", "", nil, 401, "unauthorized"},
		"list entity":    {"GET", "/api/v1/tipoffs", key, nil, 403, "forbidden"},
		"update entity":  {"PATCH", "/api/v1/tipoffs/" + receipt, key, map[string]any{"status": "closed"}, 403, "forbidden"},
		"bad status":     {"PATCH", "/api/v1/tipoffs/" + receipt, e.reg, map[string]any{"status": "lost"}, 400, "invalid"},
	})
	// The scan page's form posts and gets a receipt page.
	req := httptest.NewRequest("POST", "/api/v1/tipoffs?lang=en", strings.NewReader(url.Values{"subject": {"code"},
		"code": {"https://id.example.cn/01/09506000134352/21/X"}, "category": {"quality"}, "description": {"Broken seal on arrival"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 201 || !strings.Contains(rec.Body.String(), `id="receipt"`) {
		t.Fatalf("form post: %d %s", rec.Code, rec.Body)
	}
}

// TestRateLimits checks anonymous callers get 429 with Retry-After once
// their bucket is empty, per client.
func TestRateLimits(t *testing.T) {
	// The clock runs with the wall clock, and the test moves it on.
	var ahead atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	e := newEnvWith(t, "sqlite", func(o *wire.Options) {
		o.PublicLimit, o.TipoffLimit, o.Now = handlers.RateLimit{PerSecond: 2, Burst: 3}, tipoffLimit(2), now
	})
	tip := map[string]any{"subject": "product", "gtin": "09506000134352", "description": "A rate limit test"}
	codes := []int{}
	for range 5 {
		codes = append(codes, e.do("GET", "/.well-known/gs1resolver", "", nil).Code)
	}
	if codes[0] != 200 || codes[4] != 429 {
		t.Fatalf("resolver codes %v", codes)
	}
	r := e.do("GET", "/api/v1/products/09506000134352", "", nil)
	if r.Code != 429 || r.Hdr.Get("Retry-After") == "" || r.errCode() != "rate_limited" {
		t.Fatalf("limited: %d %v %s", r.Code, r.Hdr, r.Body)
	}
	// A keyed caller is not limited here; another client has its own bucket.
	e.must(404, "GET", "/api/v1/products/09506000134352", e.reg, nil)
	req := httptest.NewRequest("GET", "/.well-known/gs1resolver", nil)
	req.RemoteAddr = "198.51.100.7:4000"
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("another client: %d", rec.Code)
	}
	// Tip-offs have their own, stricter bucket. Two seconds on, the
	// general bucket has refilled.
	ahead.Add(int64(2 * time.Second))
	got := []int{}
	for range 7 {
		got = append(got, e.do("POST", "/api/v1/tipoffs", "", tip).Code)
	}
	if got[len(got)-1] != 429 {
		t.Fatalf("tip-off codes %v", got)
	}
}

// TestScanLog checks scans are stored after a clean close, with a coarse
// location and a hashed client, never the address.
func TestScanLog(t *testing.T) {
	s := newScanEnv(t)
	req := httptest.NewRequest("GET", path(s.codes[0].URI)+"&lat=39.904211&lon=116.407395", nil)
	req.Header.Set("Accept", "application/json")
	req.RemoteAddr = "203.0.113.9:5555"
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	scanID := (&response{Body: rec.Body.Bytes()}).JSON()["scannedAt"]
	if scanID == nil {
		t.Fatalf("no scan time: %s", rec.Body)
	}
	s.resolver.Close(context.Background()) // a clean shutdown stores every queued scan
	var lat, lon float64
	var client string
	if err := s.db.R.QueryRow(`SELECT lat, lon, client FROM scans WHERE gtin = ? AND serial = ?`, s.gtin, s.codes[0].Serial).Scan(&lat, &lon, &client); err != nil {
		t.Fatal(err)
	}
	if lat != 39.9 || lon != 116.41 || strings.Contains(client, "203.0.113") || len(client) != 32 {
		t.Fatalf("stored scan: %v %v %q", lat, lon, client)
	}
	var n int
	s.db.R.QueryRow(`SELECT count(*) FROM scans WHERE client LIKE '%203.0.113%'`).Scan(&n)
	if n != 0 {
		t.Fatal("raw address stored")
	}
}

// TestRealScannerPath renders a label's QR through the API, decodes it
// with zbarimg, and opens the decoded link as a phone would.
func TestRealScannerPath(t *testing.T) {
	zbarimg := testtool.Program(t, "zbarimg", "zbar-tools")
	s := newScanEnv(t)
	want := s.codes[2]
	png := s.must(200, "GET", "/api/v1/labels?symbology=qr&format=png&code="+url.QueryEscape(want.URI), s.owner, nil)
	file := filepath.Join(t.TempDir(), "qr.png")
	os.WriteFile(file, png.Body, 0o644)
	out, err := exec.Command(zbarimg, "-q", "--nodbus", "--raw", file).Output()
	if err != nil {
		t.Fatal(err)
	}
	decoded := strings.TrimSpace(string(out))
	u, err := url.Parse(decoded)
	if err != nil || decoded != want.URI {
		t.Fatalf("decoded %q, want %q", decoded, want.URI)
	}
	r := s.get(u.RequestURI(), "text/html", "en")
	if r.Code != 200 || !strings.Contains(string(r.Body), want.Serial) || !strings.Contains(string(r.Body), "Genuine code") {
		t.Fatalf("page for the scanned code: %d", r.Code)
	}
}

var _ = context.Background

var _ = http.StatusOK

// TestRecallHold checks that a recall hold recorded in EPCIS (bizStep
// holding, disposition recalled) turns the scan verdict into a recall.
func TestRecallHold(t *testing.T) { eachBackend(t, testRecallHold) }

func testRecallHold(t *testing.T, backend string) {
	s := newScanEnvOn(t, backend)
	s.captureOK(s.owner, objectEvent("OBSERVE", "holding", "2026-11-05T08:00:00+08:00", []string{s.codes[3].URI},
		`"disposition":"recalled","persistentDisposition":{"set":["recalled"]}`))
	if res := s.get(path(s.codes[3].URI), "application/json", "").JSON(); res["verdict"] != "recalled" || res["codeState"] != "recalled" {
		t.Fatalf("held code: %v", res)
	}
	page := string(s.get(path(s.codes[3].URI), "text/html", "en").Body)
	if !strings.Contains(page, "PRODUCT SAFETY RECALL") || !strings.Contains(page, "Stop using this product.") {
		t.Fatal("recall page lacks the banner")
	}
	s.captureOK(s.owner, objectEvent("OBSERVE", "inspecting", "2026-11-06T08:00:00+08:00", []string{s.codes[3].URI},
		`"persistentDisposition":{"unset":["recalled"]}`))
	if res := s.get(path(s.codes[3].URI), "application/json", "").JSON(); res["verdict"] != "genuine" {
		t.Fatalf("released code: %v", res)
	}
}

// TestRateLimitKeysOnAddress (issue 9, item 9): the bucket belongs to the
// client's address; a new User-Agent, or another address of the same IPv6
// /64, does not refill it, and X-Forwarded-For from an untrusted peer is
// not believed.
func TestRateLimitKeysOnAddress(t *testing.T) {
	e := newLimitedEnv(t, 1, 3)
	n := 0
	get := func(addr string, hdr ...string) int {
		req := httptest.NewRequest("GET", "/.well-known/gs1resolver", nil)
		req.RemoteAddr = addr
		req.Header.Set("User-Agent", fmt.Sprintf("Browser/%d", n))
		n++
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return rec.Code
	}
	for name, addrs := range map[string][]string{
		"rotating User-Agent": {"198.51.100.20:1000", "198.51.100.20:1001", "198.51.100.20:1002", "198.51.100.20:1003"},
		"one IPv6 /64":        {"[2001:db8:7:7::1]:1000", "[2001:db8:7:7::2]:1000", "[2001:db8:7:7:abcd::9]:1000", "[2001:db8:7:7:ffff:ffff:ffff:ffff]:1000"},
	} {
		var codes []int
		for _, a := range addrs {
			codes = append(codes, get(a))
		}
		if fmt.Sprint(codes) != "[200 200 200 429]" {
			t.Fatalf("%s: %v", name, codes)
		}
	}
	// Forged forwarding headers from a peer that is not a trusted proxy
	// do not make a new client.
	for i := range 4 {
		if code := get("198.51.100.21:1000", "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i), "X-Real-IP", fmt.Sprintf("203.0.113.%d", i)); i == 3 && code != 429 {
			t.Fatalf("forged X-Forwarded-For reset the bucket: %d", code)
		}
	}
}

// TestAlertsAcrossReplicas (issue 10, item 3): two processes on one store
// scan one code in turn; the too-many-scans alert fires when the code's
// scans across both pass the limit (a per-process count saw only half of
// them), and once, though both raise it.
func TestAlertsAcrossReplicas(t *testing.T) { eachBackend(t, testAlertsAcrossReplicas) }

func testAlertsAcrossReplicas(t *testing.T, backend string) {
	s := newScanEnvOn(t, backend)
	other, err := wire.Build(s.st, wire.Options{BaseURL: "https://id.example.cn", MaxScans: 5, SecretKey: bytes.Repeat([]byte{7}, 32),
		FingerprintKey: []byte("test-key"), AuditKey: bytes.Repeat([]byte{9}, 32), Instance: "replica-2"})
	if err != nil {
		t.Fatal(err)
	}
	// Closed resolvers store each scan, and check its signals, in line.
	for _, r := range []*scan.Resolver{s.resolver, other.Resolver} {
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	p := path(s.codes[0].URI)
	for i := range 6 {
		h := s.h
		if i%2 == 1 {
			h = other.Handler
		}
		req := httptest.NewRequest("GET", p, nil)
		req.Header.Set("Accept", "application/json")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	alerts := s.must(200, "GET", "/api/v1/alerts?kind=too_many_scans", s.reg, nil).JSON()["alerts"].([]any)
	if len(alerts) != 1 || alerts[0].(map[string]any)["serial"] != s.codes[0].Serial {
		t.Fatalf("after 6 scans (limit 5) across two replicas: %v", alerts)
	}
	// More scans on both raise nothing more.
	for _, h := range []http.Handler{s.h, other.Handler, s.h} {
		req := httptest.NewRequest("GET", p, nil)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	if n := len(s.must(200, "GET", "/api/v1/alerts?kind=too_many_scans", s.reg, nil).JSON()["alerts"].([]any)); n != 1 {
		t.Fatalf("%d too-many-scans alerts for one code", n)
	}
}

// TestTipoffVerifyDeadline (issue 11): a tip-off gets its verification
// deadline in working days of the regulator's calendar — filed on Friday
// 13 February 2026, the 15 working days pass the Spring Festival and
// count its two make-up Saturdays — and the tipster sees it on the
// receipt.
func TestTipoffVerifyDeadline(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	filed := time.Date(2026, 2, 13, 10, 0, 0, 0, shanghai)
	e := newEnvWith(t, "sqlite", func(o *wire.Options) { o.Now = func() time.Time { return filed } })
	r := e.must(201, "POST", "/api/v1/tipoffs", "", map[string]any{"subject": "product", "gtin": "09506000134352",
		"category": "quality", "description": "Seal broken on arrival"}).JSON()
	status := e.must(200, "GET", "/api/v1/tipoffs/"+r["receipt"].(string), "", nil).JSON()
	want := time.Date(2026, 3, 13, 0, 0, 0, 0, shanghai) // the 15th working day is Thursday 12 March
	if got, _ := time.Parse(time.RFC3339, status["verifyBy"].(string)); !got.Equal(want) {
		t.Fatalf("verifyBy %v, want %v", status["verifyBy"], want)
	}
}

// TestTipoffReceiptPage (issue 11): the tipster who filed from the scan
// page gets a receipt page with the status and the decision date, whose
// language switch is the receipt's public status page (it pointed at a
// regulators-only list before), with a way back to the product.
func TestTipoffReceiptPage(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	filed := time.Date(2026, 2, 13, 10, 0, 0, 0, shanghai)
	e := newEnvWith(t, "sqlite", func(o *wire.Options) { o.Now = func() time.Time { return filed } })
	code := "https://id.example.cn/01/09506000134352/21/ABC123"
	r := e.form("/api/v1/tipoffs?lang=en", url.Values{"subject": {"code"}, "code": {code}, "category": {"counterfeit"},
		"description": {"The hologram peels off"}})
	page := string(r.Body)
	switchRE := regexp.MustCompile(`id="lang-switch" href="([^"]+)"`)
	m := switchRE.FindStringSubmatch(page)
	if r.Code != 201 || m == nil || !strings.Contains(page, `id="tipoff-status">Received`) ||
		!strings.Contains(page, `id="tipoff-due">2026-03-12`) || !strings.Contains(page, `href="`+code+`"`) {
		t.Fatalf("receipt page: %d %s", r.Code, page)
	}
	link := strings.ReplaceAll(m[1], "&amp;", "&")
	zh := e.get(link, "text/html", "")
	if zh.Code != 200 || !strings.Contains(string(zh.Body), "已收到") || !strings.Contains(string(zh.Body), "2026-03-12") {
		t.Fatalf("the language switch %s: %d %s", link, zh.Code, zh.Body)
	}
	if js := e.get(link, "application/json", "").JSON(); js["verifyByDate"] != "2026-03-12" || js["name"] != nil {
		t.Fatalf("JSON status: %v", js)
	}
}

// TestTipoffWorkflow (issue 11): received → verifying → case opened or
// not → closed, nothing else; the verification deadline extends once by
// 15 working days; deciding gives a named tipster 5 working days to be
// told; ?overdue=true lists the missed deadlines.
func TestTipoffWorkflow(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(time.Date(2026, 2, 13, 10, 0, 0, 0, shanghai).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	e := newEnvWith(t, "sqlite", func(o *wire.Options) { o.Now = now })
	file := func(name string) string {
		body := map[string]any{"subject": "product", "gtin": "09506000134352", "category": "quality", "description": "Smells of solvent"}
		if name != "" {
			body["name"], body["contact"] = name, "13800000000"
		}
		return e.must(201, "POST", "/api/v1/tipoffs", "", body).JSON()["receipt"].(string)
	}
	named, anon := file("Zhang San"), file("")
	patch := func(receipt string, body map[string]any) response {
		return e.do("PATCH", "/api/v1/tipoffs/"+receipt, e.reg, body)
	}
	day := func(v any) string {
		ts, _ := time.Parse(time.RFC3339, v.(string))
		return ts.Add(-time.Nanosecond).In(shanghai).Format(time.DateOnly)
	}
	if r := patch(named, map[string]any{"status": "closed"}); r.Code != 409 || r.errField() != "status" {
		t.Fatalf("received → closed: %d %s", r.Code, r.Body)
	}
	r := patch(named, map[string]any{"status": "verifying", "extend": true, "note": "needs a lab test"})
	if r.Code != 200 || day(r.JSON()["verifyBy"]) != "2026-04-02" || r.JSON()["extended"] != true {
		t.Fatalf("extend: %d %s", r.Code, r.Body) // 12 March + 15 working days (Qingming on 4–6 April is after)
	}
	if r := patch(named, map[string]any{"status": "verifying", "extend": true}); r.Code != 409 || r.errField() != "extend" {
		t.Fatalf("a second extension: %d %s", r.Code, r.Body)
	}
	// On 19 March the anonymous tip-off is past its 12 March deadline.
	clock.Store(time.Date(2026, 3, 19, 9, 0, 0, 0, shanghai).UnixNano())
	overdue := func() []string {
		var out []string
		for _, t := range e.must(200, "GET", "/api/v1/tipoffs?overdue=true", e.reg, nil).JSON()["tipoffs"].([]any) {
			out = append(out, t.(map[string]any)["receipt"].(string))
		}
		return out
	}
	if got := overdue(); len(got) != 1 || got[0] != anon {
		t.Fatalf("overdue on 19 March: %v", got)
	}
	r = patch(named, map[string]any{"status": "case_opened"})
	if r.Code != 200 || day(r.JSON()["notifyTipsterBy"]) != "2026-03-26" {
		t.Fatalf("decided: %d %s", r.Code, r.Body)
	}
	if r := patch(anon, map[string]any{"status": "rejected"}); r.Code != 200 || r.JSON()["notifyTipsterBy"] != nil {
		t.Fatalf("an anonymous tip-off has nobody to tell: %d %s", r.Code, r.Body)
	}
	clock.Store(time.Date(2026, 3, 27, 9, 0, 0, 0, shanghai).UnixNano())
	if got := overdue(); len(got) != 1 || got[0] != named {
		t.Fatalf("overdue on 27 March: %v", got)
	}
	if r := patch(named, map[string]any{"status": "case_opened", "tipsterNotified": true}); r.Code != 200 || r.JSON()["tipsterNotified"] != true {
		t.Fatalf("told: %d %s", r.Code, r.Body)
	}
	if got := overdue(); len(got) != 0 {
		t.Fatalf("overdue after telling: %v", got)
	}
	if r := patch(anon, map[string]any{"status": "closed", "reward": "100"}); r.Code != 409 || r.errField() != "reward" {
		t.Fatalf("a reward for a tip-off whose case was never opened: %d %s", r.Code, r.Body)
	}
	if r := patch(named, map[string]any{"status": "closed", "reward": "5OO"}); r.Code != 400 || r.errField() != "reward" {
		t.Fatalf("a malformed reward: %d %s", r.Code, r.Body)
	}
	if r := patch(named, map[string]any{"status": "closed", "reward": "500"}); r.Code != 200 || r.JSON()["reward"] != "500.00" {
		t.Fatalf("close with a reward: %d %s", r.Code, r.Body)
	}
	if r := patch(named, map[string]any{"status": "closed", "reward": "50"}); r.Code != 409 {
		t.Fatalf("a second reward: %d %s", r.Code, r.Body)
	}
	if st := e.must(200, "GET", "/api/v1/tipoffs/"+named, "", nil).JSON(); st["reward"] != nil {
		t.Fatalf("the public sees the reward: %v", st)
	}
	runCases(t, e, map[string]authCase{
		"overdue bad":    {"GET", "/api/v1/tipoffs?overdue=maybe", e.reg, nil, 400, "invalid"},
		"overdue public": {"GET", "/api/v1/tipoffs?overdue=true", "", nil, 401, "unauthorized"},
	})
}
