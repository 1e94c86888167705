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
