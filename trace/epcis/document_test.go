package epcis

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

const docHead = `{"@context":["` + DefaultContext + `",{"example":"http://ns.example.com/epcis/"}],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2005-07-11T11:30:47.0Z",`

func TestDecodeDocument(t *testing.T) {
	ev1 := `{ "type": "ObjectEvent",  "eventTime": "2005-04-03T20:33:31.116-06:00", "eventTimeZoneOffset": "-06:00",
	  "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"], "action": "OBSERVE", "example:f": "v" }`
	ev2 := `{"type":"ObjectEvent","eventTime":"2005-04-03T20:33:31Z","eventTimeZoneOffset":"+00:00","epcList":[],"action":"OBSERVE"}`
	data := []byte(docHead + `"id":"https://id.example.org/document1","epcisHeader":{"x":1},"epcisBody":{"eventList":[` + ev1 + ",\n  " + ev2 + `]}}`)
	d, err := DecodeDocument(data)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "https://id.example.org/document1" || d.SchemaVersion != "2.0" ||
		!d.CreationDate.Equal(time.Date(2005, 7, 11, 11, 30, 47, 0, time.UTC)) || string(d.Header) != `{"x":1}` {
		t.Errorf("DecodeDocument = %+v", d)
	}
	if !bytes.HasPrefix(d.Context, []byte(`["`+DefaultContext)) {
		t.Errorf("Context = %s", d.Context)
	}
	if len(d.Events) != 2 || string(d.Events[0]) != ev1 || string(d.Events[1]) != ev2 {
		t.Fatalf("Events = %q, want the input bytes", d.Events)
	}
	e, err := d.ParseEvent(0)
	if err != nil {
		t.Fatal(err)
	}
	// The derived ID uses the document's @context for example:f.
	want, _ := d.Hash(0)
	if plain, _ := Hash(d.Events[0]); e.ID != want || plain == want {
		t.Errorf("ID = %s, Document.Hash = %s, Hash without context = %s", e.ID, want, plain)
	}

	empty, err := DecodeDocument([]byte(docHead + `"epcisBody":{"eventList":[]}}`))
	if err != nil || empty.Events == nil || len(empty.Events) != 0 {
		t.Errorf("empty eventList: %+v, %v", empty, err)
	}
	// schemaVersion as a number, as in drafts.
	if d, err := DecodeDocument([]byte(strings.Replace(docHead, `"2.0"`, `2.0`, 1) + `"epcisBody":{"eventList":[]}}`)); err != nil || d.SchemaVersion != "2.0" {
		t.Errorf("numeric schemaVersion: %q, %v", d.SchemaVersion, err)
	}
	// A hand-made Document works out its prefixes itself.
	hand := Document{Context: d.Context, Events: d.Events}
	if h, _ := hand.Hash(0); h != want {
		t.Errorf("hand-made Document.Hash = %s, want %s", h, want)
	}
}

func TestDecodeDocumentErrors(t *testing.T) {
	body := `"epcisBody":{"eventList":[]}}`
	tests := []struct {
		name, in, pointer, rule string
	}{
		{"not JSON", `{"type":`, "", "json"},
		{"trailing garbage", docHead + body + `x`, "", "json"},
		{"array", `[]`, "", "document.type"},
		{"null", `null`, "", "document.type"},
		{"no type", `{"@context":"x"}`, "/type", "document.type"},
		{"query document", `{"@context":"x","type":"EPCISQueryDocument"}`, "/type", "document.type"},
		{"no context", `{"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2005-07-11T11:30:47Z",` + body, "/@context", "document.context"},
		{"null context", `{"@context":null,"type":"EPCISDocument",` + body, "/@context", "document.context"},
		{"number context", `{"@context":1,"type":"EPCISDocument",` + body, "/@context", "document.context"},
		{"no schemaVersion", `{"@context":"x","type":"EPCISDocument","creationDate":"2005-07-11T11:30:47Z",` + body, "/schemaVersion", "document.schemaVersion"},
		{"bad schemaVersion", `{"@context":"x","type":"EPCISDocument","schemaVersion":true,` + body, "/schemaVersion", "document.schemaVersion"},
		{"no creationDate", `{"@context":"x","type":"EPCISDocument","schemaVersion":"2.0",` + body, "/creationDate", "document.creationDate"},
		{"bad creationDate", `{"@context":"x","type":"EPCISDocument","schemaVersion":"2.0","creationDate":"today",` + body, "/creationDate", "document.creationDate"},
		{"bad header", docHead + `"epcisHeader":[],` + body, "/epcisHeader", "document.epcisHeader"},
		{"no body", docHead + `"x":1}`, "/epcisBody", "document.epcisBody"},
		{"body not an object", docHead + `"epcisBody":[]}`, "/epcisBody", "document.epcisBody"},
		{"no eventList", docHead + `"epcisBody":{}}`, "/epcisBody/eventList", "document.eventList"},
		{"eventList not an array", docHead + `"epcisBody":{"eventList":{}}}`, "/epcisBody/eventList", "document.eventList"},
		{"eventList null", docHead + `"epcisBody":{"eventList":null}}`, "/epcisBody/eventList", "document.eventList"},
	}
	for _, tt := range tests {
		_, err := DecodeDocument([]byte(tt.in))
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: DecodeDocument = %v (%T), want *Error", tt.name, err, err)
			continue
		}
		if e.Pointer != tt.pointer || e.Rule != tt.rule {
			t.Errorf("%s: error %q at %q (%s), want %s at %q", tt.name, e.Message, e.Pointer, e.Rule, tt.rule, tt.pointer)
		}
	}
}

func TestQueryDocument(t *testing.T) {
	events := []json.RawMessage{
		json.RawMessage(`{"type":"ObjectEvent", "x" : 1}`),
		json.RawMessage("\n{\"type\":\"AggregationEvent\"}\n"),
	}
	created := time.Date(2024, 3, 1, 8, 0, 0, 123456789, time.FixedZone("", 8*3600))
	out, err := QueryDocument(nil, "", events, created)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"@context":"` + DefaultContext + `","type":"EPCISQueryDocument","schemaVersion":"2.0","creationDate":"2024-03-01T00:00:00.123Z",` +
		`"epcisBody":{"queryResults":{"queryName":"SimpleEventQuery","resultsBody":{"eventList":[{"type":"ObjectEvent", "x" : 1},{"type":"AggregationEvent"}]}}}}`
	if string(out) != want {
		t.Errorf("QueryDocument =\n%s\nwant\n%s", out, want)
	}
	ctx := json.RawMessage(`["` + DefaultContext + `",{"example":"http://ns.example.com/epcis/"}]`)
	out, err = QueryDocument(ctx, "MyQuery\"", nil, created)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Context   json.RawMessage `json:"@context"`
		Type      string          `json:"type"`
		EPCISBody struct {
			QueryResults struct {
				QueryName   string
				ResultsBody struct{ EventList []json.RawMessage }
			}
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if string(doc.Context) != string(ctx) || doc.Type != "EPCISQueryDocument" || doc.EPCISBody.QueryResults.QueryName != "MyQuery\"" ||
		doc.EPCISBody.QueryResults.ResultsBody.EventList == nil || len(doc.EPCISBody.QueryResults.ResultsBody.EventList) != 0 {
		t.Errorf("QueryDocument = %s", out)
	}
	for _, bad := range []json.RawMessage{nil, json.RawMessage(`[1]`), json.RawMessage(`{"a":`)} {
		if _, err := QueryDocument(nil, "", []json.RawMessage{bad}, created); err == nil {
			t.Errorf("QueryDocument with event %q: no error", bad)
		}
	}
	if _, err := QueryDocument(json.RawMessage(`{"a"`), "", nil, created); err == nil {
		t.Error("QueryDocument with a bad context: no error")
	}
}

// TestQueryDocumentRoundTrip stores the events of a GS1 example as the
// service would and reads them back out of a query document.
func TestQueryDocumentRoundTrip(t *testing.T) {
	data := []byte(docHead + `"epcisBody":{"eventList":[` + typicalEvent + `,` + transformationEvent + `]}}`)
	d, err := DecodeDocument(data)
	if err != nil {
		t.Fatal(err)
	}
	var stored []json.RawMessage
	for i := range d.Events {
		e, err := d.ParseEvent(i)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Compact(e.Raw)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, c)
	}
	out, err := QueryDocument(d.Context, "", stored, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var q struct {
		EPCISBody struct {
			QueryResults struct {
				ResultsBody struct{ EventList []json.RawMessage }
			}
		}
	}
	if err := json.Unmarshal(out, &q); err != nil {
		t.Fatal(err)
	}
	got := q.EPCISBody.QueryResults.ResultsBody.EventList
	if len(got) != 2 {
		t.Fatalf("got %d events", len(got))
	}
	for i, raw := range got {
		if string(raw) != string(stored[i]) {
			t.Errorf("event %d = %s, want %s", i, raw, stored[i])
		}
		a, err1 := ParseEvent(raw)
		b, err2 := d.ParseEvent(i)
		if err1 != nil || err2 != nil || a.ID != b.ID {
			t.Errorf("event %d: ID %q (%v) after the round trip, %q (%v) before", i, a.ID, err1, b.ID, err2)
		}
	}
	if _, err := Compact(json.RawMessage(`{"a":`)); err == nil {
		t.Error("Compact of bad JSON: no error")
	}
}
