package tracesql

import (
	"bytes"
	"encoding/json"
	"strconv"

	"tracesvc/trace"
)

// decodeRefs reads an events.refs column: the JSON encoding/json wrote for
// a []trace.EventRef. A wide walk reads many of them, so the exact form it
// writes is read here without reflection; anything else goes to
// json.Unmarshal.
func decodeRefs(b []byte) ([]trace.EventRef, error) {
	if refs, ok := scanRefs(b); ok {
		return refs, nil
	}
	var refs []trace.EventRef
	err := json.Unmarshal(b, &refs)
	return refs, err
}

// scanRefs reads [{"key":…,"role":…,"quantity":…,"uom":…},…] with the
// fields in that order and the last two optional; false for anything else.
func scanRefs(b []byte) ([]trace.EventRef, bool) {
	if string(b) == "null" {
		return nil, true
	}
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, false
	}
	refs := make([]trace.EventRef, 0, bytes.Count(b, []byte(`{"key":`)))
	rest := b[1 : len(b)-1]
	for len(rest) > 0 {
		var r trace.EventRef
		var ok bool
		if rest, ok = cut(rest, `{"key":`); !ok {
			return nil, false
		}
		if r.Key, rest, ok = jsonString(rest); !ok {
			return nil, false
		}
		if rest, ok = cut(rest, `,"role":`); !ok {
			return nil, false
		}
		if r.Role, rest, ok = jsonString(rest); !ok {
			return nil, false
		}
		if after, found := cut(rest, `,"quantity":`); found {
			end := bytes.IndexAny(after, ",}")
			if end < 0 {
				return nil, false
			}
			q, err := strconv.ParseFloat(string(after[:end]), 64)
			if err != nil {
				return nil, false
			}
			r.Quantity, rest = q, after[end:]
		}
		if after, found := cut(rest, `,"uom":`); found {
			if r.UOM, rest, ok = jsonString(after); !ok {
				return nil, false
			}
		}
		if rest, ok = cut(rest, "}"); !ok {
			return nil, false
		}
		refs = append(refs, r)
		if len(rest) > 0 {
			if rest, ok = cut(rest, ","); !ok || len(rest) == 0 {
				return nil, false
			}
		}
	}
	return refs, true
}

// cut removes prefix from b.
func cut(b []byte, prefix string) ([]byte, bool) {
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return b, false
	}
	return b[len(prefix):], true
}

// jsonString reads the JSON string b begins with and returns it and what
// follows.
func jsonString(b []byte) (string, []byte, bool) {
	if len(b) < 2 || b[0] != '"' {
		return "", b, false
	}
	escaped := false
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			if !escaped {
				return string(b[1:i]), b[i+1:], true
			}
			var s string
			if err := json.Unmarshal(b[:i+1], &s); err != nil {
				return "", b, false
			}
			return s, b[i+1:], true
		}
	}
	return "", b, false
}
