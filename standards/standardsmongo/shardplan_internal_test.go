package standardsmongo

import (
	"os"
	"testing"

	"tracesvc/trace/schemamongo"
)

// TestShardPlan: deploy/OPERATIONS.md plans every collection this store
// indexes, and a sharded collection's unique indexes start with its
// shard key.
func TestShardPlan(t *testing.T) {
	doc, err := os.ReadFile("../../deploy/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range schemamongo.PlanProblems(schemamongo.ShardPlan(string(doc)), indexes()) {
		t.Error(p)
	}
}
