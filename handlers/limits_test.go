package handlers_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestEventSizeLimits (issue 10, item 2): an event at the identifier limit
// is stored on both backends (a 2xx means stored); one identifier more,
// or an event over the size limit, is refused with the limit; a job with
// more errors than it lists says how many more.
func TestEventSizeLimits(t *testing.T) { eachBackend(t, testEventSizeLimits) }

func testEventSizeLimits(t *testing.T, backend string) {
	e := newEnvOn(t, backend, 0, 0)
	_, key := e.newEntity()
	event := func(n int, extra string) string {
		epcs := make([]string, n)
		for i := range epcs {
			epcs[i] = fmt.Sprintf("urn:epc:id:sgtin:0614141.107346.L%07d", i)
		}
		list, _ := json.Marshal(epcs)
		return `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"ex":"https://ex.example/"}],` +
			`"type":"ObjectEvent","action":"OBSERVE","bizStep":"inspecting","eventTime":"2026-11-26T08:00:00Z",` +
			`"eventTimeZoneOffset":"+00:00","epcList":` + string(list) + extra + `}`
	}
	if r := e.do("POST", "/epcis/events", key, event(20_000, "")); r.Code != 201 {
		t.Fatalf("an event of 20,000 EPCs: %d %.300s", r.Code, r.Body)
	}
	got := e.queryEvents(key, "MATCH_epc=urn:epc:id:sgtin:0614141.107346.L0019999")
	if len(got) != 1 || len(got[0].(map[string]any)["epcList"].([]any)) != 20_000 {
		t.Fatalf("the stored event: %d events", len(got))
	}
	r := e.do("POST", "/epcis/events", key, event(20_001, ""))
	if r.Code != 400 || !strings.Contains(r.errMessage(), "at most 20000") {
		t.Fatalf("20,001 EPCs: %d %.300s", r.Code, r.Body)
	}
	big := event(1, `,"ex:blob":"`+strings.Repeat("x", 4<<20)+`"`)
	if r := e.do("POST", "/epcis/events", key, big); r.Code != 400 || !strings.Contains(r.errMessage(), "at most 4194304 bytes") {
		t.Fatalf("an event over 4 MiB: %d %.300s", r.Code, r.Body)
	}
	var bad []string
	for range 1500 {
		bad = append(bad, `{"type":"ObjectEvent","action":"OBSERVE","eventTime":"2026-11-26T08:00:00Z","eventTimeZoneOffset":"+00:00","epcList":["not a uri"]}`)
	}
	_, job := e.capture(key, doc(bad...))
	errs := job["errors"].([]any)
	last := errs[len(errs)-1].(map[string]any)
	if len(errs) != 1000 || last["rule"] != "capture.moreErrors" || !strings.Contains(last["message"].(string), "and 501 more errors") {
		t.Fatalf("a job with 1,500 errors lists %d, the last %v", len(errs), last)
	}
}
