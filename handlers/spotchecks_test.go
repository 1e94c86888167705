package handlers_test

import (
	"strings"
	"testing"
	"time"

	"tracesvc/cmd/wire"
)

// TestSpotChecks (issue 11): an inspector records a lab result that finds
// one non-conform indicator against the maker's declared standard; the
// result is per limit, per indicator and overall; the maker sees its own
// results, another entity none, and the credit record's question —
// non-conform results of an entity between two dates — answers it. Each
// role is tried on every endpoint, on both backends.
func TestSpotChecks(t *testing.T) { eachBackend(t, testSpotChecks) }

func testSpotChecks(t *testing.T, backend string) {
	now := time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)
	e := newEnvWith(t, backend, func(o *wire.Options) { o.Now = func() time.Time { return now } })
	aID, a := e.newEntity()
	bID, b := e.newEntity()
	inspector := e.must(201, "POST", "/api/v1/keys", e.reg, map[string]any{"role": "inspector"}).JSON()["key"].(string)
	const wrong = "tsk_0123456789abcdef0123456789abcdef"
	milk := e.newProduct(a, 1)
	e.newProduct(b, 2)
	d := e.must(201, "POST", "/api/v1/declarations", a, map[string]any{"gtins": []string{milk}, "standards": milkStandards}).JSON()
	e.must(200, "POST", "/api/v1/declarations/"+d["id"].(string)+"/publish", a, nil)
	e.must(201, "POST", "/api/v1/products/"+milk+"/batches", a, map[string]any{"lot": "L1", "productionDate": "2026-03-01", "quantity": 10, "unit": "EA"})

	check := func(code string, protein float64) map[string]any {
		return map[string]any{"gtin": milk, "lot": "L1", "lab": "Tianjin Food Inspection Institute", "sampleCode": code,
			"sampledOn": "2026-03-10", "reportedOn": "2026-03-18", "measurements": []map[string]any{
				{"indicator": "Protein", "unit": "g/100g", "value": protein},
				{"indicator": "lead", "value": 0.01},
				{"indicator": "Aflatoxin M1", "unit": "µg/kg", "value": 0.2, "limit": map[string]any{"comparator": "<=", "value": 0.5},
					"standard": "GB 2761-2017"},
			}}
	}
	for who, c := range map[string]struct {
		key    string
		status int
	}{"no key": {"", 401}, "wrong key": {wrong, 401}, "the entity": {a, 403}, "another entity": {b, 403}} {
		if r := e.do("POST", "/api/v1/spotchecks", c.key, check("X-"+who, 2.7)); r.Code != c.status {
			t.Errorf("record with %s: %d %s", who, r.Code, r.Body)
		}
	}
	bad := e.must(201, "POST", "/api/v1/spotchecks", inspector, check("TJ-0001", 2.7)).JSON()
	if bad["result"] != "nonconform" || bad["entityId"] != aID || bad["recordedBy"] == "" {
		t.Fatalf("the check: %v", bad)
	}
	res := bad["results"].([]any)
	want := []struct{ indicator, result, basis string }{
		{"Protein", "nonconform", "Q/TJXX 0001S-2023"}, {"lead", "conform", "Q/TJXX 0001S-2023"}, {"Aflatoxin M1", "conform", "GB 2761-2017"},
	}
	for i, w := range want {
		r := res[i].(map[string]any)
		limit := r["limits"].([]any)[0].(map[string]any)
		if r["indicator"] != w.indicator || r["result"] != w.result || limit["basis"] != w.basis || limit["result"] != w.result {
			t.Errorf("indicator %d: %v, want %+v", i, r, w)
		}
	}
	if u := res[1].(map[string]any)["unit"]; u != "mg/kg" {
		t.Errorf("a value given without a unit takes the declared one: %v", u)
	}
	good := e.must(201, "POST", "/api/v1/spotchecks", e.reg, check("TJ-0002", 3.0)).JSON()
	if good["result"] != "conform" {
		t.Fatalf("a conform check: %v", good)
	}

	// What a check must hold.
	for name, c := range map[string]struct {
		body   map[string]any
		status int
		field  string
	}{
		"same sample again": {check("TJ-0001", 3.0), 409, "sampleCode"},
		"unregistered lot":  {func() map[string]any { m := check("TJ-9", 3); m["lot"] = "NOPE"; return m }(), 400, "lot"},
		"future sample":     {func() map[string]any { m := check("TJ-9", 3); m["sampledOn"] = "2026-03-21"; return m }(), 400, "sampledOn"},
		"report before":     {func() map[string]any { m := check("TJ-9", 3); m["reportedOn"] = "2026-03-09"; return m }(), 400, "reportedOn"},
		"no lab":            {func() map[string]any { m := check("TJ-9", 3); m["lab"] = ""; return m }(), 400, "lab"},
		"no values":         {func() map[string]any { m := check("TJ-9", 3); m["measurements"] = []any{}; return m }(), 400, "measurements"},
		"nothing to hold to": {func() map[string]any {
			m := check("TJ-9", 3)
			m["measurements"] = []map[string]any{{"indicator": "Colour", "value": 1}}
			return m
		}(), 400, "measurements[0].limit"},
		"other unit": {func() map[string]any {
			m := check("TJ-9", 3)
			m["measurements"] = []map[string]any{{"indicator": "Protein", "unit": "%", "value": 3}}
			return m
		}(), 400, "measurements[0].unit"},
		"limit without standard": {func() map[string]any {
			m := check("TJ-9", 3)
			m["measurements"] = []map[string]any{{"indicator": "Colour", "value": 1, "limit": map[string]any{"comparator": "<=", "value": 2}}}
			return m
		}(), 400, "measurements[0].standard"},
		"unknown product": {func() map[string]any { m := check("TJ-9", 3); m["gtin"] = gtin(t, 77); return m }(), 400, "gtin"},
	} {
		r := e.do("POST", "/api/v1/spotchecks", inspector, c.body)
		if r.Code != c.status || r.errField() != c.field {
			t.Errorf("%s: %d field %q, want %d field %q: %s", name, r.Code, r.errField(), c.status, c.field, r.Body)
		}
	}

	// Reading one: officials and the maker.
	path := "/api/v1/spotchecks/" + bad["id"].(string)
	for who, c := range map[string]struct {
		key    string
		status int
	}{"no key": {"", 401}, "wrong key": {wrong, 401}, "another entity": {b, 403}, "the entity": {a, 200},
		"inspector": {inspector, 200}, "regulator": {e.reg, 200}} {
		if r := e.do("GET", path, c.key, nil); r.Code != c.status {
			t.Errorf("GET with %s: %d %s", who, r.Code, r.Body)
		}
	}
	e.must(404, "GET", "/api/v1/spotchecks/nope", inspector, nil)

	// Lists: an entity its own; officials by entity, product, result and
	// dates — the credit record's question.
	ids := func(r response) []string {
		var out []string
		for _, c := range r.JSON()["spotChecks"].([]any) {
			out = append(out, c.(map[string]any)["id"].(string))
		}
		return out
	}
	e.must(401, "GET", "/api/v1/spotchecks", "", nil)
	e.must(401, "GET", "/api/v1/spotchecks", wrong, nil)
	if got := ids(e.must(200, "GET", "/api/v1/spotchecks", e.reg, nil)); len(got) != 2 {
		t.Fatalf("the regulator's list: %v", got)
	}
	if got := ids(e.must(200, "GET", "/api/v1/spotchecks", a, nil)); len(got) != 2 {
		t.Fatalf("the maker's checks: %v", got)
	}
	if got := ids(e.must(200, "GET", "/api/v1/spotchecks", b, nil)); len(got) != 0 {
		t.Fatalf("another entity sees %v", got)
	}
	e.must(403, "GET", "/api/v1/spotchecks?entity="+aID, b, nil)
	for q, want := range map[string]int{
		"entity=" + aID + "&result=nonconform&from=2026-03-01&to=2026-03-31": 1,
		"entity=" + aID + "&result=nonconform&from=2026-03-19":               0,
		"entity=" + aID + "&result=nonconform&to=2026-03-18":                 1,
		"entity=" + bID:              0,
		"gtin=" + milk:               2,
		"result=conform":             1,
		"entity=" + aID + "&limit=1": 1,
	} {
		got := ids(e.must(200, "GET", "/api/v1/spotchecks?"+q, inspector, nil))
		if len(got) != want {
			t.Errorf("?%s: %v, want %d", q, got, want)
		}
		if want == 1 && strings.Contains(q, "nonconform") && got[0] != bad["id"] {
			t.Errorf("?%s: %v, want the non-conform check", q, got)
		}
	}
	for _, q := range []string{"result=failed", "from=March", "gtin=12"} {
		e.must(400, "GET", "/api/v1/spotchecks?"+q, inspector, nil)
	}
}
