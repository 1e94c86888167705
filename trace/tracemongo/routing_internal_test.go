package tracemongo

import (
	"os"
	"testing"

	"tracesvc/trace/schemamongo"
)

// TestQueryRouting (issue 15, item 4) holds the query-routing table of
// deploy/SCALING.md to the store's queries: for every collection the
// plan shards, each function that queries it is listed with the route
// its filter gets (targeted, range or scatter), from the shapes of
// TestIndexesServeEveryQuery. A lookup or list by _id alone is by value
// ($in), which the router targets.
func TestQueryRouting(t *testing.T) {
	doc, err := os.ReadFile("../../deploy/SCALING.md")
	if err != nil {
		t.Fatal(err)
	}
	var queries []schemamongo.Query
	for fn, shapes := range queryShapes {
		for _, s := range shapes {
			eq := s.eq
			if len(eq) == 0 && s.rng == "_id" {
				eq = []string{"_id"}
			}
			queries = append(queries, schemamongo.Query{Func: fn, Collection: s.col, Eq: eq})
		}
	}
	for _, p := range schemamongo.RoutingProblems(string(doc), indexes(), queries) {
		t.Error(p)
	}
}
