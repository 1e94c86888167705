// Package jsonscan finds text in a JSON document that is not valid UTF-8
// — which encoding/json would quietly replace with U+FFFD — and the
// member it belongs to, so that callers can refuse it by name.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// InvalidUTF8 returns the offset of the first byte of body that is not
// valid UTF-8, or of a \u escape of a lone surrogate (which decodes to
// U+FFFD as well); -1 when there is none.
func InvalidUTF8(body []byte) int {
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

// PathAt returns the path to the member of the JSON document body whose
// value holds byte offset at: object keys as strings and array indexes as
// ints, e.g. ["items", 2, "lot"]; empty for the top level. It reads as
// far as it can in a malformed document.
func PathAt(body []byte, at int) []any {
	dec := json.NewDecoder(bytes.NewReader(body))
	type level struct {
		array bool
		key   string
		index int
		named bool
	}
	var stack []level
	expectKey := false
	path := func() []any {
		out := []any{}
		for _, l := range stack {
			switch {
			case l.array:
				out = append(out, l.index)
			case l.named:
				out = append(out, l.key)
			}
		}
		return out
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
				stack[top].key, stack[top].named = t, true
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
		// A value ended: next comes a key (objects) or an element (arrays).
		if top >= 0 {
			if stack[top].array {
				stack[top].index++
			} else {
				expectKey = true
			}
		}
	}
}

// Dotted writes a path as JavaScript would: origin.name, items[2].lot.
func Dotted(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch v := p.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(v) + "]")
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(v)
		}
	}
	return b.String()
}

// Pointer writes a path as a JSON pointer (RFC 6901): /items/2/lot.
func Pointer(path []any) string {
	var b strings.Builder
	for _, p := range path {
		b.WriteByte('/')
		switch v := p.(type) {
		case int:
			b.WriteString(strconv.Itoa(v))
		case string:
			b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(v))
		}
	}
	return b.String()
}
