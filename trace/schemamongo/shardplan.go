package schemamongo

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The sections of the sharding plan (deploy/SCALING.md) that the checks
// read: a table row outside its section is prose to them.
const (
	planSection    = "## Shard keys"
	routingSection = "## Query routing"
)

var (
	planRow    = regexp.MustCompile("^\\| (`[^|]+`) \\| ([^|]+) \\|")
	planField  = regexp.MustCompile(`(\w+): (1|"hashed")`)
	planCol    = regexp.MustCompile("`(\\w+)`")
	routingRow = regexp.MustCompile("^\\| `(\\w+)` \\| `(\\w+)` \\| [^|]* \\| (\\w+) \\|")
)

// ShardKey is a collection's planned shard key: its fields in order, and
// whether it is hashed. The zero ShardKey is an unsharded collection.
type ShardKey struct {
	Fields []string
	Hashed bool
}

// Sharded reports whether the plan shards the collection.
func (k ShardKey) Sharded() bool { return len(k.Fields) > 0 }

// section returns the lines of doc under the heading that starts with
// heading, up to the next heading of the same level.
func section(doc, heading string) []string {
	var out []string
	in := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "## ") {
			in = strings.HasPrefix(line, heading)
			continue
		}
		if in {
			out = append(out, line)
		}
	}
	return out
}

// ShardPlan reads the shard-key table of the sharding plan: the section
// "## Shard keys" of deploy/SCALING.md, with rows such as "| `codes` |
// `{_id: 1}` (ranged) | why |" or "| `tipoffs`, `issuances` | unsharded |
// why |". It returns each collection's shard key, the zero [ShardKey] for
// an unsharded one.
func ShardPlan(doc string) map[string]ShardKey {
	plan := map[string]ShardKey{}
	for _, line := range section(doc, planSection) {
		m := planRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var key ShardKey
		for _, f := range planField.FindAllStringSubmatch(m[2], -1) {
			key.Fields = append(key.Fields, f[1])
			key.Hashed = key.Hashed || f[2] == `"hashed"`
		}
		for _, col := range planCol.FindAllStringSubmatch(m[1], -1) {
			plan[col[1]] = key
		}
	}
	return plan
}

// keysOf returns an index's fields in order.
func keysOf(m bson.D) []string {
	fields := make([]string, len(m))
	for i, e := range m {
		fields[i] = e.Key
	}
	return fields
}

// startsWith reports whether fields begins with prefix.
func startsWith(fields, prefix []string) bool {
	return len(fields) >= len(prefix) && slices.Equal(fields[:len(prefix)], prefix)
}

// PlanProblems holds a store's indexes to plan: every collection is in
// it; every unique index of a sharded collection starts with the shard
// key, so that MongoDB can enforce it across shards; a ranged shard key
// is the start of an index the store creates that is not sparse (or is
// _id), which sharding needs; and a hashed key has one field, whose hashed index
// shardCollection builds on an empty collection (the stores create no
// hashed index: FerretDB has none). It returns one line per problem.
func PlanProblems(plan map[string]ShardKey, ix Indexes) []string {
	var out []string
	for _, col := range slices.Sorted(maps.Keys(ix)) {
		key, ok := plan[col]
		if !ok {
			out = append(out, fmt.Sprintf("the shard plan has no row for %s", col))
			continue
		}
		if !key.Sharded() {
			continue
		}
		supported := key.Hashed || slices.Equal(key.Fields, []string{"_id"})
		for _, m := range ix[col] {
			fields := keysOf(m.Keys.(bson.D))
			var o options.IndexOptions
			if m.Options != nil {
				for _, set := range m.Options.List() {
					_ = set(&o)
				}
			}
			// A sparse index leaves documents out: it cannot back a shard key.
			supported = supported || (startsWith(fields, key.Fields) && (o.Sparse == nil || !*o.Sparse))
			if o.Unique != nil && *o.Unique && !startsWith(fields, key.Fields) {
				out = append(out, fmt.Sprintf("%s is sharded by %v, but its unique index %v does not start with it", col, key.Fields, fields))
			}
		}
		if !supported {
			out = append(out, fmt.Sprintf("%s is sharded by %v, but no index of it starts with that key", col, key.Fields))
		}
		if key.Hashed && len(key.Fields) != 1 {
			out = append(out, fmt.Sprintf("%s has a compound hashed shard key %v; the plan uses single-field hashed keys only", col, key.Fields))
		}
	}
	return out
}

// CheckPlan reads the sharding plan at path and holds ix to it (see
// [PlanProblems]); each store's tests call it.
func CheckPlan(path string, ix Indexes) ([]string, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return PlanProblems(ShardPlan(string(doc)), ix), nil
}

// Route is how a sharded cluster's router sends a query on a sharded
// collection.
type Route string

// The routes, from narrowest to widest.
const (
	// RouteTargeted: the filter holds every field of the shard key by
	// equality (or $in): the query goes to the shard owning each value.
	RouteTargeted Route = "targeted"
	// RouteRange: the filter holds the leading fields of a ranged shard
	// key by equality: the query goes to the shards owning that range.
	RouteRange Route = "range"
	// RouteScatter: the filter does not narrow the shard key: every
	// shard answers and the router merges.
	RouteScatter Route = "scatter"
)

// Routing tells how a query whose filter matches the fields eq by
// equality (or $in) is routed on a collection sharded by key. A hashed
// key spreads even its prefixes over every shard.
func Routing(key ShardKey, eq []string) Route {
	n := 0
	for n < len(key.Fields) && slices.Contains(eq, key.Fields[n]) {
		n++
	}
	switch {
	case n == len(key.Fields):
		return RouteTargeted
	case n > 0 && !key.Hashed:
		return RouteRange
	}
	return RouteScatter
}

// Query is one query of a store, for [RoutingProblems]: the function that
// runs it, its collection and the fields its filter matches by equality
// (or $in); a lookup or list by _id names "_id".
type Query struct {
	Func       string
	Collection string
	Eq         []string
}

// RoutingTable reads the query-routing table of the sharding plan: the
// section "## Query routing" of deploy/SCALING.md, with rows such as "|
// `codes` | `Code` | `_id` | targeted | why |". It returns the route of
// each collection's queries, by function.
func RoutingTable(doc string) map[string]map[string]Route {
	out := map[string]map[string]Route{}
	for _, line := range section(doc, routingSection) {
		m := routingRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if out[m[1]] == nil {
			out[m[1]] = map[string]Route{}
		}
		out[m[1]][m[2]] = Route(m[3])
	}
	return out
}

// wider returns the wider of two routes.
func wider(a, b Route) Route {
	rank := map[Route]int{RouteTargeted: 1, RouteRange: 2, RouteScatter: 3}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// RoutingProblems holds the query-routing table of doc to a store's
// queries: for every collection of ix that the plan in doc shards, the
// table lists each function that queries it, with the widest route of its
// queries there, and nothing else. It returns one line per problem.
func RoutingProblems(doc string, ix Indexes, queries []Query) []string {
	plan, table := ShardPlan(doc), RoutingTable(doc)
	var out []string
	for _, col := range slices.Sorted(maps.Keys(ix)) {
		key := plan[col]
		if !key.Sharded() {
			if len(table[col]) > 0 {
				out = append(out, fmt.Sprintf("the routing table lists queries of %s, which the plan leaves unsharded", col))
			}
			continue
		}
		want := map[string]Route{}
		for _, q := range queries {
			if q.Collection == col {
				want[q.Func] = wider(want[q.Func], Routing(key, q.Eq))
			}
		}
		for _, fn := range slices.Sorted(maps.Keys(want)) {
			got, ok := table[col][fn]
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("the routing table has no row for %s on %s (%s)", fn, col, want[fn]))
			case got != want[fn]:
				out = append(out, fmt.Sprintf("the routing table says %s on %s is %s, but by its filter it is %s", fn, col, got, want[fn]))
			}
		}
		for _, fn := range slices.Sorted(maps.Keys(table[col])) {
			if _, ok := want[fn]; !ok {
				out = append(out, fmt.Sprintf("the routing table lists %s on %s, which runs no query there", fn, col))
			}
		}
	}
	return out
}
