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

var (
	planRow   = regexp.MustCompile("^\\| (`[^|]+`) \\| ([^|]+) \\|")
	planField = regexp.MustCompile(`(\w+): (?:1|"hashed")`)
	planCol   = regexp.MustCompile("`(\\w+)`")
)

// ShardPlan reads the shard-key table of deploy/OPERATIONS.md: rows such
// as "| `codes` | `{gtin: 1, serial: 1}` (ranged) | why |" or "|
// `tipoffs`, `issuances` | unsharded | why |". It returns each
// collection's shard-key fields, nil for an unsharded one.
func ShardPlan(doc string) map[string][]string {
	plan := map[string][]string{}
	for _, line := range strings.Split(doc, "\n") {
		m := planRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var key []string
		for _, f := range planField.FindAllStringSubmatch(m[2], -1) {
			key = append(key, f[1])
		}
		for _, col := range planCol.FindAllStringSubmatch(m[1], -1) {
			plan[col[1]] = key
		}
	}
	return plan
}

// PlanProblems holds a store's indexes to plan: every collection is in
// it, and every unique index of a sharded collection starts with the
// shard key, so that MongoDB can enforce it across shards. It returns one
// line per problem.
func PlanProblems(plan map[string][]string, ix Indexes) []string {
	var out []string
	for _, col := range slices.Sorted(maps.Keys(ix)) {
		key, ok := plan[col]
		if !ok {
			out = append(out, fmt.Sprintf("deploy/OPERATIONS.md has no shard plan for %s", col))
			continue
		}
		for _, m := range ix[col] {
			var o options.IndexOptions
			if m.Options != nil {
				for _, set := range m.Options.List() {
					_ = set(&o)
				}
			}
			if o.Unique == nil || !*o.Unique || key == nil {
				continue
			}
			var fields []string
			for _, e := range m.Keys.(bson.D) {
				fields = append(fields, e.Key)
			}
			if len(fields) < len(key) || !slices.Equal(fields[:len(key)], key) {
				out = append(out, fmt.Sprintf("%s is sharded by %v, but its unique index %v does not start with it", col, key, fields))
			}
		}
	}
	return out
}

// CheckPlan reads the operations guide at path and holds ix to its shard
// plan (see [PlanProblems]); each store's tests call it.
func CheckPlan(path string, ix Indexes) ([]string, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return PlanProblems(ShardPlan(string(doc)), ix), nil
}
