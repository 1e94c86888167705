package epcis

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// schemaDoc wraps one event in an EPCISDocument whose @context declares
// the prefix example (and, with extra, more context entries).
func schemaDoc(event string, extra ...string) []byte {
	ctx := `"` + DefaultContext + `",{"example":"http://ns.example.com/epcis/"}`
	for _, e := range extra {
		ctx += "," + e
	}
	return []byte(`{"@context":[` + ctx + `],"type":"EPCISDocument","schemaVersion":"2.0",
	  "creationDate":"2024-03-01T00:00:00Z","epcisBody":{"eventList":[` + event + `]}}`)
}

// schemaEvent is an ObjectEvent with ADD, so that it may carry ilmd, and
// every structure that has member rules; f adds to or changes it.
func schemaEvent(tb testing.TB, f func(m map[string]any)) string {
	tb.Helper()
	return string(mutate(tb, `{
	  "type": "ObjectEvent", "action": "ADD", "bizStep": "commissioning",
	  "eventTime": "2024-03-01T08:15:00.000+08:00", "eventTimeZoneOffset": "+08:00",
	  "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
	  "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 200.5, "uom": "KGM"}],
	  "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234", "example:dock": "7"},
	  "bizLocation": {"id": "urn:epc:id:sgln:0614141.07346.0"},
	  "persistentDisposition": {"set": ["active"]},
	  "bizTransactionList": [{"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"}],
	  "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00777"}],
	  "destinationList": [{"type": "location", "destination": "urn:epc:id:sgln:0614141.00888.0"}],
	  "errorDeclaration": {"declarationTime": "2024-03-02T00:00:00Z", "reason": "incorrect_data", "example:ticket": "T-1"},
	  "ilmd": {"example:lot": "L1", "cbvmda:countryOfOrigin": "CN", "https://example.com/ns#grade": "A"},
	  "sensorElementList": [{
	    "sensorMetadata": {"time": "2024-03-01T08:00:00Z", "example:calibrated": true},
	    "sensorReport": [{"type": "Temperature", "value": 4.5, "uom": "CEL", "example:probe": "P1"}],
	    "example:note": "cold chain"
	  }],
	  "example:shift": "night",
	  "urn:example:ext:batchNote": "n"
	}`, f))
}

// TestEPCISSchemaRules covers the member-name rules of the EPCIS 2.0 JSON
// schema (issue 9, item 14): user extension fields are namespaced — a
// compact IRI whose prefix @context declares, or a full IRI — at the
// event's top level, in ilmd, in sensor elements, their metadata and
// reports, in errorDeclaration, readPoint, bizLocation and
// persistentDisposition; quantity elements hold only epcClass, quantity
// and uom, and business transactions, sources and destinations only their
// own fields. Each breach is refused with the JSON pointer of the member.
func TestEPCISSchemaRules(t *testing.T) {
	// The event with every kind of extension where extensions are allowed
	// is accepted.
	d, err := DecodeDocument(schemaDoc(schemaEvent(t, func(map[string]any) {})))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ParseEvent(0); err != nil {
		t.Fatalf("valid event refused: %v", err)
	}

	obj := func(m map[string]any, path ...string) map[string]any {
		var v any = m
		for _, p := range path {
			switch x := v.(type) {
			case map[string]any:
				v = x[p]
			case []any:
				v = x[0]
			}
		}
		return v.(map[string]any)
	}
	set := func(name string, value any, path ...string) func(m map[string]any) {
		return func(m map[string]any) { obj(m, path...)[name] = value }
	}
	const bare, undeclared, unexpected, prefix = "lot", "ex:lot", "field.unexpected", "extension.prefix"
	tests := []struct {
		name    string
		f       func(m map[string]any)
		pointer string // relative to the document
		rule    string
		msg     string
	}{
		{"top level bare", set("shift", "night"), "/shift", unexpected, "namespaced"},
		{"top level undeclared prefix", set(undeclared, 1), "/ex:lot", prefix, `the prefix "ex"`},
		{"top level empty local name", set("example:", 1), "/example:", unexpected, "namespaced"},
		{"ilmd bare", set(bare, "L1", "ilmd"), "/ilmd/lot", unexpected, "ILMD field is an extension field"},
		{"ilmd undeclared prefix", set(undeclared, "L1", "ilmd"), "/ilmd/ex:lot", prefix, "@context"},
		{"ilmd name with a slash", set("a/b", "L1", "ilmd"), "/ilmd/a~1b", unexpected, ""},
		{"sensor element bare", set("note", "x", "sensorElementList", "0"), "/sensorElementList/0/note", unexpected, "sensor element"},
		{"sensor element undeclared", set(undeclared, "x", "sensorElementList", "0"), "/sensorElementList/0/ex:lot", prefix, ""},
		{"sensorMetadata bare", set("calibrated", true, "sensorElementList", "0", "sensorMetadata"), "/sensorElementList/0/sensorMetadata/calibrated", unexpected, "sensorMetadata"},
		{"sensorReport bare", set("probe", "P1", "sensorElementList", "0", "sensorReport", "0"), "/sensorElementList/0/sensorReport/0/probe", unexpected, "sensor report"},
		{"sensorReport undeclared", set(undeclared, "P1", "sensorElementList", "0", "sensorReport", "0"), "/sensorElementList/0/sensorReport/0/ex:lot", prefix, ""},
		{"errorDeclaration bare", set("ticket", "T-1", "errorDeclaration"), "/errorDeclaration/ticket", unexpected, "errorDeclaration"},
		{"errorDeclaration undeclared", set(undeclared, "T-1", "errorDeclaration"), "/errorDeclaration/ex:lot", prefix, ""},
		{"readPoint bare", set("dock", "7", "readPoint"), "/readPoint/dock", unexpected, ""},
		{"bizLocation undeclared", set(undeclared, "7", "bizLocation"), "/bizLocation/ex:lot", prefix, ""},
		{"persistentDisposition bare", set("note", "x", "persistentDisposition"), "/persistentDisposition/note", unexpected, ""},
		{"quantity element extra", set("grade", "A", "quantityList", "0"), "/quantityList/0/grade", unexpected, "holds only epcClass, quantity and uom"},
		{"quantity element namespaced extra", set("example:grade", "A", "quantityList", "0"), "/quantityList/0/example:grade", unexpected, "not even as an extension"},
		{"bizTransaction extra", set("example:date", "2024-03-01", "bizTransactionList", "0"), "/bizTransactionList/0/example:date", unexpected, "type and bizTransaction"},
		{"source extra", set("name", "Acme", "sourceList", "0"), "/sourceList/0/name", unexpected, "type and source"},
		{"destination extra", set("example:name", "Acme", "destinationList", "0"), "/destinationList/0/example:name", unexpected, "type and destination"},
		{"childQuantityList extra", func(m map[string]any) {
			m["type"], m["parentID"] = AggregationEvent, "urn:epc:id:sscc:0614141.1234567890"
			m["childQuantityList"] = m["quantityList"]
			delete(m, "quantityList")
			delete(m, "ilmd")
			delete(m, "epcList")
			obj(m, "childQuantityList", "0")["lot"] = "L1"
		}, "/childQuantityList/0/lot", unexpected, "epcClass, quantity and uom"},
		{"inputQuantityList and outputQuantityList extras", func(m map[string]any) {
			m["type"] = TransformationEvent
			delete(m, "action")
			m["inputQuantityList"] = []any{map[string]any{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 1, "example:x": 1}}
			m["outputQuantityList"] = []any{map[string]any{"epcClass": "urn:epc:class:lgtin:4012345.012345.998878", "quantity": 1, "y": 1}}
			delete(m, "quantityList")
			delete(m, "epcList")
		}, "/outputQuantityList/0/y", unexpected, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := DecodeDocument(schemaDoc(schemaEvent(t, tt.f)))
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.ParseEvent(0)
			if err == nil {
				t.Fatalf("event accepted, want %s at %s", tt.rule, tt.pointer)
			}
			es := asErrors(t, err).Prefix("/epcisBody/eventList/0")
			want := "/epcisBody/eventList/0" + tt.pointer
			for _, e := range es {
				if e.Pointer == want && e.Rule == tt.rule {
					if !strings.Contains(e.Message, tt.msg) || !strings.HasPrefix(e.Message, "EPCIS 2.0 §") {
						t.Errorf("message %q: want a clause and %q", e.Message, tt.msg)
					}
					if len(es) > 2 {
						t.Errorf("one breach gave %d errors: %v", len(es), es)
					}
					return
				}
			}
			t.Errorf("errors %v; want rule %s at %s", es, tt.rule, want)
		})
	}
}

// TestEPCISSchemaRulesPrefixes checks where a prefix may be declared: in
// the document's @context, in the event's own, or by the EPCIS context; a
// remote context other than the EPCIS one may declare any prefix, since
// it is not fetched.
func TestEPCISSchemaRulesPrefixes(t *testing.T) {
	event := func(extra string) string {
		return `{"type":"ObjectEvent","action":"ADD","eventTime":"2024-03-01T08:15:00Z","eventTimeZoneOffset":"+00:00",
		  "epcList":["urn:epc:id:sgtin:0614141.107346.2017"],"ilmd":{"acme:lot":"L1"}` + extra + `}`
	}
	tests := []struct {
		name  string
		doc   []byte
		valid bool
	}{
		{"undeclared", schemaDoc(event("")), false},
		{"in the document's context", schemaDoc(event(""), `{"acme":"https://acme.example/ns/"}`), true},
		{"in the event's context", schemaDoc(event(`,"@context":{"acme":"https://acme.example/ns/"}`)), true},
		{"as an expanded term definition", schemaDoc(event(""), `{"acme":{"@id":"https://acme.example/ns/"}}`), true},
		{"in an unfetched remote context", schemaDoc(event(""), `"https://acme.example/context.jsonld"`), true},
		{"another EPCIS context version", []byte(strings.Replace(string(schemaDoc(event(""))), DefaultContext,
			"https://ref.gs1.org/standards/epcis/2.0.1/epcis-context.jsonld", 1)), false},
		{"EPCIS context prefix", schemaDoc(strings.Replace(event(""), "acme:lot", "cbvmda:lotNumber", 1)), true},
		{"full IRI", schemaDoc(strings.Replace(event(""), "acme:lot", "https://acme.example/ns#lot", 1)), true},
		{"URN", schemaDoc(strings.Replace(event(""), "acme:lot", "urn:acme:lot", 1)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := DecodeDocument(tt.doc)
			if err != nil {
				t.Fatal(err)
			}
			_, err = d.ParseEvent(0)
			switch {
			case tt.valid && err != nil:
				t.Fatalf("refused: %v", err)
			case !tt.valid && err == nil:
				t.Fatal("accepted, want extension.prefix at /ilmd/acme:lot")
			case !tt.valid:
				if es := asErrors(t, err); es[0].Pointer != "/ilmd/acme:lot" || es[0].Rule != "extension.prefix" {
					t.Fatalf("errors %v, want extension.prefix at /ilmd/acme:lot", es)
				}
			}
		})
	}
	// A single event (no document) declares its prefixes itself.
	if _, err := ParseEvent(json.RawMessage(event(""))); err == nil {
		t.Error("ParseEvent accepted an undeclared prefix")
	}
	if _, err := ParseEvent(json.RawMessage(event(`,"@context":["` + DefaultContext + `",{"acme":"https://acme.example/ns/"}]`))); err != nil {
		t.Errorf("ParseEvent: %v", err)
	}
}

func TestWithRecordTime(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
	tests := []struct {
		name, in, want string
		t              time.Time
	}{
		{"after eventTime", `{"type":"ObjectEvent","eventTime":"2026-11-20T09:00:00Z", "eventTimeZoneOffset":"+08:00"}`,
			`{"type":"ObjectEvent","eventTime":"2026-11-20T09:00:00Z","recordTime":"2026-11-20T02:00:00.123Z","eventTimeZoneOffset":"+08:00"}`, at},
		{"replaces a captured one", `{"recordTime":"2000-01-01T00:00:00Z","eventTime":"x","recordTime":"y"}`,
			`{"eventTime":"x","recordTime":"2026-11-20T02:00:00.123Z"}`, at},
		{"first without eventTime", ` {"a":{"b":[1,2]}} `, `{"recordTime":"2026-11-20T02:00:00.123Z","a":{"b":[1,2]}}`, at},
		{"empty object", `{}`, `{"recordTime":"2026-11-20T02:00:00.123Z"}`, at},
		{"escaped name", `{"record\u0054ime":1,"z":2}`, `{"recordTime":"2026-11-20T02:00:00.123Z","z":2}`, at},
		{"zero time removes it", `{"eventTime":"x","recordTime":"y"}`, `{"eventTime":"x"}`, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := WithRecordTime(json.RawMessage(tt.in), tt.t)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("WithRecordTime = %s, want %s", got, tt.want)
			}
		})
	}
	for _, bad := range []string{``, `[]`, `{"a":}`, `{"a":1} x`, `{"a":1`} {
		if got, err := WithRecordTime(json.RawMessage(bad), at); err == nil {
			t.Errorf("WithRecordTime(%s) = %s, want an error", bad, got)
		}
	}
}
