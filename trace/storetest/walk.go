package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"tracesvc/trace"
)

// testMovedCodes (issue 14, wide traces): a batch's codes split into
// those some custody event named (moved) and those still as issued, in
// lists that page like the plain one, and in counts.
func testMovedCodes(t *testing.T, s Stores) {
	ctx := context.Background()
	seedCodes(t, s) // L1: S0, S1, S2
	const g = "09506000134352"
	var more []trace.Code
	for i := range 4 {
		more = append(more, code(g, fmt.Sprintf("T%d", i), "L1", "i3", i))
	}
	_, err := s.Codes.InsertCodes(ctx, more)
	Must(t, err)
	all, moved, err := s.Codes.CountCodes(ctx, g, "L1")
	Must(t, err)
	if all != 7 || moved != 0 {
		t.Fatalf("counts of a fresh batch: %d all, %d moved; want 7, 0", all, moved)
	}
	// S1 and T2 are commissioned, T3 is shipped while still issued: every
	// code an event named has moved, whatever its state.
	states, err := s.Events.Custody(ctx, []string{keyS1, "01/" + g + "/21/T2", "01/" + g + "/21/T3"})
	Must(t, err)
	var w trace.CaptureWrite
	for k, c := range states {
		c.Version++
		c.LastEventAt = t0.Add(time.Hour)
		if k == "01/"+g+"/21/T3" {
			c.PendingTo = "e2"
		} else {
			c.State, c.Possessor = trace.StateCommissioned, "e1"
		}
		w.Custody = append(w.Custody, c)
	}
	slices.SortFunc(w.Custody, func(a, b trace.Custody) int { return strings.Compare(a.Key, b.Key) })
	Must(t, s.Events.ApplyCapture(ctx, w))
	all, moved, err = s.Codes.CountCodes(ctx, g, "L1")
	Must(t, err)
	if all != 7 || moved != 3 {
		t.Fatalf("counts: %d all, %d moved; want 7, 3", all, moved)
	}
	if a, m, err := s.Codes.CountCodes(ctx, g, "NOPE"); err != nil || a != 0 || m != 0 {
		t.Fatalf("counts of no batch: %d, %d, %v", a, m, err)
	}
	list := func(f trace.CodeFilter, p trace.Page) ([]string, string) {
		t.Helper()
		codes, err := s.Codes.ListCodes(ctx, f, p)
		Must(t, err)
		var out []string
		for _, c := range codes {
			out = append(out, c.Serial)
		}
		if len(codes) == 0 {
			return out, ""
		}
		return out, codes[len(codes)-1].Seq
	}
	page, next := list(trace.CodeFilter{GTIN: g, Lot: "L1", Moved: true}, trace.Page{Limit: 2})
	Equal(t, page, []string{"S1", "T2"})
	page, _ = list(trace.CodeFilter{GTIN: g, Lot: "L1", Moved: true}, trace.Page{Limit: 2, After: next})
	Equal(t, page, []string{"T3"})
	page, _ = list(trace.CodeFilter{GTIN: g, Lot: "L1", Unmoved: true}, trace.Page{Limit: 9})
	Equal(t, page, []string{"S0", "S2", "T0", "T1"})
	page, _ = list(trace.CodeFilter{GTIN: g, Lot: "L1", Moved: true, Issuance: "i1"}, trace.Page{Limit: 9})
	Equal(t, page, []string{"S1"})
	page, _ = list(trace.CodeFilter{GTIN: g, Lot: "L1", Moved: true, Unmoved: true}, trace.Page{Limit: 9})
	Equal(t, page, []string(nil))
	moves, err := s.Codes.ListCodes(ctx, trace.CodeFilter{GTIN: g, Lot: "L1", Moved: true}, trace.Page{Limit: 1})
	Must(t, err)
	if moves[0].State != trace.StateCommissioned || moves[0].Possessor != "e1" {
		t.Fatalf("a moved code comes with its state and possessor: %+v", moves[0])
	}

	// Possessors: codes someone holds, item codes and SSCCs alike.
	sc, err := s.Events.Custody(ctx, []string{keySSCC})
	Must(t, err)
	p := sc[keySSCC]
	p.Version, p.State, p.Possessor = p.Version+1, trace.StateInCustody, "e3"
	Must(t, s.Events.ApplyCapture(ctx, trace.CaptureWrite{Custody: []trace.Custody{p}}))
	who, err := s.Events.Possessors(ctx, []string{keyS0, keyS1, "01/" + g + "/21/T2", "01/" + g + "/21/T3", keySSCC,
		"01/" + g + "/21/NOPE", "01/" + g + "/10/L1", "entity:e1"})
	Must(t, err)
	Equal(t, who, map[string]string{keyS1: "e1", "01/" + g + "/21/T2": "e1", keySSCC: "e3"})
}

// testWalkEvents (issue 14, wide traces): the events naming keys, each
// once, with the references to those keys, all references of linking
// events only, and class quantities.
func testWalkEvents(t *testing.T, s Stores) {
	ctx := context.Background()
	const milk = "01/09506000134352/10/MILK1"
	big := event("w1", "ObjectEvent", "commissioning", t0, epc(keyS0), epc(keyS1), epc(keyS2))
	pack := event("w2", "AggregationEvent", "packing", t0.Add(time.Hour), trace.EventRef{Key: keySSCC, Role: trace.RoleParent},
		trace.EventRef{Key: keyS0, Role: trace.RoleChild}, trace.EventRef{Key: keyS1, Role: trace.RoleChild})
	ship := event("w3", "ObjectEvent", "shipping", t0.Add(2*time.Hour), epc(keySSCC),
		trace.EventRef{Key: milk, Role: trace.RoleClass, Quantity: 20, UOM: "LTR"})
	ship.Parties = []string{"destination:e2", "source:e1"}
	made := event("w4", "TransformationEvent", "", t0.Add(3*time.Hour),
		trace.EventRef{Key: milk, Role: trace.RoleInputClass, Quantity: 5, UOM: "LTR"}, trace.EventRef{Key: keyS2, Role: trace.RoleOutput})
	other := event("w5", "ObjectEvent", "inspecting", t0, epc("01/04006381333931/21/X"))
	Must(t, s.Events.ApplyCapture(ctx, trace.CaptureWrite{Events: []trace.StoredEvent{big, pack, ship, made, other}}))

	byID := func(keys []string, limit int) map[string]trace.WalkEvent {
		t.Helper()
		list, err := s.Events.WalkEvents(ctx, keys, nil, false, limit)
		Must(t, err)
		out := map[string]trace.WalkEvent{}
		for _, e := range list {
			if _, dup := out[e.ID]; dup {
				t.Fatalf("event %s came twice", e.ID)
			}
			if e.Raw != nil || e.Visible != nil {
				t.Fatalf("walk event %s carries Raw or Visible: %+v", e.ID, e)
			}
			out[e.ID] = e
		}
		return out
	}
	sortRefs := func(r []trace.EventRef) []trace.EventRef {
		r = slices.Clone(r)
		slices.SortFunc(r, func(a, b trace.EventRef) int { return strings.Compare(a.Role+a.Key, b.Role+b.Key) })
		return r
	}
	got := byID([]string{keyS1, milk}, 10)
	if len(got) != 4 {
		t.Fatalf("events of S1 and the milk: %d, want w1 to w4", len(got))
	}
	// An object event: only the references asked for, no Refs.
	w1 := got["w1"]
	Equal(t, w1.Touched, []trace.EventRef{epc(keyS1)})
	if w1.Refs != nil || w1.Type != "ObjectEvent" || w1.BizStep != "commissioning" || !w1.EventTime.Equal(t0) || w1.CapturedBy != "e1" {
		t.Fatalf("w1: %+v", w1)
	}
	// A linking event: all its references, and those asked for.
	Equal(t, got["w2"].Refs, pack.Refs)
	Equal(t, got["w2"].Touched, []trace.EventRef{{Key: keyS1, Role: trace.RoleChild}})
	// Class references keep their quantities; parties come along.
	Equal(t, got["w3"].Touched, []trace.EventRef{{Key: milk, Role: trace.RoleClass, Quantity: 20, UOM: "LTR"}})
	Equal(t, got["w3"].Parties, ship.Parties)
	if got["w3"].Refs != nil {
		t.Fatalf("w3 is an object event; its Refs: %v", got["w3"].Refs)
	}
	Equal(t, sortRefs(got["w4"].Refs), sortRefs(made.Refs))
	Equal(t, got["w4"].Touched, []trace.EventRef{{Key: milk, Role: trace.RoleInputClass, Quantity: 5, UOM: "LTR"}})
	// A key named in two roles of one event.
	got = byID([]string{keyS0, keySSCC}, 10)
	Equal(t, sortRefs(got["w2"].Touched), sortRefs([]trace.EventRef{{Key: keySSCC, Role: trace.RoleParent}, {Key: keyS0, Role: trace.RoleChild}}))
	Equal(t, got["w1"].Touched, []trace.EventRef{epc(keyS0)})
	if len(got) != 3 {
		t.Fatalf("events of S0 and the pallet: %d", len(got))
	}
	if got := byID([]string{keyS0, keyS1, keyS2, keySSCC, milk}, 2); len(got) != 2 {
		t.Fatalf("limit 2 gave %d events", len(got))
	}
	if got := byID([]string{"01/09506000134352/21/NOPE"}, 10); len(got) != 0 {
		t.Fatalf("events of an unnamed key: %v", got)
	}

	raws, err := s.Events.EventRaws(ctx, []string{"w3", "w1", "nope"})
	Must(t, err)
	if len(raws) != 2 || string(raws["w1"]) != string(big.Raw) || string(raws["w3"]) != string(ship.Raw) {
		t.Fatalf("raw events: %s", raws)
	}
}

// testWalkEventsBySeq (issue 14, wide traces): a walk that knows the codes'
// Seqs from the register finds the same events, with the same references,
// as by their keys, in a capture written as the service writes one (the
// events with the custody of every issued code they name), also with
// keys of no code in the same list. Keys and Seqs of unequal length are
// refused.
func testWalkEventsBySeq(t *testing.T, s Stores) {
	ctx := context.Background()
	seedCodes(t, s) // L1: S0, S1, S2
	made := event("q1", "ObjectEvent", "commissioning", t0, epc(keyS0), epc(keyS1),
		trace.EventRef{Key: keyL1, Role: trace.RoleClass, Quantity: 2, UOM: "EA"})
	pack := event("q2", "AggregationEvent", "packing", t0.Add(time.Hour), trace.EventRef{Key: keySSCC, Role: trace.RoleParent},
		trace.EventRef{Key: keyS1, Role: trace.RoleChild})
	sold := event("q3", "ObjectEvent", "retail_selling", t0.Add(2*time.Hour), epc(keyS0))
	captureHeld(t, s, []trace.StoredEvent{made, pack, sold}, keyS0, keyS1, keySSCC)
	// A second capture names S1 again.
	captureHeld(t, s, []trace.StoredEvent{event("q4", "ObjectEvent", "inspecting", t0.Add(3*time.Hour), epc(keyS1))}, keyS1)

	keys, seqs := walkKeysOfL1(t, s)
	if len(keys) != 4 {
		t.Fatalf("moved codes: %v", keys[2:])
	}
	walk := func(seqs []string) map[string][]trace.EventRef {
		t.Helper()
		list, err := s.Events.WalkEvents(ctx, keys, seqs, false, 10)
		Must(t, err)
		out := map[string][]trace.EventRef{}
		for _, e := range list {
			if _, dup := out[e.ID]; dup {
				t.Fatalf("event %s came twice", e.ID)
			}
			r := slices.Clone(e.Touched)
			slices.SortFunc(r, func(a, b trace.EventRef) int { return strings.Compare(a.Role+a.Key, b.Role+b.Key) })
			out[e.ID] = r
		}
		return out
	}
	byKey, bySeq := walk(nil), walk(seqs)
	Equal(t, bySeq, byKey)
	Equal(t, bySeq, map[string][]trace.EventRef{
		"q1": {{Key: keyL1, Role: trace.RoleClass, Quantity: 2, UOM: "EA"}, epc(keyS0), epc(keyS1)},
		"q2": {{Key: keyS1, Role: trace.RoleChild}, {Key: keySSCC, Role: trace.RoleParent}},
		"q3": {epc(keyS0)},
		"q4": {epc(keyS1)},
	})
	if _, err := s.Events.WalkEvents(ctx, keys, seqs[:1], false, 10); !errors.Is(err, trace.ErrInvalid) {
		t.Fatalf("keys and seqs of unequal length: %v, want ErrInvalid", err)
	}
}

// testWalkEventsMerged (issue 14, wide traces): with merge, a walk learns
// the same from the store as without: every reference to the keys asked
// for comes either with its event or, when the event has a sole holder
// (StoredEvent.SoleHolder), possibly in a merged entry of that holder
// (no ID, Type ObjectEvent). Events without one (linking, moving, naming
// a party) always come as themselves, each once.
func testWalkEventsMerged(t *testing.T, s Stores) {
	ctx := context.Background()
	seedCodes(t, s) // L1: S0, S1, S2
	by := func(e trace.StoredEvent, who string, parties ...string) trace.StoredEvent {
		e.CapturedBy, e.Parties = who, parties
		return e
	}
	capture := func(events []trace.StoredEvent, keys ...string) { captureHeld(t, s, events, keys...) }
	capture([]trace.StoredEvent{
		by(event("m1", "ObjectEvent", "commissioning", t0, epc(keyS0), epc(keyS1),
			trace.EventRef{Key: keyL1, Role: trace.RoleClass, Quantity: 2, UOM: "EA"}), "e1"),
		by(event("m2", "AggregationEvent", "packing", t0.Add(time.Hour), trace.EventRef{Key: keySSCC, Role: trace.RoleParent},
			trace.EventRef{Key: keyS1, Role: trace.RoleChild}), "e1"),
	}, keyS0, keyS1, keySSCC)
	capture([]trace.StoredEvent{by(event("m3", "ObjectEvent", "retail_selling", t0.Add(2*time.Hour), epc(keyS0)), "e3")}, keyS0)
	capture([]trace.StoredEvent{
		by(event("m4", "ObjectEvent", "retail_selling", t0.Add(3*time.Hour), epc(keyS1)), "e3"),
		by(event("m5", "ObjectEvent", "inspecting", t0.Add(3*time.Hour), epc(keyS0)), "e2", "source:e1"),
		by(event("m6", "ObjectEvent", "shipping", t0.Add(4*time.Hour), epc(keyS1)), "e1"),
	}, keyS0, keyS1)

	keys, seqs := walkKeysOfL1(t, s)
	// What a walk learns: "held by" a sole holder, or the event's ID, for
	// each reference.
	type learnt struct{ from, role, key string }
	walk := func(seqs []string, merge bool) (map[learnt]bool, int) {
		t.Helper()
		list, err := s.Events.WalkEvents(ctx, keys, seqs, merge, 20)
		Must(t, err)
		out, ids, merged := map[learnt]bool{}, map[string]bool{}, 0
		for _, e := range list {
			from := e.ID
			switch h := e.SoleHolder(); {
			case e.Merged:
				if !merge || e.ID != "" || e.Type != "ObjectEvent" || h == "" {
					t.Fatalf("merged entry (merge %v): %+v", merge, e)
				}
				merged++
				from = "held by " + h
			case ids[e.ID]:
				t.Fatalf("event %s came twice", e.ID)
			case h != "":
				from = "held by " + h
			}
			ids[e.ID] = true
			for _, r := range e.Touched {
				out[learnt{from, r.Role, r.Key}] = true
			}
		}
		return out, merged
	}
	want, n := walk(nil, false)
	if n != 0 {
		t.Fatalf("%d merged entries without merge", n)
	}
	Equal(t, want, map[learnt]bool{
		{"held by e1", trace.RoleEPC, keyS0}: true, {"held by e1", trace.RoleEPC, keyS1}: true,
		{"held by e1", trace.RoleClass, keyL1}: true,
		{"m2", trace.RoleParent, keySSCC}:      true, {"m2", trace.RoleChild, keyS1}: true,
		{"held by e3", trace.RoleEPC, keyS0}: true, {"held by e3", trace.RoleEPC, keyS1}: true,
		{"m5", trace.RoleEPC, keyS0}: true, {"m6", trace.RoleEPC, keyS1}: true,
	})
	for _, sq := range [][]string{nil, seqs} {
		got, _ := walk(sq, false)
		Equal(t, got, want)
		got, _ = walk(sq, true)
		Equal(t, got, want)
	}
	// The codes' own references, found by Seq, are what a store merges.
	if _, n := walk(seqs, true); n == 0 {
		t.Fatal("no merged entry for the codes' sole holders")
	}
}

// captureHeld stores events as the service captures them: with the
// custody of each of keys moved on a version, commissioned and held by
// e1 as of the latest event.
func captureHeld(t *testing.T, s Stores, events []trace.StoredEvent, keys ...string) {
	t.Helper()
	ctx := context.Background()
	states, err := s.Events.Custody(ctx, keys)
	Must(t, err)
	var last time.Time
	for _, e := range events {
		if e.EventTime.After(last) {
			last = e.EventTime
		}
	}
	w := trace.CaptureWrite{Events: events}
	for _, k := range keys {
		c := states[k]
		c.Version++
		c.State, c.Possessor, c.LastEventAt = trace.StateCommissioned, "e1", last
		w.Custody = append(w.Custody, c)
	}
	Must(t, s.Events.ApplyCapture(ctx, w))
}

// walkKeysOfL1 is what a walk asks the store for the lot L1 (see
// seedCodes): the lot's key and the SSCC, which name no code (Seq ""),
// then the lot's moved codes with their Seqs.
func walkKeysOfL1(t *testing.T, s Stores) (keys, seqs []string) {
	t.Helper()
	moved, err := s.Codes.ListCodes(context.Background(), trace.CodeFilter{GTIN: "09506000134352", Lot: "L1", Moved: true}, trace.Page{Limit: 10})
	Must(t, err)
	keys, seqs = []string{keyL1, keySSCC}, []string{"", ""}
	for _, cd := range moved {
		keys, seqs = append(keys, trace.ItemKey(cd.GTIN, cd.Serial)), append(seqs, cd.Seq)
	}
	return keys, seqs
}
