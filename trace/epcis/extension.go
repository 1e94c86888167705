package epcis

import (
	"slices"
	"strconv"
	"strings"
)

// This file holds the rules for member names of the JSON schema of EPCIS
// 2.0: the structures EPCIS defines take their own fields and, where the
// standard has an extension point, user extension fields, which must be
// namespaced; quantity elements, business transactions, sources and
// destinations take nothing else.

// namespaces is what an event's @context, and its document's, declare:
// the JSON-LD prefixes extension names may use.
type namespaces struct {
	// prefixes maps each prefix (term) the contexts define to its IRI.
	prefixes map[string]string
	// open is set when a context refers to a remote context other than
	// the EPCIS one. Remote contexts are not fetched, so a prefix it may
	// define cannot be called undeclared.
	open bool
}

// withContext returns ns with what the @context ctx declares added; ns
// itself is not changed.
func (ns namespaces) withContext(ctx any) namespaces {
	return namespaces{prefixes: withContext(ns.prefixes, ctx), open: ns.open || hasRemoteContext(ctx)}
}

// hasRemoteContext reports whether the @context ctx refers to a remote
// context other than the EPCIS 2.0 one.
func hasRemoteContext(ctx any) bool {
	switch v := ctx.(type) {
	case string:
		return !isEPCISContext(v)
	case []any:
		return slices.ContainsFunc(v, hasRemoteContext)
	}
	return false
}

// isEPCISContext reports whether url is the JSON-LD context of EPCIS 2.0,
// as GS1 publishes it (any version, or the drafts on gs1.github.io).
func isEPCISContext(url string) bool {
	return strings.HasSuffix(url, "/epcis-context.jsonld") &&
		(strings.HasPrefix(url, "https://ref.gs1.org/") || strings.HasPrefix(url, "https://gs1.github.io/"))
}

// epcisContextPrefix reports whether the EPCIS 2.0 JSON-LD context defines
// prefix, so that a document may use it without declaring it (the GS1
// examples write cbvmda: so). The context is not fetched; these are the
// prefixes it defines.
func epcisContextPrefix(prefix string) bool {
	switch prefix {
	case "epcis", "cbv", "cbvmda", "gs1", "rdf", "rdfs", "owl", "xsd", "dcterms":
		return true
	}
	return false
}

// nameKind classifies a member name that is not a field of the structure
// it is in.
type nameKind uint8

const (
	nameBare       nameKind = iota // no namespace: "lot"
	nameUndeclared                 // a compact IRI whose prefix no context declares: "ex:lot"
	nameExtension                  // a namespaced extension: "example:lot", "https://example.com/ns#lot"
)

// kind classifies name: an extension name is a compact IRI prefix:name
// whose prefix the contexts declare, or an absolute IRI (scheme://… or
// urn:…).
func (ns namespaces) kind(name string) nameKind {
	prefix, local, ok := strings.Cut(name, ":")
	switch {
	case !ok || prefix == "" || local == "":
		return nameBare
	case strings.HasPrefix(local, "//") || strings.EqualFold(prefix, "urn"):
		if isURI(name) {
			return nameExtension
		}
		return nameUndeclared
	}
	if _, ok := ns.prefixes[prefix]; ok || epcisContextPrefix(prefix) || ns.open {
		return nameExtension
	}
	return nameUndeclared
}

// shape is an object EPCIS defines.
type shape uint8

const (
	shapePlace          shape = iota // readPoint, bizLocation
	shapeQuantity                    // an element of a quantity list
	shapeBizTransaction              // an element of bizTransactionList
	shapeSource                      // an element of sourceList
	shapeDestination                 // an element of destinationList
	shapePersistent                  // persistentDisposition
	shapeErrorDecl                   // errorDeclaration
	shapeILMD                        // ilmd
	shapeSensorElement               // an element of sensorElementList
	shapeSensorMetadata              // sensorMetadata
	shapeSensorReport                // an element of sensorReport
)

// name is how messages call the shape.
func (s shape) name() string {
	switch s {
	case shapePlace:
		return "a place (readPoint, bizLocation)"
	case shapeQuantity:
		return "a quantity element"
	case shapeBizTransaction:
		return "a bizTransactionList element"
	case shapeSource:
		return "a sourceList element"
	case shapeDestination:
		return "a destinationList element"
	case shapePersistent:
		return "persistentDisposition"
	case shapeErrorDecl:
		return "errorDeclaration"
	case shapeILMD:
		return "ilmd"
	case shapeSensorElement:
		return "a sensor element"
	case shapeSensorMetadata:
		return "sensorMetadata"
	}
	return "a sensor report"
}

// clause is the clause of EPCIS 2.0 that defines the shape.
func (s shape) clause() string {
	switch s {
	case shapeQuantity:
		return clauseQuantity
	case shapeBizTransaction:
		return clauseBizTrans
	case shapeSource, shapeDestination:
		return clauseSourceDest
	case shapeErrorDecl:
		return clauseError
	case shapeSensorElement, shapeSensorMetadata, shapeSensorReport:
		return clauseSensor
	}
	return clauseEvent
}

// closed reports whether the shape takes no extension fields: the JSON
// schema gives quantity elements, business transactions, sources and
// destinations "additionalProperties": false.
func (s shape) closed() bool {
	switch s {
	case shapeQuantity, shapeBizTransaction, shapeSource, shapeDestination:
		return true
	}
	return false
}

// fields lists the shape's own fields, for messages about closed shapes.
func (s shape) fields() string {
	switch s {
	case shapeQuantity:
		return "epcClass, quantity and uom"
	case shapeBizTransaction:
		return "type and bizTransaction"
	case shapeSource:
		return "type and source"
	}
	return "type and destination"
}

// field reports whether name is one of the shape's own fields.
func (s shape) field(name string) bool {
	switch s {
	case shapePlace:
		return name == "id"
	case shapeQuantity:
		return name == "epcClass" || name == "quantity" || name == "uom"
	case shapeBizTransaction:
		return name == "type" || name == "bizTransaction"
	case shapeSource:
		return name == "type" || name == "source"
	case shapeDestination:
		return name == "type" || name == "destination"
	case shapePersistent:
		return name == "set" || name == "unset"
	case shapeErrorDecl:
		return name == "declarationTime" || name == "reason" || name == "correctiveEventIDs"
	case shapeILMD:
		return false // ILMD is all extension fields.
	case shapeSensorElement:
		return name == "sensorMetadata" || name == "sensorReport"
	case shapeSensorMetadata:
		switch name {
		case "time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules":
			return true
		}
		return false
	}
	switch name {
	case "type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time",
		"microorganism", "chemicalSubstance", "value", "component", "stringValue", "booleanValue",
		"hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue",
		"uom", "coordinateReferenceSystem":
		return true
	case "bizRules":
		// A sensorMetadata field, but GS1's SensorDataExample8 puts it in
		// sensor reports too, and the EPCIS context defines it for the
		// whole sensor element: an EPCIS term, not a user extension.
		return true
	}
	return false
}

// members checks the member names of obj, an object of shape s at l: each
// must be a field of s or, unless s is closed, a namespaced extension
// field.
func (p *parser) members(l loc, s shape, obj map[string]any) {
	var bad []string
	for name := range obj {
		if !s.field(name) && (s.closed() || p.ns.kind(name) != nameExtension) {
			bad = append(bad, name)
		}
	}
	if len(bad) == 0 {
		return
	}
	slices.Sort(bad)
	path := l.String()
	for _, name := range bad {
		ptr := path + "/" + pointerToken(name)
		q := strconv.Quote(name)
		switch {
		case s.closed():
			p.fail(ptr, "field.unexpected", s.clause()+" ("+clauseJSON+"): "+s.name()+" holds only "+s.fields()+"; "+q+" is not allowed, not even as an extension")
		case p.ns.kind(name) == nameUndeclared:
			p.failUndeclared(ptr, name)
		case s == shapeILMD:
			p.fail(ptr, "field.unexpected", clauseJSONLD+": "+q+" in ilmd is not namespaced; every ILMD field is an extension field and must be namespaced, like example:"+localName(name)+", with the prefix declared in @context")
		default:
			p.fail(ptr, "field.unexpected", s.clause()+" ("+clauseJSON+"): "+q+" is not a field of "+s.name()+"; extension fields must be namespaced, like example:"+localName(name)+", with the prefix declared in @context")
		}
	}
}

// failUndeclared reports name, a compact IRI whose prefix no @context
// declares, at pointer ptr.
func (p *parser) failUndeclared(ptr, name string) {
	prefix, _, _ := strings.Cut(name, ":")
	p.fail(ptr, "extension.prefix", clauseJSONLD+": the prefix "+strconv.Quote(prefix)+" of the extension field "+strconv.Quote(name)+
		" is not declared in @context; declare it, e.g. {"+strconv.Quote(prefix)+": \"https://example.com/ns/\"}, or name the field with a full IRI")
}

// localName is name without a prefix, for examples in messages.
func localName(name string) string {
	if _, local, ok := strings.Cut(name, ":"); ok {
		name = local
	}
	if name == "" {
		return "myField"
	}
	return name
}
