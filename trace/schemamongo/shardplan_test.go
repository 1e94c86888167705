package schemamongo_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/trace/schemamongo"
)

// planDoc is a small sharding plan in the shape of deploy/SCALING.md,
// with a table outside the plan's sections that the readers must skip.
const planDoc = "# Plan\n\n" +
	"| `codes` | not the plan: an earlier table | x |\n\n" +
	"## Shard keys\n\n" +
	"| collection | shard key | why |\n|---|---|---|\n" +
	"| `codes` | `{_id: 1}` (ranged) | lookups by _id |\n" +
	"| `scans` | `{gtin: 1, serial: 1}` (ranged) | a code's scans |\n" +
	"| `events` | `{_id: \"hashed\"}` | spread |\n" +
	"| `alerts`, `tipoffs` | unsharded | few |\n\n" +
	"## Query routing\n\n" +
	"| collection | function | filter | route | why |\n|---|---|---|---|---|\n" +
	"| `codes` | `Code` | `_id` | targeted | |\n" +
	"| `codes` | `ListCodes` | `gtin`, `lot` | scatter | |\n" +
	"| `scans` | `CountScans` | `gtin`, `serial` | targeted | |\n" +
	"| `scans` | `ByGTIN` | `gtin` | range | |\n\n" +
	"## Capacity\n\n" +
	"| `scans` | `{verdict: 1}` | not the plan either |\n"

func TestShardPlanReadsItsSection(t *testing.T) {
	got := schemamongo.ShardPlan(planDoc)
	want := map[string]schemamongo.ShardKey{
		"codes":   {Fields: []string{"_id"}},
		"scans":   {Fields: []string{"gtin", "serial"}},
		"events":  {Fields: []string{"_id"}, Hashed: true},
		"alerts":  {},
		"tipoffs": {},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ShardPlan = %v, want %v", got, want)
	}
	table := schemamongo.RoutingTable(planDoc)
	if len(table) != 2 || table["codes"]["ListCodes"] != schemamongo.RouteScatter || table["scans"]["ByGTIN"] != schemamongo.RouteRange {
		t.Errorf("RoutingTable = %v", table)
	}
}

func TestRouting(t *testing.T) {
	ranged := schemamongo.ShardKey{Fields: []string{"gtin", "serial"}}
	hashed := schemamongo.ShardKey{Fields: []string{"gtin", "serial"}, Hashed: true}
	for _, tc := range []struct {
		key  schemamongo.ShardKey
		eq   []string
		want schemamongo.Route
	}{
		{ranged, []string{"serial", "gtin", "at"}, schemamongo.RouteTargeted},
		{ranged, []string{"gtin", "verdict"}, schemamongo.RouteRange},
		{ranged, []string{"serial"}, schemamongo.RouteScatter},
		{ranged, nil, schemamongo.RouteScatter},
		{hashed, []string{"gtin"}, schemamongo.RouteScatter},
		{hashed, []string{"gtin", "serial"}, schemamongo.RouteTargeted},
		{schemamongo.ShardKey{Fields: []string{"_id"}}, []string{"_id"}, schemamongo.RouteTargeted},
	} {
		if got := schemamongo.Routing(tc.key, tc.eq); got != tc.want {
			t.Errorf("Routing(%v, %v) = %s, want %s", tc.key, tc.eq, got, tc.want)
		}
	}
}

func index(unique, sparse bool, fields ...string) mongo.IndexModel {
	keys := bson.D{}
	for _, f := range fields {
		keys = append(keys, bson.E{Key: f, Value: 1})
	}
	o := options.Index().SetName(strings.Join(fields, "_")).SetUnique(unique)
	if sparse {
		o.SetSparse(true)
	}
	return mongo.IndexModel{Keys: keys, Options: o}
}

// TestPlanProblems shows each rule failing when broken, and a store that
// keeps them passing.
func TestPlanProblems(t *testing.T) {
	plan := schemamongo.ShardPlan(planDoc)
	good := schemamongo.Indexes{
		"codes":  {index(false, false, "gtin", "lot", "seq")},
		"scans":  {index(false, false, "gtin", "serial", "at")},
		"events": {index(false, false, "recordTime")},
		"alerts": {index(true, false, "kind", "gtin", "serial")},
	}
	if p := schemamongo.PlanProblems(plan, good); len(p) != 0 {
		t.Errorf("a store that keeps the plan: %q", p)
	}
	for name, tc := range map[string]struct {
		plan map[string]schemamongo.ShardKey
		ix   schemamongo.Indexes
		want string
	}{
		"a collection without a row": {plan, schemamongo.Indexes{"recall_keys": nil}, "no row for recall_keys"},
		"a unique index without the key": {plan, schemamongo.Indexes{"scans": {index(false, false, "gtin", "serial"),
			index(true, false, "serial", "gtin")}}, "unique index [serial gtin] does not start with it"},
		"no index for a ranged key": {plan, schemamongo.Indexes{"scans": {index(false, false, "gtin", "verdict")}},
			"no index of it starts with that key"},
		"only a sparse index for a ranged key": {plan, schemamongo.Indexes{"scans": {index(false, true, "gtin", "serial")}},
			"no index of it starts with that key"},
		"a compound hashed key": {map[string]schemamongo.ShardKey{"events": {Fields: []string{"a", "b"}, Hashed: true}},
			schemamongo.Indexes{"events": nil}, "compound hashed shard key"},
	} {
		p := schemamongo.PlanProblems(tc.plan, tc.ix)
		if len(p) != 1 || !strings.Contains(p[0], tc.want) {
			t.Errorf("%s: got %q, want one problem saying %q", name, p, tc.want)
		}
	}
}

// TestRoutingProblems shows a table that matches the queries passing, and
// each kind of drift failing.
func TestRoutingProblems(t *testing.T) {
	ix := schemamongo.Indexes{"codes": nil, "scans": nil, "alerts": nil}
	queries := []schemamongo.Query{
		{Func: "Code", Collection: "codes", Eq: []string{"_id"}},
		{Func: "ListCodes", Collection: "codes", Eq: []string{"gtin", "lot"}},
		{Func: "CountScans", Collection: "scans", Eq: []string{"gtin", "serial"}},
		{Func: "ByGTIN", Collection: "scans", Eq: []string{"gtin"}},
		{Func: "ListAlerts", Collection: "alerts", Eq: []string{"kind"}}, // unsharded: no row needed
	}
	if p := schemamongo.RoutingProblems(planDoc, ix, queries); len(p) != 0 {
		t.Errorf("a table that matches: %q", p)
	}
	for name, tc := range map[string]struct {
		doc     string
		queries []schemamongo.Query
		want    string
	}{
		"a query without a row": {planDoc, append(slices.Clone(queries),
			schemamongo.Query{Func: "Contents", Collection: "codes", Eq: []string{"container"}}), "no row for Contents on codes (scatter)"},
		"a wrong route": {strings.Replace(planDoc, "`gtin`, `lot` | scatter", "`gtin`, `lot` | targeted", 1), queries,
			"says ListCodes on codes is targeted, but by its filter it is scatter"},
		"the widest of a function's queries": {planDoc, append(slices.Clone(queries),
			schemamongo.Query{Func: "Code", Collection: "codes", Eq: []string{"gtin"}}), "Code on codes is targeted, but by its filter it is scatter"},
		"a row of no query": {planDoc, queries[1:], "lists Code on codes, which runs no query there"},
		"a row of an unsharded collection": {planDoc + "\n## Query routing\n\n| `alerts` | `ListAlerts` | `kind` | scatter | |\n",
			queries, "lists queries of alerts, which the plan leaves unsharded"},
	} {
		p := schemamongo.RoutingProblems(tc.doc, ix, tc.queries)
		if len(p) != 1 || !strings.Contains(p[0], tc.want) {
			t.Errorf("%s: got %q, want one problem saying %q", name, p, tc.want)
		}
	}
}
