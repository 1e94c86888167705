package gs1

import "strings"

// isUnreserved reports whether c is an RFC 3986 unreserved character, the
// only characters BuildDigitalLink leaves unencoded.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

const upperHex = "0123456789ABCDEF"

// escapedLen returns the length of s once percent-encoded.
func escapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if !isUnreserved(s[i]) {
			n += 2
		}
	}
	return n
}

func writeEscaped(b *strings.Builder, s string) {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) {
			continue
		}
		b.WriteString(s[start:i])
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&0x0F])
		start = i + 1
	}
	b.WriteString(s[start:])
}

// writeValue writes v, padding a short GTIN in (01) or (02) to 14 digits.
func writeValue(b *strings.Builder, ai, v string, escape bool) {
	if isGTINAI(ai) && isShortGTIN(v) {
		b.WriteString("00000000000000"[:14-len(v)])
	}
	if escape {
		writeEscaped(b, v)
	} else {
		b.WriteString(v)
	}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// checkBase validates a Digital Link base and strips trailing slashes.
func checkBase(base string) (string, *Error) {
	base = strings.TrimRight(base, "/")
	var rest string
	switch {
	case hasPrefixFold(base, "https://"):
		rest = base[len("https://"):]
	case hasPrefixFold(base, "http://"):
		rest = base[len("http://"):]
	default:
		return "", syntax("", "Digital Link base %q must start with http:// or https://", base)
	}
	if rest == "" || rest[0] == '/' {
		return "", syntax("", "Digital Link base %q has no host", base)
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c <= ' ' || c >= 0x7F || c == '?' || c == '#' {
			return "", syntax("", "Digital Link base %q: invalid character %s", base, charAt(rest, i))
		}
	}
	return base, nil
}

// primaryKey returns the index of the element BuildDigitalLink uses as the
// primary key, or -1.
func (e Elements) primaryKey() int {
	for _, pk := range dlPrimaryKeys {
		for i, el := range e {
			if el.AI == pk {
				return i
			}
		}
	}
	return -1
}

// sortByAI sorts idx, indexes into e, by AI code; insertion sort, as the
// lists are short.
func sortByAI(e Elements, idx []int) {
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && e[idx[j]].AI < e[idx[j-1]].AI; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
}

// BuildDigitalLink returns the uncompressed GS1 Digital Link URI for e
// under base, an http or https origin with an optional path prefix, e.g.
// "https://id.example.com" or "https://example.com/dl". A trailing slash
// on base is ignored.
//
// The elements are validated first (see [Elements.Validate]); a GTIN-8,
// -12 or -13 in (01) is accepted and padded to 14 digits. The path holds
// the primary key and its key qualifiers in their fixed order: for (01)
// that is /01/{gtin}/22/{cpv}/10/{lot}/21/{serial}, for (414) /254/, and
// so on. When several primary keys are present the first of (01), (00),
// (414), (417), (8004), (8010), (8017), (8018), (401), (402), (415) is
// used and the others become data attributes. Every other AI goes in the
// query string, sorted by AI code: ?17=261231&3103=000500.
//
// Values are percent-encoded except for the RFC 3986 unreserved
// characters A-Z a-z 0-9 - . _ ~.
func BuildDigitalLink(base string, e Elements) (string, error) {
	link, _, _, err := buildDigitalLink(base, e, -1)
	if err != nil {
		return "", err
	}
	return link, nil
}

// buildDigitalLink is BuildDigitalLink; it also returns where the value of
// e[mark] starts and ends in the link (0, 0 when mark is not an index of e).
func buildDigitalLink(base string, e Elements, mark int) (link string, start, end int, _ *Error) {
	base, berr := checkBase(base)
	if berr != nil {
		return "", 0, 0, berr
	}
	if err := e.validate(true); err != nil {
		return "", 0, 0, err
	}
	pk := e.primaryKey()
	if pk < 0 {
		return "", 0, 0, invalid("", "no GS1 Digital Link primary key: need one of AI (01), (00), (414), (417), (8004), (8010), (8017), (8018), (401), (402) or (415)")
	}
	pkAI := lookupAI(e[pk].AI)

	var pathBuf [4]int
	path := append(pathBuf[:0], pk)
	for _, q := range pkAI.Qualifiers {
		for i, el := range e {
			if el.AI == q {
				path = append(path, i)
				break
			}
		}
	}
	var queryBuf [16]int
	query := queryBuf[:0]
	size := len(base)
	for i, el := range e {
		size += len(el.AI) + 2 + escapedLen(el.Value)
		if isGTINAI(el.AI) && isShortGTIN(el.Value) {
			size += 14 - len(el.Value)
		}
		inPath := false
		for _, p := range path {
			inPath = inPath || p == i
		}
		if !inPath {
			query = append(query, i)
		}
	}
	sortByAI(e, query)

	var b strings.Builder
	b.Grow(size)
	b.WriteString(base)
	for _, i := range path {
		b.WriteByte('/')
		b.WriteString(e[i].AI)
		b.WriteByte('/')
		start, end = markValue(&b, e, i, mark, start, end)
	}
	for k, i := range query {
		if k == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(e[i].AI)
		b.WriteByte('=')
		start, end = markValue(&b, e, i, mark, start, end)
	}
	return b.String(), start, end, nil
}

// markValue writes the value of e[i] and returns where it starts and ends
// in b when i is mark, start and end as they were otherwise.
func markValue(b *strings.Builder, e Elements, i, mark, start, end int) (int, int) {
	from := b.Len()
	writeValue(b, e[i].AI, e[i].Value, true)
	if i != mark {
		return start, end
	}
	return from, b.Len()
}

// LinkTemplate makes the Digital Link URIs of elements that differ only in
// the value of one of them (the serials of one batch), as BuildDigitalLink
// would, at the cost of checking that value and copying.
type LinkTemplate struct {
	ai             *AI
	prefix, suffix string // the link around the value
}

// NewLinkTemplate returns the template of the links of e under base, with
// the value of e[vary] changing. e, with the value it holds, must make a
// link (see [BuildDigitalLink]).
func NewLinkTemplate(base string, e Elements, vary int) (*LinkTemplate, error) {
	if vary < 0 || vary >= len(e) {
		return nil, invalid("", "no element %d to vary among %d", vary, len(e))
	}
	link, start, end, err := buildDigitalLink(base, e, vary)
	if err != nil {
		return nil, err
	}
	return &LinkTemplate{ai: lookupAI(e[vary].AI), prefix: link[:start], suffix: link[end:]}, nil
}

// Append appends to dst the link whose varying element holds v, or
// returns an error when v is not a valid value of its AI.
func (t *LinkTemplate) Append(dst []byte, v string) ([]byte, error) {
	if err := checkElement(t.ai, v, true); err != nil {
		return dst, err
	}
	dst = append(dst, t.prefix...)
	if escapedLen(v) == len(v) && !isGTINAI(t.ai.Code) {
		dst = append(dst, v...)
	} else {
		var b strings.Builder
		writeValue(&b, t.ai.Code, v, true)
		dst = append(dst, b.String()...)
	}
	return append(dst, t.suffix...), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// unescape decodes percent-encoding in s; in a query string '+' stands for
// a space, as in HTML forms and the GS1 reference implementation.
func unescape(s string, query bool) (string, bool) {
	escapes, plus := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%':
			if i+2 >= len(s) {
				return "", false
			}
			if _, ok := unhex(s[i+1]); !ok {
				return "", false
			}
			if _, ok := unhex(s[i+2]); !ok {
				return "", false
			}
			escapes++
			i += 2
		case '+':
			plus = plus || query
		}
	}
	if escapes == 0 && !plus {
		return s, true
	}
	b := make([]byte, 0, len(s)-2*escapes)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%':
			hi, _ := unhex(s[i+1])
			lo, _ := unhex(s[i+2])
			b = append(b, hi<<4|lo)
			i += 2
		case c == '+' && query:
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

// dlValue decodes a path or query value of ai and pads a short GTIN.
func dlValue(ai, raw string, query bool) (string, *Error) {
	if raw == "" {
		return "", invalid(ai, "empty value")
	}
	v, ok := unescape(raw, query)
	if !ok {
		return "", syntax(ai, "malformed percent-encoding in %q", raw)
	}
	if isGTINAI(ai) && isShortGTIN(v) {
		v = padGTIN(v)
	}
	return v, nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// dlLongNames are the convenience names of the first GS1 Digital Link
// standard (1.0), still printed on older labels: /gtin/…/ser/… is
// /01/…/21/….
var dlLongNames = map[string]string{
	"gtin": "01", "itip": "8006", "cpv": "22", "lot": "10", "ser": "21", "sscc": "00", "gln": "414",
	"glnx": "254", "party": "417", "gsrn": "8018", "gsrnp": "8017", "gdti": "253", "ginc": "401",
	"gsin": "402", "gcn": "255", "grai": "8003", "giai": "8004", "cpid": "8010", "cpsn": "8011",
}

// ParseDigitalLink extracts the elements of an uncompressed GS1 Digital
// Link URI: http or https, any host, any path prefix, then the primary key
// and its key qualifiers as /AI/value pairs, then optional data attributes
// as numeric query parameters.
//
// The primary key is found by walking the /AI/value pairs back from the end
// of the path, over known AIs, to the first DL primary key; whatever comes
// before it is the prefix. Key qualifiers must follow their fixed order
// (for (01): 22, 10, 21) and must not appear in the query string. Query
// parameters with non-numeric names, such as linkType, are ignored; a
// numeric name must be a known AI. A GTIN-8, -12 or -13 in (01) is padded
// to 14 digits. The result is validated with [Elements.Validate].
//
// The elements come back in canonical order: the primary key, its
// qualifiers in path order, then the query AIs sorted by code.
//
// Spellings of the same link parse the same: one trailing slash is
// dropped, and the 1.0 convenience names (/gtin/, /lot/, /ser/, /sscc/…)
// stand for their AIs.
func ParseDigitalLink(uri string) (Elements, error) {
	if i := strings.IndexByte(uri, '#'); i >= 0 {
		uri = uri[:i]
	}
	var rest string
	switch {
	case hasPrefixFold(uri, "https://"):
		rest = uri[len("https://"):]
	case hasPrefixFold(uri, "http://"):
		rest = uri[len("http://"):]
	default:
		return nil, syntax("", "Digital Link URI must start with http:// or https://")
	}
	pathStart := strings.IndexAny(rest, "/?")
	if pathStart <= 0 {
		if pathStart == 0 || rest == "" {
			return nil, syntax("", "Digital Link URI has no host")
		}
		return nil, syntax("", "Digital Link URI has no path")
	}
	path, query, _ := strings.Cut(rest[pathStart:], "?")
	if path == "" {
		return nil, syntax("", "Digital Link URI has no path")
	}
	if len(path) > 1 && path[len(path)-1] == '/' {
		// One trailing slash is a common spelling of the same link.
		path = path[:len(path)-1]
		if path[len(path)-1] == '/' {
			return nil, syntax("", "Digital Link path must not end with '//'")
		}
	}

	// Walk /AI/value pairs back from the end of the path.
	type pair struct {
		code, raw string
		ai        *AI
	}
	var pairsBuf [4]pair
	pairs := pairsBuf[:0]
	var stop string // the segment where the walk stopped without a key
	found := false
	for end := len(path); ; {
		vslash := strings.LastIndexByte(path[:end], '/')
		if vslash <= 0 {
			break
		}
		aslash := strings.LastIndexByte(path[:vslash], '/')
		code := path[aslash+1 : vslash]
		if n, ok := dlLongNames[code]; ok {
			code = n
		}
		a := lookupAI(code)
		if a == nil {
			stop = code
			break
		}
		pairs = append(pairs, pair{code: code, raw: path[vslash+1 : end], ai: a})
		if a.DLPrimaryKey {
			found = true
			break
		}
		end = aslash
	}
	if !found {
		switch {
		case len(stop) >= 2 && len(stop) <= 4 && isDigits(stop):
			return nil, unknownAI(stop, " in path")
		case len(pairs) > 0:
			return nil, invalid(pairs[len(pairs)-1].code, "no GS1 Digital Link primary key such as AI (01) before it in the path")
		}
		return nil, syntax("", "the path does not end with a GS1 Digital Link primary key and its qualifiers as /AI/value pairs")
	}

	pk := pairs[len(pairs)-1]
	out := make(Elements, 0, len(pairs)+strings.Count(query, "&")+1)
	prev := -1
	for k := len(pairs) - 1; k >= 0; k-- {
		p := pairs[k]
		if k < len(pairs)-1 {
			idx := indexOf(pk.ai.Qualifiers, p.code)
			switch {
			case idx < 0:
				return nil, invalid(p.code, "not a key qualifier of AI (%s): data attributes go in the query string", pk.code)
			case idx == prev:
				return nil, invalid(p.code, "appears more than once")
			case idx < prev:
				return nil, invalid(p.code, "key qualifier out of order: must come before AI (%s) in the path", pk.ai.Qualifiers[prev])
			}
			prev = idx
		}
		v, err := dlValue(p.code, p.raw, false)
		if err != nil {
			return nil, err
		}
		out = append(out, Element{AI: p.code, Value: v})
	}
	nPath := len(out)

	for query != "" {
		var param string
		param, query, _ = strings.Cut(query, "&")
		name, raw, _ := strings.Cut(param, "=")
		if !isDigits(name) {
			continue // linkType, lat, context and other non-AI parameters
		}
		if lookupAI(name) == nil {
			return nil, unknownAI(name, " in query string")
		}
		if indexOf(pk.ai.Qualifiers, name) >= 0 {
			if _, dup := out[:nPath].Get(name); dup {
				return nil, invalid(name, "appears more than once")
			}
			return nil, invalid(name, "key qualifier of AI (%s) must be in the path, not the query string", pk.code)
		}
		v, err := dlValue(name, raw, true)
		if err != nil {
			return nil, err
		}
		out = append(out, Element{AI: name, Value: v})
	}
	attrs := out[nPath:]
	for i := 1; i < len(attrs); i++ {
		for j := i; j > 0 && attrs[j].AI < attrs[j-1].AI; j-- {
			attrs[j], attrs[j-1] = attrs[j-1], attrs[j]
		}
	}
	if err := out.validate(false); err != nil {
		return nil, err
	}
	return out, nil
}
