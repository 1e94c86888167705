package epcis

import (
	"encoding/json"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a strict RFC 8259 JSON reader. It decodes to the same
// values as encoding/json with UseNumber (map[string]any, []any, string,
// json.Number, bool, nil; invalid UTF-8 replaced by U+FFFD; the last of
// duplicate members wins) in a single pass, several times faster, and can
// skip values without building them, which is how DecodeDocument finds
// the bytes of each event. FuzzJSONReader checks it against encoding/json.

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

// reader reads JSON from data.
type reader struct {
	data  []byte
	pos   int
	depth int
	err   string // the first syntax error, with its offset
}

func (r *reader) fail(msg string) {
	if r.err == "" {
		r.err = msg + " at offset " + strconv.Itoa(r.pos)
	}
	r.pos = len(r.data)
}

func (r *reader) failed() bool { return r.err != "" }

// ws skips whitespace.
func (r *reader) ws() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after whitespace, or 0 at the end.
func (r *reader) peek() byte {
	r.ws()
	if r.pos < len(r.data) {
		return r.data[r.pos]
	}
	return 0
}

// describe names the byte at the reading position for an error message.
func (r *reader) unexpected(what string) {
	if r.pos >= len(r.data) {
		r.fail("unexpected end of input, want " + what)
		return
	}
	r.fail("invalid character " + strconv.QuoteRune(rune(r.data[r.pos])) + ", want " + what)
}

// value reads one value; with build false it only checks and skips it.
func (r *reader) value(build bool) any {
	switch c := r.peek(); {
	case c == '{':
		return r.object(build)
	case c == '[':
		return r.array(build)
	case c == '"':
		if !build {
			r.skipString()
			return nil
		}
		return r.str()
	case c == '-' || '0' <= c && c <= '9':
		return r.number(build)
	case c == 't':
		return r.literal("true", true)
	case c == 'f':
		return r.literal("false", false)
	case c == 'n':
		return r.literal("null", nil)
	}
	r.unexpected("a value")
	return nil
}

func (r *reader) literal(word string, v any) any {
	if len(r.data)-r.pos < len(word) || string(r.data[r.pos:r.pos+len(word)]) != word {
		r.unexpected("the literal " + word)
		return nil
	}
	r.pos += len(word)
	return v
}

func (r *reader) enter() bool {
	r.depth++
	if r.depth > maxDepth {
		r.fail("exceeded max depth")
		return false
	}
	return true
}

// object reads an object; the reader is at '{'.
func (r *reader) object(build bool) any {
	if !r.enter() {
		return nil
	}
	r.pos++
	var m map[string]any
	if build {
		hint := 0
		if r.depth == 1 {
			hint = 24
		}
		m = make(map[string]any, hint)
	}
	if r.peek() == '}' {
		r.pos++
		r.depth--
		return m
	}
	for {
		if r.peek() != '"' {
			r.unexpected("a member name")
			return nil
		}
		var key string
		if build {
			key = r.key()
		} else {
			r.skipString()
		}
		if r.peek() != ':' {
			r.unexpected("':'")
			return nil
		}
		r.pos++
		v := r.value(build)
		if r.failed() {
			return nil
		}
		if build {
			m[key] = v
		}
		switch r.peek() {
		case ',':
			r.pos++
		case '}':
			r.pos++
			r.depth--
			return m
		default:
			r.unexpected("',' or '}'")
			return nil
		}
	}
}

// array reads an array; the reader is at '['.
func (r *reader) array(build bool) any {
	if !r.enter() {
		return nil
	}
	r.pos++
	var list []any
	if build {
		list = make([]any, 0, 4)
	}
	if r.peek() == ']' {
		r.pos++
		r.depth--
		return list
	}
	for {
		v := r.value(build)
		if r.failed() {
			return nil
		}
		if build {
			list = append(list, v)
		}
		switch r.peek() {
		case ',':
			r.pos++
		case ']':
			r.pos++
			r.depth--
			return list
		default:
			r.unexpected("',' or ']'")
			return nil
		}
	}
}

// number reads a number; the reader is at '-' or a digit.
func (r *reader) number(build bool) any {
	start := r.pos
	d := r.data
	i := r.pos
	if d[i] == '-' {
		i++
	}
	digits := func() bool {
		j := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		return i > j
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case !digits():
		r.pos = i
		r.unexpected("a digit")
		return nil
	}
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			r.pos = i
			r.unexpected("a digit after '.'")
			return nil
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			r.pos = i
			r.unexpected("a digit in the exponent")
			return nil
		}
	}
	r.pos = i
	if !build {
		return nil
	}
	return json.Number(d[start:i])
}

// skipString checks and skips a string; the reader is at '"'.
func (r *reader) skipString() {
	d := r.data
	for i := r.pos + 1; i < len(d); i++ {
		switch c := d[i]; {
		case c == '"':
			r.pos = i + 1
			return
		case c == '\\':
			i++
			if i >= len(d) {
				break
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if _, ok := hex4(d, i+1); !ok {
					r.pos = i
					r.fail("invalid \\u escape in string")
					return
				}
				i += 4
			default:
				r.pos = i
				r.fail("invalid escape in string")
				return
			}
		case c < 0x20:
			r.pos = i
			r.fail("control character in string")
			return
		}
	}
	r.pos = len(d)
	r.fail("unterminated string")
}

// key reads a member name, returning the fields of EPCIS events without
// allocating.
func (r *reader) key() string {
	start := r.pos + 1
	d := r.data
	i := start
	for i < len(d) && d[i] != '"' && d[i] != '\\' && d[i] >= 0x20 {
		i++
	}
	if i < len(d) && d[i] == '"' {
		if k, ok := knownKey(d[start:i]); ok {
			r.pos = i + 1
			return k
		}
	}
	return r.str()
}

// knownKey returns the interned string of a common member name.
func knownKey(b []byte) (string, bool) {
	switch string(b) {
	case "type":
		return "type", true
	case "eventID":
		return "eventID", true
	case "eventTime":
		return "eventTime", true
	case "eventTimeZoneOffset":
		return "eventTimeZoneOffset", true
	case "recordTime":
		return "recordTime", true
	case "action":
		return "action", true
	case "bizStep":
		return "bizStep", true
	case "disposition":
		return "disposition", true
	case "readPoint":
		return "readPoint", true
	case "bizLocation":
		return "bizLocation", true
	case "id":
		return "id", true
	case "epcList":
		return "epcList", true
	case "parentID":
		return "parentID", true
	case "childEPCs":
		return "childEPCs", true
	case "inputEPCList":
		return "inputEPCList", true
	case "outputEPCList":
		return "outputEPCList", true
	case "quantityList":
		return "quantityList", true
	case "childQuantityList":
		return "childQuantityList", true
	case "inputQuantityList":
		return "inputQuantityList", true
	case "outputQuantityList":
		return "outputQuantityList", true
	case "epcClass":
		return "epcClass", true
	case "quantity":
		return "quantity", true
	case "uom":
		return "uom", true
	case "bizTransactionList":
		return "bizTransactionList", true
	case "bizTransaction":
		return "bizTransaction", true
	case "sourceList":
		return "sourceList", true
	case "source":
		return "source", true
	case "destinationList":
		return "destinationList", true
	case "destination":
		return "destination", true
	case "sensorElementList":
		return "sensorElementList", true
	case "sensorMetadata":
		return "sensorMetadata", true
	case "sensorReport":
		return "sensorReport", true
	case "value":
		return "value", true
	case "time":
		return "time", true
	case "deviceID":
		return "deviceID", true
	case "ilmd":
		return "ilmd", true
	case "persistentDisposition":
		return "persistentDisposition", true
	case "set":
		return "set", true
	case "unset":
		return "unset", true
	case "errorDeclaration":
		return "errorDeclaration", true
	case "transformationID":
		return "transformationID", true
	case "certificationInfo":
		return "certificationInfo", true
	}
	return "", false
}

// str reads a string; the reader is at '"'.
func (r *reader) str() string {
	start := r.pos + 1
	d := r.data
	i := start
	ascii := true
	for i < len(d) {
		c := d[i]
		if c == '"' {
			r.pos = i + 1
			if ascii || utf8.Valid(d[start:i]) {
				return string(d[start:i])
			}
			return r.unquote(start)
		}
		if c == '\\' {
			return r.unquote(start)
		}
		if c < 0x20 {
			r.pos = i
			r.fail("control character in string")
			return ""
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
		i++
	}
	r.pos = len(d)
	r.fail("unterminated string")
	return ""
}

// unquote decodes a string with escapes or invalid UTF-8, starting after
// its opening quote, as encoding/json does.
func (r *reader) unquote(start int) string {
	d := r.data
	b := make([]byte, 0, 32)
	for i := start; i < len(d); {
		c := d[i]
		switch {
		case c == '"':
			r.pos = i + 1
			return string(b)
		case c < 0x20:
			r.pos = i
			r.fail("control character in string")
			return ""
		case c == '\\':
			if i+1 >= len(d) {
				r.pos = len(d)
				r.fail("unterminated string")
				return ""
			}
			switch e := d[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				rr, ok := hex4(d, i+2)
				if !ok {
					r.pos = i
					r.fail("invalid \\u escape in string")
					return ""
				}
				i += 6
				if utf16.IsSurrogate(rr) {
					if r2, ok := hex4(d, i+2); ok && i+1 < len(d) && d[i] == '\\' && d[i+1] == 'u' {
						if dec := utf16.DecodeRune(rr, r2); dec != utf8.RuneError {
							i += 6
							b = utf8.AppendRune(b, dec)
							continue
						}
					}
					rr = utf8.RuneError
				}
				b = utf8.AppendRune(b, rr)
				continue
			default:
				r.pos = i + 1
				r.fail("invalid escape in string")
				return ""
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			rr, size := utf8.DecodeRune(d[i:])
			if rr == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, d[i:i+size]...)
			}
			i += size
		}
	}
	r.pos = len(d)
	r.fail("unterminated string")
	return ""
}

// hex4 decodes the four hex digits at d[i:].
func hex4(d []byte, i int) (rune, bool) {
	if i+4 > len(d) {
		return 0, false
	}
	var v rune
	for _, c := range d[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// end checks that only whitespace follows the value.
func (r *reader) end() {
	if r.peek() != 0 || r.pos < len(r.data) {
		r.unexpected("the end of input")
	}
}

// parseJSON decodes data, one JSON value, like encoding/json with
// UseNumber.
func parseJSON(data []byte) (any, string) {
	r := reader{data: data}
	v := r.value(true)
	if !r.failed() {
		r.end()
	}
	if r.failed() {
		return nil, r.err
	}
	return v, ""
}
