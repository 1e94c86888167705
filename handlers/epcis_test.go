package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"tracesvc/cmd/wire"

	"tracesvc/trace/epcis"
)

const epcisContext = `"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"tracesvc":"https://id.example.cn/ns/"}]`

// doc wraps events in an EPCISDocument.
func doc(events ...string) string {
	return `{` + epcisContext + `,"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-26T08:00:00Z",
		"epcisBody":{"eventList":[` + strings.Join(events, ",") + `]}}`
}

// capture posts a document and returns the capture job.
func (e *env) capture(key, body string, hdr ...string) (int, map[string]any) {
	e.t.Helper()
	req := httptest.NewRequest("POST", "/epcis/capture", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/ld+json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		var m map[string]any
		json.Unmarshal(rec.Body.Bytes(), &m)
		return rec.Code, m
	}
	loc := rec.Header().Get("Location")
	if !strings.HasPrefix(loc, "/epcis/capture/") {
		e.t.Fatalf("capture Location %q", loc)
	}
	return rec.Code, e.must(200, "GET", loc, key, nil).JSON()
}

func (e *env) captureOK(key string, events ...string) map[string]any {
	e.t.Helper()
	code, job := e.capture(key, doc(events...))
	if code != http.StatusAccepted || job["success"] != true {
		e.t.Fatalf("capture: %d %v", code, job)
	}
	return job
}

// queryEvents runs an EPCIS query and returns its event list.
func (e *env) queryEvents(key, query string) []any {
	e.t.Helper()
	r := e.must(200, "GET", "/epcis/events?"+query, key, nil).JSON()
	body, _ := r["epcisBody"].(map[string]any)
	qr, _ := body["queryResults"].(map[string]any)
	rb, _ := qr["resultsBody"].(map[string]any)
	list, _ := rb["eventList"].([]any)
	return list
}

// conformanceDir is GS1's example documents, kept with the EPCIS parser's
// tests (trace/epcis/testdata/gs1, with GS1's licence).
func conformanceDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "trace", "epcis", "testdata", "gs1")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("GS1 conformance documents not found at %s: %v", dir, err)
	}
	return dir
}

// rejectedExamples lists the GS1 examples the service refuses, and why.
var rejectedExamples = map[string]string{}

// TestGS1Conformance captures every GS1 example EPCISDocument and queries
// each event back, checking that every field comes back as given.
func TestGS1Conformance(t *testing.T) { eachBackend(t, testGS1Conformance) }

func testGS1Conformance(t *testing.T, backend string) {
	e := newEnvOn(t, backend, 0, 0)
	_, key := e.newEntity("manufacturer")
	dir := conformanceDir(t)
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".jsonld") && !strings.HasSuffix(p, "EPCISQueryDocument.jsonld") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 40 {
		t.Fatalf("found only %d example documents in %s", len(files), dir)
	}
	first := map[string]json.RawMessage{}        // event ID → event as first captured
	firstContext := map[string]json.RawMessage{} // event ID → @context of the document it first came in
	for _, f := range files {
		name, _ := filepath.Rel(dir, f)
		t.Run(name, func(t *testing.T) {
			e := e.with(t)
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			code, job := e.capture(key, string(data))
			if why, ok := rejectedExamples[name]; ok {
				if job["success"] == true {
					t.Fatalf("expected rejection (%s), but it was captured", why)
				}
				return
			}
			if code != http.StatusAccepted || job["success"] != true {
				t.Fatalf("capture: %d %v", code, job)
			}
			d, err := epcis.DecodeDocument(data)
			if err != nil {
				t.Fatal(err)
			}
			for i, raw := range d.Events {
				ev, err := d.ParseEvent(i)
				if err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				if _, seen := first[ev.ID]; !seen {
					first[ev.ID], firstContext[ev.ID] = raw, d.Context
				}
				got := e.queryEvents(e.reg, "EQ_eventID="+url.QueryEscape(ev.ID))
				if len(got) != 1 {
					t.Fatalf("event %d (%s): query found %d events", i, ev.ID, len(got))
				}
				var want map[string]any
				json.Unmarshal(first[ev.ID], &want)
				gotMap := got[0].(map[string]any)
				if _, ok := want["eventID"]; !ok {
					delete(gotMap, "eventID") // derived by the service
				}
				// recordTime is the service's, whatever the event said.
				if rt, _ := gotMap["recordTime"].(string); !recordTimePattern.MatchString(rt) {
					t.Fatalf("event %d: recordTime %q, want RFC 3339 UTC with milliseconds", i, rt)
				}
				delete(gotMap, "recordTime")
				delete(want, "recordTime")
				// An event of a document that declares its own prefixes
				// carries the document's @context, so that it reads alone.
				if ctx, ok := gotMap["@context"]; ok && want["@context"] == nil {
					var docCtx any
					json.Unmarshal(firstContext[ev.ID], &docCtx)
					if !reflect.DeepEqual(ctx, docCtx) {
						t.Fatalf("event %d: @context %v, want the document's %v", i, ctx, docCtx)
					}
					delete(gotMap, "@context")
				}
				if !reflect.DeepEqual(gotMap, want) {
					gb, _ := json.Marshal(gotMap)
					t.Fatalf("event %d came back changed:\n got %s\nwant %s", i, gb, first[ev.ID])
				}
			}
		})
	}
}

func TestCaptureRejects(t *testing.T) { eachBackend(t, testCaptureRejects) }

func testCaptureRejects(t *testing.T, backend string) {
	e := newEnvOn(t, backend, 0, 0)
	_, key := e.newEntity()
	obj := func(fields string) string {
		return `{"type":"ObjectEvent","action":"OBSERVE","epcList":["urn:epc:id:sgtin:0614141.107346.2017"],` + fields + `}`
	}
	okTime := `"eventTime":"2026-11-20T10:00:00+08:00","eventTimeZoneOffset":"+08:00"`
	cases := map[string]struct {
		body, pointer string
	}{
		"no eventTime":       {doc(obj(`"eventTimeZoneOffset":"+08:00"`)), "/epcisBody/eventList/0/eventTime"},
		"no offset":          {doc(obj(`"eventTime":"2026-11-20T10:00:00+08:00"`)), "/epcisBody/eventList/0/eventTimeZoneOffset"},
		"bad action":         {doc(`{"type":"ObjectEvent","action":"JUMP","epcList":[],` + okTime + `}`), "/epcisBody/eventList/0/action"},
		"bare bizStep":       {doc(obj(okTime + `,"bizStep":"teleporting"`)), "/epcisBody/eventList/0/bizStep"},
		"bare disposition":   {doc(obj(okTime + `,"disposition":"vanished"`)), "/epcisBody/eventList/0/disposition"},
		"quantity as string": {doc(`{"type":"ObjectEvent","action":"OBSERVE","quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":"12","uom":"KGM"}],` + okTime + `}`), "/epcisBody/eventList/0/quantityList/0/quantity"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			code, job := e.with(t).capture(key, tc.body)
			if code != http.StatusAccepted || job["success"] != false {
				t.Fatalf("capture: %d %v", code, job)
			}
			errs := job["errors"].([]any)
			if len(errs) == 0 || errs[0].(map[string]any)["pointer"] != tc.pointer || errs[0].(map[string]any)["rule"] == "" {
				t.Fatalf("errors %v, want pointer %s", errs, tc.pointer)
			}
		})
	}
	// A document without @context is refused at once.
	noCtx := `{"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-26T08:00:00Z","epcisBody":{"eventList":[]}}`
	if code, body := e.capture(key, noCtx); code != 400 {
		t.Fatalf("no @context: %d %v", code, body)
	}
	if code, _ := e.capture(key, "{not json"); code != 400 {
		t.Fatalf("not JSON: %d", code)
	}
	// Rollback stores nothing when one event fails; proceed stores the good one.
	good := obj(okTime + `,"eventID":"urn:uuid:11111111-1111-4111-8111-111111111111"`)
	bad := obj(`"eventTimeZoneOffset":"+08:00"`)
	e.capture(key, doc(good, bad))
	if got := e.queryEvents(e.reg, "EQ_eventID=urn:uuid:11111111-1111-4111-8111-111111111111"); len(got) != 0 {
		t.Fatal("rollback stored an event")
	}
	_, job := e.capture(key, doc(good, bad), "GS1-Capture-Error-Behaviour", "proceed")
	if job["captured"] != 1.0 || job["success"] != false {
		t.Fatalf("proceed: %v", job)
	}
	if got := e.queryEvents(e.reg, "EQ_eventID=urn:uuid:11111111-1111-4111-8111-111111111111"); len(got) != 1 {
		t.Fatal("proceed did not store the good event")
	}
	// Capturing the same event again is a no-op.
	_, job = e.capture(key, doc(good))
	if job["duplicates"] != 1.0 || job["captured"] != 0.0 || job["success"] != true {
		t.Fatalf("recapture: %v", job)
	}
	runCases(t, e, map[string]authCase{
		"no key":     {"POST", "/epcis/capture", "", doc(good), 401, "unauthorized"},
		"wrong key":  {"POST", "/epcis/capture", bogusKey, doc(good), 401, "unauthorized"},
		"regulator":  {"POST", "/epcis/capture", e.reg, doc(good), 403, "forbidden"},
		"query none": {"GET", "/epcis/events", "", nil, 401, "unauthorized"},
		"bad time":   {"GET", "/epcis/events?GE_eventTime=yesterday", e.reg, nil, 400, "invalid"},
		"bad order":  {"GET", "/epcis/events?orderBy=size", e.reg, nil, 400, "invalid"},
		"bad epc":    {"GET", "/epcis/events?MATCH_epc=urn:epc:id:sgtin:0614141.107346", e.reg, nil, 400, "invalid"},
	})
}

var _ = time.Now
var _ = fmt.Sprint

func TestEPCISQueryAndSingleEvents(t *testing.T) { eachBackend(t, testEPCISQueryAndSingleEvents) }

func testEPCISQueryAndSingleEvents(t *testing.T, backend string) {
	e := newEnvOn(t, backend, 0, 0)
	_, key := e.newEntity()
	_, other := e.newEntity()
	var events []string
	for i := range 7 {
		events = append(events, fmt.Sprintf(`{"eventID":"urn:uuid:22222222-2222-4222-8222-%012d","type":"ObjectEvent","action":"OBSERVE",
			"bizStep":"https://ref.gs1.org/cbv/BizStep-storing","eventTime":"2026-11-20T10:0%d:00Z","eventTimeZoneOffset":"+00:00",
			"epcList":["urn:epc:id:sgtin:0614141.107346.%d"]}`, i, i, i%2))
	}
	job := e.captureOK(key, events...)
	// Capture jobs belong to their capturer and to officials.
	e.must(200, "GET", "/epcis/capture/"+job["captureID"].(string), e.reg, nil)
	if r := e.do("GET", "/epcis/capture/"+job["captureID"].(string), other, nil); r.Code != 404 {
		t.Fatalf("another entity reads the capture job: %d", r.Code)
	}
	r := e.must(200, "GET", "/epcis/events?EQ_bizStep=storing&perPage=3&orderBy=eventTime", e.reg, nil)
	if r.Hdr.Get("GS1-EPCIS-Capture-Limit") != "10000" || r.Hdr.Get("Content-Type") != "application/ld+json" {
		t.Fatalf("headers: %v", r.Hdr)
	}
	var ids []string
	tok := ""
	for page := 0; page < 5; page++ {
		q := "EQ_bizStep=storing&perPage=3&orderBy=eventTime"
		if tok != "" {
			q += "&nextPageToken=" + tok
		}
		r := e.must(200, "GET", "/epcis/events?"+q, e.reg, nil)
		for _, ev := range e.queryEvents(e.reg, q) {
			ids = append(ids, ev.(map[string]any)["eventID"].(string))
		}
		if tok = r.Hdr.Get("GS1-Next-Page-Token"); tok == "" {
			break
		}
	}
	if len(ids) != 7 || ids[0] != "urn:uuid:22222222-2222-4222-8222-000000000000" || ids[6] != "urn:uuid:22222222-2222-4222-8222-000000000006" {
		t.Fatalf("paged ids: %v", ids)
	}
	if got := e.queryEvents(e.reg, "MATCH_epc=urn:epc:id:sgtin:0614141.107346.1"); len(got) != 3 {
		t.Fatalf("MATCH_epc: %d", len(got))
	}
	dl := url.PathEscape("https://id.gs1.org/01/10614141073464/21/0")
	r = e.must(200, "GET", "/epcis/epcs/"+dl+"/events", key, nil)
	if n := len(r.JSON()["epcisBody"].(map[string]any)["queryResults"].(map[string]any)["resultsBody"].(map[string]any)["eventList"].([]any)); n != 4 {
		t.Fatalf("events of the Digital Link form of item 0: %d", n)
	}
	if got := e.queryEvents(other, "EQ_bizStep=storing"); len(got) != 0 {
		t.Fatalf("another entity sees %d events", len(got))
	}
	if got := e.queryEvents(e.reg, "GE_eventTime=2026-11-20T10:05:00Z&LT_eventTime=2026-11-20T10:06:00Z"); len(got) != 1 {
		t.Fatalf("time window: %d", len(got))
	}
	e.must(200, "GET", "/epcis/events/"+url.PathEscape("urn:uuid:22222222-2222-4222-8222-000000000003"), key, nil)
	if r := e.do("GET", "/epcis/events/"+url.PathEscape("urn:uuid:22222222-2222-4222-8222-000000000003"), other, nil); r.Code != 404 {
		t.Fatalf("another entity reads a single event: %d", r.Code)
	}

	// A single event: 201 with its Location, or 400 with its faults.
	one := `{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-11-21T10:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["urn:epc:id:sscc:0614141.1234567890"]}`
	req := httptest.NewRequest("POST", "/epcis/events", strings.NewReader(one))
	req.Header.Set("Authorization", "Bearer "+key)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 201 || !strings.HasPrefix(rec.Header().Get("Location"), "/epcis/events/ni:") {
		t.Fatalf("single event: %d %s %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	e.must(200, "GET", rec.Header().Get("Location"), key, nil)
	bad := strings.Replace(one, `"action":"OBSERVE"`, `"action":"LOOK"`, 1)
	if r := e.do("POST", "/epcis/events", key, bad); r.Code != 400 || r.errField() != "/action" {
		t.Fatalf("bad single event: %d %s", r.Code, r.Body)
	}
	if r := e.do("POST", "/epcis/capture", key, strings.Repeat(" ", 21<<20)); r.Code != 413 {
		t.Fatalf("oversized document: %d", r.Code)
	}
}

// TestCaptureLimits captures a document at the advertised limit of 10,000
// events and refuses one event more.
func TestCaptureLimits(t *testing.T) {
	e := newEnv(t)
	_, key := e.newEntity()
	body := captureDoc(0, 10_000)
	code, job := e.capture(key, body)
	if code != 202 || job["captured"] != 10_000.0 || job["success"] != true {
		t.Fatalf("10,000 events: %d captured %v", code, job["captured"])
	}
	over := captureDoc(20_000, 10_001)
	if code, body := e.capture(key, over); code != 400 || !strings.Contains(fmt.Sprint(body), "limit") {
		t.Fatalf("10,001 events: %d %v", code, body)
	}
}

// TestHeaderFieldErrors checks that an error about a value sent as a
// header names the header.
func TestHeaderFieldErrors(t *testing.T) {
	e := newEnv(t)
	_, key := e.newEntity()
	req := httptest.NewRequest("POST", "/epcis/capture", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/ld+json")
	req.Header.Set("GS1-Capture-Error-Behaviour", "sometimes")
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	r := response{Code: rec.Code, Body: rec.Body.Bytes()}
	if r.Code != 400 || r.errField() != "GS1-Capture-Error-Behaviour" {
		t.Fatalf("bad error behaviour: %d %s", r.Code, r.Body)
	}
}

// TestQueryResultsCaptureAgain: an event whose extension prefix its
// document declared comes back from a query with that declaration, so a
// query result can be captured again as it is (an exact duplicate).
func TestQueryResultsCaptureAgain(t *testing.T) { eachBackend(t, testQueryResultsCaptureAgain) }

func testQueryResultsCaptureAgain(t *testing.T, backend string) {
	e := newEnvOn(t, backend, 0, 0)
	_, key := e.newEntity()
	body := `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"acme":"https://acme.example/ns/"}],
		"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-26T08:00:00Z","epcisBody":{"eventList":[
		{"type":"ObjectEvent","action":"OBSERVE","bizStep":"inspecting","eventTime":"2026-11-26T08:00:00Z","eventTimeZoneOffset":"+00:00",
		 "epcList":["urn:epc:id:sgtin:0614141.107346.2018"],"acme:shift":"night"}]}}`
	if _, job := e.capture(key, body); job["success"] != true {
		t.Fatalf("capture: %v", job)
	}
	got := e.queryEvents(key, "MATCH_epc="+url.QueryEscape("urn:epc:id:sgtin:0614141.107346.2018"))
	if len(got) != 1 {
		t.Fatalf("query: %d events", len(got))
	}
	ev := got[0].(map[string]any)
	delete(ev, "recordTime")
	raw, _ := json.Marshal(ev)
	r := e.do("POST", "/epcis/events", key, string(raw))
	if r.Code != 201 || r.JSON()["duplicates"] != float64(1) {
		t.Fatalf("capturing the query result again: %d %s", r.Code, r.Body)
	}
}

// TestRecordTimeSettle (issue 10, item 7): with several writers
// (MongoDB), queries in recordTime order hold back events recorded less
// than the settle time ago, so that a reader paging by recordTime cannot
// pass an event another process is still storing; eventTime order and
// the single event show them at once.
func TestRecordTimeSettle(t *testing.T) { eachBackend(t, testRecordTimeSettle) }

func testRecordTimeSettle(t *testing.T, backend string) {
	var ahead atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	e := newEnvWith(t, backend, func(o *wire.Options) { o.Now, o.RecordTimeSettle = now, 2*time.Second })
	_, key := e.newEntity()
	epc := "urn:epc:id:sgtin:0614141.107346.S1"
	e.captureOK(key, objectEvent("OBSERVE", "inspecting", "2026-11-26T08:00:00Z", []string{epc}, ""))
	q := "MATCH_epc=" + url.QueryEscape(epc)
	if got := e.queryEvents(key, q); len(got) != 0 {
		t.Fatalf("recordTime order shows an event recorded just now: %d", len(got))
	}
	byEventTime := e.queryEvents(key, q+"&orderBy=eventTime")
	if len(byEventTime) != 1 {
		t.Fatalf("eventTime order: %d events", len(byEventTime))
	}
	id := byEventTime[0].(map[string]any)["eventID"].(string)
	e.must(200, "GET", "/epcis/events/"+url.PathEscape(id), key, nil)
	ahead.Add(int64(2 * time.Second))
	if got := e.queryEvents(key, q); len(got) != 1 {
		t.Fatalf("after the settle time: %d events", len(got))
	}
}
