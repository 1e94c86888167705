package handlers_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestScanVerdictsTrusted is issue 9 item 5: a link without a serial is
// product information, never "genuine"; unsupported AIs are refused; data
// in the link that disagrees with the record is a mismatch with an alert;
// a sold item is genuine with its sale; the page counts checks and warns
// past the threshold; SSCCs resolve; consumer error pages are in plain
// words in the page's language.
func TestScanVerdictsTrusted(t *testing.T) { eachBackend(t, testScanVerdictsTrusted) }

func testScanVerdictsTrusted(t *testing.T, backend string) {
	s := newScanEnvOn(t, backend)
	lotPath := "/01/" + s.gtin + "/10/" + url.PathEscape(s.lot)

	t.Run("product_info", func(t *testing.T) {
		res := s.get(lotPath, "application/json", "").JSON()
		if res["verdict"] != "product_info" || res["batch"] == nil || res["checks"] != nil {
			t.Fatalf("lot link: %v", res)
		}
		for lang, words := range map[string][]string{"en": {"Genuine", "issued by"}, "zh": {"正品码", "签发"}} {
			page := string(s.get(lotPath, "text/html", lang).Body)
			if !strings.Contains(page, `data-verdict="product_info"`) {
				t.Fatalf("%s page lacks the product_info verdict", lang)
			}
			for _, w := range words {
				if strings.Contains(page, w) {
					t.Fatalf("%s product page says %q", lang, w)
				}
			}
		}
	})

	t.Run("unsupported AI", func(t *testing.T) {
		for _, p := range []string{"/01/" + s.gtin + "/22/ABC", path(s.codes[0].URI) + "&3103=000500"} {
			if r := s.get(p, "application/json", ""); r.Code != 400 || r.errCode() != "invalid" || r.errField() != "uri" ||
				!strings.Contains(r.errMessage(), "does not check AI") {
				t.Fatalf("%s: %d %s", p, r.Code, r.Body)
			}
		}
		zh := s.get("/01/"+s.gtin+"/22/ABC", "text/html", "zh-CN")
		if zh.Code != 400 || !strings.Contains(string(zh.Body), "本服务不查验") || zh.Hdr.Get("Content-Language") != "zh" {
			t.Fatalf("zh page: %d %s", zh.Code, zh.Body)
		}
	})

	t.Run("plain error pages", func(t *testing.T) {
		for lang, words := range map[string]string{"en": "misprinted, mistyped or made up", "zh": "商品编号无效"} {
			r := s.get("/01/09506000134353/21/X", "text/html", lang)
			page := string(r.Body)
			if r.Code != 400 || !strings.Contains(page, words) || strings.Contains(page, "AI (") ||
				strings.Contains(page, "check digit is") {
				t.Fatalf("%s: %d %s", lang, r.Code, page)
			}
		}
	})

	t.Run("mismatch", func(t *testing.T) {
		wrongLot := "/01/" + s.gtin + "/10/OTHER/21/" + s.codes[2].Serial
		res := s.get(wrongLot, "application/json", "").JSON()
		ms, _ := res["mismatches"].([]any)
		if res["verdict"] != "mismatch" || len(ms) != 1 || fmt.Sprint(ms[0]) != fmt.Sprint(map[string]any{"field": "lot", "link": "OTHER", "record": s.lot}) {
			t.Fatalf("wrong lot: %v", res)
		}
		tampered := strings.Replace(path(s.codes[1].URI), "17=270228", "17=291231", 1)
		res = s.get(tampered, "application/json", "").JSON()
		ms, _ = res["mismatches"].([]any)
		if res["verdict"] != "mismatch" || len(ms) != 1 || ms[0].(map[string]any)["field"] != "expiryDate" ||
			ms[0].(map[string]any)["link"] != "2029-12-31" || ms[0].(map[string]any)["record"] != "2027-02-28" {
			t.Fatalf("tampered expiry: %v", res)
		}
		page := string(s.get(tampered, "text/html", "en").Body)
		if !strings.Contains(page, "Expiry: the code says 2029-12-31, the record says 2027-02-28.") {
			t.Fatalf("page does not say what disagrees:\n%s", page)
		}
		// The right expiry, and a month-only one, are no mismatch.
		for _, q := range []string{"17=270228", "17=270200", "11=261101"} {
			p := strings.Replace(path(s.codes[1].URI), "17=270228", q, 1)
			if v := s.get(p, "application/json", "").JSON()["verdict"]; v != "genuine" {
				t.Fatalf("%s: %v", q, v)
			}
		}
		alerts := map[string]map[string]any{}
		for _, a := range s.must(200, "GET", "/api/v1/alerts", s.owner, nil).JSON()["alerts"].([]any) {
			m := a.(map[string]any)
			alerts[m["kind"].(string)+" "+m["serial"].(string)] = m
		}
		if a := alerts["data_mismatch "+s.codes[2].Serial]; a == nil || !strings.Contains(a["detail"].(string), "lot") {
			t.Fatalf("no data_mismatch alert for the wrong lot: %v", alerts)
		}
		if a := alerts["data_mismatch "+s.codes[1].Serial]; a == nil || !strings.Contains(a["detail"].(string), "expiryDate") {
			t.Fatalf("no data_mismatch alert for the tampered expiry: %v", alerts)
		}
		if a := alerts["unknown_serial "+s.codes[2].Serial]; a != nil {
			t.Fatalf("a real serial under the wrong lot is reported as never issued: %v", a)
		}
	})

	t.Run("sold", func(t *testing.T) {
		res := s.get(path(s.codes[4].URI), "application/json", "").JSON()
		sale, _ := res["sale"].(map[string]any)
		if res["verdict"] != "genuine" || sale["date"] != "2026-11-03" || sale["shop"] == "" {
			t.Fatalf("sold: %v", res)
		}
		page := string(s.get(path(s.codes[4].URI), "text/html", "en").Body)
		if !strings.Contains(page, "Sold on 2026-11-03 by "+sale["shop"].(string)+".") || strings.Contains(page, "check with the seller") {
			t.Fatal("the sold item's page does not show the sale")
		}
	})

	// From here on scans are stored as they are made.
	if err := s.resolver.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	t.Run("checks and caution", func(t *testing.T) {
		p := path(s.codes[3].URI)
		for i := 1; i <= 6; i++ {
			res := s.get(p, "application/json", "").JSON()
			if res["checks"] != float64(i) || (res["caution"] == true) != (i > 5) {
				t.Fatalf("check %d: checks %v caution %v", i, res["checks"], res["caution"])
			}
		}
		page := string(s.get(p, "text/html", "en").Body)
		if !strings.Contains(page, "This code has been checked 7 times, this one included.") || !strings.Contains(page, `id="caution"`) {
			t.Fatal("the page does not count checks or show the caution")
		}
	})

	t.Run("serial-less scans are logged", func(t *testing.T) {
		before := s.resolver.Stats().Stored
		s.get(lotPath, "application/json", "")
		s.get("/01/"+s.gtin, "text/html", "")
		if got := s.resolver.Stats().Stored - before; got != 2 {
			t.Fatalf("%d of 2 product and lot scans stored", got)
		}
	})

	t.Run("SSCC", func(t *testing.T) {
		r := s.must(201, "POST", "/api/v1/entities", s.reg, map[string]any{"name": "Pallets Ltd", "uscc": validUSCC(t, s.serial.Add(1)),
			"kinds": []string{"distributor"}, "region": "Tianjin", "address": "Port 1", "companyPrefix": "0614141"}).JSON()
		key, id := r["key"].(string), r["entity"].(map[string]any)["id"].(string)
		issued := s.must(201, "POST", "/api/v1/sscc", key, map[string]any{"count": 1}).JSON()["ssccs"].([]any)
		sscc := issued[0].(map[string]any)["sscc"].(string)
		res := s.get("/00/"+sscc, "application/json", "").JSON()
		unit, _ := res["unit"].(map[string]any)
		if res["verdict"] != "genuine" || unit["sscc"] != sscc || unit["issuer"].(map[string]any)["id"] != id {
			t.Fatalf("issued SSCC: %v", res)
		}
		page := string(s.get("/00/"+sscc, "text/html", "en").Body)
		if !strings.Contains(page, `id="unit"`) || !strings.Contains(page, "Pallets Ltd") {
			t.Fatal("SSCC page lacks the unit")
		}
		if res := s.get("/00/106141410000000002", "application/json", "").JSON(); res["verdict"] != "unknown_code" {
			t.Fatalf("never issued SSCC: %v", res)
		}
		if r := s.get("/00/"+sscc+"?17=270101", "application/json", ""); r.Code != 400 {
			t.Fatalf("SSCC with an expiry: %d", r.Code)
		}
	})
}

// TestRateLimitedBrowserGetsPage is issue 9 item 5: a consumer's browser
// over the limit gets a page in its language; API clients get JSON.
func TestRateLimitedBrowserGetsPage(t *testing.T) {
	e := newEnvOn(t, "sqlite", 1, 1)
	get := func(accept, lang string) response {
		req := httptest.NewRequest("GET", "/01/09506000134352", nil)
		req.Header.Set("Accept", accept)
		req.Header.Set("Accept-Language", lang)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		return response{Code: rec.Code, Body: rec.Body.Bytes(), Hdr: rec.Header()}
	}
	get("text/html", "zh")
	zh := get("text/html,application/xhtml+xml", "zh-CN")
	if zh.Code != 429 || !strings.HasPrefix(zh.Hdr.Get("Content-Type"), "text/html") || zh.Hdr.Get("Retry-After") == "" ||
		!strings.Contains(string(zh.Body), "查验过于频繁") {
		t.Fatalf("zh browser: %d %s %s", zh.Code, zh.Hdr.Get("Content-Type"), zh.Body)
	}
	if en := get("text/html", "en"); en.Code != 429 || !strings.Contains(string(en.Body), "Please wait") {
		t.Fatalf("en browser: %d %s", en.Code, en.Body)
	}
	if js := get("application/json", ""); js.Code != 429 || js.errCode() != "rate_limited" {
		t.Fatalf("JSON client: %d %s", js.Code, js.Body)
	}
}
