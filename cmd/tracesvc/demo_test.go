package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// demoLinks reads the links -demo printed.
func printedLinks(t testing.TB, stderr string) (key string, links demoLinks) {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch name {
		case "Regulator key":
			key = value
		case "Dashboard":
			links.Dashboard = value
		case "Scan, genuine item":
			links.Genuine = value
		case "Scan, recalled item":
			links.Recalled = value
		case "Scan, unknown serial":
			links.Unknown = value
		}
	}
	if key == "" || links.Dashboard == "" || links.Genuine == "" || links.Recalled == "" || links.Unknown == "" {
		t.Fatalf("-demo printed no key or links:\n%s", stderr)
	}
	return key, links
}

// TestDemo (issue 15): -demo on a temp folder prints the regulator key,
// the dashboard and three scan URLs that give the three verdicts; the
// key is a regulator's; the data has what the dashboard shows (an open
// recall, an overdue awareness record, an overdue tip-off, alerts, a
// dead-lettered notice, a spread of credit classes); a second -demo on the same folder refuses.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	in := start(t, nil, "-demo", "-data", dir)
	key, links := printedLinks(t, in.stderr.String())
	for want, link := range map[string]string{"genuine": links.Genuine, "recalled": links.Recalled, "unknown_code": links.Unknown} {
		if !strings.HasPrefix(link, in.base+"/01/") {
			t.Fatalf("%s link %s is not on %s", want, link, in.base)
		}
		req, _ := http.NewRequest("GET", link, nil)
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Verdict string }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || body.Verdict != want {
			t.Errorf("%s: verdict %q (%v), want %q", link, body.Verdict, err, want)
		}
	}
	if links.Dashboard != in.base+"/dashboard" {
		t.Errorf("dashboard link %s", links.Dashboard)
	}
	if code, me := in.call(t, "GET", "/api/v1/me", key, ""); code != 200 || me["role"] != "regulator" {
		t.Fatalf("the printed key: %d %v", code, me)
	}
	count := func(path, list string) int {
		t.Helper()
		code, body := in.call(t, "GET", path, key, "")
		items, _ := body[list].([]any)
		if code != 200 {
			t.Fatalf("GET %s: %d %v", path, code, body)
		}
		return len(items)
	}
	if n := count("/api/v1/recalls?status=open", "recalls"); n != 1 {
		t.Errorf("%d open recalls, want 1", n)
	}
	if n := count("/api/v1/incidents/overdue", "awareness"); n != 1 {
		t.Errorf("%d overdue awareness records, want 1", n)
	}
	if n := count("/api/v1/tipoffs?overdue=true", "tipoffs"); n != 1 {
		t.Errorf("%d overdue tip-offs, want 1", n)
	}
	if n := count("/api/v1/alerts?kind=incident_cluster", "alerts"); n != 1 {
		t.Errorf("%d cluster alerts, want 1", n)
	}
	if n := count("/api/v1/deliveries?state=dead", "deliveries"); n != 1 {
		t.Errorf("%d dead-lettered deliveries, want 1", n)
	}
	if n := count("/api/v1/incidents?late=true", "incidents"); n != 1 {
		t.Errorf("%d late incident reports, want 1", n)
	}
	_, ents := in.call(t, "GET", "/api/v1/entities", "", "")
	classes := map[string]int{}
	for _, e := range ents["entities"].([]any) {
		_, st := in.call(t, "GET", "/api/v1/entities/"+e.(map[string]any)["id"].(string)+"/credit", "", "")
		classes[st["class"].(string)]++
	}
	if len(ents["entities"].([]any)) != 8 || classes["good"] == 0 || classes["warning"] == 0 || classes["dishonest"] == 0 {
		t.Errorf("credit classes %v", classes)
	}
	// Every item on the dashboard links to a detail page that opens.
	page := dashboardGet(t, in.base+"/dashboard?lang=en", key)
	hrefs := regexp.MustCompile(`href="(/dashboard/[a-z]+/[^"?]+)`).FindAllStringSubmatch(page, -1)
	kinds := map[string]bool{}
	for _, m := range hrefs {
		dashboardGet(t, in.base+m[1], key)
		kinds[strings.Split(m[1], "/")[2]] = true
	}
	for _, k := range []string{"recalls", "incidents", "awareness", "alerts", "entities", "tipoffs", "deliveries"} {
		if !kinds[k] {
			t.Errorf("the dashboard links to no %s page (links: %v)", k, hrefs)
		}
	}
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}

	// The store now has data: -demo refuses it rather than mix two stories.
	err := run(context.Background(), []string{"-demo", "-data", dir, "-addr", "127.0.0.1:0"}, func(string) string { return "" },
		&syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), "fresh store") {
		t.Fatalf("-demo on a used store: %v", err)
	}
}

// dashboardGet reads a dashboard page as the official with key; it must
// answer 200.
func dashboardGet(t *testing.T, url, key string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.AddCookie(&http.Cookie{Name: "tracesvc_dashboard", Value: key})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return string(body)
}
