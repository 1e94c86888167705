package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tracesvc/trace"
)

func seqOf(is string, i int) string { return fmt.Sprintf("%s.%07d", is, i) }

func testIssuances(t *testing.T, s Stores) {
	ctx := context.Background()
	lease := trace.Lease{Instance: "p1", Holder: "p1#a", Until: t0.Add(30 * time.Second)}
	is := trace.Issuance{ID: "i1", Kind: trace.IssuanceItems, OwnerID: "e1", GTIN: "09506000134352", Lot: "L1",
		Requested: 100, State: trace.IssuanceRunning, IdempotencyKey: "k-1", Lease: lease, CreatedAt: t0, UpdatedAt: t0}
	Must(t, s.Codes.CreateIssuance(ctx, is))
	got, err := s.Codes.Issuance(ctx, "i1")
	Must(t, err)
	Equal(t, got, is)
	got, err = s.Codes.IssuanceByKey(ctx, "e1", "k-1")
	Must(t, err)
	Equal(t, got, is)
	_, err = s.Codes.IssuanceByKey(ctx, "e2", "k-1")
	WantErr(t, err, trace.ErrNotFound, "")
	_, err = s.Codes.IssuanceByKey(ctx, "e1", "")
	WantErr(t, err, trace.ErrNotFound, "")
	_, err = s.Codes.Issuance(ctx, "nope")
	WantErr(t, err, trace.ErrNotFound, "")

	// The same key is taken for the same owner only; no key never clashes.
	dup := is
	dup.ID = "i2"
	WantErr(t, s.Codes.CreateIssuance(ctx, dup), trace.ErrConflict, "Idempotency-Key")
	dup.OwnerID = "e2"
	Must(t, s.Codes.CreateIssuance(ctx, dup))
	for _, id := range []string{"i3", "i4"} {
		Must(t, s.Codes.CreateIssuance(ctx, trace.Issuance{ID: id, Kind: trace.IssuanceSSCC, OwnerID: "e1",
			Requested: 1, State: trace.IssuanceComplete, CreatedAt: t0, UpdatedAt: t0}))
	}
	got, err = s.Codes.Issuance(ctx, "i3")
	Must(t, err)
	if got.Lease != (trace.Lease{}) {
		t.Fatalf("an issuance stored without a lease has %+v", got.Lease)
	}
}

// testIssuanceLease follows one issuance through its lease: progress and
// renewal by its holder only, a takeover once the lease has ended, and the
// end of the lease when it stops.
func testIssuanceLease(t *testing.T, s Stores) {
	ctx := context.Background()
	read := func() trace.Issuance {
		t.Helper()
		is, err := s.Codes.Issuance(ctx, "i1")
		Must(t, err)
		return is
	}
	a := trace.Lease{Instance: "p1", Holder: "p1#a", Until: t0.Add(30 * time.Second)}
	Must(t, s.Codes.CreateIssuance(ctx, trace.Issuance{ID: "i1", Kind: trace.IssuanceItems, OwnerID: "e1",
		GTIN: "09506000134352", Lot: "L1", Requested: 100, State: trace.IssuanceRunning, IdempotencyKey: "k-1",
		Lease: a, CreatedAt: t0, UpdatedAt: t0}))

	// Nobody else may claim it while the lease is live; the answer says
	// whose it is and until when.
	b := trace.Lease{Instance: "p2", Holder: "p2#b", Until: t0.Add(2 * time.Minute)}
	held, err := s.Codes.ClaimIssuance(ctx, "i1", b, t0.Add(10*time.Second))
	WantErr(t, err, trace.ErrConflict, "")
	if held.ID != "i1" || held.Lease != a {
		t.Fatalf("refused claim answered %+v", held)
	}

	// Its holder records progress after each chunk, renewing the lease.
	Must(t, s.Codes.UpdateIssuance(ctx, "i1", "p1#a", trace.IssuanceUpdate{Issued: 40, State: trace.IssuanceRunning,
		LeaseUntil: t0.Add(time.Minute), At: t0.Add(20 * time.Second)}))
	got := read()
	if got.Issued != 40 || got.State != trace.IssuanceRunning || !got.Lease.Until.Equal(t0.Add(time.Minute)) ||
		got.Lease.Holder != "p1#a" || !got.UpdatedAt.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("after progress: %+v", got)
	}
	Must(t, s.Codes.RenewLease(ctx, "i1", "p1#a", t0.Add(90*time.Second)))
	if got = read(); !got.Lease.Until.Equal(t0.Add(90*time.Second)) || got.Issued != 40 {
		t.Fatalf("after renewal: %+v", got)
	}
	// Nobody else may record progress or renew it.
	WantErr(t, s.Codes.UpdateIssuance(ctx, "i1", "p2#b", trace.IssuanceUpdate{Issued: 99, State: trace.IssuanceRunning,
		LeaseUntil: t0.Add(time.Hour), At: t0}), trace.ErrConflict, "")
	WantErr(t, s.Codes.RenewLease(ctx, "i1", "p2#b", t0.Add(time.Hour)), trace.ErrConflict, "")
	WantErr(t, s.Codes.RenewLease(ctx, "nope", "p1#a", t0.Add(time.Hour)), trace.ErrNotFound, "")
	WantErr(t, s.Codes.UpdateIssuance(ctx, "nope", "p1#a", trace.IssuanceUpdate{Issued: 1, State: trace.IssuanceComplete,
		At: t0}), trace.ErrNotFound, "")

	// Once the lease has ended, another request takes it over, and the
	// one that lost it can record nothing more.
	got, err = s.Codes.ClaimIssuance(ctx, "i1", b, t0.Add(90*time.Second))
	Must(t, err)
	if got.State != trace.IssuanceRunning || got.Issued != 40 || got.Lease != b || !got.UpdatedAt.Equal(t0.Add(90*time.Second)) {
		t.Fatalf("after takeover: %+v", got)
	}
	WantErr(t, s.Codes.UpdateIssuance(ctx, "i1", "p1#a", trace.IssuanceUpdate{Issued: 41, State: trace.IssuanceInterrupted,
		At: t0.Add(91 * time.Second)}), trace.ErrConflict, "")
	WantErr(t, s.Codes.RenewLease(ctx, "i1", "p1#a", t0.Add(time.Hour)), trace.ErrConflict, "")

	// Stopping ends the lease; an interrupted issuance may be claimed at once.
	Must(t, s.Codes.UpdateIssuance(ctx, "i1", "p2#b", trace.IssuanceUpdate{Issued: 50, State: trace.IssuanceInterrupted,
		At: t0.Add(100 * time.Second)}))
	if got = read(); got.State != trace.IssuanceInterrupted || got.Issued != 50 || got.Lease != (trace.Lease{}) {
		t.Fatalf("after interruption: %+v", got)
	}
	WantErr(t, s.Codes.RenewLease(ctx, "i1", "p2#b", t0.Add(time.Hour)), trace.ErrConflict, "")
	c := trace.Lease{Instance: "p1", Holder: "p1#c", Until: t0.Add(time.Hour)}
	got, err = s.Codes.ClaimIssuance(ctx, "i1", c, t0.Add(101*time.Second))
	Must(t, err)
	if got.State != trace.IssuanceRunning || got.Lease != c || got.Issued != 50 {
		t.Fatalf("after claim: %+v", got)
	}
	Must(t, s.Codes.UpdateIssuance(ctx, "i1", "p1#c", trace.IssuanceUpdate{Issued: 100, State: trace.IssuanceComplete,
		At: t0.Add(2 * time.Minute)}))
	want := read()
	if want.State != trace.IssuanceComplete || want.Issued != 100 || want.Lease != (trace.Lease{}) {
		t.Fatalf("after completion: %+v", want)
	}
	// A complete issuance is answered as it is, unclaimed.
	got, err = s.Codes.ClaimIssuance(ctx, "i1", trace.Lease{Instance: "p3", Holder: "p3#d", Until: t0.Add(time.Hour)},
		t0.Add(3*time.Minute))
	Must(t, err)
	Equal(t, got, want)
	Equal(t, read(), want)
	WantErr(t, s.Codes.UpdateIssuance(ctx, "i1", "p1#c", trace.IssuanceUpdate{Issued: 1, State: trace.IssuanceInterrupted,
		At: t0}), trace.ErrConflict, "")
	_, err = s.Codes.ClaimIssuance(ctx, "nope", c, t0)
	WantErr(t, err, trace.ErrNotFound, "")
}

// testInterruptIssuances checks the start-up sweep: it marks running
// issuances whose lease has ended, and those an earlier process of the
// starting instance held, and leaves live leases of other processes alone.
func testInterruptIssuances(t *testing.T, s Stores) {
	ctx := context.Background()
	at := t0.Add(2 * time.Minute)
	mk := func(id string, state trace.IssuanceState, l trace.Lease) {
		Must(t, s.Codes.CreateIssuance(ctx, trace.Issuance{ID: id, Kind: trace.IssuanceSSCC, OwnerID: "e1",
			Requested: 10, Issued: 3, State: state, Lease: l, CreatedAt: t0, UpdatedAt: t0}))
	}
	mk("mine", trace.IssuanceRunning, trace.Lease{Instance: "p1", Holder: "p1#a", Until: t0.Add(time.Hour)})
	mk("live", trace.IssuanceRunning, trace.Lease{Instance: "p2", Holder: "p2#b", Until: t0.Add(time.Hour)})
	mk("ended", trace.IssuanceRunning, trace.Lease{Instance: "p2", Holder: "p2#c", Until: t0.Add(time.Minute)})
	mk("done", trace.IssuanceComplete, trace.Lease{})
	mk("stopped", trace.IssuanceInterrupted, trace.Lease{})
	n, err := s.Codes.InterruptIssuances(ctx, "p1", at)
	Must(t, err)
	if n != 2 {
		t.Fatalf("interrupted %d issuances, want 2", n)
	}
	for id, want := range map[string]trace.IssuanceState{"mine": trace.IssuanceInterrupted, "live": trace.IssuanceRunning,
		"ended": trace.IssuanceInterrupted, "done": trace.IssuanceComplete, "stopped": trace.IssuanceInterrupted} {
		got, err := s.Codes.Issuance(ctx, id)
		Must(t, err)
		if got.State != want || got.Issued != 3 {
			t.Errorf("%s: %s with %d issued, want %s with 3", id, got.State, got.Issued, want)
		}
		if (got.State == trace.IssuanceRunning) != (got.Lease != trace.Lease{}) {
			t.Errorf("%s: %s with lease %+v", id, got.State, got.Lease)
		}
		if id == "mine" && !got.UpdatedAt.Equal(at) {
			t.Errorf("%s: updated at %s, want %s", id, got.UpdatedAt, at)
		}
	}
	// The holder of an interrupted issuance can record nothing more.
	WantErr(t, s.Codes.RenewLease(ctx, "mine", "p1#a", t0.Add(2*time.Hour)), trace.ErrConflict, "")
	n, err = s.Codes.InterruptIssuances(ctx, "p1", at)
	Must(t, err)
	if n != 0 {
		t.Fatalf("a second sweep interrupted %d", n)
	}
}

// testCountIssued counts what an issuance stored, which may be more than
// it recorded, and finds its last position, past any gap a chunk stored in
// part left.
func testCountIssued(t *testing.T, s Stores) {
	ctx := context.Background()
	const g = "09506000134352"
	items := trace.Issuance{ID: "i1", Kind: trace.IssuanceItems, OwnerID: "e1", GTIN: g, Lot: "L1"}
	n, last, err := s.Codes.CountIssued(ctx, items)
	Must(t, err)
	if n != 0 || last != "" {
		t.Fatalf("nothing stored: %d, %q", n, last)
	}
	var codes []trace.Code
	for _, i := range []int{0, 1, 2, 10, 12} {
		codes = append(codes, code(g, fmt.Sprintf("A%d", i), "L1", "i1", i))
	}
	codes = append(codes, code(g, "B0", "L1", "i2", 0), code(g, "C0", "L2", "i1x", 0), code(g, "C1", "L2", "i1x", 30))
	_, err = s.Codes.InsertCodes(ctx, codes)
	Must(t, err)
	n, last, err = s.Codes.CountIssued(ctx, items)
	Must(t, err)
	if n != 5 || last != seqOf("i1", 12) {
		t.Fatalf("items: %d, %q; want 5, %q", n, last, seqOf("i1", 12))
	}

	mk := func(sscc, owner, iss string, i int) trace.SSCC {
		return trace.SSCC{SSCC: sscc, OwnerID: owner, Issuance: iss, Seq: seqOf(iss, i), State: trace.StateIssued,
			IssuedAt: t0, UpdatedAt: t0}
	}
	_, err = s.Codes.InsertSSCCs(ctx, []trace.SSCC{mk("006141411234567890", "e1", "s1", 0),
		mk("106141411234567897", "e1", "s1", 3), mk("306141411234567891", "e1", "s2", 9)})
	Must(t, err)
	n, last, err = s.Codes.CountIssued(ctx, trace.Issuance{ID: "s1", Kind: trace.IssuanceSSCC, OwnerID: "e1"})
	Must(t, err)
	if n != 2 || last != seqOf("s1", 3) {
		t.Fatalf("SSCCs: %d, %q; want 2, %q", n, last, seqOf("s1", 3))
	}
}

func code(gtin, serial, lot, iss string, i int) trace.Code {
	return trace.Code{GTIN: gtin, Serial: serial, Lot: lot, Issuance: iss, Seq: seqOf(iss, i), State: trace.StateIssued,
		IssuedAt: t0, UpdatedAt: t0}
}

// noSeq clears the store's cursors, which differ between backends.
func noSeq[T any](items []T, clear func(*T)) []T {
	out := make([]T, len(items))
	for i, v := range items {
		clear(&v)
		out[i] = v
	}
	return out
}

func clearCode(c *trace.Code) { c.Seq = "" }
func clearSSCC(c *trace.SSCC) { c.Seq = "" }

func testCodes(t *testing.T, s Stores) {
	ctx := context.Background()
	const g, g2 = "09506000134352", "04006381333931"
	var first []trace.Code
	for i := range 5 {
		first = append(first, code(g, fmt.Sprintf("S%d", i), "L1", "i1", i))
	}
	taken, err := s.Codes.InsertCodes(ctx, first)
	Must(t, err)
	if len(taken) != 0 {
		t.Fatalf("taken %v in a fresh store", taken)
	}
	// Serials clash per GTIN: with a stored one, and inside one call. The
	// same serial under another GTIN is a different code.
	second := []trace.Code{
		code(g, "S9", "L1", "i2", 0),
		code(g, "S2", "L1", "i2", 1),
		code(g2, "S2", "L1", "i2", 2),
		code(g, "S9", "L2", "i2", 3),
		code(g, "S8", "L2", "i2", 4),
	}
	taken, err = s.Codes.InsertCodes(ctx, second)
	Must(t, err)
	Equal(t, taken, []int{1, 3})

	got, err := s.Codes.Code(ctx, g2, "S2")
	Must(t, err)
	Equal(t, noSeq([]trace.Code{got}, clearCode), noSeq(second[2:3], clearCode))
	got, err = s.Codes.Code(ctx, g, "S2")
	Must(t, err)
	Equal(t, noSeq([]trace.Code{got}, clearCode), noSeq(first[2:3], clearCode))
	_, err = s.Codes.Code(ctx, g, "nope")
	WantErr(t, err, trace.ErrNotFound, "")

	// Lists page on the cursor (Seq) the store returns.
	serials := func(f trace.CodeFilter, p trace.Page) ([]string, string) {
		list, err := s.Codes.ListCodes(ctx, f, p)
		Must(t, err)
		var out []string
		for _, c := range list {
			out = append(out, c.Serial)
		}
		if len(list) == 0 {
			return out, ""
		}
		return out, list[len(list)-1].Seq
	}
	l1 := trace.CodeFilter{GTIN: g, Lot: "L1"}
	page1, next := serials(l1, trace.Page{Limit: 4})
	Equal(t, page1, []string{"S0", "S1", "S2", "S3"})
	page2, _ := serials(l1, trace.Page{Limit: 4, After: next})
	Equal(t, page2, []string{"S4", "S9"})
	only2, _ := serials(trace.CodeFilter{GTIN: g, Lot: "L1", Issuance: "i2"}, trace.Page{Limit: 9})
	Equal(t, only2, []string{"S9"})
	only1, next := serials(trace.CodeFilter{GTIN: g, Lot: "L1", Issuance: "i1"}, trace.Page{Limit: 3})
	Equal(t, only1, []string{"S0", "S1", "S2"})
	only1, _ = serials(trace.CodeFilter{GTIN: g, Lot: "L1", Issuance: "i1"}, trace.Page{Limit: 3, After: next})
	Equal(t, only1, []string{"S3", "S4"})
	l2, _ := serials(trace.CodeFilter{GTIN: g, Lot: "L2"}, trace.Page{Limit: 9})
	Equal(t, l2, []string{"S8"})
}

func testSSCCs(t *testing.T, s Stores) {
	ctx := context.Background()
	mk := func(sscc, owner, iss string, i int) trace.SSCC {
		return trace.SSCC{SSCC: sscc, OwnerID: owner, Issuance: iss, Seq: seqOf(iss, i), State: trace.StateIssued,
			IssuedAt: t0, UpdatedAt: t0}
	}
	list := []trace.SSCC{
		mk("006141411234567890", "e1", "i1", 0),
		mk("106141411234567897", "e1", "i1", 1),
		mk("106141411234567897", "e1", "i1", 2),
		mk("306141411234567891", "e2", "i2", 0),
	}
	taken, err := s.Codes.InsertSSCCs(ctx, list)
	Must(t, err)
	Equal(t, taken, []int{2})
	got, err := s.Codes.SSCC(ctx, "306141411234567891")
	Must(t, err)
	Equal(t, noSeq([]trace.SSCC{got}, clearSSCC), noSeq(list[3:], clearSSCC))
	_, err = s.Codes.SSCC(ctx, "000000000000000000")
	WantErr(t, err, trace.ErrNotFound, "")
	own, err := s.Codes.ListSSCCs(ctx, trace.SSCCFilter{OwnerID: "e1"}, trace.Page{Limit: 1})
	Must(t, err)
	Equal(t, noSeq(own, clearSSCC), noSeq(list[:1], clearSSCC))
	own, err = s.Codes.ListSSCCs(ctx, trace.SSCCFilter{OwnerID: "e1", Issuance: "i1"}, trace.Page{Limit: 9, After: own[0].Seq})
	Must(t, err)
	Equal(t, noSeq(own, clearSSCC), noSeq(list[1:2], clearSSCC))
}
