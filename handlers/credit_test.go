package handlers_test

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestCreditEndToEnd (issue 13): an ordered recall and a late incident
// report move the cheese works from good to warning; a court's
// dishonest-debtor listing makes it seriously dishonest, and its new
// batches, products and codes are refused (403 credit_restricted); its
// objection is upheld and the class is recomputed; the scan page shows
// the class; the whole trail is in the audit log, which verifies. On both
// backends.
func TestCreditEndToEnd(t *testing.T) { eachBackend(t, testCreditEndToEnd) }

func testCreditEndToEnd(t *testing.T, backend string) {
	c := newRecallEnv(t, backend)
	standing := func() map[string]any {
		t.Helper()
		return c.must(200, "GET", "/api/v1/entities/"+c.proc+"/credit", "", nil).JSON()
	}
	class := func() string { return standing()["class"].(string) }
	if s := standing(); s["class"] != "good" || s["colour"] != "green" || len(s["basis"].([]any)) != 0 {
		t.Fatalf("a new entity: %v", s)
	}

	// A late incident report: one point, still good.
	c.must(201, "POST", "/api/v1/incidents", c.procK, map[string]any{"gtin": c.cheese, "eventDate": "2026-11-01",
		"awareDate": "2026-11-02", "severity": "minor_injury", "personsAffected": 1, "description": "A customer fell ill",
		"location": "Tianjin", "contact": map[string]any{"name": "Wang", "phone": "123"}})
	if got := class(); got != "good" {
		t.Fatalf("after one late report: %s", got)
	}
	// An ordered recall: a second point, warning.
	id := c.must(201, "POST", "/api/v1/recalls", c.reg, map[string]any{"class": "II", "depth": "retail", "hazard": "Listeria",
		"remedy": "refund", "scope": map[string]any{"lots": []map[string]any{{"gtin": c.cheese, "lot": "CH1"}}}}).JSON()["id"].(string)
	c.must(200, "POST", "/api/v1/recalls/"+id+"/open", c.reg, nil)
	s := standing()
	if s["class"] != "warning" || s["colour"] != "yellow" || s["rule"].(map[string]any)["id"] != "W4" {
		t.Fatalf("after an ordered recall and a late report: %v", s)
	}
	var types []string
	for _, b := range s["basis"].([]any) {
		types = append(types, b.(map[string]any)["type"].(string))
	}
	if strings.Join(types, ",") != "late_incident_report,ordered_recall" && strings.Join(types, ",") != "ordered_recall,late_incident_report" {
		t.Fatalf("the basis is exactly the two facts: %v", s["basis"])
	}
	c.must(201, "POST", "/api/v1/products/"+c.cheese+"/batches", c.procK, map[string]any{"lot": "CH9", "productionDate": "2026-11-20",
		"quantity": 1, "unit": "EA"}) // a warning restricts nothing

	// A court's dishonest-debtor listing: seriously dishonest, restricted.
	c.must(403, "POST", "/api/v1/entities/"+c.proc+"/credit/events", c.procK, map[string]any{"type": "penalty", "date": "2026-11-20", "reason": "x"})
	debtor := c.must(201, "POST", "/api/v1/entities/"+c.proc+"/credit/events", c.reg, map[string]any{"type": "dishonest_debtor",
		"date": "2026-11-25", "source": "(2026)津01执123号", "reason": "listed by the Tianjin No. 1 Intermediate People's Court"}).JSON()
	if s := standing(); s["class"] != "seriously_dishonest" || s["colour"] != "black" || s["restricted"] != true {
		t.Fatalf("after the listing: %v", s)
	}
	r := c.must(403, "POST", "/api/v1/products/"+c.cheese+"/batches", c.procK, map[string]any{"lot": "CH10", "productionDate": "2026-11-26",
		"quantity": 1, "unit": "EA"})
	if r.errCode() != "credit_restricted" || !strings.Contains(r.errMessage(), "seriously dishonest") || !strings.Contains(r.errMessage(), "dishonest_debtor") {
		t.Fatalf("a batch of a seriously dishonest entity: %s", r.Body)
	}
	if r := c.do("POST", "/api/v1/products", c.procK, map[string]any{"gtin": gtin(t, 77), "name": "New cheese", "category": "food"}); r.Code != 403 || r.errCode() != "credit_restricted" {
		t.Fatalf("a product of a seriously dishonest entity: %d %s", r.Code, r.Body)
	}
	if r := c.do("POST", "/api/v1/products/"+c.cheese+"/batches/CH9/codes", c.procK, map[string]any{"count": 1}); r.Code != 403 || r.errCode() != "credit_restricted" {
		t.Fatalf("codes of a seriously dishonest entity: %d %s", r.Code, r.Body)
	}
	if v := c.get("/01/"+c.cheese+"/21/"+c.cheeseSerials[4], "application/json", "").JSON(); v["product"].(map[string]any)["maker"].(map[string]any)["credit"].(map[string]any)["colour"] != "black" {
		t.Fatalf("the scan shows the maker's class: %v", v["product"])
	}

	// The ledger: the entity and officials; not another entity.
	c.must(403, "GET", "/api/v1/entities/"+c.proc+"/credit/events", c.retAK, nil)
	c.must(401, "GET", "/api/v1/entities/"+c.proc+"/credit/events", "", nil)
	ledger := c.must(200, "GET", "/api/v1/entities/"+c.proc+"/credit/events", c.procK, nil).JSON()["events"].([]any)
	if len(ledger) != 3 {
		t.Fatalf("the ledger: %v", ledger)
	}

	// The objection, with a PDF; upheld; the class is recomputed.
	pdf := base64.StdEncoding.EncodeToString(pdfText)
	obj := "/api/v1/entities/" + c.proc + "/credit/events/" + debtor["id"].(string) + "/objections"
	c.must(403, "POST", obj, c.retAK, map[string]any{"text": "not us"})
	c.must(400, "POST", obj, c.procK, map[string]any{"text": "paid", "attachments": []map[string]any{{"name": "x.exe", "data": base64.StdEncoding.EncodeToString([]byte("MZ..."))}}})
	o := c.must(201, "POST", obj, c.procK, map[string]any{"text": "The judgment was paid in full on 20 November; the listing was lifted.",
		"attachments": []map[string]any{{"name": "release.pdf", "data": pdf}}}).JSON()
	c.must(409, "POST", obj, c.procK, map[string]any{"text": "again"})
	if o["status"] != "filed" || o["decideBy"] == nil {
		t.Fatalf("objection: %v", o)
	}
	oid := o["id"].(string)
	att := c.must(200, "GET", "/api/v1/credit/objections/"+oid+"/attachments/0", c.reg, nil)
	if att.Hdr.Get("Content-Type") != "application/pdf" || string(att.Body) != string(pdfText) {
		t.Fatalf("the attachment: %q", att.Hdr.Get("Content-Type"))
	}
	if l := c.must(200, "GET", "/api/v1/credit/objections?status=filed", c.reg, nil).JSON()["objections"].([]any); len(l) != 1 {
		t.Fatalf("filed objections: %v", l)
	}
	c.must(403, "POST", "/api/v1/credit/objections/"+oid+"/decision", c.procK, map[string]any{"upheld": true, "reason": "x"})
	c.must(200, "POST", "/api/v1/credit/objections/"+oid+"/decision", c.reg, map[string]any{"upheld": true,
		"reason": "the court lifted the listing on 20 November"})
	c.must(409, "POST", "/api/v1/credit/objections/"+oid+"/decision", c.reg, map[string]any{"upheld": false, "reason": "x"})
	if got := class(); got != "warning" {
		t.Fatalf("after the objection was upheld: %s", got)
	}
	c.must(201, "POST", "/api/v1/products/"+c.cheese+"/batches", c.procK, map[string]any{"lot": "CH10", "productionDate": "2026-11-26",
		"quantity": 1, "unit": "EA"})
	voided := false
	for _, e := range c.must(200, "GET", "/api/v1/entities/"+c.proc+"/credit/events", c.reg, nil).JSON()["events"].([]any) {
		m := e.(map[string]any)
		if m["id"] == debtor["id"] && m["status"] == "voided" {
			voided = true
		}
	}
	if !voided {
		t.Fatal("the upheld objection's event is kept, marked voided")
	}
	hist := c.must(200, "GET", "/api/v1/entities/"+c.proc+"/credit/history?from=2026-01-01", "", nil).JSON()["classes"].([]any)
	var seq []string
	for _, h := range hist {
		seq = append(seq, h.(map[string]any)["class"].(string))
	}
	// The listing counted from its date until the objection was upheld
	// (today, when the recall and the late report count too).
	if strings.Join(seq, ",") != "good,seriously_dishonest,warning" {
		t.Fatalf("history: %v", hist)
	}

	// The trail.
	var actions []string
	for _, rec := range c.must(200, "GET", "/api/v1/audit?limit=500", c.reg, nil).JSON()["records"].([]any) {
		actions = append(actions, rec.(map[string]any)["action"].(string))
	}
	all := strings.Join(actions, "\n")
	for _, want := range []string{"POST /api/v1/incidents", "POST /api/v1/recalls/:id/:action", "POST /api/v1/entities/:id/credit/events",
		"POST /api/v1/entities/:id/credit/events/:event/objections", "POST /api/v1/credit/objections/:rid/decision"} {
		if !strings.Contains(all, want) {
			t.Errorf("the audit log lacks %s", want)
		}
	}
	if v := c.must(200, "GET", "/api/v1/audit/verify", c.reg, nil).JSON(); v["ok"] != true {
		t.Fatalf("audit verify: %v", v)
	}
}
