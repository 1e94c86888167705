package handlers_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tracesvc/cmd/wire"
	"tracesvc/recall"
	"tracesvc/recall/webhook"
)

// noticeReceiver is a custodian's webhook: it verifies each request with
// the documented algorithm (webhook.Verify, five minutes of clock skew)
// and keeps each notice once, by its Idempotency-Key.
type noticeReceiver struct {
	*httptest.Server
	secret   string
	mu       sync.Mutex
	bodies   map[string][]byte // by Idempotency-Key
	attempts map[string]int
	refused  int // requests whose signature did not verify
}

func newNoticeReceiver(t *testing.T) *noticeReceiver {
	rc := &noticeReceiver{secret: webhook.NewSecret(), bodies: map[string][]byte{}, attempts: map[string]int{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err := webhook.Verify(body, r.Header, [][]byte{[]byte(rc.secret)}, time.Now(), 5*time.Minute); err != nil {
			rc.refused++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		key := r.Header.Get("Idempotency-Key")
		rc.attempts[key]++
		if _, ok := rc.bodies[key]; !ok {
			rc.bodies[key] = body
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// notices waits until the receiver holds n notices and returns them
// decoded, by key.
func (rc *noticeReceiver) notices(t *testing.T, n int) map[string]map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rc.mu.Lock()
		got := len(rc.bodies)
		rc.mu.Unlock()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the receiver has %d notices after 15 s, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := map[string]map[string]any{}
	for k, b := range rc.bodies {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out[k] = m
	}
	return out
}

// newRecallEnv is the custody scenario on backend, with webhooks allowed
// to the test's loopback receivers: the milk goes from the farm to the
// cheese works, the cheese to the distributor and on pallets to both
// retailers, who receive them; retailer A sells one cheese.
func newRecallEnv(t *testing.T, backend string) *chainEnv {
	c := newChainEnvWith(t, backend, func(o *wire.Options) {
		o.WebhookPolicy = webhook.Policy{AllowPrivate: true, AllowHTTPHosts: []string{"127.0.0.1"}}
		o.Notices = recall.OutboxConfig{Workers: 4, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
			AttemptTimeout: 2 * time.Second, Poll: 20 * time.Millisecond}
	})
	c.runOutbox(t)
	c.run()
	c.captureOK(c.retAK, objectEvent("OBSERVE", "receiving", c.at(8), []string{"https://id.example.cn/00/" + c.pallet1}, ""))
	c.captureOK(c.retBK, objectEvent("OBSERVE", "receiving", c.at(8), []string{"https://id.example.cn/00/" + c.pallet2}, ""))
	c.captureOK(c.retAK, objectEvent("OBSERVE", "retail_selling", c.at(9), []string{c.item(c.cheeseSerials[0])}, ""))
	return c
}

// TestRecallEndToEnd (issue 12): a regulator recalls one milk lot; the
// cheese made from it is in scope; both retailers' receivers get signed
// notices they verify; a retailer acknowledges and returns units, by code
// and by quantity; effectiveness follows; a recalled serial resolves as
// recalled; the campaign cannot be completed with units out, and a
// regulator terminates it. On both backends.
func TestRecallEndToEnd(t *testing.T) { eachBackend(t, testRecallEndToEnd) }

func testRecallEndToEnd(t *testing.T, backend string) {
	c := newRecallEnv(t, backend)
	recvA, recvB := newNoticeReceiver(t), newNoticeReceiver(t)
	c.must(200, "PATCH", "/api/v1/entities/"+c.retA, c.retAK, map[string]any{"webhookUrl": recvA.URL + "/recall", "webhookSecret": recvA.secret})
	c.must(200, "PATCH", "/api/v1/entities/"+c.retB, c.retBK, map[string]any{"webhookUrl": recvB.URL + "/recall", "webhookSecret": recvB.secret})
	cheese := func(i int) string { return "/01/" + c.cheese + "/21/" + c.cheeseSerials[i] }
	verdict := func(p string) string {
		t.Helper()
		r := c.get(p, "application/json", "")
		v, _ := r.JSON()["verdict"].(string)
		if v == "" {
			t.Fatalf("GET %s: %s", p, r.Body)
		}
		return v
	}
	if v := verdict(cheese(5)); v != "genuine" {
		t.Fatalf("before the recall: %s", v)
	}

	// The contract's smallest body is a valid draft.
	c.must(201, "POST", "/api/v1/recalls", c.reg, map[string]any{"class": "III", "depth": "wholesale", "hazard": "a faded label",
		"remedy": "warning", "scope": map[string]any{"lots": []map[string]any{{"gtin": c.milk, "lot": "MILK1"}}}})
	body := map[string]any{"class": "I", "depth": "consumer", "hazard": "Listeria monocytogenes found in the raw milk",
		"reason": "a farm sample tested positive", "remedy": "refund",
		"custodianInstructions": "Stop selling; hold the stock apart and return it to Haihe Cheese Works.",
		"consumerInstructions":  "Do not eat it. Take it back to the shop for a refund.",
		"scope":                 map[string]any{"lots": []map[string]any{{"gtin": c.milk, "lot": "MILK1"}}}}
	c.must(401, "POST", "/api/v1/recalls", "", body)
	c.must(403, "POST", "/api/v1/recalls", c.retAK, body) // another entity's milk
	r := c.must(201, "POST", "/api/v1/recalls", c.reg, body).JSON()
	id := r["id"].(string)
	if r["status"] != "draft" || r["kind"] != "ordered" {
		t.Fatalf("draft: %v", r)
	}
	if v := verdict(cheese(5)); v != "genuine" {
		t.Fatalf("a draft recalls nothing yet: %s", v)
	}
	c.must(403, "POST", "/api/v1/recalls/"+id+"/open", c.farmK, nil) // ordered: the regulator's
	opened := c.must(200, "POST", "/api/v1/recalls/"+id+"/open", c.reg, nil).JSON()
	scope := opened["scope"].(map[string]any)
	if opened["status"] != "open" || scope["units"] != 10.0 || scope["sold"] != 1.0 || scope["logisticUnits"] != 2.0 {
		t.Fatalf("opened: %v", opened)
	}
	levels := map[string]string{}
	for _, cu := range scope["custodians"].([]any) {
		m := cu.(map[string]any)
		levels[m["entityId"].(string)] = m["level"].(string)
	}
	if levels[c.retA] != "retail" || levels[c.retB] != "retail" || levels[c.dist] != "wholesale" || levels[c.proc] != "maker" {
		t.Fatalf("custodians and levels: %v", levels)
	}
	for i := range c.cheeseSerials {
		if v := verdict(cheese(i)); v != "recalled" {
			t.Fatalf("cheese %d after the recall opened: %s", i, v)
		}
	}
	if v := verdict("/00/" + c.pallet2); v != "recalled" {
		t.Fatalf("a pallet holding recalled cheese: %s", v)
	}
	// Another process on the same store shows it at once: no cache.
	replica := c.replica(t)
	if v := replica.get(cheese(7), "application/json", "").JSON()["verdict"]; v != "recalled" {
		t.Fatalf("a replica sharing the store: %v", v)
	}

	// Both retailers get one signed notice each, naming their stock.
	for name, rc := range map[string]*noticeReceiver{"A": recvA, "B": recvB} {
		got := rc.notices(t, 1)
		if len(got) != 1 || rc.refused != 0 {
			t.Fatalf("retailer %s: %d notices, %d refused", name, len(got), rc.refused)
		}
		for key, n := range got {
			if n["type"] != "recall_notice" || n["notice"] != key || n["recall"].(map[string]any)["hazard"] != body["hazard"] {
				t.Fatalf("retailer %s's notice: %v", name, n)
			}
		}
	}
	var noticeA string
	for k, n := range recvA.notices(t, 1) {
		noticeA = k
		codes := strings.Join(toStrings(n["codes"]), " ")
		if !strings.Contains(codes, c.pallet1) || !strings.Contains(codes, c.cheeseSerials[1]) || strings.Contains(codes, c.cheeseSerials[9]) {
			t.Fatalf("retailer A's codes: %s", codes)
		}
	}

	// Retailer A acknowledges and returns units; retailer B reports a
	// quantity destroyed.
	c.must(403, "POST", "/api/v1/notices/"+noticeA+"/ack", c.retBK, nil)
	if a := c.must(200, "POST", "/api/v1/notices/"+noticeA+"/ack", c.retAK, nil).JSON(); a["ackedAt"] == nil {
		t.Fatalf("ack: %v", a)
	}
	ret := c.must(200, "POST", "/api/v1/notices/"+noticeA+"/returns", c.retAK, map[string]any{"recovery": "returned",
		"codes": []string{c.item(c.cheeseSerials[1]), c.item(c.cheeseSerials[2]), c.item(c.cheeseSerials[3])}}).JSON()
	if ret["notice"].(map[string]any)["recovery"].(map[string]any)["serials"] == nil {
		t.Fatalf("returned: %v", ret)
	}
	again := c.must(200, "POST", "/api/v1/notices/"+noticeA+"/returns", c.retAK, map[string]any{"recovery": "returned",
		"codes": []string{c.item(c.cheeseSerials[1])}}).JSON()
	if len(toStrings(again["alreadyReported"])) != 1 {
		t.Fatalf("a code reported twice counts once: %v", again)
	}
	outside := "https://id.example.cn/01/" + c.cheese + "/21/NOTINSCOPE1"
	if r := c.must(400, "POST", "/api/v1/notices/"+noticeA+"/returns", c.retAK, map[string]any{"recovery": "returned",
		"codes": []string{outside}}); !strings.Contains(r.errMessage(), outside) {
		t.Fatalf("a code outside the scope is named: %s", r.Body)
	}
	if v := verdict(cheese(2)); v != "recalled" {
		t.Fatalf("a returned unit still resolves as recalled: %v", v)
	}
	var noticeB string
	for k := range recvB.notices(t, 1) {
		noticeB = k
	}
	c.must(200, "POST", "/api/v1/notices/"+noticeB+"/returns", c.retBK, map[string]any{"recovery": "destroyed", "quantity": 2})
	c.must(400, "POST", "/api/v1/notices/"+noticeB+"/returns", c.retBK, map[string]any{"recovery": "destroyed", "quantity": 99})

	// Effectiveness, for the regulator and the maker; the public sees no
	// consignees.
	full := c.must(200, "GET", "/api/v1/recalls/"+id, c.reg, nil).JSON()
	eff := full["effectiveness"].(map[string]any)
	if eff["units"] != 10.0 || eff["recoveredTotal"] != 5.0 || eff["outstanding"] != 5.0 {
		t.Fatalf("effectiveness: %v", eff)
	}
	cons := eff["consignees"].(map[string]any)
	if cons["acknowledged"] != 1.0 || cons["notified"].(float64) < 2 {
		t.Fatalf("consignees: %v", cons)
	}
	retail := eff["byLevel"].(map[string]any)["retail"].(map[string]any)
	if retail["recovered"].(map[string]any)["returned"] != 3.0 || retail["recovered"].(map[string]any)["destroyed"] != 2.0 {
		t.Fatalf("retail level: %v", retail)
	}
	// Scans are stored in the background: wait for the ten resolves of
	// recalled units above to be counted.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		full := c.must(200, "GET", "/api/v1/recalls/"+id, c.reg, nil).JSON()
		sc := full["effectiveness"].(map[string]any)["consumerScans"].(map[string]any)
		if sc["units"] == 10.0 && sc["scans"] == 12.0 { // ten, the replica's and cheese 2 again
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scans of recalled units since opening: %v", sc)
		}
	}
	c.must(200, "GET", "/api/v1/recalls/"+id, c.farmK, nil) // a maker
	pub := c.must(200, "GET", "/api/v1/recalls/"+id, "", nil)
	if strings.Contains(string(pub.Body), c.retA) || strings.Contains(string(pub.Body), "custodians") {
		t.Fatalf("the public view names consignees: %s", pub.Body)
	}
	list := c.must(200, "GET", "/api/v1/recalls?status=open", "", nil)
	if !strings.Contains(string(list.Body), id) || strings.Contains(string(list.Body), c.retA) {
		t.Fatalf("public list: %s", list.Body)
	}
	csv := c.must(200, "GET", "/api/v1/recalls/"+id+"/report.csv", c.reg, nil)
	if !strings.Contains(string(csv.Body), noticeA) || !strings.HasPrefix(csv.Hdr.Get("Content-Type"), "text/csv") {
		t.Fatalf("report: %s", csv.Body)
	}
	c.must(403, "GET", "/api/v1/recalls/"+id+"/report.csv", c.retAK, nil)
	if ns := c.must(200, "GET", "/api/v1/notices", c.retBK, nil).JSON()["notices"].([]any); len(ns) != 1 {
		t.Fatalf("retailer B's notices: %v", ns)
	}

	// Not complete while units are out; a regulator terminates it.
	if r := c.must(409, "POST", "/api/v1/recalls/"+id+"/complete", c.reg, nil); !strings.Contains(r.errMessage(), "unaccounted") {
		t.Fatalf("complete with units out: %s", r.Body)
	}
	c.must(400, "POST", "/api/v1/recalls/"+id+"/terminate", c.reg, map[string]any{})
	c.must(403, "POST", "/api/v1/recalls/"+id+"/terminate", c.farmK, map[string]any{"reason": "x"})
	end := c.must(200, "POST", "/api/v1/recalls/"+id+"/terminate", c.reg, map[string]any{"reason": "the rest was eaten"}).JSON()
	if end["status"] != "terminated" {
		t.Fatalf("terminated: %v", end)
	}
	if v := verdict(cheese(9)); v != "recalled" {
		t.Fatalf("a unit of an ended recall is still recalled: %s", v)
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, x.(string))
	}
	return out
}

// TestRecallRescope (issue 12): events that arrive after a recall opened
// widen its scope when it is recomputed — more cheese made from the
// recalled milk, shipped to a shop the scope did not know — and the diff
// is kept, the new codes resolve as recalled, the new custodian gets its
// notice; recomputing again finds nothing new.
func TestRecallRescope(t *testing.T) { eachBackend(t, testRecallRescope) }

func testRecallRescope(t *testing.T, backend string) {
	c := newRecallEnv(t, backend)
	id := c.must(201, "POST", "/api/v1/recalls", c.reg, map[string]any{"class": "II", "depth": "retail",
		"hazard": "Listeria", "remedy": "refund", "custodianInstructions": "Return it.",
		"scope": map[string]any{"lots": []map[string]any{{"gtin": c.milk, "lot": "MILK1"}}}}).JSON()["id"].(string)
	c.must(200, "POST", "/api/v1/recalls/"+id+"/open", c.reg, nil)

	// Late: a second cheese lot from the same milk goes to retailer C.
	shopC, shopCK := c.newEntity("retailer")
	recvC := newNoticeReceiver(t)
	c.must(200, "PATCH", "/api/v1/entities/"+shopC, shopCK, map[string]any{"webhookUrl": recvC.URL + "/recall", "webhookSecret": recvC.secret})
	c.must(201, "POST", "/api/v1/products/"+c.cheese+"/batches", c.procK, map[string]any{"lot": "CH2",
		"productionDate": "2026-11-03", "quantity": 2, "unit": "EA"})
	var got issued
	json.Unmarshal(c.must(201, "POST", "/api/v1/products/"+c.cheese+"/batches/CH2/codes", c.procK, map[string]any{"count": 2}).Body, &got)
	items := []string{c.item(got.Codes[0].Serial), c.item(got.Codes[1].Serial)}
	outs, _ := json.Marshal(items)
	c.captureOK(c.procK,
		`{"type":"TransformationEvent","bizStep":"commissioning","eventTime":"`+c.at(10)+`","eventTimeZoneOffset":"+08:00",
			"inputQuantityList":[{"epcClass":"`+c.milkClass()+`","quantity":10,"uom":"LTR"}],"outputEPCList":`+string(outs)+`}`,
		objectEvent("OBSERVE", "shipping", c.at(11), items, dest(c.party(shopC))))
	verdict := func(code string) string {
		v, _ := c.get(strings.TrimPrefix(code, "https://id.example.cn"), "application/json", "").JSON()["verdict"].(string)
		return v
	}
	if v := verdict(items[0]); v == "recalled" {
		t.Log("the new cheese resolves as recalled before the rescope: its milk lot's key matched") // not expected, not wrong
	}

	c.must(403, "POST", "/api/v1/recalls/"+id+"/rescope", c.retAK, nil)
	r := c.must(200, "POST", "/api/v1/recalls/"+id+"/rescope", c.reg, nil).JSON()
	changes, _ := r["scopeChanges"].([]any)
	if len(changes) != 1 {
		t.Fatalf("scope changes: %v", r["scopeChanges"])
	}
	ch := changes[0].(map[string]any)
	if ch["addedUnits"] != 2.0 || !slices.Contains(toStrings(ch["newCustodians"]), shopC) || r["scope"].(map[string]any)["units"] != 12.0 {
		t.Fatalf("the change: %v (scope %v)", ch, r["scope"])
	}
	for _, it := range items {
		if v := verdict(it); v != "recalled" {
			t.Fatalf("%s after the rescope: %s", it, v)
		}
	}
	for _, n := range recvC.notices(t, 1) {
		if codes := strings.Join(toStrings(n["codes"]), " "); !strings.Contains(codes, got.Codes[0].Serial) {
			t.Fatalf("retailer C's notice: %v", n)
		}
	}
	again := c.must(200, "POST", "/api/v1/recalls/"+id+"/rescope", c.reg, nil).JSON()
	if len(again["scopeChanges"].([]any)) != 1 {
		t.Fatalf("a rescope that finds nothing adds no change: %v", again["scopeChanges"])
	}
}

// TestRecallRoles is the role table of the recall and notice endpoints:
// no key, a wrong key, an entity with nothing to do with the recall, an
// inspector, a regulator, and the maker (or, for notices, the custodian).
// Opening an ordered recall also links the incident report it names.
func TestRecallRoles(t *testing.T) {
	c := newRecallEnv(t, "sqlite")
	const wrong = "tsk_0123456789abcdef0123456789abcdef"
	inspector := c.must(201, "POST", "/api/v1/keys", c.reg, map[string]any{"role": "inspector"}).JSON()["key"].(string)
	_, stranger := c.newEntity("retailer")
	inc := c.must(201, "POST", "/api/v1/incidents", c.procK, map[string]any{"gtin": c.cheese, "eventDate": "2026-11-20",
		"awareDate": "2026-11-21", "severity": "serious_injury", "personsAffected": 1, "description": "A child fell ill after eating it",
		"location": "Tianjin", "contact": map[string]any{"name": "Wang", "phone": "123"}}).JSON()["id"].(string)
	body := func(gtin, lot string, incidents ...string) map[string]any {
		return map[string]any{"class": "II", "depth": "retail", "hazard": "Listeria", "remedy": "refund",
			"custodianInstructions": "Return it.", "incidents": incidents,
			"scope": map[string]any{"lots": []map[string]any{{"gtin": gtin, "lot": lot}}}}
	}
	ordered := func() string {
		return c.must(201, "POST", "/api/v1/recalls", c.reg, body(c.cheese, "CH1", inc)).JSON()["id"].(string)
	}
	voluntary := func() string {
		return c.must(201, "POST", "/api/v1/recalls", c.procK, body(c.cheese, "CH1")).JSON()["id"].(string)
	}
	open := func(id string) string { c.must(200, "POST", "/api/v1/recalls/"+id+"/open", c.reg, nil); return id }
	keys := []struct{ name, key string }{{"no key", ""}, {"wrong key", wrong}, {"a stranger", stranger},
		{"inspector", inspector}, {"regulator", c.reg}, {"the maker", c.procK}}
	type want [6]int
	for _, tc := range []struct {
		name, method string
		path         func() string
		body         any
		want         want
	}{
		{"draft an ordered or voluntary recall", "POST", func() string { return "/api/v1/recalls" }, body(c.cheese, "CH1"), want{401, 401, 403, 403, 201, 201}},
		{"list", "GET", func() string { return "/api/v1/recalls" }, nil, want{200, 401, 200, 200, 200, 200}},
		{"read a draft", "GET", func() string { return "/api/v1/recalls/" + ordered() }, nil, want{401, 401, 403, 200, 200, 200}},
		{"read an open recall", "GET", func() string { return "/api/v1/recalls/" + open(voluntary()) }, nil, want{200, 401, 200, 200, 200, 200}},
		{"open an ordered recall", "POST", func() string { return "/api/v1/recalls/" + ordered() + "/open" }, nil, want{401, 401, 403, 403, 200, 403}},
		{"open a voluntary recall", "POST", func() string { return "/api/v1/recalls/" + voluntary() + "/open" }, nil, want{401, 401, 403, 403, 200, 200}},
		{"cancel a voluntary draft", "POST", func() string { return "/api/v1/recalls/" + voluntary() + "/cancel" }, nil, want{401, 401, 403, 403, 200, 200}},
		{"rescope an ordered recall", "POST", func() string { return "/api/v1/recalls/" + open(ordered()) + "/rescope" }, nil, want{401, 401, 403, 403, 200, 403}},
		{"terminate", "POST", func() string { return "/api/v1/recalls/" + open(voluntary()) + "/terminate" }, map[string]any{"reason": "done"}, want{401, 401, 403, 403, 200, 403}},
		{"the report", "GET", func() string { return "/api/v1/recalls/" + open(voluntary()) + "/report.csv" }, nil, want{401, 401, 403, 200, 200, 200}},
		{"an unknown action", "POST", func() string { return "/api/v1/recalls/" + voluntary() + "/publish" }, nil, want{401, 401, 404, 403, 404, 404}},
	} {
		for i, k := range keys {
			if r := c.do(tc.method, tc.path(), k.key, tc.body); r.Code != tc.want[i] {
				t.Errorf("%s with %s: %d, want %d: %s", tc.name, k.name, r.Code, tc.want[i], r.Body)
			}
		}
	}
	// The incident report the ordered recalls name is linked to one.
	if r := c.must(200, "GET", "/api/v1/incidents/"+inc, c.reg, nil).JSON(); r["status"] != "recall_linked" || r["recallId"] == nil {
		t.Fatalf("the incident after its recall opened: %v", r)
	}

	// Notices: retailer A's of a fresh recall.
	id := open(voluntary())
	notice := id + "." + c.retA
	custodians := []struct{ name, key string }{{"no key", ""}, {"wrong key", wrong}, {"another entity", c.retBK},
		{"inspector", inspector}, {"regulator", c.reg}, {"the custodian", c.retAK}}
	for _, tc := range []struct {
		name, method, path string
		body               any
		want               want
	}{
		{"list notices", "GET", "/api/v1/notices", nil, want{401, 401, 200, 200, 200, 200}},
		{"read a notice", "GET", "/api/v1/notices/" + notice, nil, want{401, 401, 403, 200, 200, 200}},
		{"acknowledge", "POST", "/api/v1/notices/" + notice + "/ack", nil, want{401, 401, 403, 403, 403, 200}},
		{"report returns", "POST", "/api/v1/notices/" + notice + "/returns", map[string]any{"recovery": "returned", "quantity": 1}, want{401, 401, 403, 403, 403, 200}},
	} {
		for i, k := range custodians {
			if r := c.do(tc.method, tc.path, k.key, tc.body); r.Code != tc.want[i] {
				t.Errorf("%s with %s: %d, want %d: %s", tc.name, k.name, r.Code, tc.want[i], r.Body)
			}
		}
	}
	if ns := c.must(200, "GET", "/api/v1/notices", c.retBK, nil).JSON()["notices"].([]any); len(ns) == 0 {
		t.Fatal("retailer B sees none of its own notices")
	} else {
		for _, n := range ns {
			if n.(map[string]any)["entityId"] != c.retB {
				t.Fatalf("retailer B sees another's notice: %v", n)
			}
		}
	}
}

// TestRecallScopeOfALargeLot: a lot of more issued codes than a trace
// walks node by node, one of them shipped to a shop. The codes never
// moved are counted at the maker, not walked one by one, so the scope
// reaches the shop and is whole. (SQLite: issuing 100,000 codes on the
// embedded FerretDB takes minutes.)
func TestRecallScopeOfALargeLot(t *testing.T) {
	c := newRecallEnv(t, "sqlite")
	const n = 100_010
	c.must(201, "POST", "/api/v1/products/"+c.cheese+"/batches", c.procK, map[string]any{"lot": "BIG1",
		"productionDate": "2026-11-01", "expiryDate": "2027-01-01", "quantity": n, "unit": "EA"})
	req := httptest.NewRequest("POST", "/api/v1/products/"+c.cheese+"/batches/BIG1/codes", strings.NewReader(fmt.Sprintf(`{"count":%d}`, n)))
	req.Header.Set("Authorization", "Bearer "+c.procK)
	req.Header.Set("Accept", "text/csv")
	w := httptest.NewRecorder()
	c.h.ServeHTTP(w, req)
	rows, err := csv.NewReader(w.Body).ReadAll()
	if w.Code != 201 || err != nil || len(rows) != n+1 {
		t.Fatalf("issue: %d, %d rows, %v", w.Code, len(rows), err)
	}
	shipped := rows[1][1] // header, then serial,uri,…
	c.captureOK(c.procK,
		objectEvent("ADD", "commissioning", c.at(1), []string{shipped}, ""),
		objectEvent("OBSERVE", "shipping", c.at(2), []string{shipped}, dest(c.party(c.retA))))
	c.captureOK(c.retAK, objectEvent("OBSERVE", "receiving", c.at(3), []string{shipped}, ""))

	r := c.must(201, "POST", "/api/v1/recalls", c.reg, map[string]any{"class": "II", "depth": "retail", "hazard": "undeclared milk",
		"remedy": "refund", "scope": map[string]any{"lots": []map[string]any{{"gtin": c.cheese, "lot": "BIG1"}}}}).JSON()
	scope := c.must(200, "POST", "/api/v1/recalls/"+r["id"].(string)+"/open", c.reg, nil).JSON()["scope"].(map[string]any)
	byLevel := scope["byLevel"].(map[string]any)
	if scope["units"] != float64(n) || scope["truncated"] == true || byLevel["maker"] != float64(n-1) || byLevel["retail"] != 1.0 {
		t.Fatalf("scope: units %v, truncated %v, by level %v", scope["units"], scope["truncated"], byLevel)
	}
	if !custodians(scope)[c.retA] {
		t.Fatalf("the shop holding the shipped unit is not in scope: %v", scope["custodians"])
	}
	if v := c.get(strings.TrimPrefix(rows[n][1], "https://id.example.cn"), "application/json", "").JSON()["verdict"]; v != "recalled" {
		t.Fatalf("an unmoved code of the lot: %v", v)
	}
}
