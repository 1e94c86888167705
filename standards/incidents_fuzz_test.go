package standards

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"unicode/utf8"

	"tracesvc/trace"
	"tracesvc/trace/gs1"
)

// FuzzIncidentCheck holds the report validator to its promises on any
// JSON body: it fails with a field error of the domain's invalid kind, or
// returns a report whose dates, severity, counts and texts are sane.
func FuzzIncidentCheck(f *testing.F) {
	for _, seed := range []string{
		`{"gtin":"09506000134352","eventDate":"2026-05-28","awareDate":"2026-05-29","severity":"minor_injury","personsAffected":1,
		  "description":"cut finger","location":"Tianjin","contact":{"name":"Wang","phone":"+86 22 5555"}}`,
		`{"gtin":"9506000134352","lot":"L1","codes":["(01)09506000134352(10)L1(21)S1","https://id.example.cn/01/09506000134352/21/S2"],
		  "eventDate":"2026-02-28","awareDate":"2026-03-01","severity":"near_miss","description":"smoke","location":"x","contact":{"name":"a","email":"a@b"}}`,
		`{"gtin":"09506000134352","eventDate":"2026-02-29","awareDate":"2026-13-01","severity":"death"}`,
		`{"gtin":"09506000134352","eventDate":"2026-05-28","awareDate":"2026-05-27","severity":"death","personsAffected":0}`,
		`{"codes":["(01)123"],"contact":{"name":" ","phone":"\u0000"}}`,
	} {
		f.Add(seed)
	}
	const today = "2026-06-01"
	f.Fuzz(func(t *testing.T, body string) {
		var in NewIncident
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		out, err := in.check(today)
		if err != nil {
			var fe *trace.FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) || fe.Field == "" || !utf8.ValidString(fe.Msg) {
				t.Fatalf("not a field error: %#v", err)
			}
			return
		}
		if g, err := gs1.ValidateGTIN(out.GTIN); err != nil || g != out.GTIN {
			t.Fatalf("GTIN %q passed", out.GTIN)
		}
		if out.EventDate > out.AwareDate || out.AwareDate > today || len(out.EventDate) != 10 {
			t.Fatalf("dates %s, %s passed", out.EventDate, out.AwareDate)
		}
		if !slices.Contains(Severities, out.Severity) || out.PersonsAffected < 0 || out.PersonsAffected > MaxPersonsAffected {
			t.Fatalf("severity %q, %d persons passed", out.Severity, out.PersonsAffected)
		}
		if out.Description == "" || out.Contact.Name == "" || out.Contact.Phone == "" && out.Contact.Email == "" || len(out.Codes) > MaxIncidentCodes {
			t.Fatalf("incomplete report passed: %+v", out)
		}
		for _, s := range []string{out.Description, out.Location, out.Contact.Name, out.Lot} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 passed: %q", s)
			}
		}
	})
}
