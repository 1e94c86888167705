package epcis

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// DefaultContext is the JSON-LD context of EPCIS 2.0 documents.
const DefaultContext = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

// Document is a decoded EPCISDocument.
type Document struct {
	// Context is the @context as given: a string, an object or an array.
	Context json.RawMessage
	// ID is the document's id, if any.
	ID string
	// SchemaVersion is schemaVersion, e.g. "2.0".
	SchemaVersion string
	// CreationDate is creationDate.
	CreationDate time.Time
	// Header is epcisHeader as given, or nil.
	Header json.RawMessage
	// Events holds each element of epcisBody.eventList, byte for byte as
	// in the input, unvalidated; see [Document.ParseEvent].
	Events []json.RawMessage

	// prefixes are the JSON-LD prefixes Context defines.
	prefixes map[string]string
}

// DecodeDocument decodes an EPCIS 2.0 JSON-LD EPCISDocument. It checks the
// document's own structure — a JSON object of type EPCISDocument with
// @context, schemaVersion, creationDate and epcisBody.eventList, which may
// be empty — and leaves the events to [Document.ParseEvent]. The error is
// an [*Error] pointing at the first problem.
func DecodeDocument(data []byte) (Document, error) {
	var d Document
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return d, &Error{Rule: "document.type", Message: "EPCIS 2.0 §9.1 (JSON binding): a document must be a JSON object, got " + ute.Value}
		}
		return d, &Error{Rule: "json", Message: "not valid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if top == nil {
		return d, &Error{Rule: "document.type", Message: "EPCIS 2.0 §9.1 (JSON binding): a document must be a JSON object, got null"}
	}

	var typ string
	if err := json.Unmarshal(top["type"], &typ); err != nil || typ != "EPCISDocument" {
		got := "nothing"
		if raw, ok := top["type"]; ok {
			got = string(raw)
		}
		return d, &Error{Pointer: "/type", Rule: "document.type", Message: clauseDocument + ": type must be \"EPCISDocument\", got " + got}
	}
	ctx, ok := top["@context"]
	if !ok || isNull(ctx) {
		return d, &Error{Pointer: "/@context", Rule: "document.context", Message: clauseJSONLD + ": @context is required, e.g. \"" + DefaultContext + "\""}
	}
	if c := firstByte(ctx); c != '"' && c != '{' && c != '[' {
		return d, &Error{Pointer: "/@context", Rule: "document.context", Message: clauseJSONLD + ": @context must be a string, an object or an array"}
	}
	d.Context = ctx
	var ctxValue any
	if json.Unmarshal(ctx, &ctxValue) == nil {
		d.prefixes = withContext(nil, ctxValue)
	}

	if raw, ok := top["id"]; ok {
		if err := json.Unmarshal(raw, &d.ID); err != nil {
			return d, &Error{Pointer: "/id", Rule: "document.id", Message: clauseDocument + ": id must be a URI string"}
		}
	}
	switch raw, ok := top["schemaVersion"]; {
	case !ok:
		return d, &Error{Pointer: "/schemaVersion", Rule: "document.schemaVersion", Message: clauseDocument + ": schemaVersion is required, e.g. \"2.0\""}
	case json.Unmarshal(raw, &d.SchemaVersion) != nil:
		// Drafts of EPCIS 2.0 wrote the version as a number.
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return d, &Error{Pointer: "/schemaVersion", Rule: "document.schemaVersion", Message: clauseDocument + ": schemaVersion must be a string such as \"2.0\""}
		}
		d.SchemaVersion = n.String()
	}
	raw, ok := top["creationDate"]
	if !ok {
		return d, &Error{Pointer: "/creationDate", Rule: "document.creationDate", Message: clauseDocument + ": creationDate is required"}
	}
	var cd string
	if json.Unmarshal(raw, &cd) != nil {
		return d, &Error{Pointer: "/creationDate", Rule: "document.creationDate", Message: clauseDocument + ": creationDate must be an RFC 3339 date-time string"}
	}
	t, ok := parseTime(cd)
	if !ok {
		return d, &Error{Pointer: "/creationDate", Rule: "document.creationDate", Message: clauseDocument + ": creationDate must be an RFC 3339 date-time with a time zone, got " + strconv.Quote(cd)}
	}
	d.CreationDate = t
	if h, ok := top["epcisHeader"]; ok && !isNull(h) {
		if firstByte(h) != '{' {
			return d, &Error{Pointer: "/epcisHeader", Rule: "document.epcisHeader", Message: clauseDocument + ": epcisHeader must be an object"}
		}
		d.Header = h
	}

	bodyRaw, ok := top["epcisBody"]
	if !ok {
		return d, &Error{Pointer: "/epcisBody", Rule: "document.epcisBody", Message: clauseDocument + ": epcisBody is required"}
	}
	var body map[string]json.RawMessage
	if json.Unmarshal(bodyRaw, &body) != nil || body == nil {
		return d, &Error{Pointer: "/epcisBody", Rule: "document.epcisBody", Message: clauseDocument + ": epcisBody must be an object holding eventList"}
	}
	list, ok := body["eventList"]
	if !ok {
		return d, &Error{Pointer: "/epcisBody/eventList", Rule: "document.eventList", Message: clauseDocument + ": epcisBody.eventList is required (it may be empty)"}
	}
	if json.Unmarshal(list, &d.Events) != nil || isNull(list) {
		return d, &Error{Pointer: "/epcisBody/eventList", Rule: "document.eventList", Message: clauseDocument + ": epcisBody.eventList must be an array of events"}
	}
	if d.Events == nil {
		d.Events = []json.RawMessage{}
	}
	return d, nil
}

// Clauses cited by document errors.
const (
	clauseDocument = "EPCIS 2.0 §9.1 (EPCISDocument)"
	clauseJSONLD   = "EPCIS 2.0 §9.2 (JSON-LD)"
)

// ParseEvent parses event i of the document like [ParseEvent], expanding
// extension names with the document's @context when it derives an event
// hash. Error pointers are relative to the event; use [Errors.Prefix] with
// "/epcisBody/eventList/"+i to locate them in the document.
func (d Document) ParseEvent(i int) (Event, error) {
	return parseEvent(d.Events[i], d.contextPrefixes())
}

// Hash returns the event hash ID of event i (see [Hash]), with the
// document's @context applied.
func (d Document) Hash(i int) (string, error) {
	m, err := decodeObject(d.Events[i])
	if err != nil {
		return "", err
	}
	return newHasher(d.contextPrefixes(), m).hash(m), nil
}

// contextPrefixes returns the prefixes of d.Context, which DecodeDocument
// has worked out already unless d was built by hand.
func (d Document) contextPrefixes() map[string]string {
	if d.prefixes != nil || len(d.Context) == 0 {
		return d.prefixes
	}
	var v any
	if json.Unmarshal(d.Context, &v) != nil {
		return nil
	}
	return withContext(nil, v)
}

// isNull reports whether raw is the JSON literal null.
func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// firstByte returns the first byte of raw, 0 if empty.
func firstByte(raw json.RawMessage) byte {
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}
