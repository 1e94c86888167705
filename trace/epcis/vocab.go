package epcis

import "strings"

// Vocabulary is one of the CBV 2.0 standard vocabularies whose values
// events may give in bare form ("shipping") or as a URI.
type Vocabulary uint8

// The CBV 2.0 vocabularies used by event fields.
const (
	// BizStep is the business step vocabulary (CBV 2.0 §7.1), for bizStep.
	BizStep Vocabulary = iota + 1
	// Disposition is the disposition vocabulary (CBV 2.0 §7.2), for
	// disposition and persistentDisposition.
	Disposition
	// BizTransactionType is the business transaction type vocabulary
	// (CBV 2.0 §7.3), for bizTransactionList[].type.
	BizTransactionType
	// SourceDestType is the source/destination type vocabulary
	// (CBV 2.0 §7.4), for sourceList[].type and destinationList[].type.
	SourceDestType
	// ErrorReason is the error reason vocabulary (CBV 2.0 §7.5), for
	// errorDeclaration.reason.
	ErrorReason
)

// vocabInfo describes how a vocabulary's values are written.
type vocabInfo struct {
	field  string // the event field, for messages
	clause string // the CBV clause that lists the values
	web    string // GS1 Web URI prefix, e.g. https://ref.gs1.org/cbv/BizStep-
	urn    string // EPCIS 1.x URN prefix, e.g. urn:epcglobal:cbv:bizstep:
	curie  string // JSON-LD compact form, e.g. cbv:BizStep-
	valid  func(string) bool
}

func (v Vocabulary) info() vocabInfo {
	switch v {
	case BizStep:
		return vocabInfo{"bizStep", "CBV 2.0 §7.1", cbvWeb + "BizStep-", "urn:epcglobal:cbv:bizstep:", "cbv:BizStep-", isBizStep}
	case Disposition:
		return vocabInfo{"disposition", "CBV 2.0 §7.2", cbvWeb + "Disp-", "urn:epcglobal:cbv:disp:", "cbv:Disp-", isDisposition}
	case BizTransactionType:
		return vocabInfo{"business transaction type", "CBV 2.0 §7.3", cbvWeb + "BTT-", "urn:epcglobal:cbv:btt:", "cbv:BTT-", isBizTransactionType}
	case SourceDestType:
		return vocabInfo{"source/destination type", "CBV 2.0 §7.4", cbvWeb + "SDT-", "urn:epcglobal:cbv:sdt:", "cbv:SDT-", isSourceDestType}
	case ErrorReason:
		return vocabInfo{"error reason", "CBV 2.0 §7.5", cbvWeb + "ER-", "urn:epcglobal:cbv:er:", "cbv:ER-", isErrorReason}
	}
	return vocabInfo{valid: func(string) bool { return false }}
}

// cbvWeb is the namespace of CBV 2.0 GS1 Web URIs.
const cbvWeb = "https://ref.gs1.org/cbv/"

// Normalize returns the canonical form of a value of vocabulary v: the
// short CBV name ("shipping") when s is a CBV value in any of its forms —
// bare "shipping", GS1 Web URI "https://ref.gs1.org/cbv/BizStep-shipping",
// URN "urn:epcglobal:cbv:bizstep:shipping" or compact "cbv:BizStep-shipping"
// — and s itself when s is some other URI (anything with a colon), which
// EPCIS allows as a private extension. ok is false when s is bare but not
// a CBV value, or uses a CBV prefix with a name CBV does not define.
func (v Vocabulary) Normalize(s string) (norm string, ok bool) {
	in := v.info()
	if strings.IndexByte(s, ':') < 0 {
		return s, in.valid(s)
	}
	for _, prefix := range [...]string{in.web, in.urn, in.curie} {
		if prefix != "" && strings.HasPrefix(s, prefix) {
			name := s[len(prefix):]
			return name, in.valid(name)
		}
	}
	return s, true
}

// String returns the name of the event field the vocabulary is for.
func (v Vocabulary) String() string { return v.info().field }

// webURI returns the GS1 Web URI of a short CBV name.
func (v Vocabulary) webURI(name string) string { return v.info().web + name }

// isBizStep reports whether s is a CBV 2.0 business step.
func isBizStep(s string) bool {
	switch s {
	case "accepting", "arriving", "assembling", "collecting", "commissioning",
		"consigning", "creating_class_instance", "cycle_counting", "decommissioning",
		"departing", "destroying", "disassembling", "dispensing", "encoding",
		"entering_exiting", "holding", "inspecting", "installing", "killing",
		"loading", "other", "packing", "picking", "receiving", "removing",
		"repackaging", "repairing", "replacing", "reserving", "retail_selling",
		"sampling", "sensor_reporting", "shipping", "staging_outbound",
		"stock_taking", "stocking", "storing", "transporting", "unloading",
		"unpacking", "void_shipping":
		return true
	}
	return false
}

// isDisposition reports whether s is a CBV 2.0 disposition.
func isDisposition(s string) bool {
	switch s {
	case "active", "available", "completeness_inferred", "completeness_verified",
		"conformant", "container_closed", "container_open", "damaged", "destroyed",
		"dispensed", "disposed", "encoded", "expired", "in_progress", "in_transit",
		"inactive", "mismatch_instance", "mismatch_class", "mismatch_quantity",
		"needs_replacement", "no_pedigree_match", "non_conformant",
		"non_sellable_other", "partially_dispensed", "recalled", "reserved",
		"retail_sold", "returned", "sellable_accessible", "sellable_not_accessible",
		"stolen", "unavailable", "unknown":
		return true
	}
	return false
}

// isBizTransactionType reports whether s is a CBV 2.0 business transaction
// type.
func isBizTransactionType(s string) bool {
	switch s {
	case "bol", "cert", "desadv", "inv", "pedigree", "po", "poc", "prodorder",
		"recadv", "rma", "testprd", "testres":
		return true
	}
	return false
}

// isSourceDestType reports whether s is a CBV 2.0 source/destination type.
func isSourceDestType(s string) bool {
	return s == "owning_party" || s == "possessing_party" || s == "location"
}

// isErrorReason reports whether s is a CBV 2.0 error reason.
func isErrorReason(s string) bool { return s == "did_not_occur" || s == "incorrect_data" }
