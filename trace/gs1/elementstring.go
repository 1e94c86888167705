package gs1

import (
	"fmt"
	"strings"
)

// GS is the ASCII group separator that stands for FNC1 between element
// strings when a scanner transmits GS1-128, GS1 DataMatrix or GS1 QR Code
// data.
const GS = "\x1d"

// elementStringOrder returns the indexes of e in element-string order:
// predefined-length AIs sorted by code, then the others sorted by code.
// Unknown AIs count as variable length.
func elementStringOrder(e Elements, buf []int) []int {
	idx := buf[:0]
	for pass := range 2 {
		start := len(idx)
		for i, el := range e {
			a := lookupAI(el.AI)
			if predefined := a != nil && a.PredefinedLength; predefined == (pass == 0) {
				idx = append(idx, i)
			}
		}
		sortByAI(e, idx[start:])
	}
	return idx
}

// BuildElementString concatenates the elements as AI+value for a GS1-128,
// GS1 DataMatrix or GS1 QR Code symbol, without the leading FNC1 that the
// barcode encoder adds. gs, usually [GS], is written after every element
// whose AI has no predefined length, unless it is last.
//
// Elements are validated first (see [Elements.Validate]); a GTIN-8, -12 or
// -13 in (01) or (02) is padded to 14 digits. The order is fixed so that
// the same elements always give the same string and as few separators as
// possible: first the predefined-length AIs (00, 01, 02, 11-20, 31xx-36xx,
// 41x) sorted by code, so (01) leads whenever present, then the
// variable-length AIs sorted by code. Only separators between
// variable-length AIs remain.
func BuildElementString(e Elements, gs string) (string, error) {
	if gs == "" {
		return "", syntax("", "empty FNC1 separator")
	}
	for i := 0; i < len(gs); i++ {
		if charsetTable[gs[i]] != 0 {
			return "", syntax("", "separator %q could appear in a value", gs)
		}
	}
	if err := e.validate(true); err != nil {
		return "", err
	}
	var buf [16]int
	idx := elementStringOrder(e, buf[:])
	size := 0
	for _, el := range e {
		size += len(el.AI) + len(el.Value) + len(gs)
		if isGTINAI(el.AI) && isShortGTIN(el.Value) {
			size += 14 - len(el.Value)
		}
	}
	var b strings.Builder
	b.Grow(size)
	for k, i := range idx {
		el := e[i]
		b.WriteString(el.AI)
		writeValue(&b, el.AI, el.Value, false)
		if k < len(idx)-1 && !lookupAI(el.AI).PredefinedLength {
			b.WriteString(gs)
		}
	}
	return b.String(), nil
}

// HRI returns the human-readable interpretation printed under a barcode,
// e.g. "(01)09506000134352(17)261231(10)ABC", with the elements in the same
// order as [BuildElementString] and short GTINs padded to 14 digits. It
// does not validate.
func (e Elements) HRI() string {
	var buf [16]int
	idx := elementStringOrder(e, buf[:])
	size := 0
	for _, el := range e {
		size += len(el.AI) + len(el.Value) + 2
		if isGTINAI(el.AI) && isShortGTIN(el.Value) {
			size += 14 - len(el.Value)
		}
	}
	var b strings.Builder
	b.Grow(size)
	for _, i := range idx {
		b.WriteByte('(')
		b.WriteString(e[i].AI)
		b.WriteByte(')')
		writeValue(&b, e[i].AI, e[i].Value, false)
	}
	return b.String()
}

// symbologyIDs are the AIM symbology identifiers of GS1 data carriers.
var symbologyIDs = [...]string{
	"]C1", // GS1-128
	"]d2", // GS1 DataMatrix
	"]Q3", // GS1 QR Code
	"]e0", // GS1 DataBar and composite
	"]J1", // GS1 DotCode
}

// matchElementAI returns the known AI that s starts with. GS1 AIs are
// prefix-free, so at most one of the 2-, 3- and 4-digit prefixes matches.
func matchElementAI(s string) *AI {
	for n := 2; n <= 4 && n <= len(s); n++ {
		if a := lookupAI(s[:n]); a != nil {
			return a
		}
	}
	return nil
}

func unknownAt(s string, pos int) *Error {
	end := min(pos+4, len(s))
	return &Error{
		Msg:  fmt.Sprintf("unknown application identifier at position %d: %q", pos+1, s[pos:end]),
		Kind: ErrUnknownAI,
	}
}

// ParseElementString splits GS1 element strings into elements, in the
// order they appear, and validates them (see [Elements.Validate]).
//
// It accepts the data as a scanner transmits it, optionally prefixed by a
// GS1 symbology identifier (]C1, ]d2, ]Q3, ]e0 or ]J1), with GS (0x1D)
// after variable-length fields, and tolerates redundant separators. It
// also accepts the bracketed human-readable form
// "(01)09506000134352(10)ABC", where a value ends at the next "(" followed
// by 2 to 4 digits and ")"; a value containing such text cannot be given
// in this form.
func ParseElementString(s string) (Elements, error) {
	if strings.HasPrefix(s, "]") {
		known := false
		for _, id := range symbologyIDs {
			if strings.HasPrefix(s, id) {
				s, known = s[len(id):], true
				break
			}
		}
		if !known {
			return nil, syntax("", "unsupported symbology identifier %q", s[:min(3, len(s))])
		}
	}
	if s == "" {
		return nil, syntax("", "empty element string")
	}
	var (
		e   Elements
		err *Error
	)
	if s[0] == '(' {
		e, err = parseBracketed(s)
	} else {
		e, err = parseRaw(s)
	}
	if err != nil {
		return nil, err
	}
	if err := e.validate(false); err != nil {
		return nil, err
	}
	return e, nil
}

func parseRaw(s string) (Elements, *Error) {
	var e Elements
	for pos := 0; pos < len(s); {
		if s[pos] == GS[0] {
			pos++
			continue
		}
		a := matchElementAI(s[pos:])
		if a == nil {
			return nil, unknownAt(s, pos)
		}
		pos += len(a.Code)
		var v string
		if a.PredefinedLength {
			if len(s)-pos < a.MaxLen {
				return nil, syntax(a.Code, "value too short: %d < %d", len(s)-pos, a.MaxLen)
			}
			v = s[pos : pos+a.MaxLen]
		} else if end := strings.IndexByte(s[pos:], GS[0]); end >= 0 {
			v = s[pos : pos+end]
		} else {
			v = s[pos:]
		}
		pos += len(v)
		if v == "" {
			return nil, invalid(a.Code, "empty value")
		}
		e = append(e, Element{AI: a.Code, Value: v})
	}
	if len(e) == 0 {
		return nil, syntax("", "no elements")
	}
	return e, nil
}

// bracketCode returns the AI of a "(AI)", with 2 to 4 digits, at the start
// of s.
func bracketCode(s string) (string, bool) {
	if len(s) < 4 || s[0] != '(' {
		return "", false
	}
	end := strings.IndexByte(s[:min(len(s), 6)], ')')
	if end < 3 || !isDigits(s[1:end]) {
		return "", false
	}
	return s[1:end], true
}

func parseBracketed(s string) (Elements, *Error) {
	var e Elements
	for pos := 0; pos < len(s); {
		code, ok := bracketCode(s[pos:])
		if !ok {
			return nil, syntax("", "expected \"(AI)\" at position %d", pos+1)
		}
		a := lookupAI(code)
		if a == nil {
			return nil, unknownAI(code, "")
		}
		pos += len(code) + 2
		end := pos
		for end < len(s) {
			if _, next := bracketCode(s[end:]); next {
				break
			}
			end++
		}
		if end == pos {
			return nil, invalid(code, "empty value")
		}
		e = append(e, Element{AI: code, Value: s[pos:end]})
		pos = end
	}
	return e, nil
}
