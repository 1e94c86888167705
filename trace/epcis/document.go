package epcis

import (
	"encoding/json"
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
	// in the input (sharing its memory), checked only for JSON syntax; see
	// [Document.ParseEvent].
	Events []json.RawMessage

	// ns is what Context declares, and nsDone whether DecodeDocument
	// worked it out.
	ns     namespaces
	nsDone bool
}

// DecodeDocument decodes an EPCIS 2.0 JSON-LD EPCISDocument. It checks the
// document's own structure — a JSON object of type EPCISDocument with
// @context, schemaVersion, creationDate and epcisBody.eventList, which may
// be empty — and leaves the events to [Document.ParseEvent]. The error is
// an [*Error] pointing at the first problem. The document is read in one
// pass; Events and the other raw fields share data's memory.
func DecodeDocument(data []byte) (Document, error) {
	var d Document
	if err := checkUTF8(data); err != nil {
		return d, err
	}
	top, events, err := scanDocument(data)
	if err != nil {
		return d, err
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
	if v, msg := parseJSON(ctx); msg == "" {
		d.ns = namespaces{}.withContext(v)
	}
	d.nsDone = true

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

	switch body, ok := top["epcisBody"]; {
	case !ok:
		return d, &Error{Pointer: "/epcisBody", Rule: "document.epcisBody", Message: clauseDocument + ": epcisBody is required"}
	case firstByte(body) != '{':
		return d, &Error{Pointer: "/epcisBody", Rule: "document.epcisBody", Message: clauseDocument + ": epcisBody must be an object holding eventList"}
	}
	switch list, ok := top["epcisBody/eventList"]; {
	case !ok:
		return d, &Error{Pointer: "/epcisBody/eventList", Rule: "document.eventList", Message: clauseDocument + ": epcisBody.eventList is required (it may be empty)"}
	case firstByte(list) != '[':
		return d, &Error{Pointer: "/epcisBody/eventList", Rule: "document.eventList", Message: clauseDocument + ": epcisBody.eventList must be an array of events"}
	}
	d.Events = events
	return d, nil
}

// scanDocument reads data, which must be one JSON object, and returns the
// raw values of its members, of epcisBody's members under
// "epcisBody/{name}", and the raw elements of epcisBody.eventList. Where
// a name repeats, the last one counts, as in encoding/json.
func scanDocument(data []byte) (map[string]json.RawMessage, []json.RawMessage, *Error) {
	r := reader{data: data}
	top := make(map[string]json.RawMessage, 8)
	var events []json.RawMessage
	members := func(prefix string, inner func(key string) bool) {
		// The reader is at '{'.
		r.depth++
		r.pos++
		if r.peek() == '}' {
			r.pos++
			r.depth--
			return
		}
		for {
			if r.peek() != '"' {
				r.unexpected("a member name")
				return
			}
			key := r.str()
			if r.peek() != ':' {
				r.unexpected("':'")
				return
			}
			r.pos++
			r.ws()
			start := r.pos
			if inner == nil || !inner(key) {
				r.value(false)
			}
			if r.failed() {
				return
			}
			top[prefix+key] = data[start:r.pos]
			switch r.peek() {
			case ',':
				r.pos++
			case '}':
				r.pos++
				r.depth--
				return
			default:
				r.unexpected("',' or '}'")
				return
			}
		}
	}
	eventList := func() {
		// The reader is at '['.
		r.depth++
		r.pos++
		events = make([]json.RawMessage, 0, 64)
		if r.peek() == ']' {
			r.pos++
			r.depth--
			return
		}
		for {
			r.ws()
			start := r.pos
			r.value(false)
			if r.failed() {
				return
			}
			events = append(events, data[start:r.pos])
			switch r.peek() {
			case ',':
				r.pos++
			case ']':
				r.pos++
				r.depth--
				return
			default:
				r.unexpected("',' or ']'")
				return
			}
		}
	}
	if r.peek() != '{' {
		v, msg := parseJSON(data)
		if msg != "" {
			return nil, nil, &Error{Rule: "json", Message: "not valid JSON: " + msg}
		}
		return nil, nil, &Error{Rule: "document.type", Message: "EPCIS 2.0 §9.1 (JSON binding): a document must be a JSON object, got " + jsonKind(v)}
	}
	members("", func(key string) bool {
		if key != "epcisBody" || r.peek() != '{' {
			return false
		}
		for k := range top {
			if strings.HasPrefix(k, "epcisBody/") {
				delete(top, k)
			}
		}
		events = nil
		members("epcisBody/", func(key string) bool {
			if key != "eventList" || r.peek() != '[' {
				return false
			}
			eventList()
			return true
		})
		return true
	})
	if !r.failed() {
		r.end()
	}
	if r.failed() {
		return nil, nil, &Error{Rule: "json", Message: "not valid JSON: " + r.err}
	}
	return top, events, nil
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
//
// An event without an @context of its own gets the document's, when that
// declares more than the EPCIS context, so that the event stays readable
// (and capturable again) on its own: Event.Raw carries it.
func (d Document) ParseEvent(i int) (Event, error) {
	e, err := parseEvent(d.Events[i], d.namespaces())
	if err != nil || !d.declaresMore() {
		return e, err
	}
	if m, derr := decodeObject(e.Raw); derr == nil {
		if _, own := m["@context"]; !own {
			e.Raw = insertMember(e.Raw, "@context", d.Context)
		}
	}
	return e, nil
}

// declaresMore reports whether the document's @context holds anything
// besides the EPCIS context itself.
func (d Document) declaresMore() bool {
	var one string
	if json.Unmarshal(d.Context, &one) == nil {
		return one != DefaultContext && !strings.HasPrefix(one, "https://ref.gs1.org/standards/epcis/")
	}
	var list []json.RawMessage
	if json.Unmarshal(d.Context, &list) != nil {
		return len(d.Context) > 0 // an object of declarations
	}
	for _, item := range list {
		if json.Unmarshal(item, &one) != nil || !strings.HasPrefix(one, "https://ref.gs1.org/standards/epcis/") {
			return true
		}
	}
	return false
}

// Hash returns the event hash ID of event i (see [Hash]), with the
// document's @context applied.
func (d Document) Hash(i int) (string, error) {
	m, err := decodeObject(d.Events[i])
	if err != nil {
		return "", err
	}
	return newHasher(d.namespaces().prefixes, m).hash(m), nil
}

// namespaces returns what d.Context declares, which DecodeDocument has
// worked out already unless d was built by hand.
func (d Document) namespaces() namespaces {
	if d.nsDone || len(d.Context) == 0 {
		return d.ns
	}
	v, msg := parseJSON(d.Context)
	if msg != "" {
		return namespaces{}
	}
	return namespaces{}.withContext(v)
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
