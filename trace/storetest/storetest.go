// Package storetest is the conformance suite every backend of the trace
// domain's stores must pass. It is written once and run by the tests of
// trace/tracesql (on a temp folder) and trace/tracemongo (on an embedded
// FerretDB, or on MONGODB_URI).
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/access"
	"tracesvc/trace/audit"
	"tracesvc/trace/scan"
)

// Stores is one fresh, empty set of stores of a backend.
type Stores struct {
	Trace  trace.Store
	Keys   access.Store
	Audit  audit.Store
	Codes  trace.CodeStore
	Events trace.EventStore
	Scans  scan.Store

	// RewriteAudit overwrites stored audit record r.Seq with r, and
	// DeleteAudit deletes the records from seq on, directly in the
	// database, behind the store's back, as an intruder would.
	RewriteAudit func(ctx context.Context, r audit.Record) error
	DeleteAudit  func(ctx context.Context, from int64) error
}

// Run runs the whole suite. newStores returns empty stores for one test.
func Run(t *testing.T, newStores func(t testing.TB) Stores) {
	tests := map[string]func(*testing.T, Stores){
		"Entities":          testEntities,
		"EntityList":        testEntityList,
		"EntityUpdate":      testEntityUpdate,
		"Products":          testProducts,
		"Batches":           testBatches,
		"Keys":              testKeys,
		"Audit":             testAudit,
		"AuditTamper":       testAuditTamper,
		"AuditConcurrent":   testAuditConcurrent,
		"AuditRewritten":    testAuditRewritten,
		"AuditTruncated":    testAuditTruncated,
		"AuditLegacy":       testAuditLegacy,
		"AuditWrongKey":     testAuditWrongKey,
		"Issuances":         testIssuances,
		"IssuanceLease":     testIssuanceLease,
		"IssuanceSweep":     testInterruptIssuances,
		"CountIssued":       testCountIssued,
		"Codes":             testCodes,
		"MovedCodes":        testMovedCodes,
		"WalkEvents":        testWalkEvents,
		"WalkEventsBySeq":   testWalkEventsBySeq,
		"WalkEventsMerged":  testWalkEventsMerged,
		"SSCCs":             testSSCCs,
		"Custody":           testCustody,
		"Events":            testEvents,
		"RecordTimeAtWrite": testRecordTimeAtWrite,
		"CaptureJobs":       testCaptureJobs,
		"Scans":             testScans,
		"ScanCounts":        testScanCounts,
		"Alerts":            testAlerts,
	}
	names := make([]string, 0, len(tests))
	for n := range tests {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) { tests[name](t, newStores(t)) })
	}
}

var t0 = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

func entity(i int) trace.Entity {
	return trace.Entity{
		ID: fmt.Sprintf("e%03d", i), Name: fmt.Sprintf("Entity %d Co., Ltd.", i),
		USCC: fmt.Sprintf("91120000MA%07dX", i), Kinds: []trace.Kind{trace.KindManufacturer},
		Region: "Tianjin", Address: "1 Road", Contact: trace.Contact{Name: "Li", Phone: "022-1"},
		CreatedAt: t0, UpdatedAt: t0,
	}
}

// Must fails the test at once on an error.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// WantErr checks that err is want (by errors.Is) and, when field is not
// empty, a *trace.FieldError on that field.
func WantErr(t testing.TB, err, want error, field string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	if field == "" {
		return
	}
	var fe *trace.FieldError
	if !errors.As(err, &fe) || fe.Field != field {
		t.Fatalf("err = %#v, want a FieldError on %q", err, field)
	}
}

// Equal compares got and want by their printed form, which is how the
// suites compare stored values with what was stored.
func Equal[T any](t testing.TB, got, want T) {
	t.Helper()
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func testEntities(t *testing.T, s Stores) {
	ctx := context.Background()
	e := entity(1)
	e.GLN, e.CompanyPrefix = "6901234000004", "6901234"
	e.Kinds = []trace.Kind{trace.KindFarm, trace.KindManufacturer}
	Must(t, s.Trace.CreateEntity(ctx, e))
	got, err := s.Trace.Entity(ctx, e.ID)
	Must(t, err)
	Equal(t, got, e)

	dup := entity(2)
	dup.USCC = e.USCC
	WantErr(t, s.Trace.CreateEntity(ctx, dup), trace.ErrConflict, "uscc")
	dup = entity(2)
	dup.GLN = e.GLN
	WantErr(t, s.Trace.CreateEntity(ctx, dup), trace.ErrConflict, "gln")
	// Entities without a GLN do not clash with one another.
	Must(t, s.Trace.CreateEntity(ctx, entity(2)))
	Must(t, s.Trace.CreateEntity(ctx, entity(3)))

	_, err = s.Trace.Entity(ctx, "nope")
	WantErr(t, err, trace.ErrNotFound, "")
}

func testEntityList(t *testing.T, s Stores) {
	ctx := context.Background()
	for i := 1; i <= 7; i++ {
		e := entity(i)
		if i%2 == 0 {
			e.Kinds = []trace.Kind{trace.KindRetailer, trace.KindDistributor}
			e.Region = "Beijing"
		}
		if i == 5 {
			e.GLN = "6901234000004"
			e.Name = "Golden Dairy Ltd."
		}
		if i == 3 || i == 6 {
			e.CompanyPrefix = fmt.Sprintf("690123%d", i)
		}
		Must(t, s.Trace.CreateEntity(ctx, e))
	}
	ids := func(es []trace.Entity) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	got, err := s.Trace.ListEntities(ctx, trace.EntityFilter{}, trace.Page{Limit: 3})
	Must(t, err)
	Equal(t, ids(got), []string{"e001", "e002", "e003"})
	got, err = s.Trace.ListEntities(ctx, trace.EntityFilter{}, trace.Page{Limit: 3, After: "e003"})
	Must(t, err)
	Equal(t, ids(got), []string{"e004", "e005", "e006"})
	got, err = s.Trace.ListEntities(ctx, trace.EntityFilter{Kind: trace.KindDistributor}, trace.Page{Limit: 10})
	Must(t, err)
	Equal(t, ids(got), []string{"e002", "e004", "e006"})
	got, err = s.Trace.ListEntities(ctx, trace.EntityFilter{Region: "Tianjin"}, trace.Page{Limit: 2, After: "e001"})
	Must(t, err)
	Equal(t, ids(got), []string{"e003", "e005"})
	got, err = s.Trace.ListEntities(ctx, trace.EntityFilter{Name: "golden"}, trace.Page{Limit: 10})
	Must(t, err)
	Equal(t, ids(got), []string{"e005"})
	got, err = s.Trace.ListEntities(ctx, trace.EntityFilter{GLN: "6901234000004"}, trace.Page{Limit: 10})
	Must(t, err)
	Equal(t, ids(got), []string{"e005"})
	got, err = s.Trace.ListEntities(ctx, trace.EntityFilter{USCC: entity(7).USCC}, trace.Page{Limit: 10})
	Must(t, err)
	Equal(t, ids(got), []string{"e007"})
	got, err = s.Trace.ListEntities(ctx, trace.EntityFilter{CompanyPrefixes: []string{"690123", "6901236", "69012360"}}, trace.Page{Limit: 10})
	Must(t, err)
	Equal(t, ids(got), []string{"e006"})
	got, err = s.Trace.ListEntities(ctx, trace.EntityFilter{CompanyPrefixes: []string{"6901236", "6901233"}}, trace.Page{Limit: 10})
	Must(t, err)
	Equal(t, ids(got), []string{"e003", "e006"})
}

func testEntityUpdate(t *testing.T, s Stores) {
	ctx := context.Background()
	e := entity(1)
	Must(t, s.Trace.CreateEntity(ctx, e))
	other := entity(2)
	other.GLN = "6901234000004"
	Must(t, s.Trace.CreateEntity(ctx, other))

	at := t0.Add(time.Hour)
	c := trace.Contact{Name: "Wang", Email: "qa@example.cn"}
	got, err := s.Trace.UpdateEntity(ctx, e.ID, trace.EntityPatch{Contact: &c}, at)
	Must(t, err)
	want := e
	want.Contact, want.UpdatedAt = c, at
	Equal(t, got, want)
	again, err := s.Trace.Entity(ctx, e.ID)
	Must(t, err)
	Equal(t, again, want)

	name, kinds := "Renamed", []trace.Kind{trace.KindLab}
	got, err = s.Trace.UpdateEntity(ctx, e.ID, trace.EntityPatch{Name: &name, Kinds: &kinds}, at)
	Must(t, err)
	if got.Name != name || !slices.Equal(got.Kinds, kinds) || got.Contact != c {
		t.Fatalf("after second patch: %+v", got)
	}
	gln := other.GLN
	_, err = s.Trace.UpdateEntity(ctx, e.ID, trace.EntityPatch{GLN: &gln}, at)
	WantErr(t, err, trace.ErrConflict, "gln")
	_, err = s.Trace.UpdateEntity(ctx, "nope", trace.EntityPatch{Name: &name}, at)
	WantErr(t, err, trace.ErrNotFound, "")
}

func product(gtin, owner string, cat trace.Category) trace.Product {
	return trace.Product{GTIN: gtin, OwnerID: owner, Name: "Milk " + gtin, Brand: "Cow", Model: "1L",
		Category: cat, Description: "whole milk", CreatedAt: t0, UpdatedAt: t0}
}

func testProducts(t *testing.T, s Stores) {
	ctx := context.Background()
	ps := []trace.Product{
		product("09506000134352", "e1", trace.CategoryFood),
		product("04006381333931", "e2", trace.CategoryToy),
		product("00036000291452", "e1", trace.CategoryToy),
		product("00000096385074", "e1", trace.CategoryFood),
	}
	for _, p := range ps {
		Must(t, s.Trace.CreateProduct(ctx, p))
	}
	WantErr(t, s.Trace.CreateProduct(ctx, ps[0]), trace.ErrConflict, "gtin")
	got, err := s.Trace.Product(ctx, ps[1].GTIN)
	Must(t, err)
	Equal(t, got, ps[1])
	_, err = s.Trace.Product(ctx, "00000000000000")
	WantErr(t, err, trace.ErrNotFound, "")

	gtins := func(f trace.ProductFilter, p trace.Page) []string {
		list, err := s.Trace.ListProducts(ctx, f, p)
		Must(t, err)
		var out []string
		for _, p := range list {
			out = append(out, p.GTIN)
		}
		return out
	}
	Equal(t, gtins(trace.ProductFilter{OwnerID: "e1"}, trace.Page{Limit: 2}), []string{"00000096385074", "00036000291452"})
	Equal(t, gtins(trace.ProductFilter{OwnerID: "e1"}, trace.Page{Limit: 2, After: "00036000291452"}), []string{"09506000134352"})
	Equal(t, gtins(trace.ProductFilter{Category: trace.CategoryToy}, trace.Page{Limit: 9}), []string{"00036000291452", "04006381333931"})
	Equal(t, gtins(trace.ProductFilter{OwnerID: "e1", Category: trace.CategoryFood}, trace.Page{Limit: 9}), []string{"00000096385074", "09506000134352"})

	name, cat := "Yoghurt", trace.CategoryHealthFood
	at := t0.Add(time.Minute)
	up, err := s.Trace.UpdateProduct(ctx, ps[0].GTIN, trace.ProductPatch{Name: &name, Category: &cat}, at)
	Must(t, err)
	want := ps[0]
	want.Name, want.Category, want.UpdatedAt = name, cat, at
	Equal(t, up, want)
	_, err = s.Trace.UpdateProduct(ctx, "00000000000000", trace.ProductPatch{Name: &name}, at)
	WantErr(t, err, trace.ErrNotFound, "")
}

func testBatches(t *testing.T, s Stores) {
	ctx := context.Background()
	const g = "09506000134352"
	var bs []trace.Batch
	for _, lot := range []string{"L3", "A/1", "L1", "L2"} {
		b := trace.Batch{GTIN: g, Lot: lot, OwnerID: "e1", ProductionDate: "2026-11-01", ExpiryDate: "2026-12-01",
			Quantity: 1200.5, Unit: "kg", Origin: trace.Origin{Name: "Farm 3", Region: "Jixian", GLN: "6901234000004"},
			CreatedAt: t0}
		Must(t, s.Trace.CreateBatch(ctx, b))
		bs = append(bs, b)
	}
	// The same lot under another GTIN is another batch.
	other := bs[0]
	other.GTIN = "04006381333931"
	other.ExpiryDate = ""
	Must(t, s.Trace.CreateBatch(ctx, other))
	WantErr(t, s.Trace.CreateBatch(ctx, bs[0]), trace.ErrConflict, "lot")

	got, err := s.Trace.Batch(ctx, g, "A/1")
	Must(t, err)
	Equal(t, got, bs[1])
	got, err = s.Trace.Batch(ctx, other.GTIN, other.Lot)
	Must(t, err)
	Equal(t, got, other)
	_, err = s.Trace.Batch(ctx, g, "nope")
	WantErr(t, err, trace.ErrNotFound, "")

	list, err := s.Trace.ListBatches(ctx, g, trace.Page{Limit: 2})
	Must(t, err)
	if len(list) != 2 || list[0].Lot != "A/1" || list[1].Lot != "L1" {
		t.Fatalf("first page: %+v", list)
	}
	list, err = s.Trace.ListBatches(ctx, g, trace.Page{Limit: 5, After: "L1"})
	Must(t, err)
	if len(list) != 2 || list[0].Lot != "L2" || list[1].Lot != "L3" {
		t.Fatalf("second page: %+v", list)
	}
}

func testKeys(t *testing.T, s Stores) {
	ctx := context.Background()
	k1 := access.Key{ID: "k1", Hash: "h1", Role: trace.RoleRegulator, Label: "boss", CreatedBy: "bootstrap", CreatedAt: t0}
	k2 := access.Key{ID: "k2", Hash: "h2", Role: trace.RoleEntity, EntityID: "e1", CreatedAt: t0}
	k3 := access.Key{ID: "k3", Hash: "h3", Role: trace.RoleEntity, EntityID: "e2", CreatedAt: t0}
	for _, k := range []access.Key{k1, k2, k3} {
		Must(t, s.Keys.CreateKey(ctx, k))
	}
	dup := k1
	dup.Hash = "other"
	WantErr(t, s.Keys.CreateKey(ctx, dup), trace.ErrConflict, "")
	dup = k1
	dup.ID = "k9"
	WantErr(t, s.Keys.CreateKey(ctx, dup), trace.ErrConflict, "")

	got, err := s.Keys.KeyByHash(ctx, "h2")
	Must(t, err)
	Equal(t, got, k2)
	_, err = s.Keys.KeyByHash(ctx, "zz")
	WantErr(t, err, trace.ErrNotFound, "")
	got, err = s.Keys.Key(ctx, "k3")
	Must(t, err)
	Equal(t, got, k3)

	list, err := s.Keys.ListKeys(ctx, access.KeyFilter{Role: trace.RoleEntity}, trace.Page{Limit: 10})
	Must(t, err)
	Equal(t, list, []access.Key{k2, k3})
	list, err = s.Keys.ListKeys(ctx, access.KeyFilter{EntityID: "e2"}, trace.Page{Limit: 10})
	Must(t, err)
	Equal(t, list, []access.Key{k3})
	list, err = s.Keys.ListKeys(ctx, access.KeyFilter{}, trace.Page{Limit: 2, After: "k1"})
	Must(t, err)
	Equal(t, list, []access.Key{k2, k3})

	at := t0.Add(time.Hour)
	rev, err := s.Keys.RevokeKey(ctx, "k2", at)
	Must(t, err)
	if rev.RevokedAt == nil || !rev.RevokedAt.Equal(at) {
		t.Fatalf("revoked at %v, want %v", rev.RevokedAt, at)
	}
	rev, err = s.Keys.RevokeKey(ctx, "k2", at.Add(time.Hour))
	Must(t, err)
	if !rev.RevokedAt.Equal(at) {
		t.Fatalf("second revoke moved the time to %v", rev.RevokedAt)
	}
	got, err = s.Keys.KeyByHash(ctx, "h2")
	Must(t, err)
	if got.RevokedAt == nil {
		t.Fatal("revocation not stored")
	}
	_, err = s.Keys.RevokeKey(ctx, "nope", at)
	WantErr(t, err, trace.ErrNotFound, "")
}

func testAudit(t *testing.T, s Stores) {
	ctx := context.Background()
	_, err := s.Audit.LastRecord(ctx)
	WantErr(t, err, trace.ErrNotFound, "")
	log := newLog(t, s, func() time.Time { return t0 })
	var recs []audit.Record
	for i := range 5 {
		r, err := log.Append(ctx, audit.Entry{Actor: "regulator/key:k1", Role: "regulator",
			Action: "POST /api/v1/entities", Target: fmt.Sprintf("entity:e%d", i), Status: 201})
		Must(t, err)
		recs = append(recs, r)
	}
	last, err := s.Audit.LastRecord(ctx)
	Must(t, err)
	Equal(t, last, recs[4])
	list, err := s.Audit.ListRecords(ctx, 2, 2)
	Must(t, err)
	Equal(t, list, recs[2:4])
	// A second writer racing for the same sequence number loses.
	WantErr(t, s.Audit.AppendRecord(ctx, recs[4]), trace.ErrConflict, "")

	v, err := log.Verify(ctx)
	Must(t, err)
	if !v.OK || v.Records != 5 || v.Head != recs[4].Hash {
		t.Fatalf("verify: %+v", v)
	}
	page, next, err := log.List(ctx, trace.Page{Limit: 3})
	Must(t, err)
	if len(page) != 3 || next != "3" {
		t.Fatalf("list: %d records, next %q", len(page), next)
	}
}

// auditKey is the audit chain key of the suite's logs.
var auditKey = bytes.Repeat([]byte{0xA5}, audit.KeySize)

func newLog(t testing.TB, s Stores, now trace.Clock) *audit.Log {
	l, err := audit.NewLog(s.Audit, now, auditKey)
	Must(t, err)
	return l
}

// appendN appends n records to log.
func appendN(t testing.TB, log *audit.Log, n int) []audit.Record {
	var out []audit.Record
	for i := range n {
		r, err := log.Append(context.Background(), audit.Entry{Actor: "regulator/key:k1", Role: "regulator",
			Action: "DELETE /api/v1/keys/x", Target: fmt.Sprintf("key:k%d", i), Status: 200})
		Must(t, err)
		out = append(out, r)
	}
	return out
}

func testAuditTamper(t *testing.T, s Stores) {
	ctx := context.Background()
	log := newLog(t, s, nil)
	recs := appendN(t, log, 4)
	edited := recs[2]
	edited.Target = "key:someone-else"
	Must(t, s.RewriteAudit(ctx, edited))
	v, err := log.Verify(ctx)
	Must(t, err)
	if v.OK || v.Broken != 3 || v.Records != 2 {
		t.Fatalf("verify after tampering: %+v, want broken at 3", v)
	}
}

// testAuditRewritten (issue 9, item 10): an intruder who edits a record
// and recomputes every later hash, without the chain key, is found at the
// edited record — whether it uses the unkeyed hash or a key of its own.
func testAuditRewritten(t *testing.T, s Stores) {
	ctx := context.Background()
	log := newLog(t, s, nil)
	recs := appendN(t, log, 6)
	intruder, err := audit.NewLog(s.Audit, nil, bytes.Repeat([]byte{1}, audit.KeySize))
	Must(t, err)
	for name, hash := range map[string]func(audit.Record) string{"unkeyed": audit.LegacyHash, "another key": intruder.Hash} {
		prev := recs[1].Hash
		for _, r := range recs[2:] {
			if r.Seq == 3 {
				r.Target = "key:someone-else"
			}
			r.PrevHash = prev
			r.Hash = hash(r)
			prev = r.Hash
			Must(t, s.RewriteAudit(ctx, r))
		}
		v, err := log.Verify(ctx)
		Must(t, err)
		if v.OK || v.Broken != 3 {
			t.Fatalf("%s: verify after rewriting from record 3: %+v", name, v)
		}
	}
}

// testAuditTruncated (issue 9, item 10): deleting the newest records
// leaves a chain that verifies, but not against a checkpoint an official
// saved; nor does a log whose deleted tail was written anew.
func testAuditTruncated(t *testing.T, s Stores) {
	ctx := context.Background()
	log := newLog(t, s, nil)
	appendN(t, log, 5)
	cp, err := log.Checkpoint(ctx)
	Must(t, err)
	if cp.Seq != 5 || cp.Signature == "" || cp.PublicKey != log.PublicKey() {
		t.Fatalf("checkpoint %+v", cp)
	}
	v, err := log.VerifyCheckpoint(ctx, cp)
	Must(t, err)
	if !v.OK || v.Checkpoint != 5 {
		t.Fatalf("verify against a fresh checkpoint: %+v", v)
	}
	appendN(t, log, 2) // the log grows past the checkpoint: still fine
	if v, err = log.VerifyCheckpoint(ctx, cp); err != nil || !v.OK {
		t.Fatalf("verify after growth: %+v %v", v, err)
	}
	Must(t, s.DeleteAudit(ctx, 4))
	if v, err = log.Verify(ctx); err != nil || !v.OK || v.Records != 3 {
		t.Fatalf("a truncated chain still verifies on its own: %+v %v", v, err)
	}
	v, err = log.VerifyCheckpoint(ctx, cp)
	Must(t, err)
	if v.OK || !strings.Contains(v.Reason, "records were deleted") {
		t.Fatalf("truncation against the checkpoint: %+v", v)
	}
	appendN(t, log, 3) // new records 4, 5, 6 where the deleted ones were
	v, err = log.VerifyCheckpoint(ctx, cp)
	Must(t, err)
	if v.OK || v.Broken != 5 || !strings.Contains(v.Reason, "rewritten") {
		t.Fatalf("a rewritten tail against the checkpoint: %+v", v)
	}
	forged := cp
	forged.Seq = 3
	_, err = log.VerifyCheckpoint(ctx, forged)
	WantErr(t, err, trace.ErrInvalid, "signature")
}

// testAuditWrongKey: a log with another key than the one its newest
// record was written with says so before it appends anything.
func testAuditWrongKey(t *testing.T, s Stores) {
	ctx := context.Background()
	log := newLog(t, s, nil)
	other, err := audit.NewLog(s.Audit, nil, bytes.Repeat([]byte{2}, audit.KeySize))
	Must(t, err)
	Must(t, other.CheckKey(ctx)) // an empty log
	appendN(t, log, 2)
	Must(t, log.CheckKey(ctx))
	if err := other.CheckKey(ctx); !errors.Is(err, audit.ErrWrongKey) {
		t.Fatalf("another key: %v", err)
	}
}

// testAuditLegacy: records hashed before the chain was keyed verify, and
// keyed records follow them; an unkeyed record after a keyed one does not.
func testAuditLegacy(t *testing.T, s Stores) {
	ctx := context.Background()
	prev := ""
	for seq := int64(1); seq <= 2; seq++ {
		r := audit.Record{Seq: seq, At: t0, Actor: "bootstrap", Role: "regulator", Action: "bootstrap", Target: "key:k", Status: 201, PrevHash: prev}
		r.Hash = audit.LegacyHash(r)
		prev = r.Hash
		Must(t, s.Audit.AppendRecord(ctx, r))
	}
	log := newLog(t, s, nil)
	recs := appendN(t, log, 2)
	v, err := log.Verify(ctx)
	Must(t, err)
	if !v.OK || v.Records != 4 || v.Legacy != 2 || !strings.HasPrefix(recs[0].Hash, "hmac-sha256:") {
		t.Fatalf("legacy then keyed: %+v", v)
	}
	r := recs[1]
	r.Hash = audit.LegacyHash(r)
	Must(t, s.RewriteAudit(ctx, r))
	if v, err = log.Verify(ctx); err != nil || v.OK || v.Broken != 4 {
		t.Fatalf("an unkeyed record after keyed ones: %+v %v", v, err)
	}
}

// testAuditConcurrent races appends from two logs, as two instances would.
// It relies on insert-time uniqueness only, which FerretDB keeps too.
func testAuditConcurrent(t *testing.T, s Stores) {
	ctx := context.Background()
	// Two logs stand for two service instances sharing one store.
	logs := []*audit.Log{newLog(t, s, nil), newLog(t, s, nil)}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			_, err := logs[i%2].Append(ctx, audit.Entry{Actor: "a", Role: "regulator", Action: "x", Target: fmt.Sprint(i)})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		Must(t, err)
	}
	v, err := logs[0].Verify(ctx)
	Must(t, err)
	if !v.OK || v.Records != 40 {
		t.Fatalf("verify after concurrent appends: %+v", v)
	}
}
