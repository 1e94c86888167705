package handlers_test

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tracesvc/cmd/wire"
	"tracesvc/trace/testtool"
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

// TestCreditRepairAndLists (issue 13): a repair is applied for once its
// waiting period has passed — 6 months, or a year for a food maker — and
// approved; a revoked licence is refused at once; the abnormal-operations
// list puts an entity on warning, three years on it propose it for the
// serious-violation list, and the move makes it dishonest. Lists are
// public.
func TestCreditRepairAndLists(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	e := newEnvWith(t, "sqlite", func(o *wire.Options) { o.Now = func() time.Time { return now } })
	foodID, foodK := e.newEntity()
	e.newProduct(foodK, 1) // food: a year's wait
	gadgetID, gadgetK := e.newEntity()
	e.must(201, "POST", "/api/v1/products", gadgetK, map[string]any{"gtin": gtin(t, 2), "name": "Charger", "category": "electronics"})
	penalty := func(id string) string {
		return e.must(201, "POST", "/api/v1/entities/"+id+"/credit/events", e.reg, map[string]any{"type": "penalty", "date": "2026-03-01",
			"fine": "2000", "reason": "false labelling"}).JSON()["id"].(string)
	}
	class := func(id string) string {
		return e.must(200, "GET", "/api/v1/entities/"+id+"/credit", "", nil).JSON()["class"].(string)
	}
	gp, fp := penalty(gadgetID), penalty(foodID)
	repair := func(id, key, event string) response {
		return e.do("POST", "/api/v1/entities/"+id+"/credit/events/"+event+"/repairs", key, map[string]any{"text": "labels corrected, staff trained"})
	}
	if r := repair(gadgetID, gadgetK, gp); r.Code != 409 || !strings.Contains(r.errMessage(), "2026-09-01") {
		t.Fatalf("a repair before six months: %d %s", r.Code, r.Body)
	}
	now = time.Date(2026, 9, 2, 10, 0, 0, 0, time.UTC)
	if r := repair(foodID, foodK, fp); r.Code != 409 || !strings.Contains(r.errMessage(), "2027-03-01") {
		t.Fatalf("a food maker's repair before a year: %d %s", r.Code, r.Body)
	}
	if r := repair(gadgetID, foodK, gp); r.Code != 403 {
		t.Fatalf("another entity's repair: %d", r.Code)
	}
	app := repair(gadgetID, gadgetK, gp)
	if app.Code != 201 || app.JSON()["status"] != "filed" {
		t.Fatalf("repair: %d %s", app.Code, app.Body)
	}
	if class(gadgetID) != "warning" {
		t.Fatal("a penalty makes a warning")
	}
	e.must(200, "POST", "/api/v1/credit/repairs/"+app.JSON()["id"].(string)+"/decision", e.reg, map[string]any{"approved": true, "reason": "rectified"})
	if got := class(gadgetID); got != "good" {
		t.Fatalf("after the repair: %s", got)
	}
	revoked := e.must(201, "POST", "/api/v1/entities/"+gadgetID+"/credit/events", e.reg, map[string]any{"type": "licence_revoked",
		"date": "2026-03-02", "reason": "licence revoked"}).JSON()["id"].(string)
	if r := repair(gadgetID, gadgetK, revoked).JSON(); r["status"] != "refused" || !strings.Contains(r["decision"].(map[string]any)["reason"].(string), "never") {
		t.Fatalf("a revoked licence's repair: %v", r)
	}

	// The lists.
	_, other := e.newEntity()
	e.must(403, "POST", "/api/v1/credit/lists/abnormal_operations/entries", other, map[string]any{"entityId": foodID, "reason": "x"})
	e.must(404, "POST", "/api/v1/credit/lists/grey/entries", e.reg, map[string]any{"entityId": foodID, "reason": "x"})
	entry := e.must(201, "POST", "/api/v1/credit/lists/abnormal_operations/entries", e.reg, map[string]any{"entityId": foodID,
		"reason": "not found at its registered address", "date": "2023-08-01"}).JSON()
	e.must(409, "POST", "/api/v1/credit/lists/abnormal_operations/entries", e.reg, map[string]any{"entityId": foodID, "reason": "again"})
	pub := e.must(200, "GET", "/api/v1/credit/lists/abnormal_operations", "", nil).JSON()["entries"].([]any)
	if len(pub) != 1 || pub[0].(map[string]any)["entityId"] != foodID {
		t.Fatalf("the public list: %v", pub)
	}
	st := e.must(200, "GET", "/api/v1/entities/"+foodID+"/credit", "", nil).JSON()
	if st["class"] != "warning" || st["rule"].(map[string]any)["id"] != "W1" && st["rule"].(map[string]any)["id"] != "W2" {
		t.Fatalf("on the abnormal list: %v", st)
	}
	props := e.must(200, "GET", "/api/v1/credit/proposals", e.reg, nil).JSON()["proposals"].([]any)
	if len(props) != 1 || props[0].(map[string]any)["id"] != entry["id"] {
		t.Fatalf("proposals after three years: %v", props)
	}
	e.must(403, "GET", "/api/v1/credit/proposals", other, nil)
	e.must(201, "POST", "/api/v1/credit/proposals/"+entry["id"].(string)+"/confirm", e.reg, nil)
	st = e.must(200, "GET", "/api/v1/entities/"+foodID+"/credit", "", nil).JSON()
	if st["class"] != "dishonest" || st["rule"].(map[string]any)["id"] != "D3" || st["inspection"] != "increased" {
		t.Fatalf("on the serious-violation list: %v", st)
	}
	serious := e.must(200, "GET", "/api/v1/credit/lists/serious_violation", "", nil).JSON()["entries"].([]any)
	if len(serious) != 1 {
		t.Fatalf("the serious-violation list: %v", serious)
	}
	if l := e.must(200, "GET", "/api/v1/credit/lists/abnormal_operations", "", nil).JSON()["entries"].([]any); len(l) != 0 {
		t.Fatalf("moved off the abnormal list: %v", l)
	}
	e.must(200, "POST", "/api/v1/credit/lists/serious_violation/entries/"+serious[0].(map[string]any)["id"].(string)+"/removal", e.reg,
		map[string]any{"reason": "corrected"})
	if got := class(foodID); got != "warning" { // the penalty still counts
		t.Fatalf("after removal from the serious list: %s", got)
	}
	if r := e.must(200, "GET", "/api/v1/credit/rules", "", nil).JSON(); r["classes"] == nil || !strings.Contains(r["source"].(string), "Tianjin") {
		t.Fatalf("the rules: %v", r)
	}
}

// TestCreditReport (issue 13): the printable credit report, as a page and
// as a PDF: identity, class and colour, basis, lists and the class
// history as a chart.
func TestCreditReport(t *testing.T) {
	now := time.Date(2026, 9, 1, 10, 0, 0, 0, time.UTC)
	e := newEnvWith(t, "sqlite", func(o *wire.Options) { o.Now = func() time.Time { return now } })
	id, _ := e.newEntity()
	e.must(201, "POST", "/api/v1/entities/"+id+"/credit/events", e.reg, map[string]any{"type": "penalty", "date": "2026-03-01",
		"fine": "2000", "source": "TJ-2026-12", "reason": "false labelling"})
	e.must(201, "POST", "/api/v1/credit/lists/abnormal_operations/entries", e.reg, map[string]any{"entityId": id,
		"reason": "not found at its registered address", "date": "2026-05-01"})
	page := e.get("/api/v1/entities/"+id+"/credit/report?lang=en", "text/html", "")
	body := string(page.Body)
	for _, want := range []string{"Credit report", "Entity 1", `class="credit c-yellow"`, "TJ-2026-12", "abnormal operations: 2026-05-01",
		`<svg id="history-chart"`, `fill="#f9ab00"`, `fill="#1e8e3e"`, "2026-03-01: Warning"} {
		if !strings.Contains(body, want) {
			t.Errorf("the report page lacks %q", want)
		}
	}
	if page.Hdr.Get("Content-Security-Policy") == "" {
		t.Error("the report page has no Content-Security-Policy")
	}
	pdf := e.must(200, "GET", "/api/v1/entities/"+id+"/credit/report.pdf", "", nil)
	if pdf.Hdr.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(pdf.Body), "%PDF-") {
		t.Fatalf("the PDF: %q", pdf.Hdr.Get("Content-Type"))
	}
	text := pdfToText(t, pdf.Body)
	for _, want := range []string{"Credit report", "Warning", "TJ-2026-12", "not found at its registered address", "2026-03-01: Warning"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q:\n%s", want, text)
		}
	}
	e.must(404, "GET", "/api/v1/entities/nope/credit/report", "", nil)

	// With a CJK TrueType font (-label-font), the PDF is in Chinese too.
	font := testtool.File(t, "fonts-droid-fallback", "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
	zh := newEnvWith(t, "sqlite", func(o *wire.Options) { o.Now = func() time.Time { return now }; o.LabelFont = font })
	zid, _ := zh.newEntity()
	zh.must(201, "POST", "/api/v1/entities/"+zid+"/credit/events", zh.reg, map[string]any{"type": "inspection_refused", "date": "2026-03-01",
		"reason": "拒绝检查"})
	text = pdfToText(t, zh.must(200, "GET", "/api/v1/entities/"+zid+"/credit/report.pdf?lang=zh", "", nil).Body)
	for _, want := range []string{"信用报告", "警示", "Entity"} {
		if !strings.Contains(text, want) {
			t.Errorf("the Chinese PDF lacks %q:\n%s", want, text)
		}
	}
}

// pdfToText extracts a PDF's text with pdftotext (poppler-utils).
func pdfToText(t *testing.T, pdf []byte) string {
	t.Helper()
	pdftotext := testtool.Program(t, "pdftotext", "poppler-utils")
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// TestDrawFromCreditRecord: an inspection draw reads candidates' classes
// from the credit record itself — an entity with a recorded penalty
// (warning) is never drawn.
func TestDrawFromCreditRecord(t *testing.T) {
	e := newEnv(t)
	var good []string
	for i := range 3 {
		id, _ := e.newEntity()
		if i == 1 {
			e.must(201, "POST", "/api/v1/entities/"+id+"/credit/events", e.reg, map[string]any{"type": "penalty", "date": "2026-11-20",
				"fine": "1000", "reason": "labelling"})
			continue
		}
		good = append(good, id)
	}
	for range 2 {
		e.must(201, "POST", "/api/v1/keys", e.reg, map[string]any{"role": "inspector"})
	}
	d := e.must(201, "POST", "/api/v1/inspections/draws", e.reg, map[string]any{"entities": 2, "inspectorsPerEntity": 1}).JSON()
	cands := toStrings(d["candidates"])
	if len(cands) != 2 || !strings.Contains(strings.Join(good, " "), cands[0]) || !strings.Contains(strings.Join(good, " "), cands[1]) || d["excludedNotGood"] != 1.0 {
		t.Fatalf("candidates %v (left out %v), want the good %v", cands, d["excludedNotGood"], good)
	}
}

// TestCreditUnacknowledgedNotice: a custodian that does not acknowledge a
// recall notice within its working days gets an unacknowledged-notice
// event in its ledger; one that acknowledges in time does not.
func TestCreditUnacknowledgedNotice(t *testing.T) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC) // a Friday
	c := newChainEnvWith(t, "sqlite", func(o *wire.Options) { o.Now = func() time.Time { return now } })
	c.run()
	id := c.must(201, "POST", "/api/v1/recalls", c.procK, map[string]any{"class": "III", "depth": "retail", "hazard": "a faded label",
		"remedy": "warning", "scope": map[string]any{"lots": []map[string]any{{"gtin": c.cheese, "lot": "CH1"}}}}).JSON()["id"].(string)
	c.must(200, "POST", "/api/v1/recalls/"+id+"/open", c.procK, nil)
	c.must(200, "POST", "/api/v1/notices/"+id+"."+c.retB+"/ack", c.retBK, nil)
	types := func(entity, key string) []string {
		var out []string
		for _, e := range c.must(200, "GET", "/api/v1/entities/"+entity+"/credit/events", key, nil).JSON()["events"].([]any) {
			out = append(out, e.(map[string]any)["type"].(string))
		}
		return out
	}
	if got := types(c.retA, c.retAK); len(got) != 0 {
		t.Fatalf("before the deadline: %v", got)
	}
	now = now.AddDate(0, 0, 5) // Wednesday: two working days have passed
	if got := types(c.retA, c.retAK); len(got) != 1 || got[0] != "unacknowledged_notice" {
		t.Fatalf("retailer A after its deadline: %v", got)
	}
	if got := types(c.retB, c.retBK); len(got) != 0 {
		t.Fatalf("retailer B acknowledged in time: %v", got)
	}
	if got := types(c.proc, c.procK); len(got) != 1 || got[0] != "voluntary_recall" {
		t.Fatalf("the maker's ledger: %v", got)
	}
}
