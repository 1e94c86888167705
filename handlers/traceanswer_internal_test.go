package handlers

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"tracesvc/trace"
)

// TestTraceAnswerFramed: a trace's JSON answer written a list element at a
// time is byte for byte what encoding the answer whole gives (c.JSON),
// with strings that need escaping in every part, empty and absent lists.
func TestTraceAnswerFramed(t *testing.T) {
	at := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	tricky := `"nodes":[] <b>&amp; "edges":[]` + "\u2028"
	full := traceAnswer{
		TraceGraph: trace.TraceGraph{
			Start: []string{"01/09501101020917/10/" + tricky}, Direction: trace.Forward, MaxDepth: 10,
			Truncated: true, Reason: tricky,
			Nodes: []trace.TraceNode{
				{Key: "01/09501101020917/10/L1", Kind: trace.NodeLot, GTIN: "09501101020917", Lot: "L1"},
				{Key: "entity:" + tricky, Kind: trace.NodeParty, Entity: tricky, Name: tricky, Depth: 2},
				{Key: "opaque:01/09501101020917", Kind: trace.NodeItem, Opaque: true, Count: 3},
			},
			Edges: []trace.TraceEdge{
				{From: "a", To: "b", Kind: trace.EdgeContain, EventID: tricky, EventTime: at, Issuance: "iss-1"},
				{From: "b", To: "entity:" + tricky, Kind: trace.EdgeMovedTo, EventID: "e2", EventTime: at.Add(time.Hour)},
			},
			Custodians: []trace.Holding{
				{EntityID: tricky, Name: "A", Items: 2, Current: 1, Keys: []string{"a", "b"}, Amounts: map[string]float64{"KGM": 1.5, "LTR": 2}},
				{EntityID: "e2", Keys: []string{}},
			},
			Unmoved: []trace.UnmovedCodes{{GTIN: "09501101020917", Lot: "L1", State: trace.StateIssued, Count: 40}},
		},
		Unmoved: []unmovedView{viewUnmoved(trace.UnmovedCodes{GTIN: "09501101020917", Lot: "L1", State: trace.StateIssued, Count: 40})},
		More:    tricky,
	}
	empty := traceAnswer{TraceGraph: trace.TraceGraph{Start: []string{"x"}, Nodes: []trace.TraceNode{}, Edges: []trace.TraceEdge{}, Custodians: []trace.Holding{}}}
	for name, a := range map[string]traceAnswer{"full": full, "empty lists": empty, "absent lists": {}} {
		want, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		frame, lists, err := framed(a)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := writeFramed(&got, frame, lists); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: framed answer differs from the whole one:\n got %s\nwant %s", name, got.Bytes(), want)
		}
	}
}
