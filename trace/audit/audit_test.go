package audit_test

import (
	"context"
	"fmt"
	"testing"

	"tracesvc/trace"
	"tracesvc/trace/audit"
	"tracesvc/trace/sqlitedb"
	"tracesvc/trace/tracesql"
)

func TestRecordsPolicy(t *testing.T) {
	reg := trace.Principal{Role: trace.RoleRegulator}
	insp := trace.Principal{Role: trace.RoleInspector}
	ent := trace.Principal{Role: trace.RoleEntity, EntityID: "e1"}
	cases := []struct {
		p    trace.Principal
		r    audit.Request
		want bool
	}{
		{reg, audit.Request{Write: true, Succeeded: true}, true},
		{reg, audit.Request{Write: true, Succeeded: false}, true}, // whatever the outcome
		{insp, audit.Request{Write: true}, true},
		{reg, audit.Request{Write: false, Succeeded: true}, false}, // reads are not recorded
		{ent, audit.Request{Write: true, Succeeded: true}, false},
		{ent, audit.Request{Write: true, IssuesKey: true, Succeeded: true}, true},
		{ent, audit.Request{Write: true, IssuesKey: true, Succeeded: false}, false},
		{trace.Public, audit.Request{Write: true, Succeeded: true}, false},
	}
	for _, c := range cases {
		if got := audit.Records(c.p, c.r); got != c.want {
			t.Errorf("Records(%s, %+v) = %v, want %v", c.p.Role, c.r, got, c.want)
		}
	}
}

func newLog(t *testing.T) (*audit.Log, *sqlitedb.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	return audit.NewLog(st, nil), db
}

func TestChain(t *testing.T) {
	log, db := newLog(t)
	ctx := context.Background()
	var last audit.Record
	for i := range 5 {
		r, err := log.Append(ctx, audit.Entry{Actor: "regulator/key:k1", Role: "regulator", Action: "POST /x",
			Target: fmt.Sprintf("entity:e%d", i), Status: 201})
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq != int64(i+1) || r.PrevHash != last.Hash || r.Hash != audit.Hash(r) {
			t.Fatalf("record %d: %+v after %+v", i, r, last)
		}
		last = r
	}
	if v, err := log.Verify(ctx); err != nil || !v.OK || v.Records != 5 || v.Head != last.Hash {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	// An edit behind the log's back breaks the chain where it was made.
	if _, err := db.W.Exec(`UPDATE audit_log SET target = 'entity:someone-else' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	if v, err := log.Verify(ctx); err != nil || v.OK || v.Broken != 3 {
		t.Fatalf("verify after an edit: %+v, %v", v, err)
	}
}

// TestAppendOutlivesTheClient checks that a write's audit record is
// stored even when the client has gone and its context is cancelled.
func TestAppendOutlivesTheClient(t *testing.T) {
	log, _ := newLog(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := log.Append(ctx, audit.Entry{Actor: "a", Role: "regulator", Action: "DELETE /k", Target: "key:k", Status: 200}); err != nil {
		t.Fatalf("append with a cancelled context: %v", err)
	}
	if v, err := log.Verify(context.Background()); err != nil || v.Records != 1 {
		t.Fatalf("verify: %+v, %v", v, err)
	}
}
