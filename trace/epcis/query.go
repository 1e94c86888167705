package epcis

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// QueryDocument returns an EPCISQueryDocument carrying events, the result
// of query queryName (SimpleEventQuery when empty), created at created:
//
//	{"@context":…,"type":"EPCISQueryDocument","schemaVersion":"2.0",
//	 "creationDate":…,"epcisBody":{"queryResults":{"queryName":…,
//	 "resultsBody":{"eventList":[…]}}}}
//
// context is the @context to declare, [DefaultContext] when empty; it must
// define every prefix the events' extension fields use. The events are
// embedded byte for byte; each must be a JSON object.
func QueryDocument(context json.RawMessage, queryName string, events []json.RawMessage, created time.Time) ([]byte, error) {
	if len(bytes.TrimSpace(context)) == 0 {
		context = json.RawMessage(`"` + DefaultContext + `"`)
	} else if !json.Valid(context) {
		return nil, errors.New("epcis: query document: @context is not valid JSON")
	}
	if queryName == "" {
		queryName = "SimpleEventQuery"
	}
	name, err := json.Marshal(queryName)
	if err != nil {
		return nil, fmt.Errorf("epcis: query document: query name: %w", err)
	}
	size := len(context) + len(name) + 256
	for _, e := range events {
		size += len(e) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, `{"@context":`...)
	b = append(b, context...)
	b = append(b, `,"type":"EPCISQueryDocument","schemaVersion":"2.0","creationDate":"`...)
	b = created.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
	b = append(b, `","epcisBody":{"queryResults":{"queryName":`...)
	b = append(b, name...)
	b = append(b, `,"resultsBody":{"eventList":[`...)
	for i, e := range events {
		e = bytes.TrimSpace(e)
		if len(e) == 0 || e[0] != '{' || !json.Valid(e) {
			return nil, fmt.Errorf("epcis: query document: event %d is not a JSON object", i)
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e...)
	}
	b = append(b, "]}}}}"...)
	return b, nil
}

// RecordTimeLayout is how query results write recordTime: RFC 3339 in
// UTC with milliseconds.
const RecordTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// WithRecordTime returns event, a stored JSON object, with its recordTime
// member set to t, in UTC as [RecordTimeLayout] writes it: every event a
// query returns carries the time the repository recorded it (EPCIS 2.0
// §7.4.1), and a recordTime the event held when it was captured is not
// that time (the capture interface ignores it), so it is replaced. The
// member goes right after eventTime, or first when there is none; the
// other members are kept byte for byte. A zero t only removes recordTime,
// for events stored without one.
func WithRecordTime(event json.RawMessage, t time.Time) (json.RawMessage, error) {
	r := reader{data: event}
	if r.peek() != '{' {
		return nil, errors.New("epcis: record time: the event is not a JSON object")
	}
	r.pos++
	r.depth++
	// member is where one member is, from its name to the end of its
	// value.
	type member struct {
		start, end int
		name       string
	}
	var members []member
	if r.peek() == '}' {
		r.pos++
	} else {
		for {
			if r.peek() != '"' {
				r.unexpected("a member name")
				break
			}
			start := r.pos
			name := r.key()
			if r.peek() != ':' {
				r.unexpected("':'")
				break
			}
			r.pos++
			r.value(false)
			if r.failed() {
				break
			}
			members = append(members, member{start: start, end: r.pos, name: name})
			if c := r.peek(); c == ',' {
				r.pos++
				continue
			} else if c == '}' {
				r.pos++
				break
			}
			r.unexpected("',' or '}'")
			break
		}
	}
	if !r.failed() {
		r.end()
	}
	if r.failed() {
		return nil, fmt.Errorf("epcis: record time: the event is not valid JSON: %s", r.err)
	}
	var rt []byte
	if !t.IsZero() {
		rt = append([]byte(`"recordTime":"`), t.UTC().AppendFormat(nil, RecordTimeLayout)...)
		rt = append(rt, '"')
	}
	at := -1 // index of the member recordTime follows
	for i, m := range members {
		if m.name == "eventTime" {
			at = i
		}
	}
	out := make([]byte, 0, len(event)+len(rt)+1)
	out = append(out, '{')
	n := 0
	add := func(b []byte) {
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, b...)
		n++
	}
	if at < 0 && rt != nil {
		add(rt)
	}
	for i, m := range members {
		if m.name != "recordTime" {
			add(event[m.start:m.end])
		}
		if i == at && rt != nil {
			add(rt)
		}
	}
	return append(out, '}'), nil
}

// Compact returns raw without insignificant whitespace, for storing
// events compactly.
func Compact(raw json.RawMessage) (json.RawMessage, error) {
	var b bytes.Buffer
	b.Grow(len(raw))
	if err := json.Compact(&b, raw); err != nil {
		return nil, fmt.Errorf("epcis: compact: %w", err)
	}
	return b.Bytes(), nil
}
