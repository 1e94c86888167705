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
	is := trace.Issuance{ID: "i1", Kind: trace.IssuanceItems, OwnerID: "e1", GTIN: "09506000134352", Lot: "L1",
		Requested: 100, State: trace.IssuanceRunning, IdempotencyKey: "k-1", CreatedAt: t0, UpdatedAt: t0}
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

	// The same key is taken for the same owner only; no key never clashes.
	dup := is
	dup.ID = "i2"
	WantErr(t, s.Codes.CreateIssuance(ctx, dup), trace.ErrConflict, "Idempotency-Key")
	dup.OwnerID = "e2"
	Must(t, s.Codes.CreateIssuance(ctx, dup))
	for _, id := range []string{"i3", "i4"} {
		Must(t, s.Codes.CreateIssuance(ctx, trace.Issuance{ID: id, Kind: trace.IssuanceSSCC, OwnerID: "e1",
			Requested: 1, State: trace.IssuanceRunning, CreatedAt: t0, UpdatedAt: t0}))
	}

	at := t0.Add(time.Minute)
	_, err = s.Codes.ClaimIssuance(ctx, "i1", at)
	WantErr(t, err, trace.ErrConflict, "")
	Must(t, s.Codes.UpdateIssuance(ctx, "i1", 40, trace.IssuanceInterrupted, at))
	got, err = s.Codes.Issuance(ctx, "i1")
	Must(t, err)
	if got.Issued != 40 || got.State != trace.IssuanceInterrupted || !got.UpdatedAt.Equal(at) {
		t.Fatalf("after update: %+v", got)
	}
	got, err = s.Codes.ClaimIssuance(ctx, "i1", at.Add(time.Second))
	Must(t, err)
	if got.State != trace.IssuanceRunning || got.Issued != 40 {
		t.Fatalf("after claim: %+v", got)
	}
	_, err = s.Codes.ClaimIssuance(ctx, "nope", at)
	WantErr(t, err, trace.ErrNotFound, "")
	WantErr(t, s.Codes.UpdateIssuance(ctx, "nope", 1, trace.IssuanceComplete, at), trace.ErrNotFound, "")
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
