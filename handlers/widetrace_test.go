package handlers_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// records reads an NDJSON trace stream: its records by type, in order.
func records(t *testing.T, body []byte) (all []map[string]any, byType map[string][]map[string]any) {
	t.Helper()
	byType = map[string][]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", len(all)+1, err, sc.Bytes())
		}
		all = append(all, m)
		typ, _ := m["type"].(string)
		byType[typ] = append(byType[typ], m)
	}
	if len(all) < 2 || all[0]["type"] != "trace" || all[len(all)-1]["type"] != "end" {
		t.Fatalf("a stream begins with its trace record and ends with its end record:\n%s", body)
	}
	return all, byType
}

// edgeSet is a graph's edges as comparable strings.
func edgeSet(edges []map[string]any) []string {
	var out []string
	for _, e := range edges {
		out = append(out, e["from"].(string)+" "+e["kind"].(string)+" "+e["to"].(string)+" "+e["eventId"].(string)+" "+e["eventTime"].(string))
	}
	slices.Sort(out)
	return out
}

// keySet is the keys of a graph's nodes, sorted.
func keySet(nodes []map[string]any) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n["key"].(string))
	}
	slices.Sort(out)
	return out
}

func asMaps(list any) []map[string]any {
	var out []map[string]any
	for _, v := range list.([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// TestWideTraceStream (issue 14, wide traces): a trace streams as NDJSON
// records — the same nodes and edges as the JSON answer, with party nodes
// and real times on every edge — and a lot's codes that no event named are
// counted unless codes=all lists them; the JSON answer cut short says how
// to get the rest; the same keys may stream as may trace.
func TestWideTraceStream(t *testing.T) { eachBackend(t, testWideTraceStream) }

func testWideTraceStream(t *testing.T, backend string) {
	c := newChainEnvOn(t, backend)
	c.run()
	c.captureOK(c.retAK, objectEvent("OBSERVE", "receiving", c.at(8), []string{"https://id.example.cn/00/" + c.pallet1}, ""))
	c.captureOK(c.retBK, objectEvent("OBSERVE", "receiving", c.at(8), []string{"https://id.example.cn/00/" + c.pallet2}, ""))
	// 40 more cheese codes, issued and never moved.
	var spare issued
	json.Unmarshal(c.must(201, "POST", "/api/v1/products/"+c.cheese+"/batches/CH1/codes", c.procK, map[string]any{"count": 40}).Body, &spare)

	milk := "/api/v1/trace/forward?gtin=" + c.milk + "&lot=MILK1"
	whole := c.must(200, "GET", milk, c.reg, nil).JSON()
	stream := c.must(200, "GET", milk+"&format=ndjson", c.reg, nil)
	if ct := stream.Hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-ndjson") {
		t.Fatalf("stream Content-Type %q", ct)
	}
	_, recs := records(t, stream.Body)
	// The stream holds what the JSON answer holds.
	if got, want := keySet(recs["node"]), keySet(asMaps(whole["nodes"])); !slices.Equal(got, want) {
		t.Fatalf("streamed nodes %v\nJSON nodes %v", got, want)
	}
	if got, want := edgeSet(recs["edge"]), edgeSet(asMaps(whole["edges"])); !slices.Equal(got, want) {
		t.Fatalf("streamed edges %v\nJSON edges %v", got, want)
	}
	// Party nodes, with names, for everyone the goods moved to.
	parties := map[string]string{}
	for _, n := range recs["node"] {
		if n["kind"] == "party" {
			parties[n["entityId"].(string)] = n["name"].(string)
		}
	}
	if parties[c.proc] != "Haihe Cheese Works" || parties[c.dist] != "Bohai Logistics" || parties[c.retA] != "Retailer A" || parties[c.retB] != "Retailer B" {
		t.Fatalf("party nodes %v", parties)
	}
	// Every edge has its time: an event's, or for the register the code's issue.
	registerEdges := 0
	for _, e := range recs["edge"] {
		at, err := time.Parse(time.RFC3339, e["eventTime"].(string))
		if err != nil || at.Year() < 2026 {
			t.Fatalf("edge without a real time: %v", e)
		}
		if e["issuance"] != nil {
			registerEdges++
		}
	}
	if registerEdges != 0 {
		t.Fatalf("the milk lot has no codes, yet %d register edges", registerEdges)
	}
	if cust := recs["custodian"]; len(cust) != len(asMaps(whole["custodians"])) || cust[0]["keys"] != nil {
		t.Fatalf("custodian records %v (JSON has %d)", cust, len(asMaps(whole["custodians"])))
	}
	end := recs["end"][0]
	if end["truncated"] != false || end["nodes"] != float64(len(recs["node"])) || end["edges"] != float64(len(recs["edge"])) {
		t.Fatalf("end record %v", end)
	}
	// Accept: application/x-ndjson streams too.
	req := httptest.NewRequest("GET", milk, nil)
	req.Header.Set("Authorization", "Bearer "+c.reg)
	req.Header.Set("Accept", "application/x-ndjson")
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/x-ndjson") {
		t.Fatalf("Accept: application/x-ndjson: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}

	// The cheese lot: 10 moved codes are nodes, 40 unmoved ones a count.
	cheese := "/api/v1/trace/forward?gtin=" + c.cheese + "&lot=CH1"
	items := func(nodes []map[string]any) int {
		n := 0
		for _, m := range nodes {
			if m["kind"] == "item" {
				n++
			}
		}
		return n
	}
	sum := c.must(200, "GET", cheese, c.procK, nil).JSON()
	un := asMaps(sum["unmoved"])
	if items(asMaps(sum["nodes"])) != 10 || len(un) != 1 || un[0]["count"] != 40.0 || un[0]["state"] != "issued" ||
		un[0]["lot"] != "CH1" || un[0]["codesUrl"] != "/api/v1/products/"+c.cheese+"/batches/CH1/codes" {
		t.Fatalf("summary: %d items, unmoved %v", items(asMaps(sum["nodes"])), sum["unmoved"])
	}
	all := c.must(200, "GET", cheese+"&codes=all", c.procK, nil).JSON()
	if items(asMaps(all["nodes"])) != 50 || all["unmoved"] != nil {
		t.Fatalf("codes=all: %d items, unmoved %v", items(asMaps(all["nodes"])), all["unmoved"])
	}
	for _, e := range asMaps(all["edges"]) {
		if e["from"] == "01/"+c.cheese+"/10/CH1" && (e["issuance"] == nil || e["eventTime"] == "0001-01-01T00:00:00Z") {
			t.Fatalf("register edge without its issuance and time: %v", e)
		}
	}
	_, srecs := records(t, c.must(200, "GET", cheese+"&format=ndjson", c.procK, nil).Body)
	if items(srecs["node"]) != 10 || len(srecs["unmoved"]) != 1 || srecs["unmoved"][0]["count"] != 40.0 || srecs["end"][0]["unmoved"] != 40.0 {
		t.Fatalf("streamed summary: %d items, %v", items(srecs["node"]), srecs["unmoved"])
	}
	_, arecs := records(t, c.must(200, "GET", cheese+"&format=ndjson&codes=all", c.procK, nil).Body)
	if items(arecs["node"]) != 50 || len(arecs["unmoved"]) != 0 {
		t.Fatalf("streamed codes=all: %d items", items(arecs["node"]))
	}

	// A JSON answer cut short points to the stream.
	short := c.must(200, "GET", milk+"&maxNodes=3", c.reg, nil).JSON()
	if short["truncated"] != true || !strings.Contains(short["more"].(string), "application/x-ndjson") || len(asMaps(short["nodes"])) != 3 {
		t.Fatalf("cut answer: %v", short)
	}

	// An entity's stream shows what its trace shows: the farm sees one
	// opaque node for the cheese, no serials.
	farm := c.must(200, "GET", milk+"&format=ndjson", c.farmK, nil)
	for _, s := range c.cheeseSerials {
		if strings.Contains(string(farm.Body), s) {
			t.Fatalf("the farm's stream shows serial %s", s)
		}
	}
	_, frecs := records(t, farm.Body)
	if got, want := keySet(frecs["node"]), keySet(asMaps(c.must(200, "GET", milk, c.farmK, nil).JSON()["nodes"])); !slices.Equal(got, want) {
		t.Fatalf("farm: streamed %v, JSON %v", got, want)
	}

	runCases(t, c.env, map[string]authCase{
		"stream no key":        {"GET", milk + "&format=ndjson", "", nil, 401, "unauthorized"},
		"stream wrong key":     {"GET", milk + "&format=ndjson", bogusKey, nil, 401, "unauthorized"},
		"stream other entity":  {"GET", milk + "&format=ndjson", c.retAK, nil, 403, "forbidden"},
		"codes=all other":      {"GET", cheese + "&codes=all", c.farmK, nil, 403, "forbidden"},
		"stream codes=all no":  {"GET", cheese + "&codes=all&format=ndjson", "", nil, 401, "unauthorized"},
		"stream codes=all oth": {"GET", cheese + "&codes=all&format=ndjson", c.distK, nil, 403, "forbidden"},
		"bad codes":            {"GET", milk + "&codes=some", c.reg, nil, 400, "invalid"},
		"bad format":           {"GET", milk + "&format=xml", c.reg, nil, 400, "invalid"},
		"stream maxNodes":      {"GET", milk + "&format=ndjson&maxNodes=2000000", c.reg, nil, 400, "invalid"},
		"stream depth":         {"GET", milk + "&format=ndjson&depth=51", c.reg, nil, 400, "invalid"},
		"backward stream key":  {"GET", "/api/v1/trace/backward?format=ndjson&epc=" + url.QueryEscape(c.item(c.cheeseSerials[0])), c.retBK, nil, 403, "forbidden"},
	})
	if r := c.do("GET", milk+"&codes=some", c.reg, nil); r.errField() != "codes" {
		t.Fatalf("bad codes names field %q", r.errField())
	}

	// Backward from one item: the lot by the register (with its issue),
	// the farm's lot by the transformation, and the parties.
	_, brecs := records(t, c.must(200, "GET", "/api/v1/trace/backward?format=ndjson&epc="+url.QueryEscape(c.item(c.cheeseSerials[7])), c.reg, nil).Body)
	keys := keySet(brecs["node"])
	for _, want := range []string{"01/" + c.cheese + "/10/CH1", "01/" + c.milk + "/10/MILK1", "entity:" + c.dist} {
		if !slices.Contains(keys, want) {
			t.Fatalf("backward stream lacks %s: %v", want, keys)
		}
	}

	// The FSMA export of the cheese lot reads its 10 moved codes, not the 40 others.
	csv := c.must(200, "GET", "/api/v1/trace/lots/"+c.cheese+"/CH1/fsma204.csv", c.procK, nil)
	lines := strings.Split(strings.TrimSpace(string(csv.Body)), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[1], "Transformation,") || !strings.Contains(lines[1], ",10,EA,") ||
		!strings.HasPrefix(lines[2], "Shipping,") || !strings.HasPrefix(lines[3], "Receiving,") ||
		!strings.HasPrefix(lines[4], "Initial packing,") || !strings.Contains(lines[4], ",5,EA,") ||
		!strings.Contains(csv.Hdr.Get("Content-Disposition"), "fsma204-"+c.cheese+"-CH1.csv") {
		t.Fatalf("fsma rows of the cheese lot:\n%s", csv.Body)
	}
}
