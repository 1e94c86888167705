package gs1

import (
	"strconv"
	"strings"
)

// EPCKind says what sort of thing an EPC identifier names.
type EPCKind uint8

// The kinds of thing [ParseEPC] recognises.
const (
	// EPCOther is any identifier ParseEPC does not map to a GS1 key: other
	// EPC schemes (GIAI, GRAI, GDTI, …), other GS1 Digital Link keys, and
	// arbitrary URIs. Its key is the identifier unchanged.
	EPCOther EPCKind = iota
	// EPCItem is one serialised trade item (SGTIN): "01/{gtin}/21/{serial}".
	EPCItem
	// EPCLot is the class of trade items of one batch or lot (LGTIN):
	// "01/{gtin}/10/{lot}".
	EPCLot
	// EPCProduct is the class of all trade items with one GTIN:
	// "01/{gtin}".
	EPCProduct
	// EPCLogisticUnit is a logistic unit such as a case or pallet (SSCC):
	// "00/{sscc}".
	EPCLogisticUnit
	// EPCLocation is a physical location (SGLN): "414/{gln}" or
	// "414/{gln}/254/{extension}".
	EPCLocation
	// EPCParty is a party (PGLN): "417/{gln}".
	EPCParty
)

// String returns a short lower-case name for k, such as "item" or "lot".
func (k EPCKind) String() string {
	switch k {
	case EPCOther:
		return "other"
	case EPCItem:
		return "item"
	case EPCLot:
		return "lot"
	case EPCProduct:
		return "product"
	case EPCLogisticUnit:
		return "sscc"
	case EPCLocation:
		return "location"
	case EPCParty:
		return "party"
	}
	return "EPCKind(" + strconv.Itoa(int(k)) + ")"
}

// Class reports whether k names a class of things rather than one thing.
func (k EPCKind) Class() bool { return k == EPCLot || k == EPCProduct }

// ParseEPC maps an identifier used in EPCIS events to a canonical key: the
// GS1 Digital Link path, without host or leading slash, of the thing it
// names, so that the same thing has the same key whether it was written as
// an EPC URN or as a GS1 Digital Link URI:
//
//	item (SGTIN)            01/{gtin14}/21/{serial}
//	class with lot (LGTIN)  01/{gtin14}/10/{lot}
//	class, whole GTIN       01/{gtin14}
//	logistic unit (SSCC)    00/{sscc}
//	location (SGLN)         414/{gln} or 414/{gln}/254/{extension}
//	party (PGLN)            417/{gln}
//
// Serials, lots and extensions are percent-encoded as [BuildDigitalLink]
// encodes them: every byte but A-Z a-z 0-9 - . _ ~ becomes %XX.
//
// Accepted forms are the EPC pure-identity URNs urn:epc:id:sgtin:,
// urn:epc:id:sscc:, urn:epc:id:sgln: (extension "0" means none) and
// urn:epc:id:pgln:, the class URN urn:epc:class:lgtin:, the pattern
// urn:epc:idpat:sgtin:{prefix}.{itemref}.*, and GS1 Digital Link URIs on
// any host and under any path prefix whose primary key is (01), (00), (414)
// or (417). The query string of a Digital Link URI is ignored; so is AI
// (22), the consumer product variant, (10) when (21) is present, and a
// GLN extension (254) of "0", which the Tag Data Standard reserves for
// "no extension".
//
// Conversions follow the GS1 EPC Tag Data Standard: the GTIN-14 is the
// first digit of the item reference, the company prefix, the rest of the
// item reference and a check digit; an SSCC is built the same way from the
// serial reference; a GLN is the company prefix, the location or party
// reference and a check digit. URN escapes such as %2F are decoded.
//
// Any other identifier, an EPCIS event may name things by any URI, comes
// back unchanged with kind [EPCOther] and no error. A GS1 URN or Digital
// Link URI that is malformed — wrong lengths, a bad check digit, a bad
// escape — is an error: an [*Error] wrapping [ErrSyntax] or [ErrInvalid].
func ParseEPC(s string) (key string, kind EPCKind, err error) {
	switch {
	case hasPrefixFold(s, "urn:epc:"):
		return parseEPCURN(s)
	case hasPrefixFold(s, "https://"), hasPrefixFold(s, "http://"):
		return parseEPCLink(s)
	}
	return s, EPCOther, nil
}

// parseEPCURN handles the urn:epc: forms.
func parseEPCURN(s string) (string, EPCKind, error) {
	var (
		name, body string
		kind       EPCKind
	)
	for _, p := range [...]struct {
		prefix, name string
		kind         EPCKind
	}{
		{"urn:epc:id:sgtin:", "SGTIN", EPCItem},
		{"urn:epc:class:lgtin:", "LGTIN", EPCLot},
		{"urn:epc:idpat:sgtin:", "SGTIN", EPCProduct},
		{"urn:epc:id:sscc:", "SSCC", EPCLogisticUnit},
		{"urn:epc:id:sgln:", "SGLN", EPCLocation},
		{"urn:epc:id:pgln:", "PGLN", EPCParty},
	} {
		if hasPrefixFold(s, p.prefix) {
			name, body, kind = p.name, s[len(p.prefix):], p.kind
			break
		}
	}
	if name == "" {
		return s, EPCOther, nil
	}

	var b strings.Builder
	switch kind {
	case EPCItem, EPCLot, EPCProduct:
		cp, rest, ok1 := strings.Cut(body, ".")
		ir, tail, ok2 := strings.Cut(rest, ".")
		if !ok1 || !ok2 {
			return "", 0, syntax("", "%s URN %q must be %s", name, s, urnShape(kind))
		}
		if kind == EPCProduct {
			if ir == "*" && tail == "*" {
				// A pattern over every GTIN of a company prefix names no
				// single class.
				return s, EPCOther, nil
			}
			if tail != "*" {
				return "", 0, syntax("", "SGTIN pattern %q must end with .{item reference}.*", s)
			}
		}
		gtin, err := tdsKey(name, s, cp, ir, 13, true)
		if err != nil {
			return "", 0, err
		}
		b.Grow(40 + len(tail))
		b.WriteString("01/")
		b.WriteString(gtin)
		switch kind {
		case EPCItem:
			if err := writeURNValue(&b, "/21/", "21", name, "serial", tail); err != nil {
				return "", 0, err
			}
		case EPCLot:
			if err := writeURNValue(&b, "/10/", "10", name, "lot", tail); err != nil {
				return "", 0, err
			}
		}
	case EPCLogisticUnit:
		cp, sr, ok := strings.Cut(body, ".")
		if !ok {
			return "", 0, syntax("", "SSCC URN %q must be %s", s, urnShape(kind))
		}
		sscc, err := tdsKey(name, s, cp, sr, 17, true)
		if err != nil {
			return "", 0, err
		}
		b.WriteString("00/")
		b.WriteString(sscc)
	case EPCLocation:
		cp, rest, ok1 := strings.Cut(body, ".")
		lr, ext, ok2 := strings.Cut(rest, ".")
		if !ok1 || !ok2 {
			return "", 0, syntax("", "SGLN URN %q must be %s", s, urnShape(kind))
		}
		gln, err := tdsKey(name, s, cp, lr, 12, false)
		if err != nil {
			return "", 0, err
		}
		b.WriteString("414/")
		b.WriteString(gln)
		if ext != "0" {
			if err := writeURNValue(&b, "/254/", "254", name, "extension", ext); err != nil {
				return "", 0, err
			}
		}
	case EPCParty:
		cp, pr, ok := strings.Cut(body, ".")
		if !ok {
			return "", 0, syntax("", "PGLN URN %q must be %s", s, urnShape(kind))
		}
		gln, err := tdsKey(name, s, cp, pr, 12, false)
		if err != nil {
			return "", 0, err
		}
		b.WriteString("417/")
		b.WriteString(gln)
	}
	return b.String(), kind, nil
}

// urnShape describes the expected body of a URN of kind k.
func urnShape(k EPCKind) string {
	switch k {
	case EPCItem:
		return "{company prefix}.{indicator and item reference}.{serial}"
	case EPCLot:
		return "{company prefix}.{indicator and item reference}.{lot}"
	case EPCProduct:
		return "{company prefix}.{indicator and item reference}.*"
	case EPCLogisticUnit:
		return "{company prefix}.{extension and serial reference}"
	case EPCLocation:
		return "{company prefix}.{location reference}.{extension}"
	}
	return "{company prefix}.{party reference}"
}

// tdsKey builds a GS1 key from the company prefix and reference fields of an
// EPC URN. digits is the number of digits before the check digit; with
// moveFirst the reference's first digit (indicator or extension digit)
// goes in front of the company prefix, as for GTINs and SSCCs.
func tdsKey(name, urn, cp, ref string, digits int, moveFirst bool) (string, error) {
	if len(cp) < 6 || len(cp) > 12 {
		return "", invalid("", "%s URN %q: company prefix must have 6 to 12 digits, got %d characters", name, urn, len(cp))
	}
	if i := nonDigit(cp); i >= 0 {
		return "", invalid("", "%s URN %q: company prefix: invalid character %s", name, urn, charAt(cp, i))
	}
	if i := nonDigit(ref); i >= 0 {
		return "", invalid("", "%s URN %q: reference: invalid character %s", name, urn, charAt(ref, i))
	}
	if len(cp)+len(ref) != digits || (moveFirst && ref == "") {
		return "", invalid("", "%s URN %q: company prefix and reference must have %d digits together, got %d", name, urn, digits, len(cp)+len(ref))
	}
	var buf [18]byte
	n := 0
	if moveFirst {
		buf[0] = ref[0]
		n = 1 + copy(buf[1:], cp)
		n += copy(buf[n:], ref[1:])
	} else {
		n = copy(buf[:], cp)
		n += copy(buf[n:], ref)
	}
	buf[n] = checkDigit(string(buf[:n]))
	return string(buf[:n+1]), nil
}

// writeURNValue decodes the TDS escapes in raw, checks the result against
// AI ai and writes sep and the value, percent-encoded, to b.
func writeURNValue(b *strings.Builder, sep, ai, name, what, raw string) error {
	v, ok := unescape(raw, false)
	if !ok {
		return syntax(ai, "%s URN: malformed escape in %s %q", name, what, raw)
	}
	if err := checkValue(lookupAI(ai), v); err != nil {
		err.Msg = name + " URN " + what + ": " + err.Msg
		return err
	}
	b.WriteString(sep)
	writeEscaped(b, v)
	return nil
}

// parseEPCLink handles http and https URIs, which are keys only when they
// are GS1 Digital Link URIs for (01), (00), (414) or (417).
func parseEPCLink(s string) (string, EPCKind, error) {
	uri := s
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	if !hasKeySegment(uri) {
		return s, EPCOther, nil
	}
	e, err := ParseDigitalLink(uri)
	if err != nil {
		// A path with a key segment is a GS1 key or an error, never an
		// opaque URI: "…/01/{gtin}/21/{serial}/x" must not slip past
		// the checks the key gets.
		return "", 0, err
	}
	key, kind := elementsKey(e)
	if kind == EPCOther {
		return s, EPCOther, nil
	}
	return key, kind, nil
}

// hasKeySegment reports whether the path of uri has a segment (01), (00),
// (414) or (417), or their 1.0 convenience names, followed by another
// segment, the mark of a Digital Link
// URI this file maps to a key.
func hasKeySegment(uri string) bool {
	rest := uri[strings.IndexByte(uri, ':')+3:]
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		return false
	}
	path := rest[slash:]
	for path != "" {
		path = path[1:]
		seg, tail, ok := strings.Cut(path, "/")
		if !ok {
			return false
		}
		if n, ok := dlLongNames[seg]; ok {
			seg = n
		}
		if (seg == "01" || seg == "00" || seg == "414" || seg == "417") && tail != "" {
			return true
		}
		path = path[len(seg):]
	}
	return false
}

// Key returns the canonical key [ParseEPC] gives the thing elements e
// name, e.g. "01/09506000134352/10/L%2F1" for {01 09506000134352} {10 L/1}.
// e's first element is its primary key; values are not validated.
func Key(e Elements) (string, EPCKind) { return elementsKey(e) }

// elementsKey returns the canonical key of validated elements whose first
// element is the primary key, as [ParseDigitalLink] returns them.
func elementsKey(e Elements) (string, EPCKind) {
	if len(e) == 0 {
		return "", EPCOther
	}
	var b strings.Builder
	pk := e[0]
	switch pk.AI {
	case "01":
		b.Grow(40)
		b.WriteString("01/")
		b.WriteString(pk.Value)
		if serial, ok := e.Get("21"); ok {
			b.WriteString("/21/")
			writeEscaped(&b, serial)
			return b.String(), EPCItem
		}
		if lot, ok := e.Get("10"); ok {
			b.WriteString("/10/")
			writeEscaped(&b, lot)
			return b.String(), EPCLot
		}
		return b.String(), EPCProduct
	case "00":
		return "00/" + pk.Value, EPCLogisticUnit
	case "414":
		b.WriteString("414/")
		b.WriteString(pk.Value)
		// Tag Data Standard: extension 0 means no extension.
		if ext, ok := e.Get("254"); ok && ext != "0" {
			b.WriteString("/254/")
			writeEscaped(&b, ext)
		}
		return b.String(), EPCLocation
	case "417":
		return "417/" + pk.Value, EPCParty
	}
	return "", EPCOther
}

// KeyElements returns the elements of a key made by [ParseEPC]: the primary
// key and the qualifiers it carries, e.g. {01 09506000134352} {21 ABC}. It
// fails for keys of kind [EPCOther] and anything else that is not a
// canonical key.
func KeyElements(key string) (Elements, error) {
	if key == "" || key[0] == '/' || strings.ContainsAny(key, "?#") {
		return nil, syntax("", "%q is not an EPC key", key)
	}
	e, err := ParseDigitalLink("https://id.gs1.org/" + key)
	if err != nil {
		return nil, err
	}
	if again, kind := elementsKey(e); kind == EPCOther || again != key {
		return nil, syntax("", "%q is not a canonical EPC key", key)
	}
	return e, nil
}
