package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"tracesvc/cmd/wire"
)

// chainEnv is the farm → processor → distributor → two retailers chain.
type chainEnv struct {
	*env
	farm, proc, dist, retA, retB      string // entity IDs
	farmK, procK, distK, retAK, retBK string // their keys
	milk, cheese                      string // GTINs
	cheeseSerials                     []string
	pallet1, pallet2                  string // SSCCs
	t0                                time.Time
}

func (c *chainEnv) party(id string) string { return "https://id.example.cn/api/v1/entities/" + id }

func (c *chainEnv) item(serial string) string {
	return "https://id.example.cn/01/" + c.cheese + "/21/" + serial
}

func (c *chainEnv) at(h int) string {
	return c.t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339)
}

func objectEvent(action, step, when string, epcs []string, extra string) string {
	list, _ := json.Marshal(epcs)
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Sprintf(`{"type":"ObjectEvent","action":%q,"bizStep":%q,"eventTime":%q,"eventTimeZoneOffset":"+08:00","epcList":%s%s}`,
		action, step, when, list, extra)
}

func dest(party string) string {
	return fmt.Sprintf(`"destinationList":[{"type":"possessing_party","destination":%q}]`, party)
}

func source(party string) string {
	return fmt.Sprintf(`"sourceList":[{"type":"possessing_party","source":%q}]`, party)
}

func newChainEnv(t *testing.T) *chainEnv { return newChainEnvOn(t, "sqlite") }

func newChainEnvOn(t *testing.T, backend string) *chainEnv {
	return newChainEnvWith(t, backend, func(*wire.Options) {})
}

// newChainEnvWith is newChainEnvOn with the options adjust sets.
func newChainEnvWith(t *testing.T, backend string, adjust func(*wire.Options)) *chainEnv {
	e := newEnvWith(t, backend, adjust)
	c := &chainEnv{env: e, t0: time.Date(2026, 11, 1, 6, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	mk := func(name string, prefix string, kinds ...string) (string, string) {
		n := e.serial.Add(1)
		body := map[string]any{"name": name, "uscc": validUSCC(t, n), "kinds": kinds, "region": "Tianjin", "address": name + " Road"}
		if prefix != "" {
			body["companyPrefix"] = prefix
		}
		r := e.must(201, "POST", "/api/v1/entities", e.reg, body).JSON()
		return r["entity"].(map[string]any)["id"].(string), r["key"].(string)
	}
	c.farm, c.farmK = mk("Green Meadow Farm", "", "farm")
	c.proc, c.procK = mk("Haihe Cheese Works", "", "processor", "manufacturer")
	c.dist, c.distK = mk("Bohai Logistics", "0614141", "distributor")
	c.retA, c.retAK = mk("Retailer A", "", "retailer")
	c.retB, c.retBK = mk("Retailer B", "", "retailer")
	c.milk = e.newProduct(c.farmK, 1)
	c.cheese = e.newProduct(c.procK, 2)
	e.must(201, "POST", "/api/v1/products/"+c.milk+"/batches", c.farmK, map[string]any{"lot": "MILK1",
		"productionDate": "2026-11-01", "quantity": 1000, "unit": "LTR"})
	e.must(201, "POST", "/api/v1/products/"+c.cheese+"/batches", c.procK, map[string]any{"lot": "CH1",
		"productionDate": "2026-11-02", "expiryDate": "2027-05-01", "quantity": 10, "unit": "EA"})
	var got issued
	json.Unmarshal(e.must(201, "POST", "/api/v1/products/"+c.cheese+"/batches/CH1/codes", c.procK, map[string]any{"count": 10}).Body, &got)
	for _, cd := range got.Codes {
		c.cheeseSerials = append(c.cheeseSerials, cd.Serial)
	}
	var ss struct{ SSCCs []struct{ SSCC string } }
	json.Unmarshal(e.must(201, "POST", "/api/v1/sscc", c.distK, map[string]any{"count": 2}).Body, &ss)
	c.pallet1, c.pallet2 = ss.SSCCs[0].SSCC, ss.SSCCs[1].SSCC
	return c
}

func (c *chainEnv) milkClass() string {
	return "urn:epc:class:lgtin:" + c.milk[1:8] + "." + c.milk[0:1] + c.milk[8:13] + ".MILK1"
}

// run records the whole chain up to the retailers' receipts.
func (c *chainEnv) run() {
	milkQty := fmt.Sprintf(`"quantityList":[{"epcClass":%q,"quantity":1000,"uom":"LTR"}]`, c.milkClass())
	c.captureOK(c.farmK,
		objectEvent("ADD", "commissioning", c.at(0), []string{}, milkQty),
		objectEvent("OBSERVE", "shipping", c.at(1), []string{}, milkQty+","+source(c.party(c.farm))+","+dest(c.party(c.proc))))
	var items []string
	for _, s := range c.cheeseSerials {
		items = append(items, c.item(s))
	}
	outs, _ := json.Marshal(items)
	c.captureOK(c.procK,
		objectEvent("OBSERVE", "receiving", c.at(2), []string{}, milkQty),
		fmt.Sprintf(`{"type":"TransformationEvent","bizStep":"commissioning","eventTime":%q,"eventTimeZoneOffset":"+08:00",
			"inputQuantityList":[{"epcClass":%q,"quantity":1000,"uom":"LTR"}],"outputEPCList":%s}`, c.at(3), c.milkClass(), outs),
		objectEvent("OBSERVE", "shipping", c.at(4), items, dest(c.party(c.dist))+`,"bizTransactionList":[{"type":"desadv","bizTransaction":"urn:epcglobal:cbv:bt:0614141000005:D1"}]`))
	c.captureOK(c.distK,
		objectEvent("OBSERVE", "receiving", c.at(5), items, ""),
		aggregation("ADD", "packing", c.at(6), "urn:epc:id:sscc:0614141."+c.pallet1[0:1]+c.pallet1[8:17], items[:5]),
		aggregation("ADD", "packing", c.at(6), "https://id.example.cn/00/"+c.pallet2, items[5:]),
		objectEvent("OBSERVE", "shipping", c.at(7), []string{"https://id.example.cn/00/" + c.pallet1}, dest(c.party(c.retA))),
		objectEvent("OBSERVE", "shipping", c.at(7), []string{"https://id.example.cn/00/" + c.pallet2}, dest(c.party(c.retB))))
}

func aggregation(action, step, when, parent string, children []string) string {
	list, _ := json.Marshal(children)
	return fmt.Sprintf(`{"type":"AggregationEvent","action":%q,"bizStep":%q,"eventTime":%q,"eventTimeZoneOffset":"+08:00","parentID":%q,"childEPCs":%s}`,
		action, step, when, parent, list)
}

func custodians(g map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, c := range g["custodians"].([]any) {
		out[c.(map[string]any)["entityId"].(string)] = true
	}
	return out
}

func TestCustodyScenario(t *testing.T) { eachBackend(t, testCustodyScenario) }

func testCustodyScenario(t *testing.T, backend string) {
	c := newChainEnvOn(t, backend)
	c.run()
	palletA := "https://id.example.cn/00/" + c.pallet1
	palletB := "https://id.example.cn/00/" + c.pallet2
	c.captureOK(c.retAK, objectEvent("OBSERVE", "receiving", c.at(8), []string{palletA}, ""))
	c.captureOK(c.retBK, objectEvent("OBSERVE", "receiving", c.at(8), []string{palletB}, ""))
	c.captureOK(c.retAK, objectEvent("OBSERVE", "retail_selling", c.at(9), []string{c.item(c.cheeseSerials[0])}, ""))

	// The codes' states follow custody.
	codes := c.must(200, "GET", "/api/v1/products/"+c.cheese+"/batches/CH1/codes?limit=10", c.procK, nil).JSON()["codes"].([]any)
	states := map[string]string{}
	for _, cd := range codes {
		m := cd.(map[string]any)
		states[m["serial"].(string)] = fmt.Sprint(m["state"], "@", m["possessor"])
	}
	if states[c.cheeseSerials[0]] != "sold@"+c.retA || states[c.cheeseSerials[1]] != "in_custody@"+c.retA || states[c.cheeseSerials[9]] != "in_custody@"+c.retB {
		t.Fatalf("code states: %v", states)
	}

	// Forward from the milk lot: the cheese serials and both retailers.
	fwd := c.must(200, "GET", "/api/v1/trace/forward?gtin="+c.milk+"&lot=MILK1", c.reg, nil).JSON()
	cust := custodians(fwd)
	if !cust[c.retA] || !cust[c.retB] || !cust[c.dist] || !cust[c.proc] {
		t.Fatalf("forward custodians %v lack someone (A %s, B %s)", cust, c.retA, c.retB)
	}
	nodes := map[string]bool{}
	for _, n := range fwd["nodes"].([]any) {
		nodes[n.(map[string]any)["key"].(string)] = true
	}
	for _, s := range c.cheeseSerials {
		if !nodes["01/"+c.cheese+"/21/"+s] {
			t.Fatalf("forward trace misses cheese serial %s: %v", s, nodes)
		}
	}
	if fwd["truncated"] != false {
		t.Fatalf("forward trace truncated: %v", fwd["truncatedReason"])
	}
	// Backward from a cheese serial: the farm.
	back := c.must(200, "GET", "/api/v1/trace/backward?epc="+url.QueryEscape(c.item(c.cheeseSerials[7])), c.reg, nil).JSON()
	if cust := custodians(back); !cust[c.farm] || !cust[c.proc] {
		t.Fatalf("backward custodians %v lack the farm %s", cust, c.farm)
	}
	// The maker may trace its own product; a retailer may not trace it.
	c.must(200, "GET", "/api/v1/trace/backward?epc="+url.QueryEscape(c.item(c.cheeseSerials[7])), c.procK, nil)
	runCases(t, c.env, map[string]authCase{
		"trace retailer": {"GET", "/api/v1/trace/forward?gtin=" + c.milk + "&lot=MILK1", c.retAK, nil, 403, "forbidden"},
		"trace no key":   {"GET", "/api/v1/trace/forward?gtin=" + c.milk + "&lot=MILK1", "", nil, 401, "unauthorized"},
		"trace no start": {"GET", "/api/v1/trace/forward", c.reg, nil, 400, "invalid"},
		"trace depth":    {"GET", "/api/v1/trace/forward?gtin=" + c.milk + "&lot=MILK1&depth=99", c.reg, nil, 400, "invalid"},
	})
	// Depth is bounded, and a cut walk says so.
	short := c.must(200, "GET", "/api/v1/trace/forward?gtin="+c.milk+"&lot=MILK1&depth=1", c.reg, nil).JSON()
	if short["truncated"] != true {
		t.Fatalf("depth 1 walk not truncated: %v", short)
	}

	// Query visibility: retailer A sees events of its pallet, not B's receipt.
	seen := c.queryEvents(c.retAK, "MATCH_anyEPC="+url.QueryEscape(palletB))
	for _, ev := range seen {
		if ev.(map[string]any)["bizStep"] == "receiving" {
			t.Fatal("retailer A sees retailer B's receipt")
		}
	}
	if got := c.queryEvents(c.reg, "MATCH_anyEPC="+url.QueryEscape(palletB)+"&EQ_bizStep=receiving"); len(got) != 1 {
		t.Fatalf("regulator query: %d events", len(got))
	}
	if got := c.queryEvents(c.retBK, "MATCH_epc="+url.QueryEscape(palletB)); len(got) != 2 {
		t.Fatalf("retailer B sees %d events of its pallet, want shipping and receiving", len(got))
	}

	// FSMA 204 export of the milk lot: one row per CTE, sortable.
	csv := c.must(200, "GET", "/api/v1/trace/lots/"+c.milk+"/MILK1/fsma204.csv", c.farmK, nil)
	lines := strings.Split(strings.TrimSpace(string(csv.Body)), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[1], "Harvesting,") || !strings.HasPrefix(lines[2], "Shipping,") ||
		!strings.HasPrefix(lines[3], "Receiving,") || !strings.HasPrefix(lines[4], "Transformation,") {
		t.Fatalf("fsma rows:\n%s", csv.Body)
	}
	if !strings.Contains(lines[2], "Reference Document") {
		t.Fatalf("shipping without a reference document is not flagged: %s", lines[2])
	}
	runCases(t, c.env, map[string]authCase{
		"fsma other entity": {"GET", "/api/v1/trace/lots/" + c.milk + "/MILK1/fsma204.csv", c.retAK, nil, 403, "forbidden"},
		"fsma no lot":       {"GET", "/api/v1/trace/lots/" + c.milk + "/NOPE/fsma204.csv", c.reg, nil, 404, "not_found"},
	})
}

// TestCustodyViolations checks each custody rule is refused with its
// reason and the custodian it expected.
func TestCustodyViolations(t *testing.T) { eachBackend(t, testCustodyViolations) }

func testCustodyViolations(t *testing.T, backend string) {
	c := newChainEnvOn(t, backend)
	c.run()
	palletA := "https://id.example.cn/00/" + c.pallet1
	palletB := "https://id.example.cn/00/" + c.pallet2
	refused := func(key, event, rule, custodian string) {
		t.Helper()
		_, job := c.capture(key, doc(event))
		errs, _ := job["errors"].([]any)
		if job["success"] != false || len(errs) == 0 {
			t.Fatalf("not refused: %v", job)
		}
		e := errs[0].(map[string]any)
		if e["rule"] != rule || e["expectedCustodian"] != custodian || e["message"] == "" {
			t.Fatalf("refused with %v, want rule %s and custodian %s", e, rule, custodian)
		}
	}
	// Receiving by the wrong party.
	refused(c.retBK, objectEvent("OBSERVE", "receiving", c.at(8), []string{palletA}, ""), "custody.wrongReceiver", c.retA)
	// Shipping by a non-possessor: retailer A does not hold pallet B.
	refused(c.retAK, objectEvent("OBSERVE", "shipping", c.at(8), []string{palletB}, dest(c.party(c.retA))), "custody.notPossessor", c.dist)
	// Commissioning another entity's codes.
	var fresh issued
	json.Unmarshal(c.must(201, "POST", "/api/v1/products/"+c.cheese+"/batches/CH1/codes", c.procK, map[string]any{"count": 1}).Body, &fresh)
	refused(c.farmK, objectEvent("ADD", "commissioning", c.at(8), []string{fresh.Codes[0].URI}, ""), "custody.commissionOwner", c.proc)
	// Time going backwards, unless flagged late.
	refused(c.distK, objectEvent("OBSERVE", "inspecting", c.at(6), []string{palletB}, ""), "custody.timeOrder", c.dist)
	c.captureOK(c.distK, objectEvent("OBSERVE", "inspecting", c.at(6), []string{palletB}, `"tracesvc:lateArriving":true`))
	// Shipping issued goods without naming where they go.
	refused(c.distK, objectEvent("OBSERVE", "shipping", c.at(9), []string{palletB}, ""), "custody.shipDestination", c.dist)
	// The refused receipt stored nothing; the right receiver still can.
	c.captureOK(c.retAK, objectEvent("OBSERVE", "receiving", c.at(8), []string{palletA}, ""))
	// Events about codes this service did not issue are stored unchecked.
	c.captureOK(c.retBK, objectEvent("OBSERVE", "shipping", c.at(1), []string{"urn:epc:id:sgtin:0614141.107346.2017"}, ""))
}

// TestLotOwnership (issue 9, item 1): class-level events naming a lot of a
// product registered here are accepted only from the lot's maker or an
// entity it was shipped to.
func TestLotOwnership(t *testing.T) { eachBackend(t, testLotOwnership) }

func testLotOwnership(t *testing.T, backend string) {
	c := newChainEnvOn(t, backend)
	c.run()
	cheeseLot := "https://id.example.cn/01/" + c.cheese + "/10/CH1"
	refused := func(key, event, pointer, custodian string) {
		t.Helper()
		_, job := c.capture(key, doc(event))
		errs, _ := job["errors"].([]any)
		if job["success"] != false || len(errs) == 0 {
			t.Fatalf("not refused: %v", job)
		}
		e := errs[0].(map[string]any)
		if ptr, _ := e["pointer"].(string); e["rule"] != "custody.lotNotHeld" || !strings.HasSuffix(ptr, "/0"+pointer) || e["expectedCustodian"] != custodian {
			t.Fatalf("refused with %v, want custody.lotNotHeld at %s, custodian %s", e, pointer, custodian)
		}
	}
	qty := func(list, class string) string {
		return fmt.Sprintf(`%q:[{"epcClass":%q,"quantity":5,"uom":"KGM"}]`, list, class)
	}
	// Retailer B declares its own lot the input of a transformation whose
	// output is the cheese works' lot.
	ownLot := "https://id.example.cn/01/0614141000036/10/B-LOT"
	refused(c.retBK, fmt.Sprintf(`{"type":"TransformationEvent","bizStep":"commissioning","eventTime":%q,"eventTimeZoneOffset":"+08:00",%s,%s}`,
		c.at(9), qty("inputQuantityList", ownLot), qty("outputQuantityList", cheeseLot)), "/outputQuantityList/0/epcClass", c.proc)
	// Retailer B records shipping the farm's milk lot from the farm to retailer A.
	refused(c.retBK, objectEvent("OBSERVE", "shipping", c.at(9), []string{},
		qty("quantityList", c.milkClass())+","+source(c.party(c.farm))+","+dest(c.party(c.retA))), "/quantityList/0/epcClass", c.farm)
	// The distributor was never shipped the milk.
	refused(c.distK, objectEvent("OBSERVE", "inspecting", c.at(9), []string{}, qty("quantityList", c.milkClass())),
		"/quantityList/0/epcClass", c.farm)
	// (A lot as parentID is refused by the EPCIS rules already: parentID.class.)
	// The maker, and the processor the milk was shipped to, still may.
	c.captureOK(c.farmK, objectEvent("OBSERVE", "inspecting", c.at(9), []string{}, qty("quantityList", c.milkClass())))
	c.captureOK(c.procK, objectEvent("OBSERVE", "inspecting", c.at(9), []string{}, qty("quantityList", c.milkClass())))
	// Lots of products not registered here pass, as EPCIS allows.
	c.captureOK(c.retBK, objectEvent("OBSERVE", "inspecting", c.at(9), []string{}, qty("quantityList", ownLot)))
}

// TestNeverIssuedSerial (issue 9, item 1): nobody may bring a serial this
// service never issued under a GTIN registered here into the record, and
// the attempt raises an alert for officials and the GTIN's owner.
func TestNeverIssuedSerial(t *testing.T) { eachBackend(t, testNeverIssuedSerial) }

func testNeverIssuedSerial(t *testing.T, backend string) {
	c := newChainEnvOn(t, backend)
	fake := c.item("FAKE0000001")
	for _, key := range []string{c.retAK, c.procK} { // a retailer, and even the GTIN's owner
		_, job := c.capture(key, doc(objectEvent("ADD", "commissioning", c.at(1), []string{fake}, "")))
		errs, _ := job["errors"].([]any)
		if job["success"] != false || len(errs) == 0 || errs[0].(map[string]any)["rule"] != "custody.notIssued" {
			t.Fatalf("commissioning a never-issued serial: %v", job)
		}
	}
	alerts := func(key string) []any {
		return c.must(200, "GET", "/api/v1/alerts?kind=forged_serial", key, nil).JSON()["alerts"].([]any)
	}
	if a := alerts(c.reg); len(a) != 1 || a[0].(map[string]any)["serial"] != "FAKE0000001" {
		t.Fatalf("regulator's forged_serial alerts: %v", a)
	}
	if a := alerts(c.procK); len(a) != 1 {
		t.Fatalf("owner's forged_serial alerts: %v", a)
	}
	if a := alerts(c.retAK); len(a) != 0 {
		t.Fatalf("a retailer sees another's alerts: %v", a)
	}
}

// TestTraceScopedToCaller (issue 9, item 2): a supplier's forward trace
// reaching its customer's product shows that the trace continues, not the
// customer's serials, custodians or quantities; officials see everything.
func TestTraceScopedToCaller(t *testing.T) { eachBackend(t, testTraceScopedToCaller) }

func testTraceScopedToCaller(t *testing.T, backend string) {
	c := newChainEnvOn(t, backend)
	c.run()
	path := "/api/v1/trace/forward?gtin=" + c.milk + "&lot=MILK1"
	official := c.must(200, "GET", path, c.reg, nil)
	for _, s := range c.cheeseSerials {
		if !strings.Contains(string(official.Body), s) {
			t.Fatalf("the regulator's trace lacks serial %s", s)
		}
	}
	if !custodians(official.JSON())[c.dist] {
		t.Fatal("the regulator's trace lacks the distributor")
	}

	farm := c.must(200, "GET", path, c.farmK, nil)
	for _, s := range c.cheeseSerials {
		if strings.Contains(string(farm.Body), s) {
			t.Fatalf("the farm's trace lists the cheese works' serial %s: %s", s, farm.Body)
		}
	}
	g := farm.JSON()
	got := custodians(g)
	if !got[c.farm] || !got[c.proc] || got[c.dist] || got[c.retA] || got[c.retB] {
		t.Fatalf("the farm's trace shows custodians %v, want only the farm and the processor it shipped to", got)
	}
	var opaque map[string]any
	for _, n := range g["nodes"].([]any) {
		if m := n.(map[string]any); m["opaque"] == true {
			opaque = m
		}
	}
	if opaque == nil || opaque["gtin"] != c.cheese || opaque["count"] != float64(len(c.cheeseSerials)) {
		t.Fatalf("the farm's trace should end in one opaque node for the cheese: %v", g["nodes"])
	}
	for _, h := range g["custodians"].([]any) {
		for _, k := range h.(map[string]any)["keys"].([]any) {
			if strings.Contains(k.(string), c.cheese) {
				t.Fatalf("custodian keys show the cheese: %v", h)
			}
		}
	}
	// The cheese works still sees its own goods all the way to the shops.
	own := c.must(200, "GET", "/api/v1/trace/forward?gtin="+c.cheese+"&lot=CH1", c.procK, nil).JSON()
	if got := custodians(own); !got[c.dist] {
		t.Fatalf("the maker's own trace lacks the distributor: %v", got)
	}
}

// TestEventIDSquatting (issue 9, item 3): a capture reusing the eventID
// of another entity's event is refused, not counted as a duplicate; the
// same observation by two entities is stored twice; refusals never hand
// out a derived eventID.
func TestEventIDSquatting(t *testing.T) { eachBackend(t, testEventIDSquatting) }

func testEventIDSquatting(t *testing.T, backend string) {
	c := newChainEnvOn(t, backend)
	c.run()
	const id = "urn:uuid:7d6e1c7e-5b0a-4f4e-9c55-2f3b8f0c1a01"
	withID := func(event string) string { return `{"eventID":"` + id + `",` + event[1:] }
	real := withID(objectEvent("OBSERVE", "inspecting", c.at(9), []string{c.item(c.cheeseSerials[0])}, ""))
	c.captureOK(c.distK, real)
	// Retailer A squats the distributor's eventID with an event of its own.
	_, job := c.capture(c.retAK, doc(withID(objectEvent("OBSERVE", "inspecting", c.at(9), []string{"urn:epc:id:sgtin:0614141.107346.2017"}, ""))))
	errs, _ := job["errors"].([]any)
	if job["success"] != false || job["duplicates"] != 0.0 || len(errs) != 1 || errs[0].(map[string]any)["rule"] != "eventID.taken" {
		t.Fatalf("squatting capture: %v", job)
	}
	// Resending one's own event is still a duplicate.
	if job := c.captureOK(c.distK, real); job["duplicates"] != 1.0 {
		t.Fatalf("own resend: %v", job)
	}
	// The same observation (no eventID, same content) by two entities is
	// two events, each visible to its own capturer.
	same := objectEvent("OBSERVE", "inspecting", c.at(10), []string{}, `"quantityList":[{"epcClass":"urn:epc:class:lgtin:0614141.107346.X1","quantity":2}]`)
	c.captureOK(c.distK, same)
	if job := c.captureOK(c.retAK, same); job["captured"] != 1.0 || job["duplicates"] != 0.0 {
		t.Fatalf("the same observation by another entity: %v", job)
	}
	for _, key := range []string{c.distK, c.retAK} {
		if n := len(c.queryEvents(key, "EQ_bizStep=inspecting&GE_eventTime="+url.QueryEscape(c.at(10)))); n != 1 {
			t.Fatalf("each capturer sees its own observation: %d events", n)
		}
	}
	// A refused event without an eventID is not told one.
	_, job = c.capture(c.retBK, doc(objectEvent("OBSERVE", "shipping", c.at(11), []string{c.item(c.cheeseSerials[1])}, dest(c.party(c.retB)))))
	errs, _ = job["errors"].([]any)
	if len(errs) == 0 || errs[0].(map[string]any)["eventId"] != nil {
		t.Fatalf("a refusal hands out a derived eventID: %v", job)
	}
}

// TestRecallHoldsStick (issue 9, item 4): a recall hold stays through
// shipping and receiving, only the maker lifts it, and selling a recalled
// code is refused with an alert for officials.
func TestRecallHoldsStick(t *testing.T) { eachBackend(t, testRecallHoldsStick) }

func testRecallHoldsStick(t *testing.T, backend string) {
	c := newChainEnvOn(t, backend)
	c.run()
	c.captureOK(c.retAK, objectEvent("OBSERVE", "receiving", c.at(8), []string{"https://id.example.cn/00/" + c.pallet1}, ""))
	item := c.item(c.cheeseSerials[0])
	state := func() string {
		t.Helper()
		for _, cd := range c.must(200, "GET", "/api/v1/products/"+c.cheese+"/batches/CH1/codes?limit=20", c.procK, nil).JSON()["codes"].([]any) {
			if m := cd.(map[string]any); m["serial"] == c.cheeseSerials[0] {
				return m["state"].(string)
			}
		}
		t.Fatal("code not listed")
		return ""
	}
	refused := func(key, event, rule string) {
		t.Helper()
		_, job := c.capture(key, doc(event))
		errs, _ := job["errors"].([]any)
		if job["success"] != false || len(errs) == 0 || errs[0].(map[string]any)["rule"] != rule {
			t.Fatalf("want %s, got %v", rule, job)
		}
	}
	recalled := `"disposition":"recalled","persistentDisposition":{"set":["recalled"]}`
	lift := `"persistentDisposition":{"unset":["recalled"]}`
	// The maker holds its goods as recalled while a retailer has them.
	c.captureOK(c.procK, objectEvent("OBSERVE", "holding", c.at(9), []string{item}, recalled))
	if s := state(); s != "recalled" {
		t.Fatalf("after the hold: %s", s)
	}
	// Shipped on and received, it stays recalled.
	c.captureOK(c.retAK, objectEvent("OBSERVE", "shipping", c.at(10), []string{item}, dest(c.party(c.retB))))
	c.captureOK(c.retBK, objectEvent("OBSERVE", "receiving", c.at(11), []string{item}, ""))
	if s := state(); s != "recalled" {
		t.Fatalf("after shipping and receiving: %s", s)
	}
	// Selling it is refused and raises an alert; the holder cannot lift it.
	refused(c.retBK, objectEvent("OBSERVE", "retail_selling", c.at(12), []string{item}, ""), "custody.recalled")
	refused(c.retBK, objectEvent("OBSERVE", "inspecting", c.at(12), []string{item}, lift), "custody.recallUnset")
	alerts := c.must(200, "GET", "/api/v1/alerts?kind=recalled_sale", c.reg, nil).JSON()["alerts"].([]any)
	if len(alerts) != 1 || alerts[0].(map[string]any)["serial"] != c.cheeseSerials[0] {
		t.Fatalf("recalled_sale alerts: %v", alerts)
	}
	// The maker lifts it; then it may be sold.
	c.captureOK(c.procK, objectEvent("OBSERVE", "inspecting", c.at(13), []string{item}, lift))
	c.captureOK(c.retBK, objectEvent("OBSERVE", "retail_selling", c.at(14), []string{item}, ""))
	if s := state(); s != "sold" {
		t.Fatalf("after lifting and selling: %s", s)
	}
}

// itemAliases are spellings of the cheese item with serial s: each names
// the same item as c.item(s).
func (c *chainEnv) itemAliases(s string) map[string]string {
	urnPrefix := "urn:epc:id:sgtin:" + c.cheese[1:8] + "." + c.cheese[0:1] + c.cheese[8:13] + "."
	return map[string]string{
		"trailing slash": c.item(s) + "/",
		"long names":     "https://id.example.cn/gtin/" + c.cheese + "/ser/" + s,
		"other host":     "https://resolver.example.org/01/" + c.cheese + "/21/" + s,
		"upper case":     "HTTPS://ID.EXAMPLE.CN/01/" + c.cheese + "/21/" + s,
		"with lot":       "https://id.example.cn/01/" + c.cheese + "/10/CH1/21/" + s,
		"GTIN-13":        "https://id.example.cn/01/" + c.cheese[1:] + "/21/" + s,
		"escaped":        "https://id.example.cn/01/" + c.cheese + "/21/" + fmt.Sprintf("%%%02X", s[0]) + s[1:],
		"EPC URN":        urnPrefix + s,
		"EPC URN upper":  strings.ToUpper(urnPrefix) + s,
	}
}

// TestAliasesAreOneKey (issue 9, item 6): whatever spelling of a key an
// event uses, the custody check and the store see the one item, so no
// spelling lets another entity write about it; the resolver and the trace
// answer every spelling alike.
func TestAliasesAreOneKey(t *testing.T) { eachBackend(t, testAliasesAreOneKey) }

func testAliasesAreOneKey(t *testing.T, backend string) {
	c := newChainEnvOn(t, backend)
	c.run()
	s := c.cheeseSerials[0] // on pallet 1, shipped to retailer A
	for name, alias := range c.itemAliases(s) {
		for _, ev := range []string{
			objectEvent("OBSERVE", "shipping", c.at(8), []string{alias}, dest(c.party(c.retB))),
			objectEvent("OBSERVE", "retail_selling", c.at(8), []string{alias}, ""),
			objectEvent("DELETE", "decommissioning", c.at(8), []string{alias}, ""),
		} {
			_, job := c.capture(c.retBK, doc(ev))
			errs, _ := job["errors"].([]any)
			if job["success"] != false || len(errs) == 0 || !strings.HasPrefix(errs[0].(map[string]any)["rule"].(string), "custody.") {
				t.Fatalf("%s: retailer B wrote about retailer A's item: %v", name, job)
			}
		}
		if r := c.get(path(strings.Replace(alias, "resolver.example.org", "id.example.cn", 1)), "application/json", ""); strings.HasPrefix(alias, "https://") &&
			(r.Code != 200 || r.JSON()["serial"] != s || r.JSON()["verdict"] != "genuine") {
			t.Fatalf("%s: resolve %d %s", name, r.Code, r.Body)
		}
		tr := c.must(200, "GET", "/api/v1/trace/backward?epc="+url.QueryEscape(alias), c.reg, nil)
		if !strings.Contains(string(tr.Body), "MILK1") {
			t.Fatalf("%s: the trace from an alias does not reach the milk lot", name)
		}
	}
	// A key segment followed by junk is an error, not an opaque URI that
	// looks like the item.
	_, job := c.capture(c.retBK, doc(objectEvent("OBSERVE", "shipping", c.at(8), []string{c.item(s) + "/x/y"}, "")))
	if job["success"] != false {
		t.Fatalf("an item link with junk after it was stored: %v", job)
	}
	// Nothing the refusals tried reached the record: retailer A still
	// receives the pallet and the item is in its hands.
	c.captureOK(c.retAK, objectEvent("OBSERVE", "receiving", c.at(8), []string{"https://id.example.cn/00/" + c.pallet1}, ""))
	c.captureOK(c.retAK, objectEvent("OBSERVE", "retail_selling", c.at(9), []string{c.itemAliases(s)["EPC URN"]}, ""))
}

// TestEventQueryScopedToCaller (issue 9, item 2, for the event query):
// the farm reads the transformation that consumed its milk, but not the
// cheese works' serials that came out of it; the cheese works, a party
// to a shipment and officials read events whole.
func TestEventQueryScopedToCaller(t *testing.T) { eachBackend(t, testEventQueryScopedToCaller) }

func testEventQueryScopedToCaller(t *testing.T, backend string) {
	c := newChainEnvOn(t, backend)
	c.run()
	transformation := func(key string) map[string]any {
		t.Helper()
		for _, ev := range c.queryEvents(key, "eventType=TransformationEvent&MATCH_epcClass="+url.QueryEscape(c.milkClass())) {
			return ev.(map[string]any)
		}
		t.Fatal("no transformation event")
		return nil
	}
	farm := transformation(c.farmK)
	body, _ := json.Marshal(farm)
	for _, s := range c.cheeseSerials {
		if strings.Contains(string(body), s) {
			t.Fatalf("the farm reads the cheese works' serial %s: %s", s, body)
		}
	}
	if farm["urn:tracesvc:withheld"] != float64(len(c.cheeseSerials)) || len(farm["inputQuantityList"].([]any)) != 1 {
		t.Fatalf("the farm's view of the transformation: %s", body)
	}
	single := c.must(200, "GET", "/epcis/events/"+url.PathEscape(farm["eventID"].(string)), c.farmK, nil)
	if strings.Contains(string(single.Body), c.cheeseSerials[0]) {
		t.Fatal("the single event shows the farm the cheese serials")
	}
	for name, key := range map[string]string{"maker": c.procK, "regulator": c.reg} {
		if got := transformation(key); len(got["outputEPCList"].([]any)) != len(c.cheeseSerials) || got["urn:tracesvc:withheld"] != nil {
			t.Fatalf("%s's view of the transformation: %v", name, got)
		}
	}
	// Retailer A, the destination of pallet 1, reads that shipment whole,
	// pallet included.
	for _, ev := range c.queryEvents(c.retAK, "EQ_bizStep=shipping&MATCH_epc="+url.QueryEscape("https://id.example.cn/00/"+c.pallet1)) {
		if m := ev.(map[string]any); m["urn:tracesvc:withheld"] != nil || len(m["epcList"].([]any)) != 1 {
			t.Fatalf("retailer A's view of its shipment: %v", m)
		}
	}
}
