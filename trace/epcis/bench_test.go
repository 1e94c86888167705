package epcis

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

func BenchmarkParseEvent(b *testing.B) {
	raw := json.RawMessage(typicalEvent)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseEvent(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseEventDerivedID parses an event without eventID, which
// adds the hash.
func BenchmarkParseEventDerivedID(b *testing.B) {
	raw := mutate(b, typicalEvent, func(m map[string]any) { delete(m, "eventID") })
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseEvent(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// bigDocument returns a document of n typical events with distinct EPCs.
func bigDocument(tb testing.TB, n int) []byte {
	var sb strings.Builder
	sb.WriteString(docHead + `"epcisBody":{"eventList":[`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strings.Replace(typicalEvent, ".2017", "."+strconv.Itoa(i), 1))
	}
	sb.WriteString(`]}}`)
	return []byte(sb.String())
}

// BenchmarkCapture decodes a document of 10,000 events and parses each,
// the work of one capture request.
func BenchmarkCapture(b *testing.B) {
	data := bigDocument(b, 10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := DecodeDocument(data)
		if err != nil {
			b.Fatal(err)
		}
		for i := range d.Events {
			if _, err := d.ParseEvent(i); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/event")
}

func BenchmarkDecodeDocument(b *testing.B) {
	data := bigDocument(b, 10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeDocument(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHash(b *testing.B) {
	raw := json.RawMessage(typicalEvent)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Hash(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQueryDocument(b *testing.B) {
	events := make([]json.RawMessage, 10000)
	for i := range events {
		events[i] = json.RawMessage(typicalEvent)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := QueryDocument(nil, "", events, time.Unix(0, 0)); err != nil {
			b.Fatal(err)
		}
	}
}
