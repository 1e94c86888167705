package epcis

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// stdDecode decodes data as encoding/json does with UseNumber.
func stdDecode(data []byte) (any, error) {
	if !json.Valid(data) {
		var v any
		return nil, json.Unmarshal(data, &v)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

var jsonSeeds = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1.5e+10`, `-12.25E-3`, `"x"`,
	`{"a":[1,{"b":null}],"c":"\u00e9\ud83d\ude00\n\t\"\\\/"}`,
	`"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`, "\"\xff\xfe\"", "\"\xef\xbf\xbd\"", `"a\u0000b"`,
	`{"a":1,"a":2}`, ` [ 1 , 2 ] `, `{"a" : { } }`,
	`01`, `1.`, `.5`, `-`, `1e`, `[1,]`, `{"a":1,}`, `{"a"}`, `"\x"`, `"\u12"`, "\"a\nb\"", `tru`, `[`, `{"a":1} x`, `{"a":1}]`, "1\x00", `"unterminated`,
	typicalEvent,
}

func TestJSONReader(t *testing.T) {
	for _, s := range jsonSeeds {
		checkJSON(t, []byte(s))
	}
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	if _, msg := parseJSON([]byte(deep)); msg == "" {
		t.Error("parseJSON accepted nesting beyond maxDepth")
	}
}

// checkJSON checks parseJSON against encoding/json, and the skipping
// reader against both.
func checkJSON(t *testing.T, data []byte) {
	t.Helper()
	want, werr := stdDecode(data)
	got, msg := parseJSON(data)
	if (werr == nil) != (msg == "") {
		t.Fatalf("parseJSON(%q) error %q; encoding/json error %v", data, msg, werr)
	}
	if werr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("parseJSON(%q) = %#v; encoding/json gives %#v", data, got, want)
	}
	r := reader{data: data}
	r.value(false)
	if !r.failed() {
		r.end()
	}
	if r.failed() != (werr != nil) {
		t.Fatalf("skipping %q: error %q; encoding/json error %v", data, r.err, werr)
	}
}

func FuzzJSONReader(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		checkJSON(t, data)
	})
}
