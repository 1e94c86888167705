package handlers_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// authCase is a request and the status and error code it must get.
type authCase struct {
	method, path, key string
	body              any
	status            int
	code              string // error code; "" for a success
}

func runCases(t *testing.T, e *env, cases map[string]authCase) {
	t.Helper()
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.with(t).do(tc.method, tc.path, tc.key, tc.body)
			if r.Code != tc.status || r.errCode() != tc.code {
				t.Fatalf("status %d code %q, want %d %q: %s", r.Code, r.errCode(), tc.status, tc.code, r.Body)
			}
		})
	}
}

const bogusKey = "tsk_thisKeyWasNeverIssuedByTheServiceAtAll000000"

func TestEntities(t *testing.T) {
	e := newEnv(t)
	aID, aKey := e.newEntity("manufacturer", "farm")
	bID, bKey := e.newEntity("retailer")
	inspector := e.must(http.StatusCreated, "POST", "/api/v1/keys", e.reg, map[string]any{"role": "inspector"}).JSON()["key"].(string)

	good := func(n int64) map[string]any {
		return map[string]any{"name": "Dairy", "uscc": validUSCC(t, n), "kinds": []string{"farm"},
			"region": "Tianjin", "address": "Road 9", "gln": "6901234000009",
			"webhookUrl": "https://hooks.example.cn/recall", "webhookSecret": "0123456789abcdef0123"}
	}
	with := func(k string, v any) map[string]any {
		m := good(900)
		m[k] = v
		return m
	}
	runCases(t, e, map[string]authCase{
		"create/no key":        {"POST", "/api/v1/entities", "", good(100), 401, "unauthorized"},
		"create/wrong key":     {"POST", "/api/v1/entities", bogusKey, good(100), 401, "unauthorized"},
		"create/entity key":    {"POST", "/api/v1/entities", aKey, good(100), 403, "forbidden"},
		"create/inspector key": {"POST", "/api/v1/entities", inspector, good(100), 403, "forbidden"},
		"create/bad uscc":      {"POST", "/api/v1/entities", e.reg, with("uscc", "91120116MA0000001X"), 400, "invalid"},
		"create/no kinds":      {"POST", "/api/v1/entities", e.reg, with("kinds", []string{}), 400, "invalid"},
		"create/bad kind":      {"POST", "/api/v1/entities", e.reg, with("kinds", []string{"smuggler"}), 400, "invalid"},
		"create/bad gln":       {"POST", "/api/v1/entities", e.reg, with("gln", "6901234000004"), 400, "invalid"},
		"create/no region":     {"POST", "/api/v1/entities", e.reg, with("region", ""), 400, "invalid"},
		"create/bad webhook":   {"POST", "/api/v1/entities", e.reg, with("webhookUrl", "ftp://x"), 400, "invalid"},
		"create/short secret":  {"POST", "/api/v1/entities", e.reg, with("webhookSecret", "short"), 400, "invalid"},
		"create/unknown field": {"POST", "/api/v1/entities", e.reg, with("colour", "red"), 400, "invalid"},
		"create/wrong type":    {"POST", "/api/v1/entities", e.reg, with("kinds", "farm"), 400, "invalid"},
		"create/not json":      {"POST", "/api/v1/entities", e.reg, "{name:", 400, "invalid"},
		"create/empty body":    {"POST", "/api/v1/entities", e.reg, "", 400, "invalid"},
		"get/public":           {"GET", "/api/v1/entities/" + aID, "", nil, 200, ""},
		"get/missing":          {"GET", "/api/v1/entities/nope", "", nil, 404, "not_found"},
		"get/wrong key":        {"GET", "/api/v1/entities/" + aID, bogusKey, nil, 401, "unauthorized"},
		"list/public":          {"GET", "/api/v1/entities?kind=farm", "", nil, 200, ""},
		"list/bad kind":        {"GET", "/api/v1/entities?kind=pirate", "", nil, 400, "invalid"},
		"list/bad limit":       {"GET", "/api/v1/entities?limit=0", "", nil, 400, "invalid"},
		"patch/no key":         {"PATCH", "/api/v1/entities/" + aID, "", map[string]any{"contact": map[string]any{"name": "x"}}, 401, "unauthorized"},
		"patch/other entity":   {"PATCH", "/api/v1/entities/" + aID, bKey, map[string]any{"contact": map[string]any{"name": "x"}}, 403, "forbidden"},
		"patch/inspector":      {"PATCH", "/api/v1/entities/" + aID, inspector, map[string]any{"contact": map[string]any{"name": "x"}}, 403, "forbidden"},
		"patch/registry field": {"PATCH", "/api/v1/entities/" + aID, aKey, map[string]any{"name": "Mine now"}, 403, "forbidden"},
		"patch/bad email":      {"PATCH", "/api/v1/entities/" + aID, aKey, map[string]any{"contact": map[string]any{"email": "nope"}}, 400, "invalid"},
		"patch/own contact":    {"PATCH", "/api/v1/entities/" + bID, bKey, map[string]any{"contact": map[string]any{"name": "Ms Zhao", "phone": "022-5555"}}, 200, ""},
		"patch/regulator":      {"PATCH", "/api/v1/entities/" + bID, e.reg, map[string]any{"address": "New Road 2"}, 200, ""},
		"patch/missing":        {"PATCH", "/api/v1/entities/nope", e.reg, map[string]any{"address": "x"}, 404, "not_found"},
	})

	// A created entity comes back with a working key, and the USCC is unique.
	r := e.must(http.StatusCreated, "POST", "/api/v1/entities", e.reg, good(500)).JSON()
	ent := r["entity"].(map[string]any)
	if ent["gln"] != "6901234000009" || r["key"] == "" || ent["webhookSecretSet"] != true {
		t.Fatalf("created: %v", r)
	}
	if _, leaked := ent["webhookSecret"]; leaked {
		t.Fatal("webhook secret leaked")
	}
	me := e.must(200, "GET", "/api/v1/me", r["key"].(string), nil).JSON()
	if me["role"] != "entity" || me["entityId"] != ent["id"] {
		t.Fatalf("me: %v", me)
	}
	dup := good(500)
	dup["gln"] = ""
	if r := e.do("POST", "/api/v1/entities", e.reg, dup); r.Code != 409 || r.errField() != "uscc" {
		t.Fatalf("duplicate USCC: %d %s", r.Code, r.Body)
	}
	if r := e.do("POST", "/api/v1/entities", e.reg, good(501)); r.Code != 409 || r.errField() != "gln" {
		t.Fatalf("duplicate GLN: %d %s", r.Code, r.Body)
	}

	// The public sees public fields only; the entity itself sees its contact.
	pub := e.must(200, "GET", "/api/v1/entities/"+bID, "", nil).JSON()
	if _, ok := pub["contact"]; ok {
		t.Fatalf("public view shows contact: %v", pub)
	}
	own := e.must(200, "GET", "/api/v1/entities/"+bID, bKey, nil).JSON()
	if own["contact"].(map[string]any)["name"] != "Ms Zhao" || own["address"] != "New Road 2" {
		t.Fatalf("own view: %v", own)
	}
	other := e.must(200, "GET", "/api/v1/entities/"+bID, aKey, nil).JSON()
	if _, ok := other["contact"]; ok {
		t.Fatalf("another entity sees the contact: %v", other)
	}
}

func TestEntityListPaging(t *testing.T) {
	e := newEnv(t)
	for range 5 {
		e.newEntity("retailer")
	}
	e.newEntity("farm")
	var seen []string
	cursor := ""
	for page := 0; ; page++ {
		r := e.must(200, "GET", "/api/v1/entities?kind=retailer&limit=2&cursor="+url.QueryEscape(cursor), "", nil).JSON()
		for _, it := range r["entities"].([]any) {
			seen = append(seen, it.(map[string]any)["id"].(string))
		}
		next, _ := r["nextCursor"].(string)
		if next == "" {
			break
		}
		cursor = next
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 5 {
		t.Fatalf("saw %d retailers, want 5: %v", len(seen), seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("not in stable order: %v", seen)
		}
	}
}

func TestProducts(t *testing.T) {
	e := newEnv(t)
	_, aKey := e.newEntity()
	_, bKey := e.newEntity()
	g := e.newProduct(aKey, 1)
	bg := e.newProduct(bKey, 2)
	gtin13 := g[1:]

	runCases(t, e, map[string]authCase{
		"create/no key":        {"POST", "/api/v1/products", "", map[string]any{"gtin": gtin(t, 3), "name": "x", "category": "food"}, 401, "unauthorized"},
		"create/wrong key":     {"POST", "/api/v1/products", bogusKey, map[string]any{"gtin": gtin(t, 3), "name": "x", "category": "food"}, 401, "unauthorized"},
		"create/regulator":     {"POST", "/api/v1/products", e.reg, map[string]any{"gtin": gtin(t, 3), "name": "x", "category": "food"}, 400, "invalid"},
		"create/bad check":     {"POST", "/api/v1/products", aKey, map[string]any{"gtin": "06901230000019", "name": "x", "category": "food"}, 400, "invalid"},
		"create/bad category":  {"POST", "/api/v1/products", aKey, map[string]any{"gtin": gtin(t, 3), "name": "x", "category": "weapons"}, 400, "invalid"},
		"create/no name":       {"POST", "/api/v1/products", aKey, map[string]any{"gtin": gtin(t, 3), "category": "food"}, 400, "invalid"},
		"create/duplicate":     {"POST", "/api/v1/products", bKey, map[string]any{"gtin": g, "name": "x", "category": "food"}, 409, "conflict"},
		"create/dup as gtin13": {"POST", "/api/v1/products", aKey, map[string]any{"gtin": gtin13, "name": "x", "category": "food"}, 409, "conflict"},
		"get/public":           {"GET", "/api/v1/products/" + g, "", nil, 200, ""},
		"get/by gtin13":        {"GET", "/api/v1/products/" + gtin13, "", nil, 200, ""},
		"get/bad gtin":         {"GET", "/api/v1/products/123", "", nil, 400, "invalid"},
		"get/missing":          {"GET", "/api/v1/products/" + gtin(t, 77), "", nil, 404, "not_found"},
		"patch/no key":         {"PATCH", "/api/v1/products/" + g, "", map[string]any{"brand": "B"}, 401, "unauthorized"},
		"patch/other entity":   {"PATCH", "/api/v1/products/" + g, bKey, map[string]any{"brand": "B"}, 403, "forbidden"},
		"patch/regulator":      {"PATCH", "/api/v1/products/" + g, e.reg, map[string]any{"brand": "B"}, 403, "forbidden"},
		"patch/bad category":   {"PATCH", "/api/v1/products/" + g, aKey, map[string]any{"category": "x"}, 400, "invalid"},
		"patch/owner":          {"PATCH", "/api/v1/products/" + bg, bKey, map[string]any{"brand": "Brand B"}, 200, ""},
		"list/bad category":    {"GET", "/api/v1/products?category=x", "", nil, 400, "invalid"},
	})

	p := e.must(200, "GET", "/api/v1/products/"+bg, "", nil).JSON()
	if p["brand"] != "Brand B" || p["gtin"] != bg {
		t.Fatalf("product after patch: %v", p)
	}
	// An entity's list holds only its own products, whatever it asks for.
	list := e.must(200, "GET", "/api/v1/products?ownerId=someone-else", aKey, nil).JSON()["products"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["gtin"] != g {
		t.Fatalf("entity list: %v", list)
	}
	all := e.must(200, "GET", "/api/v1/products", e.reg, nil).JSON()["products"].([]any)
	if len(all) != 2 {
		t.Fatalf("regulator list: %v", all)
	}
	// A GTIN-13 is stored as GTIN-14.
	_, cKey := e.newEntity()
	g13 := gtin(t, 5)[1:]
	r := e.must(201, "POST", "/api/v1/products", cKey, map[string]any{"gtin": g13, "name": "Soy", "category": "food"}).JSON()
	if r["gtin"] != "0"+g13 {
		t.Fatalf("stored gtin %v", r["gtin"])
	}
}

func TestCompanyPrefix(t *testing.T) {
	e := newEnv(t)
	r := e.must(201, "POST", "/api/v1/entities", e.reg, map[string]any{"name": "Prefixed", "uscc": validUSCC(t, 1),
		"kinds": []string{"manufacturer"}, "region": "Tianjin", "address": "x", "companyPrefix": "6901230"}).JSON()
	key := r["key"].(string)
	e.must(201, "POST", "/api/v1/products", key, map[string]any{"gtin": gtin(t, 1), "name": "Mine", "category": "toy"})
	if r := e.do("POST", "/api/v1/products", key, map[string]any{"gtin": "09506000134352", "name": "Not mine", "category": "toy"}); r.Code != 403 || r.errField() != "gtin" {
		t.Fatalf("foreign GTIN: %d %s", r.Code, r.Body)
	}
}

func TestBatches(t *testing.T) {
	e := newEnv(t)
	_, aKey := e.newEntity()
	_, bKey := e.newEntity()
	g := e.newProduct(aKey, 1)
	batch := func(lot string) map[string]any {
		return map[string]any{"lot": lot, "productionDate": "2026-11-01", "expiryDate": "2027-05-01",
			"quantity": 1200, "unit": "kg", "origin": map[string]any{"name": "Farm 3", "region": "Jizhou"}}
	}
	with := func(k string, v any) map[string]any {
		m := batch("L9")
		m[k] = v
		return m
	}
	base := "/api/v1/products/" + g + "/batches"
	runCases(t, e, map[string]authCase{
		"create/no key":       {"POST", base, "", batch("L1"), 401, "unauthorized"},
		"create/wrong key":    {"POST", base, bogusKey, batch("L1"), 401, "unauthorized"},
		"create/other entity": {"POST", base, bKey, batch("L1"), 403, "forbidden"},
		"create/regulator":    {"POST", base, e.reg, batch("L1"), 403, "forbidden"},
		"create/no product":   {"POST", "/api/v1/products/" + gtin(t, 50) + "/batches", aKey, batch("L1"), 404, "not_found"},
		"create/long lot":     {"POST", base, aKey, batch("ABCDEFGHIJKLMNOPQRSTU"), 400, "invalid"},
		"create/bad lot char": {"POST", base, aKey, batch("L 1"), 400, "invalid"},
		"create/empty lot":    {"POST", base, aKey, batch(""), 400, "invalid"},
		"create/bad date":     {"POST", base, aKey, with("productionDate", "2026-13-01"), 400, "invalid"},
		"create/expiry first": {"POST", base, aKey, with("expiryDate", "2026-10-01"), 400, "invalid"},
		"create/zero qty":     {"POST", base, aKey, with("quantity", 0), 400, "invalid"},
		"create/qty string":   {"POST", base, aKey, with("quantity", "12"), 400, "invalid"},
		"create/no unit":      {"POST", base, aKey, with("unit", ""), 400, "invalid"},
		"list/bad gtin":       {"GET", "/api/v1/products/12345/batches", "", nil, 400, "invalid"},
		"get/missing":         {"GET", base + "/NOPE", "", nil, 404, "not_found"},
	})

	e.must(201, "POST", base, aKey, batch("L1"))
	slash := e.must(201, "POST", base, aKey, batch("A/1")).JSON()
	if slash["lot"] != "A/1" {
		t.Fatalf("lot with slash: %v", slash)
	}
	if r := e.do("POST", base, aKey, batch("L1")); r.Code != 409 || r.errField() != "lot" {
		t.Fatalf("duplicate lot: %d %s", r.Code, r.Body)
	}
	got := e.must(200, "GET", base+"/"+url.PathEscape("A/1"), "", nil).JSON()
	if got["lot"] != "A/1" || got["expiryDate"] != "2027-05-01" || got["quantity"] != 1200.0 {
		t.Fatalf("batch: %v", got)
	}
	noExpiry := batch("L2")
	delete(noExpiry, "expiryDate")
	e.must(201, "POST", base, aKey, noExpiry)
	list := e.must(200, "GET", base+"?limit=2", "", nil).JSON()
	if items := list["batches"].([]any); len(items) != 2 || list["nextCursor"] == nil {
		t.Fatalf("first page: %v", list)
	}
	rest := e.must(200, "GET", base+"?limit=2&cursor="+url.QueryEscape(list["nextCursor"].(string)), "", nil).JSON()
	if items := rest["batches"].([]any); len(items) != 1 || rest["nextCursor"] != nil {
		t.Fatalf("second page: %v", rest)
	}
}

func TestKeys(t *testing.T) {
	e := newEnv(t)
	aID, aKey := e.newEntity()
	_, bKey := e.newEntity()
	r := e.must(201, "POST", "/api/v1/keys", e.reg, map[string]any{"role": "inspector", "label": "Inspector Wu"}).JSON()
	insKey := r["key"].(string)
	insID := r["apiKey"].(map[string]any)["id"].(string)
	if _, leaked := r["apiKey"].(map[string]any)["hash"]; leaked {
		t.Fatal("hash leaked")
	}
	rot := e.must(201, "POST", "/api/v1/keys", aKey, map[string]any{"role": "entity"}).JSON()
	rotID := rot["apiKey"].(map[string]any)["id"].(string)
	runCases(t, e, map[string]authCase{
		"create/no key":          {"POST", "/api/v1/keys", "", map[string]any{"role": "inspector"}, 401, "unauthorized"},
		"create/wrong key":       {"POST", "/api/v1/keys", bogusKey, map[string]any{"role": "inspector"}, 401, "unauthorized"},
		"create/inspector":       {"POST", "/api/v1/keys", insKey, map[string]any{"role": "inspector"}, 403, "forbidden"},
		"create/entity escalate": {"POST", "/api/v1/keys", aKey, map[string]any{"role": "regulator"}, 403, "forbidden"},
		"create/for other":       {"POST", "/api/v1/keys", bKey, map[string]any{"role": "entity", "entityId": aID}, 403, "forbidden"},
		"create/bad role":        {"POST", "/api/v1/keys", e.reg, map[string]any{"role": "god"}, 400, "invalid"},
		"create/no entity":       {"POST", "/api/v1/keys", e.reg, map[string]any{"role": "entity", "entityId": "ghost"}, 400, "invalid"},
		"list/inspector":         {"GET", "/api/v1/keys", insKey, nil, 403, "forbidden"},
		"get/other entity":       {"GET", "/api/v1/keys/" + rotID, bKey, nil, 404, "not_found"},
		"revoke/other entity":    {"DELETE", "/api/v1/keys/" + rotID, bKey, nil, 404, "not_found"},
		"revoke/missing":         {"DELETE", "/api/v1/keys/nope", e.reg, nil, 404, "not_found"},
	})
	own := e.must(200, "GET", "/api/v1/keys", aKey, nil).JSON()["keys"].([]any)
	if len(own) != 2 {
		t.Fatalf("entity sees %d keys, want its 2", len(own))
	}
	// The rotated key works until revoked, then gets 401.
	e.must(200, "GET", "/api/v1/me", rot["key"].(string), nil)
	e.must(200, "DELETE", "/api/v1/keys/"+rotID, aKey, nil)
	if r := e.do("GET", "/api/v1/me", rot["key"].(string), nil); r.Code != 401 {
		t.Fatalf("revoked key: %d", r.Code)
	}
	e.must(200, "DELETE", "/api/v1/keys/"+insID, e.reg, nil)
	if r := e.do("GET", "/api/v1/entities", insKey, nil); r.Code != 401 {
		t.Fatalf("revoked inspector key: %d", r.Code)
	}
	if r := e.do("GET", "/api/v1/me", "", nil); r.Code != 200 || r.JSON()["role"] != "public" {
		t.Fatalf("anonymous me: %d %s", r.Code, r.Body)
	}
	for _, h := range []string{"Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "tsk_raw"} {
		req := httptest.NewRequest("GET", "/api/v1/me", nil)
		req.Header.Set("Authorization", h)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" {
			t.Fatalf("Authorization %q: %d %s", h, rec.Code, rec.Body)
		}
	}
}

func TestAudit(t *testing.T) {
	e := newEnv(t)
	aID, aKey := e.newEntity()
	e.must(201, "POST", "/api/v1/keys", e.reg, map[string]any{"role": "inspector"})
	e.must(200, "PATCH", "/api/v1/entities/"+aID, e.reg, map[string]any{"region": "Binhai"})
	e.must(201, "POST", "/api/v1/keys", aKey, map[string]any{"role": "entity"})
	e.newProduct(aKey, 1) // an entity's product is not an official's write: not audited

	runCases(t, e, map[string]authCase{
		"list/no key":    {"GET", "/api/v1/audit", "", nil, 401, "unauthorized"},
		"list/wrong key": {"GET", "/api/v1/audit", bogusKey, nil, 401, "unauthorized"},
		"list/entity":    {"GET", "/api/v1/audit", aKey, nil, 403, "forbidden"},
		"verify/entity":  {"GET", "/api/v1/audit/verify", aKey, nil, 403, "forbidden"},
	})
	recs := e.must(200, "GET", "/api/v1/audit?limit=100", e.reg, nil).JSON()["records"].([]any)
	var actions []string
	for _, r := range recs {
		m := r.(map[string]any)
		actions = append(actions, fmt.Sprint(m["action"], " ", m["target"]))
	}
	want := []string{
		"POST /api/v1/entities entity:" + aID,
		"POST /api/v1/keys key:",
		"PATCH /api/v1/entities/:id entity:" + aID,
		"POST /api/v1/keys key:",
	}
	if len(actions) != len(want) {
		t.Fatalf("audit actions %q, want %d like %q", actions, len(want), want)
	}
	for i := range want {
		if len(actions[i]) < len(want[i]) || actions[i][:len(want[i])] != want[i] {
			t.Fatalf("audit action %d = %q, want prefix %q", i, actions[i], want[i])
		}
	}
	v := e.must(200, "GET", "/api/v1/audit/verify", e.reg, nil).JSON()
	if v["ok"] != true || v["records"] != 4.0 {
		t.Fatalf("verify: %v", v)
	}
	// Someone edits a record straight in the database: verify names it.
	if _, err := e.db.W.Exec(`UPDATE audit_log SET actor = 'nobody' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	v = e.must(200, "GET", "/api/v1/audit/verify", e.reg, nil).JSON()
	if v["ok"] != false || v["broken"] != 2.0 {
		t.Fatalf("verify after tampering: %v", v)
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t)
	e.must(200, "GET", "/healthz", "", nil)
	e.must(200, "GET", "/readyz", "", nil)
	if r := e.do("GET", "/api/v1/nothing", "", nil); r.Code != 404 || r.errCode() != "not_found" {
		t.Fatalf("unknown path: %d %s", r.Code, r.Body)
	}
	if r := e.do("PUT", "/api/v1/entities", e.reg, nil); r.Code != 405 || r.errCode() != "method_not_allowed" {
		t.Fatalf("wrong method: %d %s", r.Code, r.Body)
	}
	e.db.R.Close()
	if r := e.do("GET", "/readyz", "", nil); r.Code != 503 {
		t.Fatalf("readyz with a closed store: %d", r.Code)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	_, key := e.newEntity()
	e.must(200, "GET", "/healthz", "", nil)
	runCases(t, e, map[string]authCase{
		"no key":    {"GET", "/metrics", "", nil, 401, "unauthorized"},
		"wrong key": {"GET", "/metrics", bogusKey, nil, 401, "unauthorized"},
		"entity":    {"GET", "/metrics", key, nil, 403, "forbidden"},
	})
	r := e.must(200, "GET", "/metrics", e.reg, nil)
	body := string(r.Body)
	if !strings.Contains(body, `tracesvc_http_requests_total{code="201",method="POST",route="/api/v1/entities"} 1`) ||
		!strings.Contains(body, "tracesvc_scan_queue_length") {
		t.Fatalf("metrics:\n%s", body)
	}
}

// TestEntityWebhook sets, shows, hides and removes an entity's
// recall-notice endpoint, which recall keeps apart from the register.
func TestEntityWebhook(t *testing.T) { eachBackend(t, testEntityWebhook) }

func testEntityWebhook(t *testing.T, backend string) {
	e := newEnvOn(t, backend, 0, 0)
	id, key := e.newEntity()
	_, stranger := e.newEntity()
	path := "/api/v1/entities/" + id
	hook := map[string]any{"webhookUrl": "https://hooks.example.cn/recall", "webhookSecret": "0123456789abcdef0123"}
	runCases(t, e, map[string]authCase{
		"no key":          {"PATCH", path, "", hook, 401, "unauthorized"},
		"another entity":  {"PATCH", path, stranger, hook, 403, "forbidden"},
		"private address": {"PATCH", path, key, map[string]any{"webhookUrl": "https://10.0.0.7/r", "webhookSecret": "0123456789abcdef"}, 400, "invalid"},
		"loopback":        {"PATCH", path, key, map[string]any{"webhookUrl": "https://[::1]/r", "webhookSecret": "0123456789abcdef"}, 400, "invalid"},
		"plain http":      {"PATCH", path, key, map[string]any{"webhookUrl": "http://hooks.example.cn/r", "webhookSecret": "0123456789abcdef"}, 400, "invalid"},
		"no secret":       {"PATCH", path, key, map[string]any{"webhookUrl": "https://hooks.example.cn/r"}, 400, "invalid"},
		"secret alone":    {"PATCH", path, key, map[string]any{"webhookSecret": "0123456789abcdef"}, 400, "invalid"},
	})
	// A refused endpoint stored nothing, not even the register half.
	if v := e.must(200, "GET", path, key, nil).JSON(); v["webhookSecretSet"] != false || v["updatedAt"] != v["createdAt"] {
		t.Fatalf("after refusals: %v", v)
	}
	got := e.must(200, "PATCH", path, key, hook).JSON()
	if got["webhookUrl"] != hook["webhookUrl"] || got["webhookSecretSet"] != true {
		t.Fatalf("after setting: %v", got)
	}
	if _, leaked := got["webhookSecret"]; leaked {
		t.Fatal("secret leaked")
	}
	// The URL alone can change; the secret stays.
	got = e.must(200, "PATCH", path, key, map[string]any{"webhookUrl": "https://hooks.example.cn/v2"}).JSON()
	if got["webhookUrl"] != "https://hooks.example.cn/v2" || got["webhookSecretSet"] != true {
		t.Fatalf("after changing the URL: %v", got)
	}
	// Officials see it; another entity and the public do not.
	if v := e.must(200, "GET", path, e.reg, nil).JSON(); v["webhookUrl"] != "https://hooks.example.cn/v2" {
		t.Fatalf("regulator view: %v", v)
	}
	for _, k := range []string{stranger, ""} {
		if v := e.must(200, "GET", path, k, nil).JSON(); v["webhookUrl"] != nil || v["webhookSecretSet"] != nil || v["contact"] != nil {
			t.Fatalf("view of %q: %v", k, v)
		}
	}
	got = e.must(200, "PATCH", path, key, map[string]any{"webhookUrl": ""}).JSON()
	if got["webhookUrl"] != nil || got["webhookSecretSet"] != false {
		t.Fatalf("after removing: %v", got)
	}
}
