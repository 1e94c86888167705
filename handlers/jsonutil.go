package handlers

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// jsonMarshal encodes v without escaping &, < and >, which appear in URIs.
func jsonMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// invalidUTF8 returns the offset of the first byte of body that is not
// valid UTF-8, or of a \u escape of a lone surrogate (which decodes to
// U+FFFD as well); -1 when there is none.
func invalidUTF8(body []byte) int {
	for i := 0; i < len(body); {
		c := body[i]
		if c == '\\' && i+1 < len(body) && body[i+1] < utf8.RuneSelf {
			if body[i+1] == 'u' && i+6 <= len(body) {
				if r, err := strconv.ParseUint(string(body[i+2:i+6]), 16, 16); err == nil && r >= 0xD800 && r <= 0xDFFF {
					// A high surrogate must be followed by an escaped low one.
					lowFollows := r < 0xDC00 && i+12 <= len(body) && body[i+6] == '\\' && body[i+7] == 'u'
					if lowFollows {
						lo, err := strconv.ParseUint(string(body[i+8:i+12]), 16, 16)
						lowFollows = err == nil && lo >= 0xDC00 && lo <= 0xDFFF
					}
					if !lowFollows {
						return i
					}
					i += 12
					continue
				}
			}
			i += 2
			continue
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// jsonFieldAt returns the path of the member of a JSON document whose
// value holds byte offset at, such as "origin.name" or "items[2].lot"; ""
// for the top level.
func jsonFieldAt(body []byte, at int) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	type level struct {
		array bool
		key   string
		index int
	}
	var stack []level
	expectKey := false
	path := func() string {
		var b bytes.Buffer
		for _, l := range stack {
			switch {
			case l.array:
				b.WriteString("[" + strconv.Itoa(l.index) + "]")
			case l.key != "":
				if b.Len() > 0 {
					b.WriteByte('.')
				}
				b.WriteString(l.key)
			}
		}
		return b.String()
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return path()
		}
		end := int(dec.InputOffset())
		top := len(stack) - 1
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, level{array: t == '['})
				expectKey = t == '{'
				continue
			default:
				stack = stack[:top]
				top--
			}
		case string:
			if expectKey && top >= 0 && !stack[top].array {
				stack[top].key = t
				expectKey = false
				if end > at {
					return path() // the key itself is broken
				}
				continue
			}
		}
		if end > at {
			return path()
		}
		// A value ended: the next token is a key (objects) or the next
		// element (arrays).
		if top >= 0 {
			if stack[top].array {
				stack[top].index++
			} else {
				expectKey = true
			}
		}
	}
}
