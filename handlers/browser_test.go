package handlers_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tracesvc/trace/testtool"
)

// browser starts headless Chromium for one test, with a phone-sized window.
func browser(t *testing.T) context.Context { return testtool.Chromium(t, 360, 780) }

// TestScanPageInBrowser loads the scan page as a phone would, for a
// genuine code, an unknown serial and a sold code, and checks the verdict
// and the sections; screenshots go to the test's temp folder (or to
// $SCAN_SCREENSHOTS when set).
func TestScanPageInBrowser(t *testing.T) {
	s := newScanEnv(t)
	// The maker's published declaration shows on the page (issue 11).
	d := s.must(201, "POST", "/api/v1/declarations", s.owner, map[string]any{"gtins": []string{s.gtin}, "standards": milkStandards}).JSON()
	s.must(200, "POST", "/api/v1/declarations/"+d["id"].(string)+"/publish", s.owner, nil)
	srv := httptest.NewServer(s.h)
	defer srv.Close()
	ctx := browser(t)
	shots := os.Getenv("SCAN_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	cases := []struct {
		name, path, lang, verdict, words string
		sections                         []string
	}{
		{"genuine", path(s.codes[0].URI), "en", "genuine", "Genuine code", []string{"#product", "#batch", "#provenance", "#standards", "#tipoff"}},
		{"genuine-zh", path(s.codes[0].URI), "zh", "genuine", "正品码", []string{"#product", "#batch", "#provenance", "#standards", "#tipoff"}},
		{"unknown", "/01/" + s.gtin + "/21/FAKE23456789", "en", "unknown_code", "Unknown code — possibly counterfeit", []string{"#product", "#tipoff"}},
		{"sold", path(s.codes[4].URI), "en", "genuine", "Genuine code", []string{"#product", "#batch", "#provenance", "#sale", "#checks", "#tipoff"}},
		{"decommissioned", path(s.codes[5].URI), "en", "decommissioned", "Taken out of use — check with the seller", []string{"#product", "#batch", "#provenance", "#tipoff"}},
		{"product-zh", "/01/" + s.gtin, "zh", "product_info", "产品信息 — 不能查验单件商品", []string{"#product", "#tipoff"}},
		{"mismatch", "/01/" + s.gtin + "/10/OTHER/21/" + s.codes[0].Serial, "en", "mismatch", "Label does not match the record", []string{"#mismatches", "#product", "#batch"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sep := "?"
			if strings.Contains(tc.path, "?") {
				sep = "&"
			}
			tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+tc.path+sep+"lang="+tc.lang),
				chromedp.WaitVisible(chromedp.CSS("#verdict"))); err != nil {
				t.Fatal(err)
			}
			text, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#verdict-text")))
			if err != nil || strings.TrimSpace(text) != tc.words {
				t.Fatalf("verdict %q (%v), want %q", text, err, tc.words)
			}
			// The style sheet applies under the page's Content-Security-Policy
			// (it is allowed by its hash; inline styles are not).
			border, err := chromedp.Run(tctx, chromedp.Evaluate[string](`getComputedStyle(document.getElementById("verdict")).borderLeftWidth`))
			if err != nil || border != "8px" {
				t.Fatalf("verdict border %q (%v): the style sheet was blocked", border, err)
			}
			attrs, err := chromedp.Run(tctx, chromedp.Attributes(chromedp.CSS("#verdict")))
			if err != nil || attrs["data-verdict"] != tc.verdict {
				t.Fatalf("data-verdict %v (%v)", attrs, err)
			}
			for _, sec := range tc.sections {
				if _, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sec))); err != nil {
					t.Fatalf("section %s: %v", sec, err)
				}
			}
			// Readable on a 360 px screen: nothing wider than the window.
			fits, err := chromedp.Run(tctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth <= window.innerWidth"))
			if err != nil || !fits {
				t.Fatalf("page wider than 360 px (%v)", err)
			}
			png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(shots, "scan-"+tc.name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
	// The declared standards, each flagged where it falls below the
	// national standard, in both languages.
	for lang, below := range map[string]string{"en": "below the national standard", "zh": "低于国家标准"} {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+path(s.codes[0].URI)+"&lang="+lang), chromedp.WaitVisible(chromedp.CSS("#standards")))
		text, err2 := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#standards")))
		cancel()
		if err = errors.Join(err, err2); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(text, "\n")
		var gb, ent string
		for _, l := range lines {
			switch {
			case strings.Contains(l, "GB 25190-2010"):
				gb = l
			case strings.Contains(l, "Q/TJXX 0001S-2023 Haihe UHT milk"):
				ent = l
			}
		}
		if gb == "" || ent == "" || strings.Contains(gb, below) || !strings.Contains(ent, below) {
			t.Fatalf("%s standards section:\n%s", lang, text)
		}
	}

	// The language switch, then a tip-off from the page's form.
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+path(s.codes[0].URI)+"&lang=zh"),
		chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS("#verdict")))
	if err != nil {
		t.Fatal(err)
	}
	if text, _ := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#verdict-text"))); strings.TrimSpace(text) != "Genuine code" {
		t.Fatalf("after the switch: %q", text)
	}
	err = chromedp.Do(tctx, chromedp.SendKeys(chromedp.CSS("#tip-description"), "Seal was broken when bought"),
		chromedp.Submit(chromedp.CSS("#tip-description")), chromedp.WaitVisible(chromedp.CSS("#receipt")))
	if err != nil {
		t.Fatal(err)
	}
	receipt, _ := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#receipt")))
	if !strings.HasPrefix(strings.TrimSpace(receipt), "T") {
		t.Fatalf("receipt %q", receipt)
	}
	s.must(200, "GET", "/api/v1/tipoffs/"+strings.TrimSpace(receipt), "", nil)
}

// TestRecallBannerInBrowser (issue 12): once a recall opens, the scan
// page of an affected unit says so plainly, in both languages: "Product
// safety recall", stop using it, the hazard, the remedy in words and the
// consumer instructions.
func TestRecallBannerInBrowser(t *testing.T) {
	c := newRecallEnv(t, "sqlite")
	id := c.must(201, "POST", "/api/v1/recalls", c.reg, map[string]any{"class": "I", "depth": "consumer",
		"hazard": "Listeria monocytogenes found in the raw milk", "remedy": "refund",
		"custodianInstructions": "Stop selling and return the stock.",
		"consumerInstructions":  "Do not eat it. Take it back to the shop for a refund.",
		"scope":                 map[string]any{"lots": []map[string]any{{"gtin": c.milk, "lot": "MILK1"}}}}).JSON()["id"].(string)
	c.must(200, "POST", "/api/v1/recalls/"+id+"/open", c.reg, nil)
	srv := httptest.NewServer(c.h)
	defer srv.Close()
	ctx := browser(t)
	for lang, want := range map[string][]string{
		"en": {"PRODUCT SAFETY RECALL", "Listeria monocytogenes found in the raw milk", "Refund", "Do not eat it."},
		"zh": {"产品安全召回", "Listeria monocytogenes found in the raw milk", "退款", "Do not eat it."},
	} {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/01/"+c.cheese+"/21/"+c.cheeseSerials[4]+"?lang="+lang),
			chromedp.WaitVisible(chromedp.CSS("#recall-stop")))
		text, err2 := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#verdict")))
		attrs, err3 := chromedp.Run(tctx, chromedp.Attributes(chromedp.CSS("#verdict")))
		cancel()
		if err = errors.Join(err, err2, err3); err != nil {
			t.Fatal(err)
		}
		if attrs["data-verdict"] != "recalled" {
			t.Fatalf("%s: verdict %v", lang, attrs)
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the banner lacks %q:\n%s", lang, w, text)
			}
		}
	}
}

// TestCreditOnScanPage (issue 13): the scan page shows the maker's credit
// class in its colour, and a change shows within two seconds.
func TestCreditOnScanPage(t *testing.T) {
	c := newRecallEnv(t, "sqlite")
	srv := httptest.NewServer(c.h)
	defer srv.Close()
	ctx := browser(t)
	look := func(lang string) (string, string) {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/01/"+c.cheese+"/21/"+c.cheeseSerials[3]+"?lang="+lang),
			chromedp.WaitVisible(chromedp.CSS("#credit")))
		text, err2 := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#credit")))
		bg, err3 := chromedp.Run(tctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#credit .credit")).backgroundColor`))
		if err = errors.Join(err, err2, err3); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(text), bg
	}
	if text, bg := look("en"); text != "Good" || bg != "rgb(30, 142, 62)" {
		t.Fatalf("a good maker: %q on %s", text, bg)
	}
	c.must(201, "POST", "/api/v1/entities/"+c.proc+"/credit/events", c.reg, map[string]any{"type": "penalty", "date": "2026-11-20",
		"fine": "5000", "source": "津市监罚〔2026〕12号", "reason": "labelling"})
	// The class is kept a second per process: the change shows within two.
	changed := time.Now()
	for {
		text, bg := look("en")
		if text == "Warning" && bg == "rgb(249, 171, 0)" {
			break
		}
		if time.Since(changed) > 2*time.Second {
			t.Fatalf("two seconds after a penalty: %q on %s", text, bg)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if text, _ := look("zh"); text != "警示" {
		t.Fatalf("in Chinese: %q", text)
	}
}
