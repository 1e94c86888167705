// Package epcis reads and writes GS1 EPCIS 2.0 events in their JSON-LD
// form: it decodes EPCISDocuments ([DecodeDocument]), validates events and
// extracts the fields the service indexes ([ParseEvent]), derives event
// IDs with the CBV 2.0 event hash ([Hash]) and writes EPCISQueryDocuments
// ([QueryDocument]) of events carrying their recordTime
// ([WithRecordTime]). It is pure: no storage, no HTTP, no clock.
//
// # Identifiers
//
// Things, places and parties are indexed by the canonical keys of
// [gs1.ParseEPC] — the GS1 Digital Link path of the thing, such as
// "01/10614141073464/21/2017" — so an item named by an EPC URN in one event
// and by a Digital Link URI in another is the same item. CBV values are
// indexed by their short names ("shipping") whichever of the bare, GS1 Web
// URI or URN forms an event uses (see [Vocabulary.Normalize]).
//
// # Validation
//
// [ParseEvent] reports every rule an event breaks, not just the first, as
// [Errors]; each [Error] has a JSON pointer, a short rule ID and a message
// citing the clause. The rules are those of EPCIS 2.0 §7.4 and the EPCIS
// 2.0 JSON schema: required fields, date-time and time zone formats,
// actions per event type, CBV vocabularies for bare values, JSON types of
// quantities and identifiers, well-formed GS1 identifiers, instance versus
// class identifiers, and the what-dimension of each event type (for
// example, an AggregationEvent that adds or deletes children needs a
// parentID).
//
// Member names follow the JSON schema. User extension fields must be
// namespaced wherever EPCIS allows them — at the event's top level, in
// ilmd (where every field is one), in sensor elements, sensorMetadata and
// sensor reports, in errorDeclaration, readPoint, bizLocation and
// persistentDisposition: a compact IRI ("example:lot") whose prefix the
// event's or the document's @context declares, or the EPCIS context does
// (gs1:, cbv:, cbvmda:, …), or a full IRI ("https://…", "urn:…"). A bare
// name that is not a field there is rule field.unexpected, an undeclared
// prefix extension.prefix. Remote contexts are not fetched, so when
// @context refers to one other than the EPCIS context any prefix passes.
// Quantity elements hold only epcClass, quantity and uom; business
// transactions, sources and destinations only their own two fields; they
// take no extensions (field.unexpected). The values of extension fields
// are not checked.
//
// # Event hash
//
// [Hash] implements the EPCIS event hash ID of CBV 2.0 §8.9
// ("ni:///sha-256;…?ver=CBV2.0"), following the published algorithm and
// its reference implementation (github.com/RalphTro/epcis-event-hash-generator):
// the pre-hash string is eventType, eventTime in UTC with milliseconds
// (rounded half up), eventTimeZoneOffset, certificationInfo, epcList,
// parentID, inputEPCList, childEPCs, the quantity lists, outputEPCList,
// action, transformationID, bizStep, disposition, persistentDisposition,
// readPoint, bizLocation, bizTransactionList, sourceList, destinationList
// and sensorElementList, each as name=value with no separators and every
// list sorted; then ilmd and the user extensions, as {namespace}name=value
// strings, sorted together. eventID, recordTime, errorDeclaration,
// @context and rdfs:comment do not take part. Values are trimmed; bare CBV
// values and urn:epcglobal:cbv: URNs become GS1 Web URIs
// (https://ref.gs1.org/cbv/BizStep-shipping); compact IRIs are expanded;
// numbers lose trailing zeros; EPC URNs and Digital Link URIs become
// constrained canonical Digital Link URIs on https://id.gs1.org. The hash
// is therefore the same for the same event whatever its member order,
// whitespace, list order, or choice of URN, Digital Link or CBV form.
//
// Departures from the standard, all in corners the GS1 examples do not
// reach or the standard leaves open:
//
//   - Extension names are expanded with the prefixes of the event's and
//     the document's @context (and gs1:, cbv:, epcis:); remote contexts
//     are not fetched, so a prefix defined only in a remote context other
//     than the EPCIS one stays unexpanded.
//   - Bare sensor values are expanded without the EPCIS JSON-LD context:
//     sensorReport type into https://gs1.org/voc/, exception into
//     https://gs1.org/voc/SensorAlertType-, component into
//     https://ref.gs1.org/cbv/Comp-.
//   - Values in Digital Link URIs are percent-encoded as
//     [gs1.BuildDigitalLink] does (everything but A-Z a-z 0-9 - . _ ~); the
//     reference implementation encodes only some characters.
//   - EPC URNs of keys gs1.ParseEPC does not map are converted for GIAI,
//     GRAI, GSRN, GSRNP, GDTI, GSIN, GINC, SGCN and CPI; ITIP, UPUI and
//     other schemes are hashed as given, as are Digital Link URIs with AIs
//     missing from the gs1 package's table (such as (253)).
//   - JSON booleans are written true and false, as XML writes them.
//   - bizTransactionList, sourceList and destinationList are sorted, as
//     the algorithm's text requires (the reference implementation keeps
//     their document order).
//
// The example documents GS1 publishes with EPCIS 2.0 carry event IDs made
// with a draft of the algorithm that kept EPC URNs and CBV URNs as they
// were. None of them equals the CBV 2.0 hash; a test reproduces 16 of the
// 43 with that draft's value forms, which checks the structure of the
// pre-hash string.
//
// # Performance
//
// JSON is read by a small strict reader (checked against encoding/json by
// FuzzJSONReader) in one pass: DecodeDocument only finds the bytes of each
// event, without building them, and ParseEvent decodes its event once.
// Document.Events and Event.Raw share the input's memory. A typical
// ObjectEvent parses in about 10µs (BenchmarkParseEvent), a document of
// 10,000 events decodes and parses in about 0.1s (BenchmarkCapture).
package epcis
