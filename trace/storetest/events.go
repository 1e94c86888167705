package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"tracesvc/trace"
)

// seedCodes stores a batch of product g owned by e1 with serials S0..S2,
// and one SSCC of e1.
func seedCodes(t *testing.T, s Stores) {
	ctx := context.Background()
	const g = "09506000134352"
	Must(t, s.Trace.CreateBatch(ctx, trace.Batch{GTIN: g, Lot: "L1", OwnerID: "e1", ProductionDate: "2026-11-01",
		Quantity: 3, Unit: "EA", CreatedAt: t0}))
	var codes []trace.Code
	for i := range 3 {
		codes = append(codes, code(g, fmt.Sprintf("S%d", i), "L1", "i1", i))
	}
	_, err := s.Codes.InsertCodes(ctx, codes)
	Must(t, err)
	_, err = s.Codes.InsertSSCCs(ctx, []trace.SSCC{{SSCC: "106141411234567897", OwnerID: "e1", Issuance: "i2",
		Seq: seqOf("i2", 0), State: trace.StateIssued, IssuedAt: t0, UpdatedAt: t0}})
	Must(t, err)
}

const (
	keyL1   = "01/09506000134352/10/L1" // the lot seedCodes makes
	keyS0   = "01/09506000134352/21/S0"
	keyS1   = "01/09506000134352/21/S1"
	keyS2   = "01/09506000134352/21/S2"
	keySSCC = "00/106141411234567897"
)

// epc is a reference to key in an event's epcList.
func epc(key string) trace.EventRef { return trace.EventRef{Key: key, Role: trace.RoleEPC} }

func testCustody(t *testing.T, s Stores) {
	ctx := context.Background()
	seedCodes(t, s)
	got, err := s.Events.Custody(ctx, []string{keyS0, keySSCC, "01/09506000134352/21/NOPE", "01/04006381333931/10/L1", "https://x/y"})
	Must(t, err)
	if len(got) != 2 {
		t.Fatalf("custody of issued codes only: %+v", got)
	}
	s0 := got[keyS0]
	if s0.Owner != "e1" || s0.State != trace.StateIssued || s0.Version != 0 || !s0.LastEventAt.IsZero() {
		t.Fatalf("fresh code: %+v", s0)
	}
	if p := got[keySSCC]; p.Owner != "e1" || p.Key != keySSCC {
		t.Fatalf("fresh SSCC: %+v", p)
	}

	at := t0.Add(time.Hour)
	s0.State, s0.Possessor, s0.Container, s0.LastEventAt, s0.Version = trace.StateCommissioned, "e1", keySSCC, at, 1
	pallet := got[keySSCC]
	pallet.State, pallet.Possessor, pallet.PendingTo, pallet.Version = trace.StateInCustody, "e1", "e2", 1
	Must(t, s.Events.ApplyCapture(ctx, trace.CaptureWrite{Custody: []trace.Custody{s0, pallet}}))
	got, err = s.Events.Custody(ctx, []string{keyS0, keySSCC})
	Must(t, err)
	Equal(t, got[keyS0], s0)
	Equal(t, got[keySSCC], pallet)

	in, err := s.Events.Contents(ctx, keySSCC)
	Must(t, err)
	Equal(t, in, []trace.Custody{s0})

	// A writer that read version 0 loses to the one that wrote version 1.
	stale := s0
	stale.Possessor, stale.Version = "e9", 1
	WantErr(t, s.Events.ApplyCapture(ctx, trace.CaptureWrite{Custody: []trace.Custody{stale}}), trace.ErrConflict, "")
	got, err = s.Events.Custody(ctx, []string{keyS0})
	Must(t, err)
	Equal(t, got[keyS0], s0)
}

func event(id string, typ, step string, at time.Time, refs ...trace.EventRef) trace.StoredEvent {
	raw, _ := json.Marshal(map[string]any{"eventID": id, "type": typ, "bizStep": step, "eventTime": at.Format(time.RFC3339)})
	return trace.StoredEvent{ID: id, Type: typ, Action: "OBSERVE", BizStep: step, Disposition: "in_progress",
		ReadPoint: "414/0614141073467", BizLocation: "414/0614141000005", EventTime: at, RecordTime: at.Add(time.Minute),
		CapturedBy: "e1", Refs: refs, Parties: []string{"e2"}, Visible: []string{"e1", "e2"}, Raw: raw}
}

func ids(es []trace.StoredEvent) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testEvents(t *testing.T, s Stores) {
	ctx := context.Background()
	evs := []trace.StoredEvent{
		event("ev1", "ObjectEvent", "commissioning", t0, epc(keyS0), epc(keyS1)),
		event("ev2", "AggregationEvent", "packing", t0.Add(2*time.Hour), trace.EventRef{Key: keySSCC, Role: trace.RoleParent},
			trace.EventRef{Key: keyS0, Role: trace.RoleChild}),
		event("ev3", "ObjectEvent", "shipping", t0.Add(time.Hour), epc(keySSCC)),
		event("ev4", "TransformationEvent", "creating_class_instance", t0.Add(3*time.Hour),
			trace.EventRef{Key: "01/09506000134352/10/MILK1", Role: trace.RoleInputClass},
			trace.EventRef{Key: keyS2, Role: trace.RoleOutput}),
	}
	evs[3].Action = ""
	evs[3].Visible = []string{"e3"}
	evs[3].Raw = json.RawMessage(`{"eventID":"ev4","type":"TransformationEvent","example:x":{"a":[1,2]}}`)
	// Query results show recordTime to the millisecond, so it must come back so.
	evs[3].RecordTime = evs[3].RecordTime.Add(123 * time.Millisecond)
	Must(t, s.Events.ApplyCapture(ctx, trace.CaptureWrite{Events: evs[:2]}))
	// Storing an event again is a no-op.
	Must(t, s.Events.ApplyCapture(ctx, trace.CaptureWrite{Events: evs}))
	stored, err := s.Events.StoredEventIDs(ctx, []string{"ev1", "ev4", "ev9"})
	Must(t, err)
	Equal(t, stored, map[string]string{"ev1": evs[0].CapturedBy, "ev4": evs[3].CapturedBy})

	all, err := s.Events.QueryEvents(ctx, trace.EventFilter{}, trace.ByEventTime, nil, 10)
	Must(t, err)
	Equal(t, ids(all), []string{"ev1", "ev3", "ev2", "ev4"})
	// Events come back as stored, Raw byte for byte.
	got := all[3]
	if string(got.Raw) != string(evs[3].Raw) || !got.EventTime.Equal(evs[3].EventTime) || !got.RecordTime.Equal(evs[3].RecordTime) ||
		!slices.Equal(got.Refs, evs[3].Refs) {
		t.Fatalf("stored event: %+v", got)
	}
	q := func(f trace.EventFilter) []string {
		t.Helper()
		list, err := s.Events.QueryEvents(ctx, f, trace.ByRecordTime, nil, 10)
		Must(t, err)
		return ids(list)
	}
	Equal(t, q(trace.EventFilter{Types: []string{"ObjectEvent"}}), []string{"ev1", "ev3"})
	Equal(t, q(trace.EventFilter{BizSteps: []string{"shipping", "packing"}}), []string{"ev3", "ev2"})
	Equal(t, q(trace.EventFilter{Actions: []string{"OBSERVE"}, Dispositions: []string{"in_progress"}}), []string{"ev1", "ev3", "ev2"})
	Equal(t, q(trace.EventFilter{EPCs: []string{keyS0}}), []string{"ev1"})
	Equal(t, q(trace.EventFilter{AnyEPCs: []string{keyS0}}), []string{"ev1", "ev2"})
	Equal(t, q(trace.EventFilter{AnyEPCs: []string{keyS2, keySSCC}}), []string{"ev3", "ev2", "ev4"})
	Equal(t, q(trace.EventFilter{Parents: []string{keySSCC}}), []string{"ev2"})
	Equal(t, q(trace.EventFilter{Outputs: []string{keyS2}}), []string{"ev4"})
	Equal(t, q(trace.EventFilter{Inputs: []string{keyS2}}), []string(nil))
	Equal(t, q(trace.EventFilter{Classes: []string{"01/09506000134352/10/MILK1"}}), []string{"ev4"})
	Equal(t, q(trace.EventFilter{EventIDs: []string{"ev2", "ev4"}}), []string{"ev2", "ev4"})
	Equal(t, q(trace.EventFilter{BizLocations: []string{"414/0614141000005"}, ReadPoints: []string{"414/0614141073467"}}), []string{"ev1", "ev3", "ev2", "ev4"})
	Equal(t, q(trace.EventFilter{EventTimeFrom: t0.Add(time.Hour), EventTimeTo: t0.Add(3 * time.Hour)}), []string{"ev3", "ev2"})
	Equal(t, q(trace.EventFilter{RecordTimeFrom: t0.Add(2 * time.Hour)}), []string{"ev2", "ev4"})
	Equal(t, q(trace.EventFilter{VisibleTo: "e2"}), []string{"ev1", "ev3", "ev2"})
	Equal(t, q(trace.EventFilter{VisibleTo: "e3"}), []string{"ev4"})
	Equal(t, q(trace.EventFilter{VisibleTo: "e3", Types: []string{"ObjectEvent"}}), []string(nil))

	// Paging resumes after the cursor in either order.
	page, err := s.Events.QueryEvents(ctx, trace.EventFilter{}, trace.ByEventTime, nil, 2)
	Must(t, err)
	last := page[1]
	page, err = s.Events.QueryEvents(ctx, trace.EventFilter{}, trace.ByEventTime, &trace.EventCursor{Time: last.EventTime, ID: last.ID}, 2)
	Must(t, err)
	Equal(t, ids(page), []string{"ev2", "ev4"})

	walk, err := s.Events.EventsByKeys(ctx, []string{keyS0, "01/09506000134352/10/MILK1"}, 10)
	Must(t, err)
	got2 := ids(walk)
	slices.Sort(got2)
	Equal(t, got2, []string{"ev1", "ev2", "ev4"})
	heads, err := s.Events.EventHeaders(ctx, []string{keyS0, "01/09506000134352/10/MILK1"}, 10)
	Must(t, err)
	got3 := ids(heads)
	slices.Sort(got3)
	Equal(t, got3, []string{"ev1", "ev2", "ev4"})
	for _, h := range heads {
		if h.Refs != nil || h.Raw != nil || h.BizStep == "" || h.EventTime.IsZero() || h.CapturedBy != "e1" {
			t.Fatalf("header: %+v", h)
		}
	}
	limited, err := s.Events.EventsByKeys(ctx, []string{keyS0, keySSCC}, 2)
	Must(t, err)
	if len(limited) != 2 {
		t.Fatalf("limit 2 gave %d events", len(limited))
	}
}

func testCaptureJobs(t *testing.T, s Stores) {
	ctx := context.Background()
	j := trace.CaptureJob{ID: "j1", OwnerID: "e1", Running: true, ErrorBehaviour: "rollback", Events: 3, CreatedAt: t0}
	Must(t, s.Events.SaveCaptureJob(ctx, j))
	j.Running, j.Success, j.Captured, j.Duplicates, j.FinishedAt = false, false, 1, 1, t0.Add(time.Second)
	j.Errors = []trace.CaptureError{{Index: 2, EventID: "x", Pointer: "/epcisBody/eventList/2/eventTime", Rule: "eventTime.required", Message: "m"}}
	Must(t, s.Events.SaveCaptureJob(ctx, j))
	got, err := s.Events.CaptureJob(ctx, "j1")
	Must(t, err)
	Equal(t, got, j)
	_, err = s.Events.CaptureJob(ctx, "nope")
	WantErr(t, err, trace.ErrNotFound, "")
}

// testRecordTimeAtWrite (issue 10, item 7): given RecordTime, the store
// stamps the events it writes with it when it writes them, whatever
// recordTime they carried from the start of the capture.
func testRecordTimeAtWrite(t *testing.T, s Stores) {
	ctx := context.Background()
	e := event("rt1", "ObjectEvent", "inspecting", t0, trace.EventRef{Key: keyS0, Role: trace.RoleEPC})
	e.RecordTime = t0 // when the capture began
	at := t0.Add(3 * time.Second).Add(250 * time.Millisecond)
	calls := 0
	Must(t, s.Events.ApplyCapture(ctx, trace.CaptureWrite{Events: []trace.StoredEvent{e},
		RecordTime: func() time.Time { calls++; return at }}))
	got, err := s.Events.QueryEvents(ctx, trace.EventFilter{EventIDs: []string{"rt1"}}, trace.ByRecordTime, nil, 10)
	Must(t, err)
	if len(got) != 1 || !got[0].RecordTime.Equal(at) || calls != 1 {
		t.Fatalf("recordTime %v after %d calls, want %v", got, calls, at)
	}
}
