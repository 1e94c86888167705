package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tracesvc/trace/testtool"
)

// screenshots is where the browser tests put their pictures: docs/ when
// TRACESVC_SCREENSHOTS is set (the README shows them), else a temp folder,
// so that ordinary runs leave the tracked files alone.
func screenshots(t *testing.T) string {
	if os.Getenv("TRACESVC_SCREENSHOTS") != "" {
		return filepath.Join("..", "..", "docs")
	}
	return t.TempDir()
}

// chromium starts headless Chromium for one test with a window of w×h.
func chromium(t *testing.T, w, h int) context.Context {
	return testtool.Chromium(t, w, h, chromedp.Flag("hide-scrollbars", true))
}

// TestDashboardInBrowser (issue 15): on the demo data, headless Chromium
// is refused the dashboard without a key and with a wrong one, logs in
// with the printed key, and sees the open recall's effectiveness (25 %
// of the units recovered, one custodian of four acknowledged) and an
// overdue item in red, in English and Chinese, at 1280 px and on a
// tablet (768 px) without sideways scrolling; a recall's link opens its
// detail page; signing out ends the session. A forged CSRF token is
// refused at login and at logout. Screenshots of the scan page and the
// dashboard go to docs/ with TRACESVC_SCREENSHOTS set.
func TestDashboardInBrowser(t *testing.T) {
	in := start(t, nil, "-demo", "-data", filepath.Join(t.TempDir(), "demo"))
	key, links := printedLinks(t, in.stderr.String())
	shots := screenshots(t)
	ctx := chromium(t, 1280, 900)
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	eval := func(js string) string {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := chromedp.Run(tctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	shoot := func(name string) {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
		if err == nil {
			err = os.WriteFile(filepath.Join(shots, name), png, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	// The scan page of a genuine item, as a phone shows it.
	step("scan page", chromedp.EmulateViewport(390, 844), chromedp.Navigate(links.Genuine+"&lang=en"),
		chromedp.WaitVisible(chromedp.CSS("#verdict")))
	if v := text("#verdict-text"); v != "Genuine code" {
		t.Fatalf("the genuine link's scan page: %q", v)
	}
	shoot("scan-page.png")

	// Without a key: the login form, and nothing of the dashboard.
	step("no key", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(links.Dashboard+"?lang=en"),
		chromedp.WaitVisible(chromedp.CSS("#login")))
	if n := eval(`String(document.querySelectorAll("#recalls").length)`); n != "0" {
		t.Fatal("the dashboard shows without a key")
	}
	step("wrong key", chromedp.SendKeys(chromedp.CSS("#key"), "tsk_0123456789abcdef0123456789abcdef0123456789a"),
		chromedp.Click(chromedp.CSS("#login-send")), chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if n := eval(`String(document.querySelectorAll("#recalls").length)`); n != "0" {
		t.Fatal("the dashboard shows with a wrong key")
	}

	// The demo key opens it.
	step("login", chromedp.SendKeys(chromedp.CSS("#key"), key), chromedp.Click(chromedp.CSS("#login-send")),
		chromedp.WaitVisible(chromedp.CSS("#recalls")))
	if r := text("#role"); r != "Regulator" {
		t.Errorf("role shown: %q", r)
	}
	if s := text("#recalls .recall .overall .share"); s != "25%" {
		t.Errorf("the recall's overall effectiveness: %q, want 25%%", s)
	}
	if lv := text("#recalls .recall .check-level"); lv == "" {
		t.Error("no effectiveness check level")
	}
	if levels := text("#recalls .recall .levels"); !strings.Contains(levels, "Retail") || !strings.Contains(levels, "3 of 11") ||
		!strings.Contains(levels, "1 of 2") {
		t.Errorf("the recall's levels:\n%s", levels)
	}
	// The unanswered awareness record is overdue, in red; so is the
	// tip-off nobody verified.
	if c := eval(`getComputedStyle(document.querySelector("#incidents tr.overdue .clock-words")).color`); c != "rgb(197, 34, 31)" {
		t.Errorf("overdue clock colour %s", c)
	}
	if w := text("#incidents tr.overdue .clock-words"); !strings.HasPrefix(w, "overdue by") {
		t.Errorf("overdue clock %q", w)
	}
	if n := eval(`String(document.querySelectorAll("#tipoffs tr.overdue").length)`); n != "1" {
		t.Errorf("%s overdue tip-offs shown, want 1", n)
	}
	if n := eval(`String(document.querySelectorAll("#incidents tr.report .clock.late").length)`); n != "1" {
		t.Errorf("%s late reports shown, want 1", n)
	}
	if a := text("#alerts"); !strings.Contains(a, "Incident cluster") || !strings.Contains(a, "Unknown serial") {
		t.Errorf("alerts:\n%s", a)
	}
	if d := text("#dead"); !strings.Contains(d, "Bohai Logistics") || !strings.Contains(d, "loopback") {
		t.Errorf("dead-lettered notices:\n%s", d)
	}
	if n := eval(`String(document.querySelectorAll("#credit .class-bar").length)`); n != "4" {
		t.Errorf("%s credit class bars", n)
	}
	// The style sheet applies under the page's Content-Security-Policy.
	if bg := eval(`getComputedStyle(document.querySelector("header")).backgroundColor`); bg != "rgb(11, 46, 89)" {
		t.Errorf("header background %s: the style sheet was blocked", bg)
	}
	fits := func(width string) {
		t.Helper()
		if w := eval(`String(document.documentElement.scrollWidth <= window.innerWidth)`); w != "true" {
			t.Errorf("the dashboard is wider than %s", width)
		}
	}
	fits("1280 px")
	shoot("dashboard.png")
	step("tablet", chromedp.EmulateViewport(768, 1024), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#recalls")))
	fits("a 768 px tablet")
	shoot("dashboard-tablet.png")
	step("chinese", chromedp.EmulateViewport(1280, 900), chromedp.Click(chromedp.CSS("#lang-switch")),
		chromedp.WaitVisible(chromedp.CSS("#recalls")))
	if h := text("header h1"); h != "监管工作台" {
		t.Errorf("Chinese title %q", h)
	}
	if w := text("#incidents tr.overdue .clock-words"); !strings.HasPrefix(w, "已逾期") {
		t.Errorf("Chinese overdue clock %q", w)
	}
	shoot("dashboard-zh.png")

	// A recall's link opens its detail page.
	step("detail", chromedp.Click(chromedp.CSS("#recalls .recall h3 a")), chromedp.WaitVisible(chromedp.CSS("#detail")))
	if s := text("#detail .recall .overall .share"); s != "25%" {
		t.Errorf("the detail page's effectiveness %q", s)
	}

	// Forged CSRF tokens: the session's cookie alone does not sign out,
	// nor does a login form post without the form's cookie.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base, _ := url.Parse(in.base + "/dashboard")
	jar.SetCookies(base, []*http.Cookie{{Name: "tracesvc_dashboard", Value: key, Path: "/dashboard"}})
	for _, path := range []string{"/dashboard/logout", "/dashboard/login"} {
		resp, err := client.PostForm(in.base+path, url.Values{"csrf": {"forged-token"}, "key": {key}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a forged CSRF token: %d, want 403", path, resp.StatusCode)
		}
	}
	resp, err := client.Get(in.base + "/dashboard")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the session after the forged sign-out: %d", resp.StatusCode)
	}

	// Signing out ends the session.
	step("logout", chromedp.Click(chromedp.CSS("#logout button")), chromedp.WaitVisible(chromedp.CSS("#login")))
	step("after logout", chromedp.Navigate(links.Dashboard), chromedp.WaitVisible(chromedp.CSS("#login")))
	if n := eval(`String(document.querySelectorAll("#recalls").length)`); n != "0" {
		t.Fatal("the dashboard shows after signing out")
	}
}
