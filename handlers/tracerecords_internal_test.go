package handlers

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"tracesvc/trace"
)

// encoded is what json.Encoder writes for v: the bytes the appenders must
// match.
func encoded(t testing.TB, v any) ([]byte, error) {
	t.Helper()
	var buf bytes.Buffer
	err := json.NewEncoder(&buf).Encode(v)
	return buf.Bytes(), err
}

// checkRecords compares the appenders' records and elements of n and e
// with encoding/json's, errors included.
func checkRecords(t testing.TB, n trace.TraceNode, e trace.TraceEdge) {
	t.Helper()
	want, _ := encoded(t, nodeRecord{"node", n})
	if got := appendNodeRecord([]byte("x"), n); !bytes.Equal(got[1:], want) || got[0] != 'x' {
		t.Errorf("node %+v:\n got %s\nwant %s", n, got, want)
	}
	want, werr := encoded(t, edgeRecord{"edge", e})
	got, err := appendEdgeRecord(nil, e)
	if (err != nil) != (werr != nil) || err == nil && !bytes.Equal(got, want) {
		t.Errorf("edge %+v:\n got %s (%v)\nwant %s (%v)", e, got, err, want, werr)
	}
	// The elements of a JSON answer: json.Marshal's bytes.
	want, _ = json.Marshal(n)
	if got := appendNode(nil, n); !bytes.Equal(got, want) {
		t.Errorf("node element %+v:\n got %s\nwant %s", n, got, want)
	}
	want, werr = json.Marshal(e)
	got, err = appendEdge(nil, e)
	if (err != nil) != (werr != nil) || err == nil && !bytes.Equal(got, want) {
		t.Errorf("edge element %+v:\n got %s (%v)\nwant %s (%v)", e, got, err, want, werr)
	}
}

// TestTraceRecordsAsEncoder: a streamed trace's node and edge records, and
// a JSON answer's nodes and edges, are encoding/json's, byte for byte: every optional member present and absent,
// strings the encoder escapes, times in other zones and out of its range.
func TestTraceRecordsAsEncoder(t *testing.T) {
	at := time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC)
	plain := trace.TraceNode{Key: "01/06901230000010/21/ABC", Kind: trace.NodeItem, GTIN: "06901230000010", Serial: "ABC", Depth: 2}
	full := trace.TraceNode{Key: "entity:e1", Kind: trace.NodeParty, GTIN: "g", Lot: "L1", Serial: "s", SSCC: "x", Entity: "e1",
		Name: "Haihe Dairy 海河乳业", Depth: -1, Opaque: true, Count: 12}
	edge := trace.TraceEdge{From: "01/06901230000010/10/W1", To: "01/06901230000010/21/ABC", Kind: trace.EdgeContain, EventID: "urn:uuid:1", EventTime: at}
	checkRecords(t, plain, edge)
	checkRecords(t, trace.TraceNode{}, trace.TraceEdge{})
	checkRecords(t, full, trace.TraceEdge{From: "a", To: "b", Kind: "k", Issuance: "iss-1",
		EventTime: time.Date(2026, 1, 2, 3, 4, 5, 600700800, time.FixedZone("", 8*3600))})
	for _, s := range []string{`A&B<C>`, `quote " and \ slash`, "tab\tline\nfeed\rcr\bbs\fff", "\x00\x1f\x7f", "bad \xff utf-8",
		"line sep \u2028 para \u2029", "emoji 🍼", `/21/AB%2FC`} {
		n := plain
		n.Key, n.Name, n.Lot = s, s, s
		e := edge
		e.From, e.EventID, e.Issuance = s, s, s
		checkRecords(t, n, e)
	}
	for _, tm := range []time.Time{{}, time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		at.In(time.FixedZone("odd", 5*3600+30*60+17))} {
		e := edge
		e.EventTime = tm
		checkRecords(t, plain, e)
	}
}

// FuzzTraceRecords: for any strings, numbers and times, the appenders
// write what the encoder writes.
func FuzzTraceRecords(f *testing.F) {
	f.Add("01/06901230000010/21/ABC", "item", "Haihe", "urn:uuid:1", 2, 0, int64(1_790_000_000), int64(0), 8*3600)
	f.Add("a<b>&\"c\\", "\x00\n\u2028", "\xff", "", -1, 7, int64(-62_135_596_800), int64(999_999_999), -3600)
	f.Fuzz(func(t *testing.T, key, kind, name, id string, depth, count int, sec, nsec int64, offset int) {
		n := trace.TraceNode{Key: key, Kind: kind, GTIN: name, Lot: id, Serial: key, SSCC: kind, Entity: id, Name: name,
			Depth: depth, Opaque: count%2 == 1, Count: count}
		e := trace.TraceEdge{From: key, To: name, Kind: kind, EventID: id, Issuance: name,
			EventTime: time.Unix(sec, nsec).In(time.FixedZone("", offset%(48*3600)))}
		checkRecords(t, n, e)
	})
}
