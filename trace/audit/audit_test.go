package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

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
		{insp, audit.Request{Write: true, Succeeded: false}, true},
		{insp, audit.Request{Write: false, Succeeded: true}, false},
		{ent, audit.Request{Write: false, IssuesKey: true, Succeeded: true}, false}, // reads never
		{ent, audit.Request{Write: false, Succeeded: true}, false},
		{reg, audit.Request{Write: true, IssuesKey: true, Succeeded: false}, true},
		{ent, audit.Request{Write: true, Compliance: true, Succeeded: true}, true}, // a declaration changed
		{ent, audit.Request{Write: true, Compliance: true, Succeeded: false}, false},
		{ent, audit.Request{Write: false, Compliance: true, Succeeded: true}, false},
		{trace.Public, audit.Request{Write: true, Compliance: true, Succeeded: true}, true},
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
	return mustLog(t, st, nil), db
}

// testKey is the chain key of the tests' logs.
var testKey = bytes.Repeat([]byte{0x5A}, audit.KeySize)

func mustLog(t *testing.T, st audit.Store, now trace.Clock) *audit.Log {
	t.Helper()
	l, err := audit.NewLog(st, now, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestNewLogNeedsAKey: a log without a proper key is refused.
func TestNewLogNeedsAKey(t *testing.T) {
	for _, k := range [][]byte{nil, make([]byte, 16), make([]byte, 33)} {
		if _, err := audit.NewLog(nil, nil, k); err == nil {
			t.Errorf("a %d-byte key was accepted", len(k))
		}
	}
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
		if r.Seq != int64(i+1) || r.PrevHash != last.Hash || r.Hash != log.Hash(r) {
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

func appendN(t *testing.T, log *audit.Log, n int) []audit.Record {
	t.Helper()
	var recs []audit.Record
	for i := range n {
		r, err := log.Append(context.Background(), audit.Entry{Actor: "inspector/key:k2", Role: "inspector",
			Action: "PATCH /y", Target: fmt.Sprintf("batch:b%d", i), Status: 200})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return recs
}

func TestVerifyEmpty(t *testing.T) {
	log, _ := newLog(t)
	if v, err := log.Verify(context.Background()); err != nil || !v.OK || v.Records != 0 || v.Head != "" {
		t.Fatalf("verify an empty log: %+v, %v", v, err)
	}
}

// TestVerifyFindsEdits checks the other ways a stored chain can be
// changed behind the log's back: a record deleted from the middle, a
// link rewritten, a record rewritten with its hash recomputed.
func TestVerifyFindsEdits(t *testing.T) {
	cases := []struct {
		name, sql       string
		broken, checked int64
	}{
		{"deleted", `DELETE FROM audit_log WHERE seq = 2`, 3, 1},
		{"relinked", `UPDATE audit_log SET prev_hash = 'x' WHERE seq = 4`, 4, 3},
		{"rehashed", `UPDATE audit_log SET status = 500, hash = 'y' WHERE seq = 2`, 2, 1},
		{"first", `UPDATE audit_log SET actor = 'someone' WHERE seq = 1`, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			log, db := newLog(t)
			appendN(t, log, 5)
			if _, err := db.W.Exec(c.sql); err != nil {
				t.Fatal(err)
			}
			v, err := log.Verify(context.Background())
			if err != nil || v.OK || v.Broken != c.broken || v.Reason == "" || v.Records != c.checked {
				t.Fatalf("verify: %+v, %v; want broken at %d", v, err, c.broken)
			}
		})
	}
}

// TestRecordTime checks that a record's time is the log's clock, at the
// millisecond precision the store keeps, so that the hash still holds
// when the record is read back.
func TestRecordTime(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 8, 30, 0, 123456789, time.FixedZone("CST", 8*3600))
	log := mustLog(t, st, func() time.Time { return at })
	r, err := log.Append(ctx, audit.Entry{Actor: "a", Role: "regulator", Action: "POST /z", Target: "key:k"})
	if err != nil {
		t.Fatal(err)
	}
	if want := at.UTC().Truncate(time.Millisecond); !r.At.Equal(want) {
		t.Fatalf("At = %v, want %v", r.At, want)
	}
	list, _, err := log.List(ctx, trace.Page{})
	if err != nil || len(list) != 1 || !list[0].At.Equal(r.At) || list[0].Hash != r.Hash {
		t.Fatalf("list: %+v, %v; appended %+v", list, err, r)
	}
	if v, err := log.Verify(ctx); err != nil || !v.OK {
		t.Fatalf("verify: %+v, %v", v, err)
	}
}

// TestList checks that List pages through the chain in order.
func TestList(t *testing.T) {
	log, _ := newLog(t)
	want := appendN(t, log, 5)
	ctx := context.Background()
	var got []audit.Record
	p := trace.Page{Limit: 2}
	for {
		list, next, err := log.List(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, list...)
		if next == "" {
			break
		}
		p.After = next
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Seq != want[i].Seq || got[i].Hash != want[i].Hash {
			t.Fatalf("record %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"x", "-1"} {
		if _, _, err := log.List(ctx, trace.Page{After: bad}); !errors.Is(err, trace.ErrInvalid) {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
}
