package epcis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"tracesvc/trace/gs1"
	"tracesvc/trace/jsonscan"
)

// The EPCIS 2.0 event types.
const (
	ObjectEvent         = "ObjectEvent"
	AggregationEvent    = "AggregationEvent"
	TransformationEvent = "TransformationEvent"
	TransactionEvent    = "TransactionEvent"
	AssociationEvent    = "AssociationEvent"
)

// The values of an event's action.
const (
	ActionAdd     = "ADD"
	ActionObserve = "OBSERVE"
	ActionDelete  = "DELETE"
)

// The roles of a [Quantity], after the list it came from.
const (
	RoleQuantity = ""       // quantityList
	RoleChild    = "child"  // childQuantityList
	RoleInput    = "input"  // inputQuantityList
	RoleOutput   = "output" // outputQuantityList
)

// Event holds the fields of one EPCIS event that the service indexes,
// extracted and normalised; the event itself is kept in Raw.
//
// Identifiers of things, places and parties are canonical keys from
// [gs1.ParseEPC], so that an EPC URN and the equivalent GS1 Digital Link
// URI give the same string; identifiers ParseEPC does not recognise are
// kept as given. CBV values are short names ("shipping") when they are CBV
// values in any form, and the URI as given otherwise (see
// [Vocabulary.Normalize]).
type Event struct {
	// ID is the eventID as given or, when the event has none, the CBV 2.0
	// event hash (see [Hash]).
	ID string
	// Type is ObjectEvent, AggregationEvent, TransformationEvent,
	// TransactionEvent or AssociationEvent.
	Type string
	// Action is ADD, OBSERVE or DELETE, and "" for a TransformationEvent.
	Action         string
	EventTime      time.Time
	TimeZoneOffset string // eventTimeZoneOffset, e.g. "+08:00"

	BizStep     string
	Disposition string
	ReadPoint   string // readPoint.id
	BizLocation string // bizLocation.id

	EPCs             []string // epcList
	ParentID         string
	ChildEPCs        []string
	InputEPCs        []string // inputEPCList
	OutputEPCs       []string // outputEPCList
	TransformationID string   // as given

	// Quantities holds quantityList, childQuantityList, inputQuantityList
	// and outputQuantityList, in that order, told apart by Role.
	Quantities []Quantity

	Sources         []Party // sourceList
	Destinations    []Party // destinationList
	BizTransactions []BizTransaction

	PersistentDisposition PersistentDisposition
	ErrorDeclaration      *ErrorDeclaration

	// Raw is the event as given, byte for byte, except that a derived
	// eventID is added as the first member when the event had none, so
	// that the stored event carries the ID it is known by. It may share
	// memory with the input.
	Raw json.RawMessage
}

// Quantity is one element of a quantity list: an amount of a class of
// things.
type Quantity struct {
	Role        string  // RoleQuantity, RoleChild, RoleInput or RoleOutput
	EPCClass    string  // canonical key of epcClass
	Quantity    float64 // meaningful only when HasQuantity
	HasQuantity bool    // quantity is optional in EPCIS
	UOM         string  // UN/ECE Rec 20 unit code, "" for a count
}

// Party is one element of a source or destination list.
type Party struct {
	Type string // owning_party, possessing_party, location, or a URI
	ID   string // canonical key
}

// BizTransaction is one element of bizTransactionList.
type BizTransaction struct {
	Type string // CBV short name such as "po", a URI, or ""
	ID   string // bizTransaction as given
}

// PersistentDisposition holds the dispositions an event sets and unsets,
// normalised like [Event.Disposition].
type PersistentDisposition struct {
	Set, Unset []string
}

// ErrorDeclaration says the event is in error (EPCIS 2.0 §7.4.1.2).
type ErrorDeclaration struct {
	DeclarationTime    time.Time
	Reason             string // CBV short name such as "incorrect_data", a URI, or ""
	CorrectiveEventIDs []string
}

// AllEPCs returns every identifier the event is about, for indexing:
// epcList, parentID, childEPCs, inputEPCList, outputEPCList and the
// classes of the quantity lists, without repeats.
func (e Event) AllEPCs() []string {
	n := len(e.EPCs) + len(e.ChildEPCs) + len(e.InputEPCs) + len(e.OutputEPCs) + len(e.Quantities) + 1
	out := make([]string, 0, n)
	add := func(s string) {
		if s == "" {
			return
		}
		for _, x := range out {
			if x == s {
				return
			}
		}
		out = append(out, s)
	}
	if n > 32 {
		seen := make(map[string]struct{}, n)
		add = func(s string) {
			if _, dup := seen[s]; s == "" || dup {
				return
			}
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	for _, s := range e.EPCs {
		add(s)
	}
	add(e.ParentID)
	for _, list := range [...][]string{e.ChildEPCs, e.InputEPCs, e.OutputEPCs} {
		for _, s := range list {
			add(s)
		}
	}
	for _, q := range e.Quantities {
		add(q.EPCClass)
	}
	return out
}

// ParseEvent validates one EPCIS 2.0 JSON event and extracts the fields of
// [Event]. When the event breaks rules the error is an [Errors] holding
// every violation found, each with a JSON pointer relative to the event;
// the Event is then incomplete.
//
// An event without an eventID gets the CBV 2.0 event hash as its ID (see
// [Hash]); extension names in it are expanded with the event's own
// @context only. Use [Document.ParseEvent] for events of a document, so
// that the document's @context applies.
func ParseEvent(raw json.RawMessage) (Event, error) {
	return parseEvent(raw, namespaces{})
}

// parseEvent is ParseEvent with what the enclosing document's @context
// declares.
func parseEvent(raw json.RawMessage, doc namespaces) (Event, error) {
	if err := checkUTF8(raw); err != nil {
		return Event{}, Errors{err}
	}
	m, err := decodeObject(raw)
	if err != nil {
		return Event{}, Errors{err}
	}
	p := parser{m: m, ns: doc.withContext(m["@context"])}
	e := p.event()
	e.Raw = raw
	if len(p.errs) > 0 {
		return e, p.errs
	}
	if e.ID == "" {
		e.ID = newHasher(doc.prefixes, m).hash(m)
		e.Raw = insertEventID(raw, e.ID)
	}
	return e, nil
}

// checkUTF8 refuses JSON whose text is not valid UTF-8, pointing at the
// member that holds it: decoding would replace it with U+FFFD, storing
// something other than what was sent.
func checkUTF8(data []byte) *Error {
	at := jsonscan.InvalidUTF8(data)
	if at < 0 {
		return nil
	}
	return &Error{Pointer: jsonscan.Pointer(jsonscan.PathAt(data, at)), Rule: "json.utf8",
		Message: "EPCIS 2.0 §9.1 (JSON binding): text must be valid UTF-8; byte " + strconv.Itoa(at) + " is not"}
}

// decodeObject decodes a JSON object, keeping numbers as json.Number.
func decodeObject(raw []byte) (map[string]any, *Error) {
	v, msg := parseJSON(raw)
	if msg != "" {
		return nil, &Error{Rule: "json", Message: "not valid JSON: " + msg}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{Rule: "event.type", Message: "EPCIS 2.0 §9.1 (JSON binding): an event must be a JSON object, got " + jsonKind(v)}
	}
	return m, nil
}

// insertEventID returns raw, a JSON object, with "eventID" as its first
// member.
func insertEventID(raw json.RawMessage, id string) json.RawMessage {
	return insertMember(raw, "eventID", []byte(strconv.Quote(id)))
}

// insertMember returns raw, a JSON object, with member name set to the
// JSON value first.
func insertMember(raw json.RawMessage, name string, value []byte) json.RawMessage {
	i := bytes.IndexByte(raw, '{')
	if i < 0 {
		return raw
	}
	member := strconv.Quote(name) + ":" + string(value)
	rest := bytes.TrimLeft(raw[i+1:], " \t\r\n")
	out := make([]byte, 0, len(raw)+len(member)+1)
	out = append(out, raw[:i+1]...)
	out = append(out, member...)
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, raw[i+1:]...)
}

// jsonKind names the JSON type of a decoded value, for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "an unknown value"
}

// Clauses of EPCIS 2.0 cited in messages.
const (
	clauseEvent       = "EPCIS 2.0 §7.4.1"
	clauseObject      = "EPCIS 2.0 §7.4.2"
	clauseAggregation = "EPCIS 2.0 §7.4.3"
	clauseAssociation = "EPCIS 2.0 §7.4.4"
	clauseTransaction = "EPCIS 2.0 §7.4.5"
	clauseTransform   = "EPCIS 2.0 §7.4.6"
	clauseQuantity    = "EPCIS 2.0 §7.3.3.3"
	clauseEPC         = "EPCIS 2.0 §7.3.3.2"
	clauseSourceDest  = "EPCIS 2.0 §7.3.5.4"
	clauseBizTrans    = "EPCIS 2.0 §7.3.5.3"
	clauseSensor      = "EPCIS 2.0 §7.3.8"
	clauseError       = "EPCIS 2.0 §7.4.1.2"
	clauseJSON        = "EPCIS 2.0 JSON schema"
)

// clauseOf returns the clause that defines event type t.
func clauseOf(t string) string {
	switch t {
	case ObjectEvent:
		return clauseObject
	case AggregationEvent:
		return clauseAggregation
	case AssociationEvent:
		return clauseAssociation
	case TransactionEvent:
		return clauseTransaction
	case TransformationEvent:
		return clauseTransform
	}
	return clauseEvent
}

// parser validates and extracts one decoded event.
type parser struct {
	m    map[string]any
	ns   namespaces // what the event's and its document's @context declare
	errs Errors
}

func (p *parser) fail(pointer, rule, msg string) {
	p.errs = append(p.errs, &Error{Pointer: pointer, Rule: rule, Message: msg})
}

func (p *parser) failAt(l loc, rule, msg string) { p.fail(l.String(), rule, msg) }

// loc is a JSON pointer that is only formatted when an error needs it:
// path, then /index when index >= 0, then /field when field is not "".
type loc struct {
	path  string
	index int
	field string
}

// at returns the location of the pointer path.
func at(path string) loc { return loc{path: path, index: -1} }

// String returns the JSON pointer.
func (l loc) String() string {
	s := l.path
	if l.index >= 0 {
		s += "/" + strconv.Itoa(l.index)
	}
	if l.field != "" {
		s += "/" + l.field
	}
	return s
}

// event does the work of ParseEvent on p.m.
func (p *parser) event() Event {
	var e Event
	m := p.m

	switch t := m["type"].(type) {
	case nil:
		if _, ok := m["type"]; !ok {
			p.fail("/type", "type.required", clauseEvent+": type is required: one of ObjectEvent, AggregationEvent, TransformationEvent, TransactionEvent, AssociationEvent")
			break
		}
		p.fail("/type", "type.unknown", clauseEvent+": type must be one of ObjectEvent, AggregationEvent, TransformationEvent, TransactionEvent, AssociationEvent, got null")
	case string:
		switch t {
		case ObjectEvent, AggregationEvent, TransformationEvent, TransactionEvent, AssociationEvent:
			e.Type = t
		default:
			p.fail("/type", "type.unknown", clauseEvent+": type must be one of ObjectEvent, AggregationEvent, TransformationEvent, TransactionEvent, AssociationEvent, got "+strconv.Quote(t))
		}
	default:
		p.fail("/type", "type.unknown", clauseEvent+": type must be a string naming the event type, got "+jsonKind(t))
	}

	e.EventTime = p.timestamp("eventTime", true)
	e.TimeZoneOffset = p.timeZoneOffset()
	p.timestamp("recordTime", false)

	if v, ok := m["eventID"]; ok {
		if s, ok := v.(string); !ok || !isURI(s) {
			p.fail("/eventID", "eventID.format", clauseEvent+": eventID must be a URI string such as urn:uuid:… or ni:///sha-256;…, got "+describe(v))
		} else {
			e.ID = s
		}
	}

	e.Action = p.action(e.Type)
	if v, ok := m["bizStep"]; ok {
		e.BizStep = p.vocab(at("/bizStep"), "bizStep", v, BizStep)
	}
	if v, ok := m["disposition"]; ok {
		e.Disposition = p.vocab(at("/disposition"), "disposition", v, Disposition)
	}
	e.PersistentDisposition = p.persistentDisposition()
	e.ReadPoint = p.place("readPoint", "/readPoint", "readPoint.id")
	e.BizLocation = p.place("bizLocation", "/bizLocation", "bizLocation.id")

	e.EPCs = p.epcList("epcList", "/epcList")
	e.ParentID = p.parentID()
	e.ChildEPCs = p.epcList("childEPCs", "/childEPCs")
	e.InputEPCs = p.epcList("inputEPCList", "/inputEPCList")
	e.OutputEPCs = p.epcList("outputEPCList", "/outputEPCList")
	e.Quantities = p.quantities(e.Quantities, "quantityList", "/quantityList", RoleQuantity)
	e.Quantities = p.quantities(e.Quantities, "childQuantityList", "/childQuantityList", RoleChild)
	e.Quantities = p.quantities(e.Quantities, "inputQuantityList", "/inputQuantityList", RoleInput)
	e.Quantities = p.quantities(e.Quantities, "outputQuantityList", "/outputQuantityList", RoleOutput)
	if n := len(e.EPCs) + len(e.ChildEPCs) + len(e.InputEPCs) + len(e.OutputEPCs) + len(e.Quantities); n > MaxIdentifiers {
		p.fail("", "event.identifiers", fmt.Sprintf("%s: this event names %d identifiers (EPCs and quantity elements); "+
			"this service takes at most %d per event: split it into several events", clauseEvent, n, MaxIdentifiers))
	}
	if v, ok := m["transformationID"]; ok {
		if s, ok := v.(string); ok && isURI(s) {
			e.TransformationID = s
		} else {
			p.fail("/transformationID", "transformationID.format", clauseTransform+": transformationID must be a URI string, got "+describe(v))
		}
	}

	e.BizTransactions = p.bizTransactions()
	e.Sources = p.parties("sourceList", "/sourceList", "source", "source.type", shapeSource)
	e.Destinations = p.parties("destinationList", "/destinationList", "destination", "destination.type", shapeDestination)
	e.ErrorDeclaration = p.errorDeclaration()
	p.ilmd(e.Type, e.Action)
	p.sensorElements()
	p.certificationInfo()

	if e.Type != "" {
		p.fields(e.Type)
		p.structure(e)
	}
	return e
}

// isURI reports whether s looks like an absolute URI: a scheme, a colon
// and something after it. EPCIS identifiers need not be GS1 keys, so this
// is all that is checked of them.
func isURI(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 || i == len(s)-1 || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	c := s[0]
	if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return false
	}
	for j := 1; j < i; j++ {
		c := s[j]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// describe shows a decoded value in a message: strings quoted, other
// values by kind.
func describe(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return jsonKind(v)
}

// timestamp checks and parses the RFC 3339 date-time field name.
func (p *parser) timestamp(name string, required bool) time.Time {
	v, ok := p.m[name]
	if !ok {
		if required {
			p.fail("/"+name, name+".required", clauseEvent+": "+name+" is required")
		}
		return time.Time{}
	}
	t, ok := parseTime(v)
	if !ok {
		p.fail("/"+name, name+".format", clauseEvent+": "+name+" must be an RFC 3339 date-time with a time zone, e.g. 2005-04-03T20:33:31.116-06:00, got "+describe(v))
	}
	return t
}

// parseTime parses an xsd:dateTimeStamp given as a JSON string.
func parseTime(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// timeZoneOffset checks eventTimeZoneOffset: ±hh:mm, from -14:00 to
// +14:00, as the EPCIS 2.0 JSON schema's pattern requires.
func (p *parser) timeZoneOffset() string {
	v, ok := p.m["eventTimeZoneOffset"]
	if !ok {
		p.fail("/eventTimeZoneOffset", "eventTimeZoneOffset.required", clauseEvent+": eventTimeZoneOffset is required")
		return ""
	}
	s, _ := v.(string)
	if !validOffset(s) {
		p.fail("/eventTimeZoneOffset", "eventTimeZoneOffset.format", clauseEvent+": eventTimeZoneOffset must be ±hh:mm between -14:00 and +14:00, e.g. +08:00, got "+describe(v))
		return ""
	}
	return s
}

func validOffset(s string) bool {
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return false
	}
	for _, i := range [...]int{1, 2, 4, 5} {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	hh := int(s[1]-'0')*10 + int(s[2]-'0')
	return s[4] <= '5' && (hh < 14 || hh == 14 && s[4:] == "00")
}

// action checks action against the event type.
func (p *parser) action(t string) string {
	v, ok := p.m["action"]
	if t == TransformationEvent {
		if ok {
			p.fail("/action", "action.forbidden", clauseTransform+": a TransformationEvent has no action")
		}
		return ""
	}
	if !ok {
		p.fail("/action", "action.required", clauseOf(t)+": action is required: ADD, OBSERVE or DELETE")
		return ""
	}
	s, _ := v.(string)
	switch s {
	case ActionAdd, ActionObserve, ActionDelete:
		return s
	}
	p.fail("/action", "action.invalid", clauseOf(t)+": action must be ADD, OBSERVE or DELETE, got "+describe(v))
	return ""
}

// vocab checks and normalises v, a value of a CBV vocabulary at pointer;
// rule prefixes the rule ID.
func (p *parser) vocab(l loc, rule string, v any, voc Vocabulary) string {
	s, ok := v.(string)
	if !ok {
		in := voc.info()
		p.failAt(l, rule+".unknown", in.clause+": "+in.field+" must be a string, got "+jsonKind(v))
		return ""
	}
	norm, ok := voc.Normalize(s)
	if !ok {
		in := voc.info()
		p.failAt(l, rule+".unknown", in.clause+": "+strconv.Quote(s)+" is not a CBV 2.0 "+in.field+"; use a CBV value or a URI of your own")
		return ""
	}
	return norm
}

// persistentDisposition checks persistentDisposition.set and .unset.
func (p *parser) persistentDisposition() PersistentDisposition {
	var pd PersistentDisposition
	v, ok := p.m["persistentDisposition"]
	if !ok {
		return pd
	}
	obj, ok := v.(map[string]any)
	if !ok {
		p.fail("/persistentDisposition", "persistentDisposition.type", clauseEvent+": persistentDisposition must be an object with set and unset lists, got "+jsonKind(v))
		return pd
	}
	p.members(at("/persistentDisposition"), shapePersistent, obj)
	for _, name := range [...]string{"set", "unset"} {
		lv, ok := obj[name]
		if !ok {
			continue
		}
		list, ok := lv.([]any)
		if !ok {
			p.fail("/persistentDisposition/"+name, "persistentDisposition.type", clauseEvent+": persistentDisposition."+name+" must be an array of dispositions, got "+jsonKind(lv))
			continue
		}
		out := make([]string, 0, len(list))
		for i, item := range list {
			if d := p.vocab(loc{"/persistentDisposition/" + name, i, ""}, "persistentDisposition", item, Disposition); d != "" {
				out = append(out, d)
			}
		}
		if name == "set" {
			pd.Set = out
		} else {
			pd.Unset = out
		}
	}
	return pd
}

// place checks readPoint or bizLocation, an object whose id names a place.
func (p *parser) place(name, path, idRule string) string {
	v, ok := p.m[name]
	if !ok {
		return ""
	}
	obj, ok := v.(map[string]any)
	if !ok {
		p.fail(path, name+".type", clauseEvent+": "+name+" must be an object with an id, got "+jsonKind(v))
		return ""
	}
	p.members(at(path), shapePlace, obj)
	id, ok := obj["id"]
	if !ok {
		p.fail(path+"/id", idRule+".required", clauseEvent+": "+idRule+" is required")
		return ""
	}
	return p.epc(loc{path, -1, "id"}, idRule, id, epcAny)
}

// epcWant says which kinds of identifier a field takes.
type epcWant uint8

const (
	epcAny      epcWant = iota
	epcInstance         // not a class: epcList, childEPCs, parentID, …
	epcClass            // a class or a non-GS1 URI: epcClass
)

// epc checks one identifier and returns its canonical key.
func (p *parser) epc(l loc, rule string, v any, want epcWant) string {
	s, ok := v.(string)
	if !ok {
		p.failAt(l, rule+".type", clauseEPC+": "+rule+" must be a URI string, got "+jsonKind(v))
		return ""
	}
	if !isURI(s) {
		p.failAt(l, rule+".invalid", clauseEPC+": "+rule+" must be a URI (an EPC URN, a GS1 Digital Link URI or another URI), got "+strconv.Quote(s))
		return ""
	}
	key, kind, err := gs1.ParseEPC(s)
	if err != nil {
		p.failAt(l, rule+".invalid", clauseEPC+": "+strconv.Quote(s)+" is not a valid GS1 identifier: "+strings.TrimPrefix(err.Error(), "gs1: "))
		return ""
	}
	switch {
	case want == epcInstance && kind.Class():
		p.failAt(l, rule+".class", clauseEPC+": "+rule+" must identify individual objects; "+strconv.Quote(s)+" is a class, which belongs in a quantity list")
	case want == epcClass && kind != gs1.EPCOther && !kind.Class():
		p.failAt(l, rule+".instance", clauseQuantity+": epcClass must identify a class of objects; "+strconv.Quote(s)+" is an individual object, which belongs in an EPC list")
	}
	return key
}

// epcList checks a list of instance identifiers at path.
func (p *parser) epcList(name, path string) []string {
	v, ok := p.m[name]
	if !ok {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		p.fail(path, name+".type", clauseEPC+": "+name+" must be an array of URIs, got "+jsonKind(v))
		return nil
	}
	out := make([]string, 0, len(list))
	for i, item := range list {
		if key := p.epc(loc{path, i, ""}, "epc", item, epcInstance); key != "" {
			out = append(out, key)
		}
	}
	return out
}

// parentID checks parentID.
func (p *parser) parentID() string {
	v, ok := p.m["parentID"]
	if !ok {
		return ""
	}
	return p.epc(at("/parentID"), "parentID", v, epcInstance)
}

// MaxIdentifiers is the most EPCs and quantity elements one event may
// name, together: an event is stored as one document, and MongoDB's are
// at most 16 MiB.
const MaxIdentifiers = 20_000

// MaxQuantity is the largest quantity this service records, in any unit:
// a trillion, far beyond any real lot, within float64's exact integers.
const MaxQuantity = 1e12

// quantities checks a quantity list and appends its elements to out.
func (p *parser) quantities(out []Quantity, name, path, role string) []Quantity {
	v, ok := p.m[name]
	if !ok {
		return out
	}
	list, ok := v.([]any)
	if !ok {
		p.fail(path, name+".type", clauseQuantity+": "+name+" must be an array of quantity elements, got "+jsonKind(v))
		return out
	}
	for i, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			p.failAt(loc{path, i, ""}, "quantityElement.type", clauseQuantity+": a quantity element must be an object with epcClass, quantity and uom, got "+jsonKind(item))
			continue
		}
		p.members(loc{path, i, ""}, shapeQuantity, obj)
		q := Quantity{Role: role}
		if c, ok := obj["epcClass"]; ok {
			q.EPCClass = p.epc(loc{path, i, "epcClass"}, "epcClass", c, epcClass)
		} else {
			p.failAt(loc{path, i, "epcClass"}, "epcClass.required", clauseQuantity+": epcClass is required in a quantity element")
		}
		if qv, ok := obj["quantity"]; ok {
			n, isNum := qv.(json.Number)
			f, err := n.Float64()
			switch {
			case !isNum:
				p.failAt(loc{path, i, "quantity"}, "quantity.type", clauseQuantity+": quantity must be a JSON number, got "+describe(qv))
			case err != nil:
				p.failAt(loc{path, i, "quantity"}, "quantity.type", clauseQuantity+": quantity "+n.String()+" is out of range")
			case f < 0:
				p.failAt(loc{path, i, "quantity"}, "quantity.negative", clauseQuantity+": quantity must not be negative, got "+n.String())
			case f > MaxQuantity:
				p.failAt(loc{path, i, "quantity"}, "quantity.range", clauseQuantity+": quantity "+n.String()+" is more than "+strconv.FormatFloat(MaxQuantity, 'g', -1, 64)+", the most this service records")
			default:
				q.Quantity, q.HasQuantity = f, true
			}
		}
		if u, ok := obj["uom"]; ok {
			s, isStr := u.(string)
			switch {
			case !isStr:
				p.failAt(loc{path, i, "uom"}, "uom.type", clauseQuantity+": uom must be a string, got "+jsonKind(u))
			case !validUOM(s):
				p.failAt(loc{path, i, "uom"}, "uom.format", clauseQuantity+": uom must be a UN/ECE Recommendation 20 code of 2 or 3 upper-case letters and digits, got "+strconv.Quote(s))
			default:
				q.UOM = s
				if _, hasQ := obj["quantity"]; !hasQ {
					p.failAt(loc{path, i, "uom"}, "uom.requiresQuantity", clauseQuantity+": uom must be omitted when quantity is omitted")
				}
			}
		}
		out = append(out, q)
	}
	return out
}

func validUOM(s string) bool {
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// objects returns the field name as a list of objects, reporting anything
// else; ok is false when the field is absent or not an array.
func (p *parser) objects(name, clause, what string) ([]map[string]any, bool) {
	v, ok := p.m[name]
	if !ok {
		return nil, false
	}
	list, ok := v.([]any)
	if !ok {
		p.fail("/"+name, name+".type", clause+": "+name+" must be an array of objects, got "+jsonKind(v))
		return nil, false
	}
	out := make([]map[string]any, len(list))
	for i, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			p.failAt(loc{"/" + name, i, ""}, what+".type", clause+": each element of "+name+" must be an object, got "+jsonKind(item))
			continue
		}
		out[i] = obj
	}
	return out, true
}

// bizTransactions checks bizTransactionList.
func (p *parser) bizTransactions() []BizTransaction {
	list, ok := p.objects("bizTransactionList", clauseBizTrans, "bizTransaction")
	if !ok {
		return nil
	}
	out := make([]BizTransaction, 0, len(list))
	for i, obj := range list {
		if obj == nil {
			continue
		}
		p.members(loc{"/bizTransactionList", i, ""}, shapeBizTransaction, obj)
		var bt BizTransaction
		switch id := obj["bizTransaction"].(type) {
		case string:
			if !isURI(id) {
				p.failAt(loc{"/bizTransactionList", i, "bizTransaction"}, "bizTransaction.invalid", clauseBizTrans+": bizTransaction must be a URI, got "+strconv.Quote(id))
			}
			bt.ID = id
		case nil:
			p.failAt(loc{"/bizTransactionList", i, "bizTransaction"}, "bizTransaction.required", clauseBizTrans+": bizTransaction, the transaction's identifier, is required")
		default:
			p.failAt(loc{"/bizTransactionList", i, "bizTransaction"}, "bizTransaction.type", clauseBizTrans+": bizTransaction must be a URI string, got "+jsonKind(id))
		}
		if t, ok := obj["type"]; ok {
			bt.Type = p.vocab(loc{"/bizTransactionList", i, "type"}, "bizTransaction.type", t, BizTransactionType)
		}
		out = append(out, bt)
	}
	return out
}

// parties checks sourceList or destinationList, whose elements name the
// party or place in member field.
func (p *parser) parties(name, path, field, typeRule string, s shape) []Party {
	list, ok := p.objects(name, clauseSourceDest, field)
	if !ok {
		return nil
	}
	out := make([]Party, 0, len(list))
	for i, obj := range list {
		if obj == nil {
			continue
		}
		p.members(loc{path, i, ""}, s, obj)
		var party Party
		if t, ok := obj["type"]; ok {
			party.Type = p.vocab(loc{path, i, "type"}, typeRule, t, SourceDestType)
		} else {
			p.failAt(loc{path, i, "type"}, typeRule+".required", clauseSourceDest+": the type of a "+field+" is required: owning_party, possessing_party, location or a URI")
		}
		if id, ok := obj[field]; ok {
			party.ID = p.epc(loc{path, i, field}, field, id, epcAny)
		} else {
			p.failAt(loc{path, i, field}, field+".required", clauseSourceDest+": "+field+", the identifier of the party or location, is required")
		}
		out = append(out, party)
	}
	return out
}

// errorDeclaration checks errorDeclaration.
func (p *parser) errorDeclaration() *ErrorDeclaration {
	v, ok := p.m["errorDeclaration"]
	if !ok {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		p.fail("/errorDeclaration", "errorDeclaration.type", clauseError+": errorDeclaration must be an object, got "+jsonKind(v))
		return nil
	}
	p.members(at("/errorDeclaration"), shapeErrorDecl, obj)
	ed := &ErrorDeclaration{}
	if t, ok := obj["declarationTime"]; !ok {
		p.fail("/errorDeclaration/declarationTime", "errorDeclaration.declarationTime.required", clauseError+": errorDeclaration.declarationTime is required")
	} else if ed.DeclarationTime, ok = parseTime(t); !ok {
		p.fail("/errorDeclaration/declarationTime", "errorDeclaration.declarationTime.format", clauseError+": declarationTime must be an RFC 3339 date-time with a time zone, got "+describe(t))
	}
	if r, ok := obj["reason"]; ok {
		ed.Reason = p.vocab(at("/errorDeclaration/reason"), "errorDeclaration.reason", r, ErrorReason)
	}
	if c, ok := obj["correctiveEventIDs"]; ok {
		list, ok := c.([]any)
		if !ok {
			p.fail("/errorDeclaration/correctiveEventIDs", "errorDeclaration.correctiveEventIDs.type", clauseError+": correctiveEventIDs must be an array of event IDs, got "+jsonKind(c))
		}
		for i, item := range list {
			s, ok := item.(string)
			if !ok || !isURI(s) {
				p.failAt(loc{"/errorDeclaration/correctiveEventIDs", i, ""}, "errorDeclaration.correctiveEventIDs.type", clauseError+": a corrective event ID must be a URI string, got "+describe(item))
				continue
			}
			ed.CorrectiveEventIDs = append(ed.CorrectiveEventIDs, s)
		}
	}
	return ed
}

// ilmd checks that ilmd is an object, and only on ADD ObjectEvents (and
// TransformationEvents, where it is always allowed).
func (p *parser) ilmd(t, action string) {
	v, ok := p.m["ilmd"]
	if !ok {
		return
	}
	if obj, ok := v.(map[string]any); ok {
		p.members(at("/ilmd"), shapeILMD, obj)
	} else {
		p.fail("/ilmd", "ilmd.type", clauseEvent+": ilmd must be an object, got "+jsonKind(v))
	}
	if t == ObjectEvent && action != "" && action != ActionAdd {
		p.fail("/ilmd", "ilmd.action", clauseObject+": ilmd, the master data of newly created objects, is allowed only when action is ADD")
	}
}

// sensorElements checks the shape of sensorElementList: objects, each with
// a list of sensor reports.
func (p *parser) sensorElements() {
	list, ok := p.objects("sensorElementList", clauseSensor, "sensorElement")
	if !ok {
		return
	}
	for i, obj := range list {
		if obj == nil {
			continue
		}
		p.members(loc{"/sensorElementList", i, ""}, shapeSensorElement, obj)
		if md, ok := obj["sensorMetadata"]; ok {
			if mdObj, ok := md.(map[string]any); ok {
				p.members(loc{"/sensorElementList", i, "sensorMetadata"}, shapeSensorMetadata, mdObj)
			} else {
				p.failAt(loc{"/sensorElementList", i, "sensorMetadata"}, "sensorMetadata.type", clauseSensor+": sensorMetadata must be an object, got "+jsonKind(md))
			}
		}
		r, ok := obj["sensorReport"]
		if !ok {
			p.failAt(loc{"/sensorElementList", i, "sensorReport"}, "sensorReport.required", clauseSensor+": a sensor element needs a sensorReport list")
			continue
		}
		reports, ok := r.([]any)
		if !ok {
			p.failAt(loc{"/sensorElementList", i, "sensorReport"}, "sensorReport.type", clauseSensor+": sensorReport must be an array of objects, got "+jsonKind(r))
			continue
		}
		for j, rep := range reports {
			l := loc{loc{"/sensorElementList", i, "sensorReport"}.String(), j, ""}
			if repObj, ok := rep.(map[string]any); ok {
				p.members(l, shapeSensorReport, repObj)
			} else {
				p.failAt(l, "sensorReport.type", clauseSensor+": a sensor report must be an object, got "+jsonKind(rep))
			}
		}
	}
}

// certificationInfo checks that certificationInfo is a URI or a list of
// them.
func (p *parser) certificationInfo() {
	v, ok := p.m["certificationInfo"]
	if !ok {
		return
	}
	ok = false
	switch v := v.(type) {
	case string:
		ok = isURI(v)
	case []any:
		ok = true
		for _, item := range v {
			s, isStr := item.(string)
			ok = ok && isStr && isURI(s)
		}
	}
	if !ok {
		p.fail("/certificationInfo", "certificationInfo.type", clauseEvent+": certificationInfo must be a URI or an array of URIs, got "+describe(v))
	}
}

// fields reports members that are neither fields of event type t nor
// extensions, whose names are compact IRIs with a declared prefix
// ("example:field") or absolute IRIs.
func (p *parser) fields(t string) {
	var bad []string
	for name := range p.m {
		if !isCommonField(name) && !isTypeField(t, name) && p.ns.kind(name) != nameExtension {
			bad = append(bad, name)
		}
	}
	slices.Sort(bad)
	for _, name := range bad {
		ptr := "/" + pointerToken(name)
		if p.ns.kind(name) == nameUndeclared {
			p.failUndeclared(ptr, name)
			continue
		}
		p.fail(ptr, "field.unexpected", clauseOf(t)+": "+strconv.Quote(name)+" is not a field of "+t+"; extension fields must be namespaced, like example:myField, with the prefix declared in @context")
	}
}

// isCommonField reports whether name is a field every event may have.
func isCommonField(name string) bool {
	switch name {
	case "@context", "type", "eventTime", "recordTime", "eventTimeZoneOffset",
		"eventID", "errorDeclaration", "certificationInfo",
		"bizStep", "disposition", "persistentDisposition", "readPoint",
		"bizLocation", "bizTransactionList", "sourceList", "destinationList",
		"sensorElementList":
		return true
	}
	return false
}

// isTypeField reports whether name is a field of event type t beyond the
// common ones.
func isTypeField(t, name string) bool {
	switch t {
	case ObjectEvent:
		switch name {
		case "action", "epcList", "quantityList", "ilmd":
			return true
		}
	case AggregationEvent, AssociationEvent:
		switch name {
		case "action", "parentID", "childEPCs", "childQuantityList":
			return true
		}
	case TransactionEvent:
		switch name {
		case "action", "parentID", "epcList", "quantityList":
			return true
		}
	case TransformationEvent:
		switch name {
		case "inputEPCList", "inputQuantityList", "outputEPCList",
			"outputQuantityList", "transformationID", "ilmd":
			return true
		}
	}
	return false
}

// nonEmpty reports whether the field name is a non-empty array.
func (p *parser) nonEmpty(name string) bool {
	list, ok := p.m[name].([]any)
	return ok && len(list) > 0
}

// structure checks the what-dimension rules of each event type, as the
// EPCIS 2.0 JSON schema states them.
func (p *parser) structure(e Event) {
	_, hasParent := p.m["parentID"]
	switch e.Type {
	case ObjectEvent:
		_, hasEPCList := p.m["epcList"]
		_, hasReadPoint := p.m["readPoint"]
		if !hasEPCList && !p.nonEmpty("quantityList") && !(p.nonEmpty("sensorElementList") && hasReadPoint) {
			p.fail("", "ObjectEvent.what", clauseObject+" ("+clauseJSON+"): an ObjectEvent needs an epcList, a non-empty quantityList, or a sensorElementList with a readPoint")
		}
	case AggregationEvent, AssociationEvent:
		if !hasParent && (e.Type == AssociationEvent || e.Action == ActionAdd || e.Action == ActionDelete) {
			why := "is required"
			if e.Type == AggregationEvent {
				why = "is required when action is ADD or DELETE"
			}
			p.fail("/parentID", "parentID.required", clauseOf(e.Type)+": parentID "+why)
		}
		if e.Action != ActionDelete && !p.nonEmpty("childEPCs") && !p.nonEmpty("childQuantityList") {
			p.fail("", e.Type+".children", clauseOf(e.Type)+" ("+clauseJSON+"): unless action is DELETE, an "+e.Type+" needs a non-empty childEPCs or childQuantityList")
		}
	case TransactionEvent:
		if !p.nonEmpty("bizTransactionList") {
			p.fail("/bizTransactionList", "bizTransactionList.required", clauseTransaction+": a TransactionEvent needs a non-empty bizTransactionList")
		}
		_, hasEPCList := p.m["epcList"]
		if !hasEPCList && !p.nonEmpty("quantityList") && e.Action != ActionDelete {
			p.fail("", "TransactionEvent.what", clauseTransaction+" ("+clauseJSON+"): unless action is DELETE, a TransactionEvent needs an epcList or a non-empty quantityList")
		}
	case TransformationEvent:
		in := p.nonEmpty("inputEPCList") || p.nonEmpty("inputQuantityList")
		out := p.nonEmpty("outputEPCList") || p.nonEmpty("outputQuantityList")
		_, hasID := p.m["transformationID"]
		if !(in && out) && !((in || out) && hasID) {
			p.fail("", "TransformationEvent.io", clauseTransform+": a TransformationEvent needs inputs and outputs, or a transformationID with inputs or outputs")
		}
	}
}
