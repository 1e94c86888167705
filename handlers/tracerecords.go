package handlers

import (
	"encoding/json"
	"strconv"

	"tracesvc/trace"
)

// A streamed wide trace is hundreds of thousands of node and edge records,
// written from the walk's own goroutine, and a JSON answer up to 100,000
// nodes. These appenders write nodes and edges as encoding/json does, byte
// for byte, without reflection (TestTraceRecordsAsEncoder,
// FuzzTraceRecords, TestTraceAnswerFramed): through the encoder a node took
// 0.56 µs and an edge 0.75 µs.

// appendNodeRecord appends n as the "node" record json.Encoder writes for
// nodeRecord, newline included.
func appendNodeRecord(b []byte, n trace.TraceNode) []byte {
	return append(appendNodeMembers(append(b, `{"type":"node",`...), n), "}\n"...)
}

// appendNode appends n as json.Marshal writes it.
func appendNode(b []byte, n trace.TraceNode) []byte {
	return append(appendNodeMembers(append(b, '{'), n), '}')
}

func appendNodeMembers(b []byte, n trace.TraceNode) []byte {
	b = append(b, `"key":`...)
	b = appendJSONString(b, n.Key)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, n.Kind)
	b = appendOptional(b, `,"gtin":`, n.GTIN)
	b = appendOptional(b, `,"lot":`, n.Lot)
	b = appendOptional(b, `,"serial":`, n.Serial)
	b = appendOptional(b, `,"sscc":`, n.SSCC)
	b = appendOptional(b, `,"entityId":`, n.Entity)
	b = appendOptional(b, `,"name":`, n.Name)
	b = append(b, `,"depth":`...)
	b = strconv.AppendInt(b, int64(n.Depth), 10)
	if n.Opaque {
		b = append(b, `,"opaque":true`...)
	}
	if n.Count != 0 {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, int64(n.Count), 10)
	}
	return b
}

// appendEdgeRecord appends e as the "edge" record json.Encoder writes for
// edgeRecord, newline included; it fails, as the encoder does, on a time
// JSON cannot carry (a year outside 0–9999).
func appendEdgeRecord(b []byte, e trace.TraceEdge) ([]byte, error) {
	b, err := appendEdgeMembers(append(b, `{"type":"edge",`...), e)
	return append(b, "}\n"...), err
}

// appendEdge appends e as json.Marshal writes it, failing where it does.
func appendEdge(b []byte, e trace.TraceEdge) ([]byte, error) {
	b, err := appendEdgeMembers(append(b, '{'), e)
	return append(b, '}'), err
}

func appendEdgeMembers(b []byte, e trace.TraceEdge) ([]byte, error) {
	b = append(b, `"from":`...)
	b = appendJSONString(b, e.From)
	b = append(b, `,"to":`...)
	b = appendJSONString(b, e.To)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, e.Kind)
	b = append(b, `,"eventId":`...)
	b = appendJSONString(b, e.EventID)
	b = append(b, `,"eventTime":"`...)
	b, err := e.EventTime.AppendText(b)
	if err != nil {
		return b, err
	}
	b = append(b, '"')
	return appendOptional(b, `,"issuance":`, e.Issuance), nil
}

// appendOptional appends the member name and s, unless s is empty
// (omitempty).
func appendOptional(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return appendJSONString(append(b, name...), s)
}

// appendJSONString appends s as a JSON string the way encoding/json
// writes it (HTML characters escaped). Keys, kinds and IDs are printable
// ASCII without <, >, & or quotes, and are copied as they are; anything
// else goes through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
