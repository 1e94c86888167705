package epcis

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseEventTypical(t *testing.T) {
	e, err := ParseEvent(json.RawMessage(typicalEvent))
	if err != nil {
		t.Fatal(err)
	}
	want := Event{
		ID:             "urn:uuid:6926712e-599f-4c4e-b6e9-8dd888c906bd",
		Type:           ObjectEvent,
		Action:         ActionObserve,
		EventTime:      time.Date(2024, 3, 1, 0, 15, 0, 0, time.UTC),
		TimeZoneOffset: "+08:00",
		BizStep:        "shipping",
		Disposition:    "in_transit",
		ReadPoint:      "414/0614141073467/254/1234",
		BizLocation:    "414/0614141073467",
		EPCs:           []string{"01/10614141073464/21/2017", "01/10614141073464/21/2018"},
		Quantities: []Quantity{
			{Role: RoleQuantity, EPCClass: "01/04012345123456/10/998877", Quantity: 200.5, HasQuantity: true, UOM: "KGM"},
		},
		Sources:               []Party{{Type: "owning_party", ID: "417/0614141007776"}},
		Destinations:          []Party{{Type: "location", ID: "414/0614141008889"}},
		BizTransactions:       []BizTransaction{{Type: "po", ID: "http://transaction.acme.com/po/12345678"}},
		PersistentDisposition: PersistentDisposition{},
		Raw:                   json.RawMessage(typicalEvent),
	}
	if !e.EventTime.Equal(want.EventTime) {
		t.Errorf("EventTime = %v, want %v", e.EventTime, want.EventTime)
	}
	e.EventTime = want.EventTime
	if !reflect.DeepEqual(e, want) {
		t.Errorf("ParseEvent =\n%+v\nwant\n%+v", e, want)
	}
	if got, want := e.AllEPCs(), []string{"01/10614141073464/21/2017", "01/10614141073464/21/2018", "01/04012345123456/10/998877"}; !reflect.DeepEqual(got, want) {
		t.Errorf("AllEPCs() = %q, want %q", got, want)
	}
}

func TestParseEventAllFields(t *testing.T) {
	raw := json.RawMessage(`{
	  "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"example": "http://ns.example.com/epcis/"}],
	  "type": "TransformationEvent",
	  "eventTime": "2013-10-31T14:58:56.591Z",
	  "eventTimeZoneOffset": "+02:00",
	  "eventID": "urn:uuid:1",
	  "inputEPCList": ["urn:epc:id:sgtin:4012345.011122.25"],
	  "inputQuantityList": [{"epcClass": "urn:epc:idpat:sgtin:4012345.066666.*", "quantity": 220}, {"epcClass": "urn:example:class:1"}],
	  "outputEPCList": ["urn:epc:id:sscc:0614141.1234567890"],
	  "outputQuantityList": [{"epcClass": "https://id.gs1.org/01/04012345123456/10/L%2F1", "quantity": 0, "uom": "KGM"}],
	  "transformationID": "urn:epc:id:gdti:0614141.12345.400",
	  "bizStep": "urn:epcglobal:cbv:bizstep:commissioning",
	  "disposition": "https://ref.gs1.org/cbv/Disp-in_progress",
	  "persistentDisposition": {"set": ["recalled"], "unset": ["cbv:Disp-active", "https://example.com/disp/x"]},
	  "sourceList": [{"type": "urn:epcglobal:cbv:sdt:possessing_party", "source": "https://id.gs1.org/417/0614141007776"}],
	  "destinationList": [{"type": "https://example.com/sdt/broker", "destination": "urn:example:party:9"}],
	  "bizTransactionList": [{"bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1152"}],
	  "errorDeclaration": {"declarationTime": "2013-11-07T14:00:00.000+01:00", "reason": "incorrect_data", "correctiveEventIDs": ["urn:uuid:2"]},
	  "ilmd": {"example:lot": "L1"},
	  "example:extra": {"x": 1}
	}`)
	e, err := ParseEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Action", e.Action, ""},
		{"BizStep", e.BizStep, "commissioning"},
		{"Disposition", e.Disposition, "in_progress"},
		{"InputEPCs", e.InputEPCs, []string{"01/04012345111224/21/25"}},
		{"OutputEPCs", e.OutputEPCs, []string{"00/106141412345678908"}},
		{"Quantities", e.Quantities, []Quantity{
			{Role: RoleInput, EPCClass: "01/04012345666663", Quantity: 220, HasQuantity: true},
			{Role: RoleInput, EPCClass: "urn:example:class:1"},
			{Role: RoleOutput, EPCClass: "01/04012345123456/10/L%2F1", HasQuantity: true, UOM: "KGM"},
		}},
		{"TransformationID", e.TransformationID, "urn:epc:id:gdti:0614141.12345.400"},
		{"PersistentDisposition", e.PersistentDisposition, PersistentDisposition{Set: []string{"recalled"}, Unset: []string{"active", "https://example.com/disp/x"}}},
		{"Sources", e.Sources, []Party{{Type: "possessing_party", ID: "417/0614141007776"}}},
		{"Destinations", e.Destinations, []Party{{Type: "https://example.com/sdt/broker", ID: "urn:example:party:9"}}},
		{"BizTransactions", e.BizTransactions, []BizTransaction{{ID: "urn:epcglobal:cbv:bt:0614141073467:1152"}}},
		{"ErrorDeclaration", e.ErrorDeclaration, &ErrorDeclaration{
			DeclarationTime:    time.Date(2013, 11, 7, 14, 0, 0, 0, time.FixedZone("", 3600)),
			Reason:             "incorrect_data",
			CorrectiveEventIDs: []string{"urn:uuid:2"},
		}},
		{"AllEPCs", e.AllEPCs(), []string{"01/04012345111224/21/25", "00/106141412345678908", "01/04012345666663", "urn:example:class:1", "01/04012345123456/10/L%2F1"}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

// TestParseEventRules breaks one rule at a time in a valid event and
// checks the pointer and rule of the error.
func TestParseEventRules(t *testing.T) {
	tests := []struct {
		name    string
		base    string
		f       func(m map[string]any)
		pointer string
		rule    string
		msg     string
	}{
		{"type missing", typicalEvent, func(m map[string]any) { delete(m, "type") }, "/type", "type.required", "§7.4.1"},
		{"type unknown", typicalEvent, func(m map[string]any) { m["type"] = "QuantityEvent" }, "/type", "type.unknown", `"QuantityEvent"`},
		{"type not a string", typicalEvent, func(m map[string]any) { m["type"] = 3 }, "/type", "type.unknown", "a number"},
		{"eventTime missing", typicalEvent, func(m map[string]any) { delete(m, "eventTime") }, "/eventTime", "eventTime.required", "EPCIS 2.0 §7.4.1: eventTime is required"},
		{"eventTime no zone", typicalEvent, func(m map[string]any) { m["eventTime"] = "2024-03-01T08:15:00" }, "/eventTime", "eventTime.format", "RFC 3339"},
		{"eventTime not a string", typicalEvent, func(m map[string]any) { m["eventTime"] = 1709251200 }, "/eventTime", "eventTime.format", "a number"},
		{"eventTime bad date", typicalEvent, func(m map[string]any) { m["eventTime"] = "2024-02-30T08:15:00Z" }, "/eventTime", "eventTime.format", ""},
		{"offset missing", typicalEvent, func(m map[string]any) { delete(m, "eventTimeZoneOffset") }, "/eventTimeZoneOffset", "eventTimeZoneOffset.required", ""},
		{"offset no colon", typicalEvent, func(m map[string]any) { m["eventTimeZoneOffset"] = "+0800" }, "/eventTimeZoneOffset", "eventTimeZoneOffset.format", `"+0800"`},
		{"offset too big", typicalEvent, func(m map[string]any) { m["eventTimeZoneOffset"] = "+14:30" }, "/eventTimeZoneOffset", "eventTimeZoneOffset.format", ""},
		{"offset Z", typicalEvent, func(m map[string]any) { m["eventTimeZoneOffset"] = "Z" }, "/eventTimeZoneOffset", "eventTimeZoneOffset.format", ""},
		{"recordTime bad", typicalEvent, func(m map[string]any) { m["recordTime"] = "yesterday" }, "/recordTime", "recordTime.format", ""},
		{"eventID not a URI", typicalEvent, func(m map[string]any) { m["eventID"] = "event 1" }, "/eventID", "eventID.format", ""},
		{"action missing", typicalEvent, func(m map[string]any) { delete(m, "action") }, "/action", "action.required", "§7.4.2"},
		{"action bad", typicalEvent, func(m map[string]any) { m["action"] = "observe" }, "/action", "action.invalid", `"observe"`},
		{"action on transformation", transformationEvent, func(m map[string]any) { m["action"] = "ADD" }, "/action", "action.forbidden", "§7.4.6"},
		{"bizStep unknown bare", typicalEvent, func(m map[string]any) { m["bizStep"] = "teleporting" }, "/bizStep", "bizStep.unknown", `CBV 2.0 §7.1: "teleporting" is not a CBV 2.0 bizStep`},
		{"bizStep unknown URN", typicalEvent, func(m map[string]any) { m["bizStep"] = "urn:epcglobal:cbv:bizstep:teleporting" }, "/bizStep", "bizStep.unknown", ""},
		{"bizStep unknown web URI", typicalEvent, func(m map[string]any) { m["bizStep"] = "https://ref.gs1.org/cbv/BizStep-Shipping" }, "/bizStep", "bizStep.unknown", ""},
		{"bizStep not a string", typicalEvent, func(m map[string]any) { m["bizStep"] = []any{"shipping"} }, "/bizStep", "bizStep.unknown", "an array"},
		{"disposition unknown", typicalEvent, func(m map[string]any) { m["disposition"] = "lost" }, "/disposition", "disposition.unknown", "CBV 2.0 §7.2"},
		{"persistent disposition unknown", typicalEvent, func(m map[string]any) {
			m["persistentDisposition"] = map[string]any{"set": []any{"recalled", "gone"}}
		}, "/persistentDisposition/set/1", "persistentDisposition.unknown", `"gone"`},
		{"readPoint not an object", typicalEvent, func(m map[string]any) { m["readPoint"] = "urn:epc:id:sgln:0614141.07346.1234" }, "/readPoint", "readPoint.type", ""},
		{"readPoint without id", typicalEvent, func(m map[string]any) { m["readPoint"] = map[string]any{} }, "/readPoint/id", "readPoint.id.required", ""},
		{"bizLocation bad check digit", typicalEvent, func(m map[string]any) {
			m["bizLocation"] = map[string]any{"id": "https://id.gs1.org/414/0614141073468"}
		}, "/bizLocation/id", "bizLocation.id.invalid", "check digit"},
		{"epcList not an array", typicalEvent, func(m map[string]any) { m["epcList"] = "urn:epc:id:sgtin:0614141.107346.2017" }, "/epcList", "epcList.type", ""},
		{"epc not a string", typicalEvent, func(m map[string]any) { m["epcList"] = []any{"urn:epc:id:sgtin:0614141.107346.2017", 5} }, "/epcList/1", "epc.type", ""},
		{"epc bad check digit", typicalEvent, func(m map[string]any) {
			m["epcList"] = []any{"urn:epc:id:sgtin:0614141.107346.1", "urn:epc:id:sgtin:0614141.107346.2", "urn:epc:id:sgtin:0614141.107346.3", "https://id.gs1.org/01/10614141073465/21/4"}
		}, "/epcList/3", "epc.invalid", "check digit is 5, want 4"},
		{"epc bad URN", typicalEvent, func(m map[string]any) { m["epcList"] = []any{"urn:epc:id:sgtin:0614141.10734.1"} }, "/epcList/0", "epc.invalid", "13 digits"},
		{"epc not a URI", typicalEvent, func(m map[string]any) { m["epcList"] = []any{"item 1"} }, "/epcList/0", "epc.invalid", ""},
		{"epc is a class", typicalEvent, func(m map[string]any) { m["epcList"] = []any{"urn:epc:class:lgtin:4012345.012345.998877"} }, "/epcList/0", "epc.class", "quantity list"},
		{"quantity list not an array", typicalEvent, func(m map[string]any) { m["quantityList"] = map[string]any{} }, "/quantityList", "quantityList.type", ""},
		{"quantity element not an object", typicalEvent, func(m map[string]any) { m["quantityList"] = []any{"x"} }, "/quantityList/0", "quantityElement.type", ""},
		{"quantity as string", typicalEvent, func(m map[string]any) {
			m["quantityList"] = []any{map[string]any{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": "12"}}
		}, "/quantityList/0/quantity", "quantity.type", `must be a JSON number, got "12"`},
		{"quantity negative", typicalEvent, func(m map[string]any) {
			m["quantityList"] = []any{map[string]any{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": -1}}
		}, "/quantityList/0/quantity", "quantity.negative", ""},
		{"epcClass missing", typicalEvent, func(m map[string]any) { m["quantityList"] = []any{map[string]any{"quantity": 1}} }, "/quantityList/0/epcClass", "epcClass.required", ""},
		{"epcClass is an instance", typicalEvent, func(m map[string]any) {
			m["quantityList"] = []any{map[string]any{"epcClass": "urn:epc:id:sgtin:0614141.107346.2017", "quantity": 1}}
		}, "/quantityList/0/epcClass", "epcClass.instance", ""},
		{"uom not a string", typicalEvent, func(m map[string]any) {
			m["quantityList"] = []any{map[string]any{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 1, "uom": 3}}
		}, "/quantityList/0/uom", "uom.type", ""},
		{"uom lower case", typicalEvent, func(m map[string]any) {
			m["quantityList"] = []any{map[string]any{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 1, "uom": "kg"}}
		}, "/quantityList/0/uom", "uom.format", ""},
		{"uom without quantity", typicalEvent, func(m map[string]any) {
			m["quantityList"] = []any{map[string]any{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "uom": "KGM"}}
		}, "/quantityList/0/uom", "uom.requiresQuantity", ""},
		{"bizTransaction missing", typicalEvent, func(m map[string]any) { m["bizTransactionList"] = []any{map[string]any{"type": "po"}} }, "/bizTransactionList/0/bizTransaction", "bizTransaction.required", ""},
		{"bizTransaction type unknown", typicalEvent, func(m map[string]any) {
			m["bizTransactionList"] = []any{map[string]any{"type": "purchase", "bizTransaction": "urn:example:po:1"}}
		}, "/bizTransactionList/0/type", "bizTransaction.type.unknown", "CBV 2.0 §7.3"},
		{"source type missing", typicalEvent, func(m map[string]any) {
			m["sourceList"] = []any{map[string]any{"source": "urn:epc:id:pgln:0614141.00777"}}
		}, "/sourceList/0/type", "source.type.required", ""},
		{"source type unknown", typicalEvent, func(m map[string]any) {
			m["sourceList"] = []any{map[string]any{"type": "owner", "source": "urn:epc:id:pgln:0614141.00777"}}
		}, "/sourceList/0/type", "source.type.unknown", "CBV 2.0 §7.4"},
		{"destination missing", typicalEvent, func(m map[string]any) { m["destinationList"] = []any{map[string]any{"type": "location"}} }, "/destinationList/0/destination", "destination.required", ""},
		{"destination bad", typicalEvent, func(m map[string]any) {
			m["destinationList"] = []any{map[string]any{"type": "location", "destination": "urn:epc:id:sgln:0614141.0088.0"}}
		}, "/destinationList/0/destination", "destination.invalid", ""},
		{"errorDeclaration without time", typicalEvent, func(m map[string]any) { m["errorDeclaration"] = map[string]any{"reason": "did_not_occur"} }, "/errorDeclaration/declarationTime", "errorDeclaration.declarationTime.required", ""},
		{"errorDeclaration bad reason", typicalEvent, func(m map[string]any) {
			m["errorDeclaration"] = map[string]any{"declarationTime": "2024-03-02T00:00:00Z", "reason": "oops"}
		}, "/errorDeclaration/reason", "errorDeclaration.reason.unknown", "CBV 2.0 §7.5"},
		{"ilmd on OBSERVE", typicalEvent, func(m map[string]any) { m["ilmd"] = map[string]any{"example:lot": "1"} }, "/ilmd", "ilmd.action", ""},
		{"sensorReport missing", typicalEvent, func(m map[string]any) { m["sensorElementList"] = []any{map[string]any{}} }, "/sensorElementList/0/sensorReport", "sensorReport.required", ""},
		{"unexpected field", typicalEvent, func(m map[string]any) { m["bizstep"] = "shipping" }, "/bizstep", "field.unexpected", "namespaced"},
		{"field of another type", typicalEvent, func(m map[string]any) { m["childEPCs"] = []any{} }, "/childEPCs", "field.unexpected", "not a field of ObjectEvent"},
		{"object event without what", typicalEvent, func(m map[string]any) { delete(m, "epcList"); delete(m, "quantityList") }, "", "ObjectEvent.what", ""},
		{"aggregation ADD without parent", aggregationEvent, func(m map[string]any) { delete(m, "parentID") }, "/parentID", "parentID.required", "§7.4.3"},
		{"aggregation without children", aggregationEvent, func(m map[string]any) { m["childEPCs"] = []any{} }, "", "AggregationEvent.children", ""},
		{"parent is a class", aggregationEvent, func(m map[string]any) { m["parentID"] = "urn:epc:idpat:sgtin:4012345.098765.*" }, "/parentID", "parentID.class", ""},
		{"association without parent", aggregationEvent, func(m map[string]any) { m["type"] = AssociationEvent; m["action"] = "OBSERVE"; delete(m, "parentID") }, "/parentID", "parentID.required", "§7.4.4"},
		{"transaction without bizTransactionList", typicalEvent, func(m map[string]any) {
			m["type"] = TransactionEvent
			delete(m, "bizTransactionList")
		}, "/bizTransactionList", "bizTransactionList.required", ""},
		{"transformation without outputs", transformationEvent, func(m map[string]any) { delete(m, "outputEPCList") }, "", "TransformationEvent.io", ""},
		{"transformationID not a URI", transformationEvent, func(m map[string]any) { m["transformationID"] = 7 }, "/transformationID", "transformationID.format", ""},
		{"certificationInfo bad", typicalEvent, func(m map[string]any) { m["certificationInfo"] = 1 }, "/certificationInfo", "certificationInfo.type", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := mutate(t, tt.base, tt.f)
			_, err := ParseEvent(raw)
			if err == nil {
				t.Fatalf("ParseEvent(%s) = nil error, want %s at %q", raw, tt.rule, tt.pointer)
			}
			es := asErrors(t, err)
			for _, e := range es {
				if e.Pointer == tt.pointer && e.Rule == tt.rule {
					if !strings.Contains(e.Message, tt.msg) {
						t.Errorf("message %q does not contain %q", e.Message, tt.msg)
					}
					if !strings.HasPrefix(e.Message, "EPCIS 2.0 §") && !strings.HasPrefix(e.Message, "CBV 2.0 §") {
						t.Errorf("message %q cites no clause", e.Message)
					}
					return
				}
			}
			t.Errorf("errors %v; want rule %s at %q", err, tt.rule, tt.pointer)
		})
	}
}

const aggregationEvent = `{
  "type": "AggregationEvent",
  "eventTime": "2013-06-08T14:58:56.591Z",
  "eventTimeZoneOffset": "+02:00",
  "parentID": "urn:epc:id:sscc:0614141.1234567890",
  "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2017"],
  "action": "ADD",
  "bizStep": "packing"
}`

const transformationEvent = `{
  "type": "TransformationEvent",
  "eventTime": "2013-10-31T14:58:56.591Z",
  "eventTimeZoneOffset": "+02:00",
  "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.4444", "quantity": 10, "uom": "KGM"}],
  "outputEPCList": ["urn:epc:id:sgtin:4012345.077889.25"],
  "bizStep": "commissioning"
}`

func TestParseEventCollectsAllErrors(t *testing.T) {
	raw := json.RawMessage(`{"type":"ObjectEvent","action":"LOOK","bizStep":"teleporting",
	  "epcList":["urn:epc:id:sgtin:0614141.107346.1", 7],
	  "quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.1","quantity":"12"}]}`)
	_, err := ParseEvent(raw)
	es := asErrors(t, err)
	var got []string
	for _, e := range es {
		got = append(got, e.Pointer+" "+e.Rule)
	}
	want := []string{
		"/eventTime eventTime.required",
		"/eventTimeZoneOffset eventTimeZoneOffset.required",
		"/action action.invalid",
		"/bizStep bizStep.unknown",
		"/epcList/1 epc.type",
		"/quantityList/0/quantity quantity.type",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors = %q\nwant %q", got, want)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "epcis: 6 errors: /eventTime: EPCIS 2.0 §7.4.1: eventTime is required; ") {
		t.Errorf("Error() = %q", msg)
	}
	pre := es.Prefix("/epcisBody/eventList/4")
	if pre[0].Pointer != "/epcisBody/eventList/4/eventTime" || es[0].Pointer != "/eventTime" {
		t.Errorf("Prefix gave %q, original now %q", pre[0].Pointer, es[0].Pointer)
	}
}

func TestParseEventNotAnObject(t *testing.T) {
	for _, in := range []string{``, `[]`, `"ObjectEvent"`, `{"type":`, `{} {}`, `null`} {
		_, err := ParseEvent(json.RawMessage(in))
		es := asErrors(t, err)
		if len(es) != 1 || es[0].Pointer != "" || (es[0].Rule != "json" && es[0].Rule != "event.type") {
			t.Errorf("ParseEvent(%q) = %v", in, err)
		}
	}
}

func TestParseEventDerivedID(t *testing.T) {
	raw := mutate(t, typicalEvent, func(m map[string]any) { delete(m, "eventID") })
	e, err := ParseEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Hash(raw)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != h || !strings.HasPrefix(h, "ni:///sha-256;") || !strings.HasSuffix(h, "?ver=CBV2.0") {
		t.Errorf("ID = %q, Hash = %q", e.ID, h)
	}
	if !strings.HasPrefix(string(e.Raw), `{"eventID":"`+h+`",`) {
		t.Errorf("Raw = %s, want the eventID first", e.Raw)
	}
	if !json.Valid(e.Raw) {
		t.Errorf("Raw is not valid JSON: %s", e.Raw)
	}
	again, err := ParseEvent(e.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, e) {
		t.Errorf("ParseEvent(Raw) = %+v, want %+v", again, e)
	}
	// The hash ignores the eventID, so the stored event hashes the same.
	if h2, _ := Hash(e.Raw); h2 != h {
		t.Errorf("Hash(Raw) = %q, want %q", h2, h)
	}
	for in, want := range map[string]string{
		`{}`:           `{"eventID":"x"}`,
		` { } `:        ` {"eventID":"x" } `,
		"{\n \"a\":1}": "{\"eventID\":\"x\",\n \"a\":1}",
	} {
		if got := string(insertEventID(json.RawMessage(in), "x")); got != want {
			t.Errorf("insertEventID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVocabularyNormalize(t *testing.T) {
	tests := []struct {
		v    Vocabulary
		in   string
		want string
		ok   bool
	}{
		{BizStep, "shipping", "shipping", true},
		{BizStep, "https://ref.gs1.org/cbv/BizStep-shipping", "shipping", true},
		{BizStep, "urn:epcglobal:cbv:bizstep:shipping", "shipping", true},
		{BizStep, "cbv:BizStep-shipping", "shipping", true},
		{BizStep, "https://example.com/bizstep/harvesting", "https://example.com/bizstep/harvesting", true},
		{BizStep, "teleporting", "teleporting", false},
		{BizStep, "urn:epcglobal:cbv:bizstep:teleporting", "teleporting", false},
		{BizStep, "", "", false},
		{BizStep, "recalling", "recalling", false},
		{Disposition, "recalled", "recalled", true},
		{Disposition, "urn:epcglobal:cbv:disp:in_transit", "in_transit", true},
		{Disposition, "https://ref.gs1.org/cbv/Disp-non_conformant", "non_conformant", true},
		{Disposition, "shipping", "shipping", false},
		{BizTransactionType, "po", "po", true},
		{BizTransactionType, "urn:epcglobal:cbv:btt:desadv", "desadv", true},
		{SourceDestType, "https://ref.gs1.org/cbv/SDT-owning_party", "owning_party", true},
		{SourceDestType, "urn:epcglobal:cbv:sdt:location", "location", true},
		{ErrorReason, "did_not_occur", "did_not_occur", true},
		{ErrorReason, "https://ref.gs1.org/cbv/ER-incorrect_data", "incorrect_data", true},
	}
	for _, tt := range tests {
		got, ok := tt.v.Normalize(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%v.Normalize(%q) = %q, %v; want %q, %v", tt.v, tt.in, got, ok, tt.want, tt.ok)
		}
	}
	// Every bizStep and disposition of the domain round-trips through its
	// URI forms.
	for _, s := range []string{"commissioning", "shipping", "receiving", "inspecting", "sampling", "packing", "unpacking", "storing", "holding", "retail_selling", "destroying", "decommissioning"} {
		for _, form := range []string{s, BizStep.webURI(s), "urn:epcglobal:cbv:bizstep:" + s} {
			if got, ok := BizStep.Normalize(form); !ok || got != s {
				t.Errorf("BizStep.Normalize(%q) = %q, %v", form, got, ok)
			}
		}
	}
	for _, s := range []string{"active", "in_transit", "in_progress", "retail_sold", "recalled", "non_conformant", "destroyed", "expired", "returned"} {
		if got, ok := Disposition.Normalize(Disposition.webURI(s)); !ok || got != s {
			t.Errorf("Disposition.Normalize(%q) = %q, %v", s, got, ok)
		}
	}
}

func TestAllEPCsDedupes(t *testing.T) {
	e := Event{
		EPCs:       []string{"a", "b", "a"},
		ParentID:   "p",
		ChildEPCs:  []string{"b", "c"},
		InputEPCs:  []string{"d"},
		OutputEPCs: []string{"e"},
		Quantities: []Quantity{{EPCClass: "c"}, {EPCClass: "f"}},
	}
	if got, want := e.AllEPCs(), []string{"a", "b", "p", "c", "d", "e", "f"}; !reflect.DeepEqual(got, want) {
		t.Errorf("AllEPCs() = %q, want %q", got, want)
	}
	var many Event
	for i := range 100 {
		many.EPCs = append(many.EPCs, string(rune('A'+i%50)))
	}
	if got := many.AllEPCs(); len(got) != 50 {
		t.Errorf("AllEPCs() of 100 with 50 distinct = %d", len(got))
	}
}
