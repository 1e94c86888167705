package tracemongo

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"tracesvc/trace/schemamongo"
)

// queryMethods are the driver and helper calls that read or write by a
// filter, and so need an index.
var queryMethods = map[string]bool{"Find": true, "FindOne": true, "CountDocuments": true, "Aggregate": true,
	"UpdateOne": true, "UpdateMany": true, "FindOneAndUpdate": true, "DeleteOne": true, "DeleteMany": true,
	"ReplaceOne": true, "Distinct": true, "BulkWrite": true, "FindAll": true, "find": true, "findOne": true}

// queryingFuncs lists the functions of the package's non-test files that
// call a query method, or a function of the package that does.
func queryingFuncs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	calls := map[string][]string{} // function → names it calls
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				fun := call.Fun
				if ix, ok := fun.(*ast.IndexExpr); ok {
					fun = ix.X
				}
				switch f := fun.(type) {
				case *ast.SelectorExpr:
					calls[fn.Name.Name] = append(calls[fn.Name.Name], f.Sel.Name)
				case *ast.Ident:
					calls[fn.Name.Name] = append(calls[fn.Name.Name], f.Name)
				}
				return true
			})
		}
	}
	querying := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for fn, names := range calls {
			if querying[fn] {
				continue
			}
			if slices.ContainsFunc(names, func(n string) bool { return queryMethods[n] || querying[n] }) {
				querying[fn], changed = true, true
			}
		}
	}
	var out []string
	for fn := range querying {
		out = append(out, fn)
	}
	sort.Strings(out)
	return out
}

// shape is one query shape: the fields it matches by equality (or $in),
// the order it sorts in ("-" for descending), the field it bounds by a
// range, and the fields it filters after the index (residual), which
// need no index of their own.
type shape struct {
	col      string
	eq       []string
	sort     []string
	rng      string
	residual []string
}

// byID is a query by _id (a lookup, an $in or a range): the _id index.
func byID(col string) shape { return shape{col: col, rng: "_id"} }

// queryShapes lists every query of the store, by the function that runs
// it. Helpers that take their filter from their callers are listed with
// no shapes; their callers carry them.
var queryShapes = map[string][]shape{
	"ApplyCapture":       {byID(colIntents), {col: colIntents, eq: []string{"intent"}}},
	"readChanges":        {byID(colCodes), byID(colSSCCs)},
	"applyChanges":       {byID(colCodes), byID(colSSCCs)},
	"rollback":           {byID(colCodes), byID(colSSCCs), byID(colEvents), {col: colIntents, eq: []string{"intent"}}},
	"RecoverCaptures":    {{col: colIntents, rng: "createdAt"}, {col: colIntents, eq: []string{"writer"}}, {col: colIntents, eq: []string{"intent"}}},
	"Batch":              {byID(colBatches)},
	"CaptureJob":         {byID(colCaptureJobs)},
	"SaveCaptureJob":     {byID(colCaptureJobs)},
	"ClaimIssuance":      {byID(colIssuances)},
	"holderUpdate":       {byID(colIssuances)},
	"Code":               {byID(colCodes)},
	"SSCC":               {byID(colSSCCs)},
	"CountIssued":        {{col: colCodes, eq: []string{"gtin", "lot"}, rng: "seq", sort: []string{"-seq"}}, {col: colSSCCs, eq: []string{"ownerId"}, rng: "seq", sort: []string{"-seq"}}},
	"ListCodes":          {{col: colCodes, eq: []string{"gtin", "lot"}, sort: []string{"seq"}, rng: "seq", residual: []string{"version"}}},
	"CountCodes":         {{col: colCodes, eq: []string{"gtin", "lot"}, residual: []string{"version"}}},
	"ListSSCCs":          {{col: colSSCCs, eq: []string{"ownerId"}, sort: []string{"seq"}, rng: "seq"}},
	"InterruptIssuances": {{col: colIssuances, eq: []string{"state"}, residual: []string{"leaseUntil", "leaseInstance"}}},
	"findIssuance":       nil,
	"Issuance":           {byID(colIssuances)},
	"IssuanceByKey":      {{col: colIssuances, eq: []string{"ownerId", "idemKey"}}},
	"UpdateIssuance":     {byID(colIssuances)},
	"RenewLease":         {byID(colIssuances)},
	"CountScans":         {{col: colScans, eq: []string{"gtin", "serial"}}},
	"CountScansOf":       {{col: colScans, eq: []string{"gtin", "serial"}}},
	"CountRecalledScans": {{col: colScans, eq: []string{"gtin", "verdict"}, rng: "at", residual: []string{"serial"}}},
	"LocatedBefore":      {{col: colScans, eq: []string{"gtin", "serial"}, sort: []string{"-at", "-_id"}, residual: []string{"lat", "_id"}}},
	"HasAlert":           {{col: colAlerts, eq: []string{"kind", "gtin", "serial"}}},
	"InsertAlert":        {byID(colAlerts)},
	"ListAlerts": {{col: colAlerts, sort: []string{"_id"}, rng: "_id"}, {col: colAlerts, eq: []string{"ownerId"}, sort: []string{"_id"}, rng: "_id"},
		{col: colAlerts, eq: []string{"kind"}, sort: []string{"_id"}, rng: "_id"},
		{col: colAlerts, eq: []string{"ownerId"}, sort: []string{"_id"}, rng: "_id", residual: []string{"kind"}}},
	"dedupeAlerts": {{col: colAlerts, sort: []string{"_id"}}, byID(colAlerts)},
	"CreateEntity": {{col: colEntities, eq: []string{"uscc"}}},
	"Entity":       {byID(colEntities)},
	"UpdateEntity": {byID(colEntities), {col: colEntities, eq: []string{"glnKey"}}},
	"ListEntities": {{col: colEntities, sort: []string{"_id"}, rng: "_id", residual: []string{"name"}},
		{col: colEntities, eq: []string{"kinds"}, sort: []string{"_id"}, rng: "_id"},
		{col: colEntities, eq: []string{"region"}, sort: []string{"_id"}, rng: "_id"},
		{col: colEntities, eq: []string{"uscc"}, residual: []string{"_id"}},
		{col: colEntities, eq: []string{"glnKey"}, residual: []string{"_id"}},
		{col: colEntities, eq: []string{"companyPrefix"}, residual: []string{"_id"}}},
	"Product":       {byID(colProducts)},
	"UpdateProduct": {byID(colProducts)},
	"ListProducts": {{col: colProducts, sort: []string{"_id"}, rng: "_id"},
		{col: colProducts, eq: []string{"ownerId"}, sort: []string{"_id"}, rng: "_id", residual: []string{"category"}},
		{col: colProducts, eq: []string{"category"}, sort: []string{"_id"}, rng: "_id"}},
	"ListBatches": {{col: colBatches, sort: []string{"_id"}, rng: "_id"}},
	"findKey":     nil,
	"Key":         {byID(colKeys)},
	"KeyByHash":   {{col: colKeys, eq: []string{"hash"}}},
	"DeleteKey":   {byID(colKeys)},
	"RevokeKey":   {byID(colKeys)},
	"ListKeys": {{col: colKeys, sort: []string{"_id"}, rng: "_id"}, {col: colKeys, eq: []string{"role"}, sort: []string{"_id"}, rng: "_id"},
		{col: colKeys, eq: []string{"entityId"}, sort: []string{"_id"}, rng: "_id", residual: []string{"role"}}},
	"LastRecord":     {{col: colAudit, sort: []string{"-_id"}}},
	"ListRecords":    {{col: colAudit, sort: []string{"_id"}, rng: "_id"}},
	"StoredEventIDs": {byID(colEvents)},
	"codeCustody":    nil,
	"ssccCustody":    nil,
	"Custody":        {{col: colCodes, sort: []string{"_id"}, rng: "_id"}, {col: colSSCCs, sort: []string{"_id"}, rng: "_id"}, byID(colBatches)},
	"Contents": {{col: colCodes, eq: []string{"container"}, sort: []string{"_id"}}, {col: colSSCCs, eq: []string{"container"}, sort: []string{"_id"}},
		byID(colBatches)},
	"eventsByKeys": {{col: colEvents, eq: []string{"roleKeys"}}},
	"EventsByKeys": nil, // eventsByKeys
	"EventHeaders": nil, // eventsByKeys
	"WalkEvents":   {{col: colEvents, eq: []string{"roleKeys"}}},
	"Possessors":   {byID(colCodes), byID(colSSCCs)},
	"EventRaws":    {byID(colEvents)},
	"New":          nil, // set-up: dedupeAlerts
	"QueryEvents":  eventQueryShapes(),
	"findOne":      nil,
	"findBy":       nil,
	"find":         nil,
}

// eventQueryShapes are the shapes of QueryEvents: each indexed filter
// (or none), an entity's visibility, in each order, with the cursor as a
// range on the order's time. The other filters (type, action,
// disposition, readPoint, eventID, the time spans of the other order)
// are residual.
func eventQueryShapes() []shape {
	residual := []string{"type", "action", "disposition", "readPoint", "_id"}
	var out []shape
	for _, order := range []string{"recordTime", "eventTime"} {
		other := map[string]string{"recordTime": "eventTime", "eventTime": "recordTime"}[order]
		for _, eq := range [][]string{nil, {"roleKeys"}, {"visible"}, {"bizStep"}, {"bizLocation"}} {
			out = append(out, shape{col: colEvents, eq: eq, sort: []string{order, "_id"}, rng: order,
				residual: append(slices.Clone(residual), other, "visible", "roleKeys")})
		}
	}
	return out
}

// served reports whether index keys (field and direction, in order)
// serve s: its equality fields (those it names; the rest must be
// residual) first, then its sort fields in order (all directions as
// given or all reversed), then its range field.
func served(keys [][2]any, s shape) bool {
	i := 0
	matched := 0
	for i < len(keys) && slices.Contains(s.eq, keys[i][0].(string)) {
		i, matched = i+1, matched+1
	}
	if len(s.eq) > 0 && matched == 0 {
		return false
	}
	for _, f := range s.eq {
		inIndex := slices.ContainsFunc(keys[:i], func(k [2]any) bool { return k[0] == f })
		if !inIndex && !slices.Contains(s.residual, f) {
			return false
		}
	}
	dir := 0
	for _, sf := range s.sort {
		want := 1
		if strings.HasPrefix(sf, "-") {
			sf, want = sf[1:], -1
		}
		if i >= len(keys) || keys[i][0] != sf {
			return false
		}
		got := toInt(keys[i][1]) * want
		if dir == 0 {
			dir = got
		} else if got != dir {
			return false
		}
		i++
	}
	if s.rng != "" && len(s.sort) == 0 && !(i < len(keys) && keys[i][0] == s.rng) {
		return false
	}
	return true
}

func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int32:
		return int(n)
	case int64:
		return int(n)
	}
	return 1
}

// TestIndexesServeEveryQuery is issue 10 item 4's table: every function of
// the store that queries is listed with its shapes, and each shape is
// served by an index in equality-sort-range order. A new query without a
// row here, or without an index, fails.
func TestIndexesServeEveryQuery(t *testing.T) {
	idx := indexes()
	keysOf := func(col string) [][][2]any {
		out := [][][2]any{{{"_id", 1}}} // every collection has the _id index
		for _, m := range idx[col] {
			var keys [][2]any
			for _, e := range m.Keys.(bson.D) {
				keys = append(keys, [2]any{e.Key, e.Value})
			}
			out = append(out, keys)
		}
		return out
	}
	for _, fn := range queryingFuncs(t) {
		shapes, ok := queryShapes[fn]
		if !ok {
			t.Errorf("%s queries the store but has no row in queryShapes", fn)
			continue
		}
		for _, s := range shapes {
			if !slices.ContainsFunc(keysOf(s.col), func(k [][2]any) bool { return served(k, s) }) {
				t.Errorf("%s: no index of %s serves %+v", fn, s.col, s)
			}
		}
	}
	for fn := range queryShapes {
		if !slices.Contains(queryingFuncs(t), fn) {
			t.Errorf("queryShapes lists %s, which runs no query", fn)
		}
	}
}

// TestServed checks the index rule itself.
func TestServed(t *testing.T) {
	k := func(fields ...any) [][2]any {
		var out [][2]any
		for i := 0; i < len(fields); i += 2 {
			out = append(out, [2]any{fields[i], fields[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		keys [][2]any
		s    shape
		want bool
	}{
		{k("gtin", 1, "serial", 1, "at", -1, "_id", -1), shape{eq: []string{"gtin", "serial"}, sort: []string{"-at", "-_id"}}, true},
		{k("gtin", 1, "serial", 1, "at", -1), shape{eq: []string{"gtin", "serial"}, sort: []string{"-at", "-_id"}}, false},
		{k("visible", 1, "recordTime", 1, "_id", 1), shape{eq: []string{"visible"}, sort: []string{"eventTime", "_id"}}, false},
		{k("eventTime", 1, "_id", 1), shape{eq: []string{"bizStep"}, sort: []string{"eventTime", "_id"}}, false},
		{k("eventTime", 1, "_id", 1), shape{eq: []string{"bizStep"}, sort: []string{"eventTime", "_id"}, residual: []string{"bizStep"}}, false},
		{k("container", 1), shape{eq: []string{"container"}, sort: []string{"_id"}}, false},
		{k("_id", 1), shape{sort: []string{"-_id"}}, true},
	} {
		if got := served(tc.keys, tc.s); got != tc.want {
			t.Errorf("served(%v, %+v) = %v", tc.keys, tc.s, got)
		}
	}
}

// TestShardPlan (issue 10, item 9) reads the shard-key table in
// deploy/SCALING.md: it names every collection the store indexes, and
// every unique index of a sharded collection starts with the shard key,
// so that MongoDB can enforce it across shards.
func TestShardPlan(t *testing.T) {
	problems, err := schemamongo.CheckPlan("../../deploy/SCALING.md", indexes())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
