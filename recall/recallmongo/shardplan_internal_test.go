package recallmongo

import (
	"os"
	"testing"

	"tracesvc/trace/schemamongo"
)

// TestShardPlan: deploy/SCALING.md plans every collection this store
// indexes, and a sharded collection's unique indexes start with its
// shard key.
func TestShardPlan(t *testing.T) {
	problems, err := schemamongo.CheckPlan("../../deploy/SCALING.md", indexes())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestQueryRouting holds the query-routing table of deploy/SCALING.md to
// this store's queries of the collections the plan shards (recall_keys
// only): the filters are listed here by hand, from campaigns.go, as this
// store has no table of query shapes (trace/tracemongo's
// TestQueryRouting reads its own).
func TestQueryRouting(t *testing.T) {
	doc, err := os.ReadFile("../../deploy/SCALING.md")
	if err != nil {
		t.Fatal(err)
	}
	queries := []schemamongo.Query{
		{Func: "CampaignsByKeys", Collection: colKeys, Eq: []string{"key"}}, // key $in, a scan's code, lot and product
	}
	for _, p := range schemamongo.RoutingProblems(string(doc), indexes(), queries) {
		t.Error(p)
	}
}
