package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPathAt(t *testing.T) {
	doc := `{"a":1,"origin":{"name":"X","region":"Y"},"items":[{"lot":"L1"},{"lot":"BAD"}],"z":"BAD2"}`
	for marker, want := range map[string]string{`"X"`: "origin.name", `"Y"`: "origin.region", `"BAD"`: "items[1].lot", `"BAD2"`: "z", `:1`: "a"} {
		at := strings.Index(doc, marker) + 1
		if got := Dotted(PathAt([]byte(doc), at)); got != want {
			t.Errorf("at %s: %q, want %q", marker, got, want)
		}
	}
}

// FuzzInvalidUTF8 checks the body check against utf8.Valid, and that
// naming the field never panics.
func FuzzInvalidUTF8(f *testing.F) {
	for _, s := range []string{`{"a":"x"}`, "{\"a\":\"\xff\"}", `{"a":"\ud800"}`, `{"a":"\ud83d\ude00"}`, `{"a":["\udc00"]}`, `\u`, "\xe5\xa5"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		at := InvalidUTF8(b)
		if !utf8.Valid(b) && at < 0 {
			t.Fatalf("%q: invalid UTF-8 not found", b)
		}
		if at >= len(b) {
			t.Fatalf("%q: offset %d out of range", b, at)
		}
		if at < 0 && json.Valid(b) {
			var v any
			json.Unmarshal(b, &v)
			out, _ := json.Marshal(v)
			if strings.Contains(string(out), "\ufffd") && !strings.Contains(string(b), "\ufffd") && !strings.Contains(strings.ToLower(string(b)), `\ufffd`) {
				t.Fatalf("%q passed the check but decodes with a replacement character", b)
			}
		}
		Pointer(PathAt(b, max(at, 0)))
	})
}

func TestPointer(t *testing.T) {
	if got := Pointer([]any{"epcisBody", "eventList", 3, "a/b~c"}); got != "/epcisBody/eventList/3/a~1b~0c" {
		t.Fatal(got)
	}
}
