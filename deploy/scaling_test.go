package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/token"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"tracesvc/cmd/wire"
	"tracesvc/trace/schemamongo"
)

// scalingDoc is the sharding plan and capacity estimate.
const scalingDoc = "SCALING.md"

// storeCollections returns the collections the MongoDB stores use: the
// string constants named col… of every …mongo package's non-test files.
func storeCollections(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{} // collection → package
	for _, file := range goFiles(t, filepath.Join(repo, "*", "*mongo", "*.go")) {
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "col") || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						col, _ := strconv.Unquote(lit.Value)
						out[col] = file.Name.Name
					}
				}
			}
		}
	}
	if len(out) < 20 {
		t.Fatalf("found only %d collections in the MongoDB stores: %v", len(out), out)
	}
	return out
}

// TestShardPlanNamesEveryCollection: the plan has a row for exactly the
// collections the stores use, those without indexes of their own
// (batches, capture jobs) included, which each store's TestShardPlan
// cannot see.
func TestShardPlanNamesEveryCollection(t *testing.T) {
	plan := schemamongo.ShardPlan(string(readFile(t, scalingDoc)))
	cols := storeCollections(t)
	for _, c := range sortedKeys(cols) {
		if _, ok := plan[c]; !ok {
			t.Errorf("%s has no row for %s (used by %s)", scalingDoc, c, cols[c])
		}
	}
	for _, c := range sortedKeys(plan) {
		if _, ok := cols[c]; !ok {
			t.Errorf("%s plans %s, which no MongoDB store uses", scalingDoc, c)
		}
	}
}

// client drives a service over HTTP, as its users do.
type client struct {
	t *testing.T
	h http.Handler
}

func (c client) do(method, path, key string, body any, want int) map[string]any {
	c.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Accept", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	if rec.Code != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, rec.Code, want, rec.Body.Bytes())
	}
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return out
}

// workload is what sampleWorkload wrote, to find its documents again.
type workload struct {
	gtin, shipped1 string
	events         map[string]string // measurement → event ID
}

// sampleWorkload writes through the HTTP API what a province's day is
// made of, in the shapes the README's walk-through uses: a maker and a
// retailer, a product and a batch, 20 item codes and an SSCC, the codes
// commissioned in one event and shipped in two (one item, then ten), a
// consumer's scan with a location and a scan of a never-issued serial,
// and a recall of the lot, opened.
func sampleWorkload(t *testing.T, h http.Handler, reg string) workload {
	t.Helper()
	c := client{t: t, h: h}
	const api = "/api/v1"
	entity := func(body map[string]any) (id, key string) {
		r := c.do("POST", api+"/entities", reg, body, http.StatusCreated)
		return r["entity"].(map[string]any)["id"].(string), r["key"].(string)
	}
	maker, makerKey := entity(map[string]any{"name": "Haihe Dairy Co., Ltd.", "uscc": "91350100M000100Y43",
		"kinds": []string{"farm", "manufacturer"}, "region": "Tianjin", "address": "1 Milk Road, Jinghai",
		"gln": "6901234000009", "companyPrefix": "690123"})
	shop, _ := entity(map[string]any{"name": "Binhai Mart", "uscc": "91120116MA07X2Q5BH",
		"kinds": []string{"retailer"}, "region": "Tianjin", "address": "8 Market Street"})
	w := workload{gtin: "06901230000010", events: map[string]string{}}
	c.do("POST", api+"/products", makerKey, map[string]any{"gtin": "6901230000010", "name": "Whole milk 1 L",
		"brand": "Haihe", "model": "1L-PET", "category": "food", "description": "UHT whole milk"}, http.StatusCreated)
	c.do("POST", api+"/products/"+w.gtin+"/batches", makerKey, map[string]any{"lot": "L2026-1120",
		"productionDate": "2026-11-20", "expiryDate": "2026-12-20", "quantity": 5000, "unit": "EA",
		"origin": map[string]any{"name": "Jinghai farm 3", "region": "Tianjin Jinghai"}}, http.StatusCreated)
	issued := c.do("POST", api+"/products/"+w.gtin+"/batches/L2026-1120/codes", makerKey, map[string]any{"count": 20}, http.StatusCreated)
	var items []string
	for _, cd := range issued["codes"].([]any) {
		items = append(items, cd.(map[string]any)["uri"].(string))
	}
	w.shipped1 = items[0][strings.LastIndex(items[0], "/")+1:]
	if i := strings.Index(w.shipped1, "?"); i >= 0 {
		w.shipped1 = w.shipped1[:i]
	}
	c.do("POST", api+"/sscc", makerKey, map[string]any{"count": 1, "extension": 3}, http.StatusCreated)

	list := func(epcs []string) string { b, _ := json.Marshal(epcs); return string(b) }
	w.events["event-commission-20"] = "urn:uuid:6a8e2f3c-1b1d-4f6e-9a57-0c1f2d3e4a01"
	w.events["event-ship-1"] = "urn:uuid:6a8e2f3c-1b1d-4f6e-9a57-0c1f2d3e4a02"
	w.events["event-ship-10"] = "urn:uuid:6a8e2f3c-1b1d-4f6e-9a57-0c1f2d3e4a03"
	ship := func(id, when string, epcs []string) string {
		return `{"type":"ObjectEvent","eventID":"` + id + `","action":"OBSERVE","bizStep":"shipping","disposition":"in_transit",
			"eventTime":"` + when + `","eventTimeZoneOffset":"+08:00","epcList":` + list(epcs) + `,
			"readPoint":{"id":"https://id.example.cn/414/6901234000009"},
			"sourceList":[{"type":"possessing_party","source":"https://id.example.cn/api/v1/entities/` + maker + `"}],
			"destinationList":[{"type":"possessing_party","destination":"https://id.example.cn/api/v1/entities/` + shop + `"}],
			"bizTransactionList":[{"type":"desadv","bizTransaction":"urn:epcglobal:cbv:bt:6901234000009:D-1120"}]}`
	}
	doc := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
		"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-20T08:00:00+08:00",
		"epcisBody":{"eventList":[
		{"type":"ObjectEvent","eventID":"` + w.events["event-commission-20"] + `","action":"ADD","bizStep":"commissioning",
		 "disposition":"active","eventTime":"2026-11-20T08:00:00+08:00","eventTimeZoneOffset":"+08:00",
		 "epcList":` + list(items) + `,"readPoint":{"id":"https://id.example.cn/414/6901234000009"}},
		` + ship(w.events["event-ship-1"], "2026-11-20T09:00:00+08:00", items[:1]) + `,
		` + ship(w.events["event-ship-10"], "2026-11-20T09:05:00+08:00", items[1:11]) + `]}}`
	// Compact, as a client's serializer writes it: the service keeps each
	// event's JSON as captured.
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(doc)); err != nil {
		t.Fatal(err)
	}
	job := c.do("POST", "/epcis/capture", makerKey, compact.String(), http.StatusAccepted)
	if job != nil && job["success"] == false {
		t.Fatalf("capture: %v", job)
	}

	c.do("GET", "/01/"+w.gtin+"/21/"+w.shipped1+"?lat=39.13&lon=117.20", "", nil, http.StatusOK)
	c.do("GET", "/01/"+w.gtin+"/21/ZZZZ2222ZZZZ", "", nil, http.StatusOK)

	r := c.do("POST", api+"/recalls", reg, map[string]any{"class": "I", "depth": "consumer",
		"hazard": "Listeria monocytogenes found in the raw milk", "reason": "a farm sample tested positive", "remedy": "refund",
		"custodianInstructions": "Stop selling; hold the stock apart and return it to Haihe Dairy.",
		"consumerInstructions":  "Do not drink it. Take it back to the shop for a refund.",
		"scope":                 map[string]any{"lots": []map[string]any{{"gtin": w.gtin, "lot": "L2026-1120"}}}}, http.StatusCreated)
	c.do("POST", api+"/recalls/"+r["id"].(string)+"/open", reg, nil, http.StatusOK)
	return w
}

// measurement is one kind of document whose size the plan states.
type measurement struct {
	name, collection string
	filter           bson.D // nil: every document of the collection, averaged
}

// measured are a document's size and, per index of its collection, the
// entries it makes and their key bytes.
type measured struct {
	bytes   float64
	indexes map[string][2]float64 // index → entries per document, key bytes per entry
}

// keyBytes returns the entries a document makes in an index on fields,
// and their key bytes in all: the BSON bytes of each key value, one
// entry per element of an array field (a multikey index). A sparse index
// leaves out a document that has none of its fields (MongoDB indexes a
// document in a sparse compound index when it has any one of them).
func keyBytes(doc bson.Raw, fields []string, sparse bool) (entries int, total int) {
	base, arrays, present := 0, []bson.RawValue(nil), false
	for _, f := range fields {
		v, err := doc.LookupErr(f)
		if err != nil {
			base++ // a missing field is indexed as null: one type byte
			continue
		}
		present = true
		if arr, ok := v.ArrayOK(); ok {
			vals, _ := arr.Values()
			arrays = vals
			continue
		}
		base += len(v.Value) + 1
	}
	if sparse && !present {
		return 0, 0
	}
	if arrays == nil {
		return 1, base
	}
	for _, v := range arrays {
		total += base + len(v.Value) + 1
	}
	return len(arrays), total
}

// measure reads the documents m names and averages their sizes and index
// entries over the indexes of its collection.
func measure(t *testing.T, db *mongo.Database, m measurement) measured {
	t.Helper()
	ctx := context.Background()
	col := db.Collection(m.collection)
	filter := m.filter
	if filter == nil {
		filter = bson.D{}
	}
	cur, err := col.Find(ctx, filter)
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.Raw
	for cur.Next(ctx) {
		docs = append(docs, slices.Clone(cur.Current))
	}
	if err := cur.Err(); err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatalf("%s: no document of %s matches %v", m.name, m.collection, filter)
	}
	specs, err := col.Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := measured{indexes: map[string][2]float64{}}
	for _, d := range docs {
		out.bytes += float64(len(d)) / float64(len(docs))
	}
	for _, s := range specs {
		var keys bson.D
		if err := bson.Unmarshal(s.KeysDocument, &keys); err != nil {
			t.Fatal(err)
		}
		var fields []string
		for _, k := range keys {
			fields = append(fields, k.Key)
		}
		var entries, total int
		for _, d := range docs {
			e, b := keyBytes(d, fields, s.Sparse != nil && *s.Sparse)
			entries, total = entries+e, total+b
		}
		perEntry := 0.0
		if entries > 0 {
			perEntry = float64(total) / float64(entries)
		}
		out.indexes[s.Name] = [2]float64{float64(entries) / float64(len(docs)), perEntry}
	}
	return out
}

// The headings of the plan's measured tables.
const (
	sizesHeading   = "### Document sizes"
	indexesHeading = "### Index entries"
)

// sectionLines returns the lines of doc under heading, up to the next
// heading of any level.
func sectionLines(doc, heading string) []string {
	var out []string
	in := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "#") {
			in = line == heading
			continue
		}
		if in {
			out = append(out, line)
		}
	}
	return out
}

// sizeRow is a row of the plan's document-size table: "| `name` |
// `collection` | what it is | bytes |".
var sizeRow = regexp.MustCompile("^\\| `([\\w-]+)` \\| `(\\w+)` \\| [^|]+ \\| ([\\d,]+) \\|")

// indexRow is a row of the plan's index-entry table: "| `collection` |
// `index` | entries per document | key bytes per entry |".
var indexRow = regexp.MustCompile("^\\| `(\\w+)` \\| `(\\w+)` \\| ([\\d.]+) \\| ([\\d.]+) \\|")

// near reports whether measured is within 10% of documented.
func near(measured, documented float64) bool {
	return math.Abs(measured-documented) <= 0.1*documented+0.5
}

// TestDocumentSizes runs the sample workload through the HTTP API on a
// MongoDB-wire server (the embedded FerretDB, or MONGODB_URI), reads back
// the documents the service wrote, and holds the capacity estimate's
// measured sizes (documents, and the index entries of the largest
// collections) to them within 10%. With -v it logs the tables as
// measured, to paste into SCALING.md when the documents change.
func TestDocumentSizes(t *testing.T) {
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	db := mongoSrv.Database(t)
	st, err := wire.Mongo(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := wire.Build(st, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	_, reg, _, err := svc.Access.Bootstrap(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	w := sampleWorkload(t, svc.Handler, reg)
	if err := svc.Resolver.Close(ctx); err != nil { // the scans and their alerts are stored
		t.Fatal(err)
	}

	measurements := []measurement{
		{"entity", "entities", bson.D{{Key: "uscc", Value: "91350100M000100Y43"}}},
		{"product", "products", nil},
		{"batch", "batches", nil},
		{"issuance", "issuances", bson.D{{Key: "kind", Value: "sgtin"}}},
		{"code", "codes", bson.D{{Key: "_id", Value: w.gtin + w.shipped1}}},
		{"sscc", "ssccs", nil},
		{"event-ship-1", "events", bson.D{{Key: "_id", Value: w.events["event-ship-1"]}}},
		{"event-ship-10", "events", bson.D{{Key: "_id", Value: w.events["event-ship-10"]}}},
		{"event-commission-20", "events", bson.D{{Key: "_id", Value: w.events["event-commission-20"]}}},
		{"scan", "scans", bson.D{{Key: "lat", Value: bson.D{{Key: "$exists", Value: true}}}}},
		{"alert", "alerts", nil},
		{"recall-key", "recall_keys", nil},
		{"recall-notice", "recall_notices", nil},
		{"recall-delivery", "recall_deliveries", nil},
		{"audit-record", "audit_log", nil},
	}
	// The index entries of the collections the capacity estimate sizes, by
	// the document that stands for each.
	indexed := map[string]string{"codes": "code", "events": "event-ship-1", "scans": "scan", "recall_keys": "recall-key"}

	sizes := map[string]float64{}
	indexes := map[string]map[string][2]float64{}
	var sizeTable, indexTable strings.Builder
	for _, m := range measurements {
		got := measure(t, db, m)
		sizes[m.name] = got.bytes
		fmt.Fprintf(&sizeTable, "| `%s` | `%s` | … | %.0f |\n", m.name, m.collection, got.bytes)
		if indexed[m.collection] == m.name {
			indexes[m.collection] = got.indexes
			for _, ix := range sortedKeys(got.indexes) {
				e := got.indexes[ix]
				fmt.Fprintf(&indexTable, "| `%s` | `%s` | %.1f | %.0f |\n", m.collection, ix, e[0], e[1])
			}
		}
	}
	t.Logf("document sizes as measured:\n%s\nindex entries as measured:\n%s", sizeTable.String(), indexTable.String())

	doc := string(readFile(t, scalingDoc))
	seenSizes, seenIndexes := map[string]bool{}, map[string]bool{}
	for _, line := range sectionLines(doc, sizesHeading) {
		if m := sizeRow.FindStringSubmatch(line); m != nil {
			seenSizes[m[1]] = true
			want, _ := strconv.ParseFloat(strings.ReplaceAll(m[3], ",", ""), 64)
			got, ok := sizes[m[1]]
			switch {
			case !ok:
				t.Errorf("%s states the size of %s, which the test does not measure", scalingDoc, m[1])
			case !near(got, want):
				t.Errorf("%s: %s is %.0f bytes, measured %.0f: refresh the table (go test ./deploy/ -run TestDocumentSizes -v)",
					scalingDoc, m[1], want, got)
			}
		}
	}
	for _, line := range sectionLines(doc, indexesHeading) {
		if m := indexRow.FindStringSubmatch(line); m != nil {
			key := m[1] + "/" + m[2]
			seenIndexes[key] = true
			entries, _ := strconv.ParseFloat(m[3], 64)
			bytes, _ := strconv.ParseFloat(m[4], 64)
			got, ok := indexes[m[1]][m[2]]
			switch {
			case !ok:
				t.Errorf("%s states index %s, which the test does not measure", scalingDoc, key)
			case !near(got[0], entries) || !near(got[1], bytes):
				t.Errorf("%s: index %s has %.1f entries of %.0f bytes, measured %.1f of %.0f: refresh the table",
					scalingDoc, key, entries, bytes, got[0], got[1])
			}
		}
	}
	for _, m := range measurements {
		if !seenSizes[m.name] {
			t.Errorf("%s does not state the size of %s (measured %.0f bytes)", scalingDoc, m.name, sizes[m.name])
		}
	}
	for col, ixs := range indexes {
		for ix := range ixs {
			if !seenIndexes[col+"/"+ix] {
				t.Errorf("%s does not state index %s of %s", scalingDoc, ix, col)
			}
		}
	}
}

// TestMeasureCountsArrays checks keyBytes: one entry per element of an
// array field, and sparse indexes.
func TestMeasureCountsArrays(t *testing.T) {
	raw, err := bson.Marshal(bson.D{{Key: "a", Value: "xy"}, {Key: "tags", Value: bson.A{"p", "qq"}}})
	if err != nil {
		t.Fatal(err)
	}
	// "xy": 4-byte length, 2 bytes, NUL (7) + type byte = 8; "p" 6+1; "qq" 7+1.
	if e, b := keyBytes(raw, []string{"a"}, false); e != 1 || b != 8 {
		t.Errorf("plain field: %d entries, %d bytes", e, b)
	}
	if e, b := keyBytes(raw, []string{"tags", "a"}, false); e != 2 || b != (7+8)+(8+8) {
		t.Errorf("multikey: %d entries, %d bytes", e, b)
	}
	if e, b := keyBytes(raw, []string{"missing"}, false); e != 1 || b != 1 {
		t.Errorf("missing field: %d entries, %d bytes", e, b)
	}
	if e, b := keyBytes(raw, []string{"missing"}, true); e != 0 || b != 0 {
		t.Errorf("missing field, sparse: %d entries, %d bytes", e, b)
	}
	// Sparse and compound: one field present is enough (the container_id
	// index of codes, whose _id every document has).
	if e, b := keyBytes(raw, []string{"missing", "a"}, true); e != 1 || b != 1+8 {
		t.Errorf("sparse compound with one field: %d entries, %d bytes", e, b)
	}
}

// runbookShard is a shardCollection command of OPERATIONS.md's runbook.
var runbookShard = regexp.MustCompile(`sh\.shardCollection\("\w+\.(\w+)", (\{[^}]*\})\)`)

// TestRunbookShardsAsPlanned: the commands OPERATIONS.md gives to shard
// the collections are the plan's, collection for collection and key for
// key, with a hashed index created first for each hashed key.
func TestRunbookShardsAsPlanned(t *testing.T) {
	plan := schemamongo.ShardPlan(string(readFile(t, scalingDoc)))
	runbook := string(readFile(t, "OPERATIONS.md"))
	got := map[string]schemamongo.ShardKey{}
	for _, m := range runbookShard.FindAllStringSubmatch(runbook, -1) {
		// The command's key in the plan's notation, read by the plan's reader.
		got[m[1]] = schemamongo.ShardPlan("## Shard keys\n| `" + m[1] + "` | `" + m[2] + "` | |\n")[m[1]]
	}
	for _, col := range sortedKeys(plan) {
		want := plan[col]
		have, ok := got[col]
		switch {
		case !want.Sharded() && ok:
			t.Errorf("OPERATIONS.md shards %s, which the plan leaves unsharded", col)
		case want.Sharded() && !ok:
			t.Errorf("OPERATIONS.md does not shard %s, which the plan shards by %v", col, want.Fields)
		case ok && (!slices.Equal(have.Fields, want.Fields) || have.Hashed != want.Hashed):
			t.Errorf("OPERATIONS.md shards %s by %+v, the plan by %+v", col, have, want)
		}
		if want.Hashed && !strings.Contains(runbook, "db."+col+`.createIndex({`+want.Fields[0]+`: "hashed"})`) {
			t.Errorf("OPERATIONS.md does not create the hashed index of %s before sharding it", col)
		}
	}
	for col := range got {
		if _, ok := plan[col]; !ok {
			t.Errorf("OPERATIONS.md shards %s, which the plan does not name", col)
		}
	}
}
