package epcis

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// seedDocuments returns the GS1 example documents, if they are there. The
// corpus in testdata/fuzz adds cases for the member-name rules of the JSON
// schema (extension namespaces, closed quantity elements) and recordTime.
func seedDocuments(tb testing.TB) [][]byte {
	var out [][]byte
	_ = filepath.WalkDir(conformanceDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".jsonld") {
			return nil
		}
		if data, err := os.ReadFile(path); err == nil {
			out = append(out, data)
		}
		return nil
	})
	return out
}

func FuzzDecodeDocument(f *testing.F) {
	for _, data := range seedDocuments(f) {
		f.Add(data)
	}
	f.Add([]byte(docHead + `"epcisBody":{"eventList":[` + typicalEvent + `]}}`))
	f.Add([]byte(`{"type":"EPCISDocument"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := DecodeDocument(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("DecodeDocument error %v (%T) is not an *Error", err, err)
			}
			return
		}
		if d.Context == nil || d.Events == nil {
			t.Fatalf("DecodeDocument = %+v without context or events", d)
		}
		for i := range d.Events {
			e, err := d.ParseEvent(i)
			if err != nil {
				var es Errors
				if !errors.As(err, &es) || len(es) == 0 {
					t.Fatalf("ParseEvent error %v (%T) is not Errors", err, err)
				}
				continue
			}
			if e.ID == "" {
				t.Fatalf("event %d parsed without an ID", i)
			}
		}
	})
}

func FuzzParseEvent(f *testing.F) {
	for _, data := range seedDocuments(f) {
		d, err := DecodeDocument(data)
		if err != nil {
			continue
		}
		for _, e := range d.Events {
			f.Add([]byte(e))
		}
	}
	for _, s := range []string{typicalEvent, aggregationEvent, transformationEvent, example961, `{}`, `{"type":"ObjectEvent"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := ParseEvent(raw)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("ParseEvent error %v (%T) is not Errors", err, err)
			}
			for _, x := range es {
				if x.Rule == "" || x.Message == "" || (x.Pointer != "" && x.Pointer[0] != '/') {
					t.Fatalf("malformed error %+v", x)
				}
			}
			return
		}
		// Parsing what would be stored gives the same event.
		again, err := ParseEvent(e.Raw)
		if err != nil {
			t.Fatalf("ParseEvent(%s) = %v; the first parse of %s succeeded", e.Raw, err, raw)
		}
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("ParseEvent(Raw) =\n%+v\nwant\n%+v", again, e)
		}
		// The hash does not depend on whitespace or the eventID.
		h1, err1 := Hash(raw)
		compact, err := Compact(e.Raw)
		if err != nil {
			t.Fatalf("Compact(%s): %v", e.Raw, err)
		}
		h2, err2 := Hash(compact)
		if err1 != nil || err2 != nil || h1 != h2 {
			t.Fatalf("Hash = %s, %v; of the compacted stored event %s, %v", h1, err1, h2, err2)
		}
		// A query result carries the event with its recordTime set, and
		// is the same event otherwise.
		withRT, err := WithRecordTime(e.Raw, time.UnixMilli(1_700_000_000_123))
		if err != nil {
			t.Fatalf("WithRecordTime(%s): %v", e.Raw, err)
		}
		again, err = ParseEvent(withRT)
		if err != nil {
			t.Fatalf("ParseEvent(%s) = %v; the event without recordTime parsed", withRT, err)
		}
		again.Raw = e.Raw
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("ParseEvent(WithRecordTime) =\n%+v\nwant\n%+v", again, e)
		}
		if _, err := QueryDocument(nil, "", []json.RawMessage{withRT}, e.EventTime); err != nil {
			t.Fatalf("QueryDocument: %v", err)
		}
	})
}
