package handlers_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"tracesvc/cmd/wire"
	"tracesvc/standards"
)

// incEnv is a service on a clock the test sets, with a maker owning a toy
// (lot L1) and a medical device, a stranger and an inspector.
type incEnv struct {
	*env
	now                    *time.Time
	maker, makerK          string
	stranger, strangerK    string
	inspector              string
	toy, device            string
	shanghai               *time.Location
	contactName, contactPh string
}

func newIncidentEnv(t *testing.T, backend string, adjust func(*wire.Options)) *incEnv {
	t.Helper()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 1, 10, 0, 0, 0, shanghai)
	e := newEnvWith(t, backend, func(o *wire.Options) {
		o.Now = func() time.Time { return now }
		if adjust != nil {
			adjust(o)
		}
	})
	c := &incEnv{env: e, now: &now, shanghai: shanghai, contactName: "Wang Wu", contactPh: "+86 22 5555 0101"}
	c.maker, c.makerK = e.newEntity("manufacturer")
	c.stranger, c.strangerK = e.newEntity("retailer")
	c.inspector = e.must(201, "POST", "/api/v1/keys", e.reg, map[string]any{"role": "inspector"}).JSON()["key"].(string)
	c.toy, c.device = gtin(t, 701), gtin(t, 702)
	for g, cat := range map[string]string{c.toy: "toy", c.device: "medical_device"} {
		e.must(201, "POST", "/api/v1/products", c.makerK, map[string]any{"gtin": g, "name": "Product " + cat, "category": cat})
	}
	e.must(201, "POST", "/api/v1/products/"+c.toy+"/batches", c.makerK, map[string]any{"lot": "L1",
		"productionDate": "2026-01-05", "quantity": 100, "unit": "EA"})
	return c
}

// at sets the clock to a day, at 10:00 in Shanghai.
func (c *incEnv) at(day string) {
	d, err := time.ParseInLocation(time.DateOnly, day, c.shanghai)
	if err != nil {
		c.t.Fatal(err)
	}
	*c.now = d.Add(10 * time.Hour)
}

// report is a valid report body.
func (c *incEnv) report(gtin, event, aware, severity string) map[string]any {
	return map[string]any{"gtin": gtin, "eventDate": event, "awareDate": aware, "severity": severity,
		"personsAffected": 1, "description": "A child cut a finger on a sharp edge of the toy",
		"location": "Hexi District, Tianjin", "distribution": "300 units to supermarkets in Tianjin",
		"remedialAction": "sales stopped", "contact": map[string]any{"name": c.contactName, "phone": c.contactPh}}
}

// file files a report with key and returns the answer.
func (c *incEnv) file(key string, body map[string]any) map[string]any {
	c.t.Helper()
	return c.must(201, "POST", "/api/v1/incidents", key, body).JSON()
}

// TestIncidentAccess (issue 11): every incident endpoint with each role
// — no key, a wrong key, another entity, the entity, an inspector, a
// regulator — and the public's aggregate-only statistics.
func TestIncidentAccess(t *testing.T) { eachBackend(t, testIncidentAccess) }

func testIncidentAccess(t *testing.T, backend string) {
	c := newIncidentEnv(t, backend, nil)
	mine := c.file(c.makerK, c.report(c.toy, "2026-05-28", "2026-05-29", "minor_injury"))
	id := mine["id"].(string)
	if mine["entityId"] != c.maker || mine["status"] != "received" || mine["deadline"] != "2026-06-02" || mine["late"] != false {
		t.Fatalf("filed: %v", mine)
	}
	// A regulator files on the maker's behalf, naming it.
	onBehalf := c.report(c.device, "2026-05-30", "2026-05-31", "near_miss")
	onBehalf["entityId"] = c.maker
	byReg := c.file(c.reg, onBehalf)
	if byReg["entityId"] != c.maker {
		t.Fatalf("filed by a regulator: %v", byReg)
	}
	body := c.report(c.toy, "2026-05-28", "2026-05-29", "minor_injury")
	path := "/api/v1/incidents/" + id
	move := map[string]any{"status": "under_assessment"}
	aware := map[string]any{"entityId": c.maker, "gtin": c.toy, "source": "hospital_report", "reference": "TJ-H-7", "awareDate": "2026-05-20"}
	runCases(t, c.env, map[string]authCase{
		"file/no key":             {"POST", "/api/v1/incidents", "", body, 401, "unauthorized"},
		"file/wrong key":          {"POST", "/api/v1/incidents", bogusKey, body, 401, "unauthorized"},
		"file/another entity":     {"POST", "/api/v1/incidents", c.strangerK, body, 403, "forbidden"},
		"file/for another":        {"POST", "/api/v1/incidents", c.strangerK, withField(body, "entityId", c.maker), 403, "forbidden"},
		"file/inspector":          {"POST", "/api/v1/incidents", c.inspector, body, 403, "forbidden"},
		"file/regulator unnamed":  {"POST", "/api/v1/incidents", c.reg, body, 400, "invalid"},
		"get/no key":              {"GET", path, "", nil, 401, "unauthorized"},
		"get/wrong key":           {"GET", path, bogusKey, nil, 401, "unauthorized"},
		"get/another entity":      {"GET", path, c.strangerK, nil, 403, "forbidden"},
		"get/missing":             {"GET", "/api/v1/incidents/nope", c.reg, nil, 404, "not_found"},
		"list/no key":             {"GET", "/api/v1/incidents", "", nil, 401, "unauthorized"},
		"list/wrong key":          {"GET", "/api/v1/incidents", bogusKey, nil, 401, "unauthorized"},
		"list/another's reports":  {"GET", "/api/v1/incidents?entity=" + c.maker, c.strangerK, nil, 403, "forbidden"},
		"list/bad late":           {"GET", "/api/v1/incidents?late=maybe", c.reg, nil, 400, "invalid"},
		"stats/wrong key":         {"GET", "/api/v1/incidents/stats", bogusKey, nil, 401, "unauthorized"},
		"stats/bad month":         {"GET", "/api/v1/incidents/stats?from=2026-13", "", nil, 400, "invalid"},
		"move/no key":             {"PATCH", path, "", move, 401, "unauthorized"},
		"move/wrong key":          {"PATCH", path, bogusKey, move, 401, "unauthorized"},
		"move/another entity":     {"PATCH", path, c.strangerK, move, 403, "forbidden"},
		"move/the entity":         {"PATCH", path, c.makerK, move, 403, "forbidden"},
		"move/inspector":          {"PATCH", path, c.inspector, move, 403, "forbidden"},
		"awareness/no key":        {"POST", "/api/v1/incidents/awareness", "", aware, 401, "unauthorized"},
		"awareness/wrong key":     {"POST", "/api/v1/incidents/awareness", bogusKey, aware, 401, "unauthorized"},
		"awareness/the entity":    {"POST", "/api/v1/incidents/awareness", c.makerK, aware, 403, "forbidden"},
		"awareness/inspector":     {"POST", "/api/v1/incidents/awareness", c.inspector, aware, 403, "forbidden"},
		"overdue/no key":          {"GET", "/api/v1/incidents/overdue", "", nil, 401, "unauthorized"},
		"overdue/wrong key":       {"GET", "/api/v1/incidents/overdue", bogusKey, nil, 401, "unauthorized"},
		"overdue/another entity":  {"GET", "/api/v1/incidents/overdue", c.strangerK, nil, 403, "forbidden"},
		"overdue/the entity":      {"GET", "/api/v1/incidents/overdue", c.makerK, nil, 403, "forbidden"},
		"overdue/inspector":       {"GET", "/api/v1/incidents/overdue", c.inspector, nil, 403, "forbidden"},
		"awareness/bad source":    {"POST", "/api/v1/incidents/awareness", c.reg, withField(aware, "source", "rumour"), 400, "invalid"},
		"awareness/ghost entity":  {"POST", "/api/v1/incidents/awareness", c.reg, withField(aware, "entityId", "ghost"), 400, "invalid"},
		"file/regulator stranger": {"POST", "/api/v1/incidents", c.reg, withField(body, "entityId", c.stranger), 400, "invalid"},
	})

	// The entity, an inspector and a regulator read the report; only the
	// regulator and the reporter see the contact.
	for who, key := range map[string]string{"entity": c.makerK, "inspector": c.inspector, "regulator": c.reg} {
		got := c.must(200, "GET", path, key, nil)
		r := got.JSON()
		if r["id"] != id || r["description"] == nil || r["gtin"] != c.toy {
			t.Fatalf("%s reads: %s", who, got.Body)
		}
		if hasContact := strings.Contains(string(got.Body), c.contactPh); hasContact != (who != "inspector") {
			t.Fatalf("%s sees the contact: %v: %s", who, hasContact, got.Body)
		}
	}
	list := func(key, query string) []any {
		t.Helper()
		return c.must(200, "GET", "/api/v1/incidents"+query, key, nil).JSON()["incidents"].([]any)
	}
	if n := len(list(c.strangerK, "")); n != 0 {
		t.Fatalf("a stranger lists %d reports", n)
	}
	for who, key := range map[string]string{"entity": c.makerK, "inspector": c.inspector, "regulator": c.reg} {
		if n := len(list(key, "")); n != 2 {
			t.Fatalf("%s lists %d reports, want 2", who, n)
		}
		if got := list(key, "?gtin="+c.toy+"&severity=minor_injury&status=received&late=false"); len(got) != 1 || got[0].(map[string]any)["id"] != id {
			t.Fatalf("%s filters: %v", who, got)
		}
	}
	if got := list(c.reg, "?limit=1"); len(got) != 1 {
		t.Fatalf("paged: %v", got)
	}
	page := c.must(200, "GET", "/api/v1/incidents?limit=1", c.reg, nil).JSON()
	if page["nextCursor"] == nil || len(list(c.reg, "?limit=1&cursor="+page["nextCursor"].(string))) != 1 {
		t.Fatalf("next page: %v", page)
	}
	if got := list(c.reg, "?entity="+c.stranger); len(got) != 0 {
		t.Fatalf("the stranger filed nothing: %v", got)
	}

	// The public sees counts only.
	for who, key := range map[string]string{"public": "", "entity": c.strangerK, "regulator": c.reg} {
		st := c.must(200, "GET", "/api/v1/incidents/stats", key, nil)
		body := string(st.Body)
		for _, secret := range []string{c.contactName, c.contactPh, "sharp edge", "Hexi", c.toy, c.device, c.maker, id, "supermarkets", "sales stopped"} {
			if strings.Contains(body, secret) {
				t.Fatalf("%s: the statistics leak %q: %s", who, secret, body)
			}
		}
		want := `{"from":"2025-07","to":"2026-06","counts":[{"category":"medical_device","month":"2026-05","reports":1},{"category":"toy","month":"2026-05","reports":1}]}`
		if body != want {
			t.Fatalf("%s: stats %s, want %s", who, body, want)
		}
	}
	if st := c.must(200, "GET", "/api/v1/incidents/stats?from=2026-06&to=2026-06", "", nil).JSON(); len(st["counts"].([]any)) != 0 {
		t.Fatalf("June: %v", st)
	}

	// The regulator's follow-up and awareness records.
	c.must(200, "PATCH", path, c.reg, move)
	if a := c.must(201, "POST", "/api/v1/incidents/awareness", c.reg, aware).JSON(); a["deadline"] != "2026-05-22" || a["incidentId"] != nil {
		t.Fatalf("awareness: %v", a)
	}
	if got := c.must(200, "GET", "/api/v1/incidents/overdue", c.reg, nil).JSON()["awareness"].([]any); len(got) != 1 {
		t.Fatalf("overdue: %v", got)
	}
}

// withField returns a copy of body with one field set.
func withField(body map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for key, val := range body {
		out[key] = val
	}
	out[k] = v
	return out
}

// TestIncidentDeadline (issue 11): the deadline runs in working days of
// the service's one calendar from the aware date — 2 by default, 7 and 20
// for a medical device's death and serious injury — across a weekend, a
// holiday and a make-up working day of 2026; a report filed at the
// deadline instant or later is late.
func TestIncidentDeadline(t *testing.T) {
	c := newIncidentEnv(t, "sqlite", nil)
	cases := []struct {
		name, gtin, aware, severity, want string
	}{
		{"weekend", c.toy, "2026-03-06", "minor_injury", "2026-03-10"},            // Friday: Monday, Tuesday
		{"holiday", c.toy, "2026-04-02", "minor_injury", "2026-04-07"},            // Friday, then Qingming 4–6 April
		{"make-up day", c.toy, "2026-05-07", "property_loss", "2026-05-09"},       // Friday 8, Saturday 9 May is a working day
		{"spring festival", c.toy, "2026-02-13", "near_miss", "2026-02-24"},       // Saturday 14 worked, then 15–23 off
		{"device death", c.device, "2026-03-06", "death", "2026-03-17"},           // 7 working days
		{"device injury", c.device, "2026-03-06", "serious_injury", "2026-04-03"}, // 20 working days
		{"device minor", c.device, "2026-03-06", "minor_injury", "2026-03-10"},    // the default
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &incEnv{env: c.with(t), now: c.now, shanghai: c.shanghai, makerK: c.makerK, contactName: c.contactName, contactPh: c.contactPh}
			c.at(tc.aware)
			r := c.file(c.makerK, c.report(tc.gtin, tc.aware, tc.aware, tc.severity))
			due, _ := time.ParseInLocation(time.DateOnly, tc.want, c.shanghai)
			due = due.AddDate(0, 0, 1)
			if r["deadline"] != tc.want || r["late"] != false {
				t.Fatalf("deadline %v late %v, want %s on time", r["deadline"], r["late"], tc.want)
			}
			if got, err := time.Parse(time.RFC3339, r["deadlineAt"].(string)); err != nil || !got.Equal(due) {
				t.Fatalf("deadlineAt %v, want %v", r["deadlineAt"], due)
			}
		})
	}
	// Late: at the deadline instant, not a millisecond before.
	due := time.Date(2026, 3, 11, 0, 0, 0, 0, c.shanghai)
	*c.now = due.Add(-time.Millisecond)
	if r := c.file(c.makerK, c.report(c.toy, "2026-03-06", "2026-03-06", "minor_injury")); r["late"] != false {
		t.Fatalf("just in time: %v", r)
	}
	*c.now = due
	late := c.file(c.makerK, c.report(c.toy, "2026-03-06", "2026-03-06", "minor_injury"))
	if late["late"] != true {
		t.Fatalf("at the deadline: %v", late)
	}
	got := c.must(200, "GET", "/api/v1/incidents?late=true", c.reg, nil).JSON()["incidents"].([]any)
	if len(got) != 1 || got[0].(map[string]any)["id"] != late["id"] {
		t.Fatalf("late reports: %v", got)
	}
	if mine := c.must(200, "GET", "/api/v1/incidents?late=true", c.makerK, nil).JSON()["incidents"].([]any); len(mine) != 1 {
		t.Fatalf("the maker's late reports: %v", mine)
	}
}

// TestIncidentDeadlineConfig: deadlines configured per category and
// severity replace the defaults.
func TestIncidentDeadlineConfig(t *testing.T) {
	rules, err := standards.ParseDeadlineRules("toy=5,*/death=1")
	if err != nil {
		t.Fatal(err)
	}
	c := newIncidentEnv(t, "sqlite", func(o *wire.Options) { o.IncidentDeadlines = rules })
	c.at("2026-03-06")
	for _, tc := range []struct{ gtin, severity, want string }{
		{c.toy, "minor_injury", "2026-03-13"}, // toy: 5
		{c.toy, "death", "2026-03-13"},        // the category's rule comes before */death
		{c.device, "death", "2026-03-17"},     // medical_device/death: 7, kept from the defaults
		{c.device, "near_miss", "2026-03-10"}, // *: 2
	} {
		if r := c.file(c.makerK, c.report(tc.gtin, "2026-03-06", "2026-03-06", tc.severity)); r["deadline"] != tc.want {
			t.Errorf("%s %s: deadline %v, want %s", tc.gtin, tc.severity, r["deadline"], tc.want)
		}
	}
}

// TestIncidentFollowUp (issue 11): received → under_assessment → closed,
// or → recall_linked with a recall ID; other moves are 409.
func TestIncidentFollowUp(t *testing.T) { eachBackend(t, testIncidentFollowUp) }

func testIncidentFollowUp(t *testing.T, backend string) {
	c := newIncidentEnv(t, backend, nil)
	id := c.file(c.makerK, c.report(c.toy, "2026-05-28", "2026-05-29", "minor_injury"))["id"].(string)
	path := "/api/v1/incidents/" + id
	step := func(status int, body map[string]any, code, field string) map[string]any {
		t.Helper()
		r := c.must(status, "PATCH", path, c.reg, body)
		if r.errCode() != code || r.errField() != field {
			t.Fatalf("%v: %s", body, r.Body)
		}
		return r.JSON()
	}
	step(409, map[string]any{"status": "closed"}, "conflict", "status")
	step(409, map[string]any{"status": "received"}, "conflict", "status")
	step(400, map[string]any{"status": "archived"}, "invalid", "status")
	step(400, map[string]any{"status": "under_assessment", "recallId": "R1"}, "invalid", "recallId")
	if r := step(200, map[string]any{"status": "under_assessment", "note": "lab test"}, "", ""); r["status"] != "under_assessment" || r["note"] != "lab test" {
		t.Fatalf("assessing: %v", r)
	}
	step(409, map[string]any{"status": "under_assessment"}, "conflict", "status")
	step(400, map[string]any{"status": "recall_linked"}, "invalid", "recallId")
	if r := step(200, map[string]any{"status": "recall_linked", "recallId": "RC-2026-0042"}, "", ""); r["recallId"] != "RC-2026-0042" {
		t.Fatalf("linked: %v", r)
	}
	step(409, map[string]any{"status": "under_assessment"}, "conflict", "status")
	if r := step(200, map[string]any{"status": "closed"}, "", ""); r["status"] != "closed" || r["recallId"] != "RC-2026-0042" {
		t.Fatalf("closed: %v", r)
	}
	step(409, map[string]any{"status": "recall_linked", "recallId": "RC-2"}, "conflict", "status")
	c.must(404, "PATCH", "/api/v1/incidents/nope", c.reg, map[string]any{"status": "under_assessment"})
	// Another report, closed without a recall.
	id2 := c.file(c.makerK, c.report(c.toy, "2026-05-28", "2026-05-29", "near_miss"))["id"].(string)
	c.must(200, "PATCH", "/api/v1/incidents/"+id2, c.reg, map[string]any{"status": "under_assessment"})
	c.must(200, "PATCH", "/api/v1/incidents/"+id2, c.reg, map[string]any{"status": "closed"})
	if got := c.must(200, "GET", "/api/v1/incidents?status=closed", c.inspector, nil).JSON()["incidents"].([]any); len(got) != 2 {
		t.Fatalf("closed: %v", got)
	}
}

// TestIncidentOverdueAwareness (issue 11): a regulator records that the
// maker became aware of an incident; with no report by the deadline it is
// overdue. The maker's report on that product answers it, and the
// regulator's earlier aware date decides its deadline and lateness.
func TestIncidentOverdueAwareness(t *testing.T) { eachBackend(t, testIncidentOverdueAwareness) }

func testIncidentOverdueAwareness(t *testing.T, backend string) {
	c := newIncidentEnv(t, backend, nil)
	c.at("2026-03-02") // Monday
	a := c.must(201, "POST", "/api/v1/incidents/awareness", c.reg, map[string]any{"entityId": c.maker, "gtin": c.toy, "lot": "L1",
		"source": "tipoff", "reference": "T7KQ2M9XW4HTR", "awareDate": "2026-03-02"}).JSON()
	if a["deadline"] != "2026-03-04" {
		t.Fatalf("awareness: %v", a)
	}
	// Another on the device, answered in time below.
	b := c.must(201, "POST", "/api/v1/incidents/awareness", c.reg, map[string]any{"entityId": c.maker, "gtin": c.device,
		"source": "hospital_report", "awareDate": "2026-03-02", "severity": "death"}).JSON()
	if b["deadline"] != "2026-03-11" {
		t.Fatalf("a device death: %v", b)
	}
	overdue := func() []string {
		t.Helper()
		var ids []string
		for _, x := range c.must(200, "GET", "/api/v1/incidents/overdue", c.reg, nil).JSON()["awareness"].([]any) {
			ids = append(ids, x.(map[string]any)["id"].(string))
		}
		return ids
	}
	if got := overdue(); len(got) != 0 {
		t.Fatalf("nothing is due yet: %v", got)
	}
	c.at("2026-03-05")
	if got := overdue(); len(got) != 1 || got[0] != a["id"] {
		t.Fatalf("overdue: %v", got)
	}
	// The maker says it learned of it on the 4th; the regulator's record
	// says the 2nd: the report is late, and answers the record.
	r := c.file(c.makerK, withField(c.report(c.toy, "2026-03-01", "2026-03-04", "minor_injury"), "lot", "L1"))
	if r["late"] != true || r["deadline"] != "2026-03-04" || r["deadlineFrom"] != "2026-03-02" || r["awarenessId"] != a["id"] || r["awareDate"] != "2026-03-04" {
		t.Fatalf("report answering the record: %v", r)
	}
	if got := overdue(); len(got) != 0 {
		t.Fatalf("answered: %v", got)
	}
	d := c.file(c.makerK, c.report(c.device, "2026-03-01", "2026-03-02", "death"))
	if d["late"] != false || d["awarenessId"] != b["id"] {
		t.Fatalf("device report: %v", d)
	}
	c.at("2026-03-20")
	if got := overdue(); len(got) != 0 {
		t.Fatalf("all answered: %v", got)
	}
	// A record of what the maker reported already is answered at once.
	early := c.file(c.makerK, c.report(c.device, "2026-03-16", "2026-03-17", "serious_injury"))
	e := c.must(201, "POST", "/api/v1/incidents/awareness", c.reg, map[string]any{"entityId": c.maker, "gtin": c.device,
		"source": "hospital_report", "awareDate": "2026-03-18"}).JSON()
	if e["incidentId"] != early["id"] {
		t.Fatalf("a record of a report filed already: %v", e)
	}
	c.at("2026-05-20")
	if got := overdue(); len(got) != 0 {
		t.Fatalf("all answered: %v", got)
	}
}

// TestIncidentCluster (issue 11): three reports on one product with event
// dates within 30 days raise one risk alert, listed with the alerts for
// officials; more reports in that cluster raise no second one; a cluster
// months later raises its own.
func TestIncidentCluster(t *testing.T) { eachBackend(t, testIncidentCluster) }

func testIncidentCluster(t *testing.T, backend string) {
	c := newIncidentEnv(t, backend, nil)
	alerts := func(key string) []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, a := range c.must(200, "GET", "/api/v1/alerts?kind=incident_cluster", key, nil).JSON()["alerts"].([]any) {
			out = append(out, a.(map[string]any))
		}
		return out
	}
	c.file(c.makerK, c.report(c.toy, "2026-02-10", "2026-02-10", "minor_injury"))
	c.file(c.makerK, c.report(c.toy, "2026-03-20", "2026-03-20", "minor_injury")) // 38 days later: no cluster
	c.file(c.makerK, c.report(c.device, "2026-03-01", "2026-03-01", "near_miss")) // another product
	c.file(c.makerK, c.report(c.toy, "2026-03-01", "2026-03-01", "near_miss"))
	if got := alerts(c.reg); len(got) != 0 {
		t.Fatalf("two reports within 30 days: %v", got)
	}
	c.file(c.makerK, c.report(c.toy, "2026-02-25", "2026-02-26", "minor_injury")) // 10 Feb, 25 Feb, 1 Mar
	got := alerts(c.reg)
	if len(got) != 1 || got[0]["gtin"] != c.toy || got[0]["serial"] != "incidents:2026-02-10" || got[0]["ownerId"] != c.maker {
		t.Fatalf("cluster alert: %v", got)
	}
	if d := got[0]["detail"].(string); !strings.Contains(d, "3 incident reports") || strings.Contains(d, c.contactName) {
		t.Fatalf("detail: %s", d)
	}
	if ins := alerts(c.inspector); len(ins) != 1 {
		t.Fatalf("inspector: %v", ins)
	}
	if all := c.must(200, "GET", "/api/v1/alerts", c.reg, nil).JSON()["alerts"].([]any); len(all) != 1 {
		t.Fatalf("with the other alerts: %v", all)
	}
	if other := alerts(c.strangerK); len(other) != 0 {
		t.Fatalf("a stranger sees %v", other)
	}
	// The cluster goes on: no second alert.
	c.file(c.makerK, c.report(c.toy, "2026-03-05", "2026-03-05", "near_miss"))
	c.file(c.makerK, c.report(c.toy, "2026-03-22", "2026-03-22", "near_miss"))
	if got := alerts(c.reg); len(got) != 1 {
		t.Fatalf("the same cluster: %v", got)
	}
	// Months later, a new cluster.
	for _, d := range []string{"2026-05-02", "2026-05-12", "2026-05-20"} {
		c.file(c.makerK, c.report(c.toy, d, d, "minor_injury"))
	}
	got = alerts(c.reg)
	serials := map[any]bool{}
	for _, a := range got {
		serials[a["serial"]] = true
	}
	if len(got) != 2 || !serials["incidents:2026-02-10"] || !serials["incidents:2026-05-02"] {
		t.Fatalf("a later cluster: %v", got)
	}
}

// TestIncidentValidation (issue 11): bad reports are 400 JSON errors that
// name the field.
func TestIncidentValidation(t *testing.T) {
	c := newIncidentEnv(t, "sqlite", nil)
	good := c.report(c.toy, "2026-05-28", "2026-05-29", "minor_injury")
	long := strings.Repeat("x", 4001)
	manyCodes := make([]string, standards.MaxIncidentCodes+1)
	for i := range manyCodes {
		manyCodes[i] = fmt.Sprintf("(01)%s(21)S%d", c.toy, i)
	}
	cases := map[string]struct {
		field string
		value any
		want  string
	}{
		"bad check digit":         {"gtin", "06901234567890", "gtin"},
		"unregistered GTIN":       {"gtin", gtin(t, 999), "gtin"},
		"unknown lot":             {"lot", "NOPE", "lot"},
		"no such day":             {"eventDate", "2026-02-30", "eventDate"},
		"not a date":              {"awareDate", "29/05/2026", "awareDate"},
		"aware before event":      {"awareDate", "2026-05-27", "awareDate"},
		"event in the future":     {"eventDate", "2026-06-02", "eventDate"},
		"missing aware date":      {"awareDate", "", "awareDate"},
		"unknown severity":        {"severity", "bruise", "severity"},
		"negative count":          {"personsAffected", -1, "personsAffected"},
		"huge count":              {"personsAffected", 2_000_000, "personsAffected"},
		"fractional count":        {"personsAffected", 1.5, "personsAffected"},
		"injury without a victim": {"personsAffected", 0, "personsAffected"},
		"no description":          {"description", " ", "description"},
		"long description":        {"description", long, "description"},
		"no location":             {"location", "", "location"},
		"no contact name":         {"contact", map[string]any{"phone": "123"}, "contact.name"},
		"no way to reach":         {"contact", map[string]any{"name": "Wang"}, "contact.phone"},
		"bad phone":               {"contact", map[string]any{"name": "Wang", "phone": "call me"}, "contact.phone"},
		"bad email":               {"contact", map[string]any{"name": "Wang", "email": "wang"}, "contact.email"},
		"code of another GTIN":    {"codes", []string{"(01)" + c.device + "(21)S1"}, "codes[0]"},
		"code of another lot":     {"codes", []string{"https://id.example.cn/01/" + c.toy + "/10/L2/21/S1"}, "codes[0]"},
		"garbage code":            {"codes", []string{"not a code"}, "codes[0]"},
		"too many codes":          {"codes", manyCodes, "codes"},
		"unknown field":           {"victimName", "Zhao", "victimName"},
		"text for a number":       {"personsAffected", "two", "personsAffected"},
	}
	good["lot"] = "L1"
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := c.with(t).do("POST", "/api/v1/incidents", c.makerK, withField(good, tc.field, tc.value))
			if r.Code != 400 || r.errCode() != "invalid" || r.errField() != tc.want {
				t.Fatalf("status %d field %q, want 400 %q: %s", r.Code, r.errField(), tc.want, r.Body)
			}
		})
	}
	t.Run("invalid UTF-8", func(t *testing.T) {
		r := c.with(t).do("POST", "/api/v1/incidents", c.makerK, `{"gtin":"`+c.toy+`","description":"bad `+"\xff"+`"}`)
		if r.Code != 400 || r.errField() != "description" {
			t.Fatalf("%d %s", r.Code, r.Body)
		}
	})
	// The good report, with codes in both forms, is filed.
	good["codes"] = []string{"(01)" + c.toy + "(10)L1(21)S1", "https://id.example.cn/01/" + c.toy + "/10/L1/21/S2"}
	if r := c.file(c.makerK, good); len(r["codes"].([]any)) != 2 || r["lot"] != "L1" {
		t.Fatalf("filed: %v", r)
	}
}

// TestIncidentCustody (issue 11): a retailer that custody events show
// held the goods reports on them; an entity that never held them may not.
// The product's owner sees reports on its product without the reporter,
// its contact or its account of what happened.
func TestIncidentCustody(t *testing.T) { eachBackend(t, testIncidentCustody) }

func testIncidentCustody(t *testing.T, backend string) {
	c := newChainEnvOn(t, backend)
	c.run()
	_, stranger := c.newEntity("retailer")
	body := map[string]any{"gtin": c.cheese, "lot": "CH1", "eventDate": "2026-11-20", "awareDate": "2026-11-21",
		"severity": "serious_injury", "personsAffected": 2, "description": "Two customers fell ill after eating the cheese",
		"location": "Nankai District, Tianjin", "contact": map[string]any{"name": "Zhou Qi", "email": "zhou@retail-a.example"}}
	r := c.must(http.StatusCreated, "POST", "/api/v1/incidents", c.retAK, body).JSON()
	id := r["id"].(string)
	if r["entityId"] != c.retA || r["ownerId"] != c.proc {
		t.Fatalf("retailer's report: %v", r)
	}
	c.must(http.StatusCreated, "POST", "/api/v1/incidents", c.retBK, withField(body, "lot", ""))
	if r := c.do("POST", "/api/v1/incidents", stranger, body); r.Code != 403 || r.errField() != "gtin" {
		t.Fatalf("a stranger: %d %s", r.Code, r.Body)
	}
	// The owner's view.
	own := c.must(200, "GET", "/api/v1/incidents/"+id, c.procK, nil)
	for _, secret := range []string{"Zhou Qi", "zhou@", "fell ill", "Nankai", c.retA, `"late"`} {
		if strings.Contains(string(own.Body), secret) {
			t.Fatalf("the owner sees %q: %s", secret, own.Body)
		}
	}
	if m := own.JSON(); m["severity"] != "serious_injury" || m["personsAffected"] != 2.0 || m["lot"] != "CH1" {
		t.Fatalf("the owner's summary: %s", own.Body)
	}
	list := c.must(200, "GET", "/api/v1/incidents", c.procK, nil)
	if n := len(list.JSON()["incidents"].([]any)); n != 2 || strings.Contains(string(list.Body), "Zhou Qi") {
		t.Fatalf("the owner's list: %s", list.Body)
	}
	if r := c.do("GET", "/api/v1/incidents?entity="+c.retA, c.procK, nil); r.Code != 403 {
		t.Fatalf("the owner filters by reporter: %d %s", r.Code, r.Body)
	}
	if n := len(c.must(200, "GET", "/api/v1/incidents?late=false", c.procK, nil).JSON()["incidents"].([]any)); n != 0 {
		t.Fatalf("lateness filters keep to the owner's own reports: %d", n)
	}
	if n := len(c.must(200, "GET", "/api/v1/incidents", c.retAK, nil).JSON()["incidents"].([]any)); n != 1 {
		t.Fatalf("the retailer lists %d", n)
	}
	c.must(403, "GET", "/api/v1/incidents/"+id, c.retBK, nil)
	if full := c.must(200, "GET", "/api/v1/incidents/"+id, c.retAK, nil); !strings.Contains(string(full.Body), "Zhou Qi") {
		t.Fatalf("the reporter's own view: %s", full.Body)
	}
}
