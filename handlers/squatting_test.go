package handlers_test

import (
	"fmt"
	"strings"
	"testing"

	"tracesvc/cmd/wire"
	"tracesvc/trace/gs1"
)

// gtinUnder returns the GTIN-14 with item reference ref under company
// prefix cp.
func gtinUnder(t testing.TB, cp string, ref int) string {
	t.Helper()
	data := "0" + cp + fmt.Sprintf("%0*d", 12-len(cp), ref)
	c, err := gs1.CheckDigit(data)
	if err != nil {
		t.Fatal(err)
	}
	return data + string(c)
}

// entityWithPrefix registers an entity holding GS1 company prefix cp.
func (e *env) entityWithPrefix(name, cp string) (id, key string) {
	e.t.Helper()
	body := map[string]any{"name": name, "uscc": validUSCC(e.t, e.serial.Add(1)), "kinds": []string{"manufacturer"},
		"region": "Tianjin", "address": "No. 2 Test Road"}
	if cp != "" {
		body["companyPrefix"] = cp
	}
	r := e.must(201, "POST", "/api/v1/entities", e.reg, body).JSON()
	return r["entity"].(map[string]any)["id"].(string), r["key"].(string)
}

// TestGTINSquatting (issue 9, item 7): a GTIN under another entity's
// registered company prefix is refused with 409 naming the holder, however
// the registering entity is set up; a GTIN under no registered prefix
// needs a prefix of one's own, the -allow-gtins-without-prefix flag, or a
// regulator registering it for the entity.
func TestGTINSquatting(t *testing.T) { eachBackend(t, testGTINSquatting) }

func testGTINSquatting(t *testing.T, backend string) {
	e := newEnvWith(t, backend, func(o *wire.Options) { o.GTINsWithoutPrefix = false })
	aID, aKey := e.entityWithPrefix("Haihe Dairy", "6901234")
	_, bKey := e.entityWithPrefix("Bohai Foods", "6909876")
	cID, cKey := e.entityWithPrefix("Small Farm", "")
	inspector := e.must(201, "POST", "/api/v1/keys", e.reg, map[string]any{"role": "inspector"}).JSON()["key"].(string)
	product := func(g string, extra ...string) map[string]any {
		m := map[string]any{"gtin": g, "name": "Milk", "category": "food"}
		if len(extra) > 0 {
			m["ownerId"] = extra[0]
		}
		return m
	}
	aGTIN, aGTIN2 := gtinUnder(t, "6901234", 1), gtinUnder(t, "6901234", 2)
	free := gtinUnder(t, "6905555", 1) // under no registered prefix

	for _, key := range []string{bKey, cKey} {
		r := e.do("POST", "/api/v1/products", key, product(aGTIN))
		if r.Code != 409 || r.errField() != "gtin" || !strings.Contains(r.errMessage(), "Haihe Dairy") ||
			!strings.Contains(r.errMessage(), "6901234") {
			t.Fatalf("squatting A's prefix: %d %s", r.Code, r.Body)
		}
	}
	// Not even a regulator registers a GTIN under A's prefix for someone else.
	if r := e.do("POST", "/api/v1/products", e.reg, product(aGTIN, cID)); r.Code != 409 {
		t.Fatalf("regulator for C under A's prefix: %d %s", r.Code, r.Body)
	}
	e.must(201, "POST", "/api/v1/products", aKey, product(aGTIN))
	if r := e.do("POST", "/api/v1/products", cKey, product(free)); r.Code != 403 || r.errField() != "gtin" ||
		!strings.Contains(r.errMessage(), "no GS1 company prefix") {
		t.Fatalf("C without a prefix: %d %s", r.Code, r.Body)
	}
	runCases(t, e, map[string]authCase{
		"outside own prefix":       {"POST", "/api/v1/products", bKey, product(free), 403, "forbidden"},
		"entity names other owner": {"POST", "/api/v1/products", cKey, product(free, aID), 403, "forbidden"},
		"regulator names no owner": {"POST", "/api/v1/products", e.reg, product(free), 400, "invalid"},
		"regulator, unknown owner": {"POST", "/api/v1/products", e.reg, product(free, "nobody"), 400, "invalid"},
		"inspector":                {"POST", "/api/v1/products", inspector, product(free, cID), 403, "forbidden"},
		"no key":                   {"POST", "/api/v1/products", "", product(free), 401, "unauthorized"},
		"A for A, second product":  {"POST", "/api/v1/products", aKey, product(aGTIN2, aID), 201, ""},
	})
	// The regulator's approval: it registers the GTIN for C, which then
	// owns it.
	p := e.must(201, "POST", "/api/v1/products", e.reg, product(free, cID)).JSON()
	if p["ownerId"] != cID {
		t.Fatalf("product registered for C is owned by %v", p["ownerId"])
	}
	e.must(201, "POST", "/api/v1/products/"+free+"/batches", cKey, map[string]any{"lot": "F1",
		"productionDate": "2026-11-01", "quantity": 10, "unit": "EA"})

	// With the flag, C registers GTINs under no one's prefix itself, but
	// still not under A's.
	open := newEnvWith(t, backend, func(o *wire.Options) {})
	open.entityWithPrefix("Haihe Dairy", "6901234")
	_, c2 := open.entityWithPrefix("Small Farm", "")
	open.must(201, "POST", "/api/v1/products", c2, product(free))
	if r := open.do("POST", "/api/v1/products", c2, product(aGTIN)); r.Code != 409 {
		t.Fatalf("with the flag, under A's prefix: %d %s", r.Code, r.Body)
	}
}
