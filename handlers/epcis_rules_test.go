package handlers_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"tracesvc/trace/epcis"
)

// rulesEvent is a commissioning ObjectEvent with eventID id and extra
// members (a leading comma included); its EPC is not one this service
// issued, so no custody rule applies.
func rulesEvent(id, extra string) string {
	return `{"type":"ObjectEvent","eventID":"` + id + `","action":"ADD","bizStep":"commissioning",
	  "eventTime":"2026-11-20T10:00:00+08:00","eventTimeZoneOffset":"+08:00",
	  "epcList":["urn:epc:id:sgtin:0614141.107346.2017"],
	  "quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":5,"uom":"KGM"}]` + extra + `}`
}

// TestEPCISSchemaRules captures documents that break the member-name
// rules of the EPCIS 2.0 JSON schema (issue 9, item 14): each is refused
// with the JSON pointer of the member and stores nothing; a single event
// breaking them gets a 400 naming the member. The same extensions,
// namespaced, are captured. trace/epcis's TestEPCISSchemaRules covers
// every rule; this checks them through the service on both backends.
func TestEPCISSchemaRules(t *testing.T) { eachBackend(t, testEPCISSchemaRules) }

func testEPCISSchemaRules(t *testing.T, backend string) {
	e := newEnvOn(t, backend, 0, 0)
	_, key := e.newEntity()
	cases := map[string]struct{ extra, pointer, rule string }{
		"ilmd not namespaced": {`,"ilmd":{"lot":"L1"}`, "/ilmd/lot", "field.unexpected"},
		"undeclared prefix":   {`,"acme:shift":"night"`, "/acme:shift", "extension.prefix"},
		"sensor report not namespaced": {`,"sensorElementList":[{"sensorReport":[{"type":"Temperature","value":4,"probe":"P1"}]}]`,
			"/sensorElementList/0/sensorReport/0/probe", "field.unexpected"},
		"sensor metadata not namespaced": {`,"sensorElementList":[{"sensorMetadata":{"calibrated":true},"sensorReport":[{"type":"Temperature","value":4}]}]`,
			"/sensorElementList/0/sensorMetadata/calibrated", "field.unexpected"},
		"error declaration not namespaced": {`,"errorDeclaration":{"declarationTime":"2026-11-21T00:00:00Z","ticket":"T-1"}`,
			"/errorDeclaration/ticket", "field.unexpected"},
		"top level not namespaced": {`,"shift":"night"`, "/shift", "field.unexpected"},
	}
	n := 0
	for name, tc := range cases {
		n++
		id := "urn:uuid:44444444-4444-4444-8444-00000000000" + string(rune('0'+n))
		t.Run(name, func(t *testing.T) {
			e := e.with(t)
			code, job := e.capture(key, doc(rulesEvent(id, tc.extra)))
			if code != http.StatusAccepted || job["success"] != false || job["captured"] != 0.0 {
				t.Fatalf("capture: %d %v", code, job)
			}
			errs := job["errors"].([]any)
			first := errs[0].(map[string]any)
			if len(errs) != 1 || first["pointer"] != "/epcisBody/eventList/0"+tc.pointer || first["rule"] != tc.rule {
				t.Fatalf("errors %v, want %s at /epcisBody/eventList/0%s", errs, tc.rule, tc.pointer)
			}
			if got := e.queryEvents(e.reg, "EQ_eventID="+url.QueryEscape(id)); len(got) != 0 {
				t.Fatal("a refused capture stored its event")
			}
			// The same event alone at POST /epcis/events.
			single := strings.Replace(rulesEvent(id, tc.extra), `{"type"`, `{`+epcisContext+`,"type"`, 1)
			r := e.do("POST", "/epcis/events", key, single)
			if r.Code != http.StatusBadRequest || r.errField() != tc.pointer {
				t.Fatalf("single event: %d %s, want 400 naming %s", r.Code, r.Body, tc.pointer)
			}
			if r := e.do("GET", "/epcis/events/"+url.PathEscape(id), key, nil); r.Code != http.StatusNotFound {
				t.Fatalf("a refused single event was stored: %d", r.Code)
			}
		})
	}
	// Quantity elements hold epcClass, quantity and uom, nothing else.
	bad := strings.Replace(rulesEvent("urn:uuid:44444444-4444-4444-8444-000000000100", ""), `"uom":"KGM"`, `"uom":"KGM","tracesvc:grade":"A"`, 1)
	_, job := e.capture(key, doc(bad))
	if errs := job["errors"].([]any); job["success"] != false || errs[0].(map[string]any)["pointer"] != "/epcisBody/eventList/0/quantityList/0/tracesvc:grade" {
		t.Fatalf("quantity element with an extension: %v", job)
	}

	// Namespaced extensions where the schema allows them are captured and
	// come back as given.
	good := rulesEvent("urn:uuid:44444444-4444-4444-8444-000000000200", `,"ilmd":{"tracesvc:lot":"L1","cbvmda:countryOfOrigin":"CN"},
	  "sensorElementList":[{"sensorMetadata":{"tracesvc:calibrated":true},"sensorReport":[{"type":"Temperature","value":4,"tracesvc:probe":"P1"}],"tracesvc:note":"n"}],
	  "errorDeclaration":{"declarationTime":"2026-11-21T00:00:00Z","tracesvc:ticket":"T-1"},
	  "readPoint":{"id":"urn:epc:id:sgln:0614141.07346.1234","https://id.example.cn/ns/dock":"7"},
	  "tracesvc:shift":"night"`)
	e.captureOK(key, good)
	got := e.queryEvents(e.reg, "EQ_eventID=urn:uuid:44444444-4444-4444-8444-000000000200")
	if len(got) != 1 || got[0].(map[string]any)["ilmd"].(map[string]any)["tracesvc:lot"] != "L1" {
		t.Fatalf("namespaced extensions: %v", got)
	}
}

// recordTimePattern is recordTime as queries write it: UTC, milliseconds.
var recordTimePattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// TestEPCISRecordTime checks that query results and the single-event
// endpoint carry each event's recordTime — when the service stored it,
// not a recordTime the captured event claimed — and that the
// recordTime filters agree with it, on both backends.
func TestEPCISRecordTime(t *testing.T) { eachBackend(t, testEPCISRecordTime) }

func testEPCISRecordTime(t *testing.T, backend string) {
	e := newEnvOn(t, backend, 0, 0)
	_, key := e.newEntity()
	const id = "urn:uuid:55555555-5555-4555-8555-000000000001"
	before := time.Now().Truncate(time.Millisecond)
	e.captureOK(key, rulesEvent(id, `,"recordTime":"2000-01-01T00:00:00.000Z"`))
	after := time.Now()

	got := e.queryEvents(key, "EQ_eventID="+url.QueryEscape(id))
	if len(got) != 1 {
		t.Fatalf("query found %d events", len(got))
	}
	rt, _ := got[0].(map[string]any)["recordTime"].(string)
	if !recordTimePattern.MatchString(rt) {
		t.Fatalf("recordTime %q is not RFC 3339 UTC with milliseconds", rt)
	}
	at, err := time.Parse(epcis.RecordTimeLayout, rt)
	if err != nil || at.Before(before) || at.After(after) {
		t.Fatalf("recordTime %s (%v), want the capture time, between %s and %s", rt, err, before, after)
	}
	var one map[string]any
	r := e.must(http.StatusOK, "GET", "/epcis/events/"+url.PathEscape(id), key, nil)
	one = r.JSON()
	if one["recordTime"] != rt || one["eventID"] != id {
		t.Fatalf("single event: recordTime %v, want %s", one["recordTime"], rt)
	}
	if got := e.queryEvents(key, "GE_recordTime="+url.QueryEscape(rt)); len(got) != 1 {
		t.Fatalf("GE_recordTime=%s found %d events", rt, len(got))
	}
	if got := e.queryEvents(key, "LT_recordTime="+url.QueryEscape(rt)); len(got) != 0 {
		t.Fatalf("LT_recordTime=%s found %d events", rt, len(got))
	}

	// An event captured alone, without a recordTime, gets one too.
	single := `{` + epcisContext + `,"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-11-21T10:00:00Z",
	  "eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sscc:0614141.1234567890"]}`
	r = e.must(http.StatusCreated, "POST", "/epcis/events", key, single)
	r = e.must(http.StatusOK, "GET", r.Hdr.Get("Location"), key, nil)
	if rt2, _ := r.JSON()["recordTime"].(string); !recordTimePattern.MatchString(rt2) || rt2 < rt {
		t.Fatalf("single event recordTime %q, want one at or after %s", rt2, rt)
	}
}
