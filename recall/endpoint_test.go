package recall_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"tracesvc/recall"
	"tracesvc/recall/recallsql"
	"tracesvc/recall/webhook"
	"tracesvc/trace"
	"tracesvc/trace/sqlitedb"
)

// TestRotationGraceEnds: the replaced secret signs until the grace period
// ends, then only the new one does.
func TestRotationGraceEnds(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := recallsql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := webhook.NewSealer(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	eps := recall.NewEndpoints(st, sealer, webhook.Policy{}, func() time.Time { return now })
	reg := trace.Principal{Role: trace.RoleRegulator}
	url, oldS, newS := "https://hooks.example.cn/r", "whsec_old-0123456789abcdef", "whsec_new-0123456789abcdef"
	if _, err := eps.Apply(ctx, reg, "e1", recall.EndpointChange{URL: &url, Secret: &oldS}); err != nil {
		t.Fatal(err)
	}
	grace := 3 * time.Hour
	if _, err := eps.Apply(ctx, reg, "e1", recall.EndpointChange{Secret: &newS, SecretGrace: &grace}); err != nil {
		t.Fatal(err)
	}
	secrets := func() []string {
		_, ss, err := eps.Signing(ctx, "e1")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range ss {
			out = append(out, string(s))
		}
		return out
	}
	if got := secrets(); len(got) != 2 || got[0] != newS || got[1] != oldS {
		t.Fatalf("during the grace period: %q", got)
	}
	now = now.Add(grace)
	if got := secrets(); len(got) != 1 || got[0] != newS {
		t.Fatalf("after the grace period: %q", got)
	}
	if _, s, err := eps.Target(ctx, "e1"); err != nil || string(s) != newS {
		t.Fatalf("Target: %q %v", s, err)
	}
}
