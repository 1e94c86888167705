package gs1

import (
	"slices"
	"testing"
)

const base = "https://id.example.com"

func TestDigitalLinkRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		e    Elements
		uri  string
	}{
		{"01 only", Elements{{"01", gtin}}, base + "/01/09506000134352"},
		{"01 and 21", Elements{{"01", gtin}, {"21", "12345"}}, base + "/01/09506000134352/21/12345"},
		{"01 10 21", Elements{{"01", gtin}, {"10", "ABC1"}, {"21", "12345"}}, base + "/01/09506000134352/10/ABC1/21/12345"},
		{"expiry in query", Elements{{"01", gtin}, {"10", "ABC1"}, {"17", "261231"}}, base + "/01/09506000134352/10/ABC1?17=261231"},
		{"full", Elements{{"01", gtin}, {"22", "2A"}, {"10", "L1"}, {"21", "S1"}, {"17", "261231"}, {"11", "250101"}, {"3103", "000500"}},
			base + "/01/09506000134352/22/2A/10/L1/21/S1?11=250101&17=261231&3103=000500"},
		{"reserved characters", Elements{{"01", gtin}, {"10", "A/B%C&D+E"}, {"21", `!"'()*,:;<=>?`}},
			base + "/01/09506000134352/10/A%2FB%25C%26D%2BE/21/%21%22%27%28%29%2A%2C%3A%3B%3C%3D%3E%3F"},
		{"unreserved kept", Elements{{"01", gtin}, {"21", "a-b.c_d"}}, base + "/01/09506000134352/21/a-b.c_d"},
		{"SSCC", Elements{{"00", "106141411234567897"}}, base + "/00/106141411234567897"},
		{"SSCC with content", Elements{{"00", "106141411234567897"}, {"02", gtin}, {"37", "24"}, {"10", "L"}},
			base + "/00/106141411234567897?02=09506000134352&10=L&37=24"},
		{"GLN with extension", Elements{{"414", "9501101020016"}, {"254", "dock 1"[:4]}}, base + "/414/9501101020016/254/dock"},
		{"party", Elements{{"417", "9501101020016"}}, base + "/417/9501101020016"},
		{"GIAI", Elements{{"8004", "0614141/AB 1"[:10]}}, base + "/8004/0614141%2FAB"},
		{"CPID", Elements{{"8010", "#A-1/"}, {"8011", "99"}}, base + "/8010/%23A-1%2F/8011/99"},
		{"GSRN", Elements{{"8017", "061414100000000007"}, {"8019", "7"}}, base + "/8017/061414100000000007/8019/7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uri, err := BuildDigitalLink(base, tt.e)
			if err != nil {
				t.Fatalf("BuildDigitalLink() error: %v", err)
			}
			if uri != tt.uri {
				t.Errorf("BuildDigitalLink() = %q, want %q", uri, tt.uri)
			}
			got, err := ParseDigitalLink(uri)
			if err != nil {
				t.Fatalf("ParseDigitalLink(%q) error: %v", uri, err)
			}
			if !sameElements(got, tt.e) {
				t.Errorf("ParseDigitalLink(%q) = %v, want %v", uri, got, tt.e)
			}
			again, err := BuildDigitalLink(base, got)
			if err != nil || again != uri {
				t.Errorf("BuildDigitalLink(ParseDigitalLink(%q)) = %q, %v", uri, again, err)
			}
		})
	}
}

func TestBuildDigitalLinkPadsGTIN(t *testing.T) {
	tests := map[string]string{
		"4006381333931":  "/01/04006381333931",
		"036000291452":   "/01/00036000291452",
		"96385074":       "/01/00000096385074",
		"09506000134352": "/01/09506000134352",
	}
	for g, path := range tests {
		uri, err := BuildDigitalLink(base+"/", Elements{{"01", g}, {"10", "X"}})
		if want := base + path + "/10/X"; err != nil || uri != want {
			t.Errorf("BuildDigitalLink(%s) = %q, %v; want %q", g, uri, err, want)
		}
	}
	_, err := BuildDigitalLink(base, Elements{{"01", "4006381333932"}})
	wantError(t, err, ErrInvalid, "01", "check digit is 2, want 1")
}

func TestBuildDigitalLinkBase(t *testing.T) {
	e := Elements{{"01", gtin}}
	ok := map[string]string{
		"https://id.example.com":        "https://id.example.com/01/09506000134352",
		"https://id.example.com/":       "https://id.example.com/01/09506000134352",
		"http://example.com:8080/dl//":  "http://example.com:8080/dl/01/09506000134352",
		"HTTPS://example.com/a/b":       "HTTPS://example.com/a/b/01/09506000134352",
		"https://example.com/01/123456": "https://example.com/01/123456/01/09506000134352",
	}
	for b, want := range ok {
		got, err := BuildDigitalLink(b, e)
		if err != nil || got != want {
			t.Errorf("BuildDigitalLink(%q) = %q, %v; want %q", b, got, err, want)
			continue
		}
		if p, err := ParseDigitalLink(got); err != nil || !slices.Equal(p, e) {
			t.Errorf("ParseDigitalLink(%q) = %v, %v; want %v", got, p, err, e)
		}
	}
	for _, b := range []string{"", "id.example.com", "ftp://example.com", "https://", "https:///x", "https://example.com?x=1", "https://example.com/#x", "https://exa mple.com"} {
		_, err := BuildDigitalLink(b, e)
		wantError(t, err, ErrSyntax, "", "Digital Link base")
	}
}

func TestBuildDigitalLinkErrors(t *testing.T) {
	tests := []struct {
		name    string
		e       Elements
		kind    error
		ai, msg string
	}{
		{"no elements", nil, ErrInvalid, "", "no elements"},
		{"no primary key", Elements{{"02", gtin}, {"37", "1"}, {"00", "106141411234567897"}, {"400", "PO1"}}[3:], ErrInvalid, "", "no GS1 Digital Link primary key"},
		{"lot too long", Elements{{"01", gtin}, {"10", "123456789012345678901"}}, ErrInvalid, "10", "value too long: 21 > 20"},
		{"bad date", Elements{{"01", gtin}, {"17", "261341"}}, ErrInvalid, "17", "month 13"},
		{"unknown AI", Elements{{"01", gtin}, {"7", "1"}}, ErrUnknownAI, "7", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BuildDigitalLink(base, tt.e)
			wantError(t, err, tt.kind, tt.ai, tt.msg)
		})
	}
}

func TestBuildDigitalLinkSeveralKeys(t *testing.T) {
	e := Elements{{"00", "106141411234567897"}, {"414", "9501101020016"}, {"254", "X"}, {"01", gtin}, {"10", "L"}}
	uri, err := BuildDigitalLink(base, e)
	if want := base + "/01/09506000134352/10/L?00=106141411234567897&254=X&414=9501101020016"; err != nil || uri != want {
		t.Fatalf("BuildDigitalLink() = %q, %v; want %q", uri, err, want)
	}
	got, err := ParseDigitalLink(uri)
	if err != nil || !sameElements(got, e) {
		t.Errorf("ParseDigitalLink(%q) = %v, %v; want %v", uri, got, err, e)
	}
}

func TestParseDigitalLink(t *testing.T) {
	tests := []struct {
		uri  string
		want Elements
	}{
		{"https://id.gs1.org/01/09506000134352", Elements{{"01", gtin}}},
		{"http://example.com/01/09506000134352/10/ABC/21/123", Elements{{"01", gtin}, {"10", "ABC"}, {"21", "123"}}},
		{"HTTP://EXAMPLE.COM/01/09506000134352", Elements{{"01", gtin}}},
		// A GTIN-13, -12 or -8 is padded to 14 digits.
		{"https://example.com/01/4006381333931/21/1", Elements{{"01", "04006381333931"}, {"21", "1"}}},
		{"https://example.com/01/036000291452", Elements{{"01", "00036000291452"}}},
		{"https://example.com/01/96385074", Elements{{"01", "00000096385074"}}},
		// Path prefixes, even ones that look like AIs, are skipped.
		{"https://example.com/products/qr/01/09506000134352", Elements{{"01", gtin}}},
		{"https://example.com/00/faux/01/09506000134352/10/L", Elements{{"01", gtin}, {"10", "L"}}},
		{"https://example.com/x/01/09506000134352", Elements{{"01", gtin}}},
		// Query: numeric AIs are data attributes, sorted; others ignored.
		{"https://example.com/01/09506000134352?linkType=gs1:pip&3103=000500&17=261231&lat=1.5#frag",
			Elements{{"01", gtin}, {"17", "261231"}, {"3103", "000500"}}},
		{"https://example.com/01/09506000134352?&&17=261231&", Elements{{"01", gtin}, {"17", "261231"}}},
		{"https://example.com/01/09506000134352?17=261231&91=a%2Fb", Elements{{"01", gtin}, {"17", "261231"}, {"91", "a/b"}}},
		// Percent-encoding, lower-case hex, raw sub-delimiters.
		{"https://example.com/01/09506000134352/10/A%2fB%25/21/x!*'()", Elements{{"01", gtin}, {"10", "A/B%"}, {"21", "x!*'()"}}},
		// Qualifiers may be skipped but must stay in order.
		{"https://example.com/01/09506000134352/22/V/21/S", Elements{{"01", gtin}, {"22", "V"}, {"21", "S"}}},
		{"https://example.com/414/9501101020016/254/7", Elements{{"414", "9501101020016"}, {"254", "7"}}},
		{"https://example.com/00/106141411234567897?02=09506000134352&37=5", Elements{{"00", "106141411234567897"}, {"02", gtin}, {"37", "5"}}},
		{"https://example.com/00/106141411234567897?02=4006381333931&37=5", Elements{{"00", "106141411234567897"}, {"02", "04006381333931"}, {"37", "5"}}},
	}
	for _, tt := range tests {
		got, err := ParseDigitalLink(tt.uri)
		if err != nil {
			t.Errorf("ParseDigitalLink(%q) error: %v", tt.uri, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ParseDigitalLink(%q) = %v, want %v", tt.uri, got, tt.want)
		}
	}
}

func TestParseDigitalLinkErrors(t *testing.T) {
	const p = "https://example.com"
	tests := []struct {
		name, uri string
		kind      error
		ai, msg   string
	}{
		{"bad check digit", p + "/01/09506000134353", ErrInvalid, "01", "check digit is 3, want 2"},
		{"bad check digit GTIN-13", p + "/01/4006381333932", ErrInvalid, "01", "check digit is 2, want 1"},
		{"GTIN wrong length", p + "/01/09506000134", ErrInvalid, "01", "value too short: 11 < 14"},
		{"lot too long", p + "/01/09506000134352/10/123456789012345678901", ErrInvalid, "10", "value too long: 21 > 20"},
		{"bad char in lot", p + "/01/09506000134352/10/AB~C", ErrInvalid, "10", "invalid character '~' at position 3"},
		{"encoded bad char in lot", p + "/01/09506000134352/10/AB%5EC", ErrInvalid, "10", "invalid character '^' at position 3"},
		{"space in lot", p + "/01/09506000134352/10/AB%20C", ErrInvalid, "10", "invalid character ' '"},
		{"plus is space in query", p + "/01/09506000134352?91=a+b", ErrInvalid, "91", "invalid character ' '"},
		{"21 before 10", p + "/01/09506000134352/21/S/10/L", ErrInvalid, "10", "out of order: must come before AI (21)"},
		{"21 before 22", p + "/01/09506000134352/21/S/22/V", ErrInvalid, "22", "out of order"},
		{"qualifier twice", p + "/01/09506000134352/10/L/10/M", ErrInvalid, "10", "appears more than once"},
		{"10 without 01", p + "/10/ABC", ErrInvalid, "10", "no GS1 Digital Link primary key"},
		{"10 without 01 under SSCC", p + "/00/106141411234567897?10=ABC", ErrInvalid, "10", "requires AI (01) or (02)"},
		{"21 under SSCC path", p + "/00/106141411234567897/21/1", ErrInvalid, "21", "not a key qualifier of AI (00)"},
		{"attribute in path", p + "/01/09506000134352/17/261231", ErrInvalid, "17", "not a key qualifier of AI (01)"},
		{"qualifier in query", p + "/01/09506000134352?10=ABC", ErrInvalid, "10", "must be in the path"},
		{"qualifier in path and query", p + "/01/09506000134352/10/A?10=B", ErrInvalid, "10", "appears more than once"},
		{"duplicate attribute", p + "/01/09506000134352?17=261231&17=261231", ErrInvalid, "17", "appears more than once"},
		{"bad date 17", p + "/01/09506000134352?17=261341", ErrInvalid, "17", "invalid date 261341: month 13 out of range"},
		{"bad day 17", p + "/01/09506000134352?17=260230", ErrInvalid, "17", "day 30 out of range for month 02"},
		{"unknown AI in path", p + "/01/09506000134352/99999/x", ErrSyntax, "", "does not end with a GS1 Digital Link primary key"},
		{"unknown AI in path short", p + "/01/09506000134352/235/x", ErrUnknownAI, "235", "in path"},
		{"unknown AI in query", p + "/01/09506000134352?235=x", ErrUnknownAI, "235", "in query string"},
		{"empty query value", p + "/01/09506000134352?17=", ErrInvalid, "17", "empty value"},
		{"query name only", p + "/01/09506000134352?17", ErrInvalid, "17", "empty value"},
		{"empty path value", p + "/01//10/x", ErrInvalid, "01", "empty value"},
		{"bad escape", p + "/01/09506000134352/10/A%2", ErrSyntax, "10", "malformed percent-encoding"},
		{"bad escape hex", p + "/01/09506000134352/10/A%zz", ErrSyntax, "10", "malformed percent-encoding"},
		{"two trailing slashes", p + "/01/09506000134352//", ErrSyntax, "", "must not end with '//'"},
		{"no key", p + "/products/123", ErrSyntax, "", "does not end with a GS1 Digital Link primary key"},
		{"odd segments", p + "/01/09506000134352/10", ErrSyntax, "", "does not end with a GS1 Digital Link primary key"},
		{"no path", p, ErrSyntax, "", "no path"},
		{"query only", p + "?01=09506000134352", ErrSyntax, "", "no path"},
		{"root path", p + "/", ErrSyntax, "", "does not end with a GS1 Digital Link primary key"},
		{"no host", "https:///01/09506000134352", ErrSyntax, "", "no host"},
		{"empty", "", ErrSyntax, "", "must start with http:// or https://"},
		{"ftp", "ftp://example.com/01/09506000134352", ErrSyntax, "", "must start with http:// or https://"},
		{"relative", "/01/09506000134352", ErrSyntax, "", "must start with http:// or https://"},
		{"content alone", p + "/02/09506000134352", ErrInvalid, "02", "no GS1 Digital Link primary key"},
		{"GSRN both", p + "/8017/061414100000000007?8018=061414100000000007", ErrInvalid, "8017", "must not be used with AI (8018)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDigitalLink(tt.uri)
			if err == nil {
				t.Fatalf("ParseDigitalLink(%q) = %v, want an error", tt.uri, got)
			}
			wantError(t, err, tt.kind, tt.ai, tt.msg)
		})
	}
}

// TestLinkTemplate: a template's links are BuildDigitalLink's for every
// value of the varying element, in the path or the query, escaped or
// padded; a value BuildDigitalLink refuses is refused with the same error.
func TestLinkTemplate(t *testing.T) {
	tests := []struct {
		name   string
		e      Elements
		vary   int
		values []string
	}{
		{"serial", Elements{{"01", gtin}, {"10", "L1"}, {"21", "S1"}, {"17", "261231"}}, 2,
			[]string{"ABCDEFGH2345", "a-b.c_d", `!"'()*,:;<=>?`, "A/B%C", "", "x y", "123456789012345678901"}},
		{"lot before a query", Elements{{"01", gtin}, {"10", "L1"}, {"3103", "000500"}}, 1, []string{"L2", "L/2026-11", "é"}},
		{"expiry in the query", Elements{{"01", gtin}, {"10", "L1"}, {"17", "261231"}, {"11", "250101"}}, 2,
			[]string{"270101", "271301", "27010"}},
		{"short GTIN", Elements{{"01", gtin}, {"21", "S"}}, 0, []string{"4006381333931", "40063813", "4006381333932", gtin}},
		{"SSCC", Elements{{"00", "106141411234567897"}}, 0, []string{"106141411234567897", "106141411234567898"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := NewLinkTemplate(base+"/", tt.e, tt.vary)
			if err != nil {
				t.Fatal(err)
			}
			var buf []byte
			for _, v := range tt.values {
				e := slices.Clone(tt.e)
				e[tt.vary].Value = v
				want, wantErr := BuildDigitalLink(base, e)
				n := len(buf)
				buf, err = tpl.Append(buf, v)
				if got := string(buf[n:]); got != want || (err == nil) != (wantErr == nil) ||
					(err != nil && err.Error() != wantErr.Error()) {
					t.Errorf("value %q: %q, %v; BuildDigitalLink: %q, %v", v, got, err, want, wantErr)
				}
			}
		})
	}
	if _, err := NewLinkTemplate(base, Elements{{"01", gtin}}, 1); err == nil {
		t.Error("a template varying no element")
	}
	if _, err := NewLinkTemplate(base, Elements{{"01", gtin}, {"21", "A/B"}, {"21", "C"}}, 1); err == nil {
		t.Error("a template of elements BuildDigitalLink refuses")
	}
}
