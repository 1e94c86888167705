package recallmongo

import (
	"testing"

	"tracesvc/trace/schemamongo"
)

// TestShardPlan: deploy/OPERATIONS.md plans every collection this store
// indexes, and a sharded collection's unique indexes start with its
// shard key.
func TestShardPlan(t *testing.T) {
	problems, err := schemamongo.CheckPlan("../../deploy/OPERATIONS.md", indexes())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
