package standardsmongo

import (
	"testing"

	"tracesvc/trace/schemamongo"
)

// TestShardPlan: deploy/SCALING.md plans every collection this store
// indexes (declarations and spot checks, which New adds, included), and a
// sharded collection's unique indexes start with its shard key.
func TestShardPlan(t *testing.T) {
	ix := indexes()
	ix.Add(declarationIndexes())
	ix.Add(spotCheckIndexes())
	problems, err := schemamongo.CheckPlan("../../deploy/SCALING.md", ix)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
