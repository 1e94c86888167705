package gs1

import (
	"slices"
	"testing"
)

func TestElementStringRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		e    Elements
		raw  string // built with "\x1d"
		hri  string
	}{
		{"GTIN only", Elements{{"01", gtin}}, "0109506000134352", "(01)09506000134352"},
		{"fixed before variable", Elements{{"10", "ABC"}, {"01", gtin}, {"17", "261231"}},
			"010950600013435217261231" + "10ABC", "(01)09506000134352(17)261231(10)ABC"},
		{"separators between variable fields", Elements{{"21", "S1"}, {"10", "L1"}, {"01", gtin}, {"17", "261200"}, {"3103", "000500"}},
			"01095060001343521726120031030005001" + "0L1\x1d21S1", "(01)09506000134352(17)261200(3103)000500(10)L1(21)S1"},
		{"non-predefined fixed AI needs separator", Elements{{"01", gtin}, {"422", "156"}, {"10", "L"}},
			"0109506000134352" + "10L\x1d422156", "(01)09506000134352(10)L(422)156"},
		{"SSCC", Elements{{"00", "106141411234567897"}, {"02", gtin}, {"37", "24"}, {"400", "PO-1"}},
			"00106141411234567897" + "0209506000134352" + "3724\x1d400PO-1", "(00)106141411234567897(02)09506000134352(37)24(400)PO-1"},
		{"set 82 values", Elements{{"01", gtin}, {"10", "(A)/%&+"}},
			"0109506000134352" + "10(A)/%&+", "(01)09506000134352(10)(A)/%&+"},
		{"GLN", Elements{{"414", "9501101020016"}, {"254", "x"}}, "4149501101020016254x", "(414)9501101020016(254)x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := BuildElementString(tt.e, GS)
			if err != nil || raw != tt.raw {
				t.Fatalf("BuildElementString() = %q, %v; want %q", raw, err, tt.raw)
			}
			if hri := tt.e.HRI(); hri != tt.hri {
				t.Errorf("HRI() = %q, want %q", hri, tt.hri)
			}
			for _, prefix := range []string{"", "]C1", "]d2", "]Q3", "]e0", GS} {
				got, err := ParseElementString(prefix + raw)
				if err != nil || !sameElements(got, tt.e) {
					t.Errorf("ParseElementString(%q) = %v, %v; want %v", prefix+raw, got, err, tt.e)
				}
			}
			got, err := ParseElementString(tt.hri)
			if err != nil || !sameElements(got, tt.e) {
				t.Errorf("ParseElementString(%q) = %v, %v; want %v", tt.hri, got, err, tt.e)
			}
		})
	}
}

func TestBuildElementStringPadsGTIN(t *testing.T) {
	got, err := BuildElementString(Elements{{"01", "4006381333931"}, {"21", "7"}}, "|")
	if want := "0104006381333931217"; err != nil || got != want {
		t.Errorf("BuildElementString() = %q, %v; want %q", got, err, want)
	}
	got, err = BuildElementString(Elements{{"01", "96385074"}, {"21", "7"}, {"10", "L"}}, "|")
	if want := "010000009638507410L|217"; err != nil || got != want {
		t.Errorf("BuildElementString() = %q, %v; want %q", got, err, want)
	}
	if hri := (Elements{{"01", "036000291452"}}).HRI(); hri != "(01)00036000291452" {
		t.Errorf("HRI() = %q", hri)
	}
}

func TestBuildElementStringErrors(t *testing.T) {
	e := Elements{{"01", gtin}}
	_, err := BuildElementString(e, "")
	wantError(t, err, ErrSyntax, "", "empty FNC1 separator")
	_, err = BuildElementString(e, "%")
	wantError(t, err, ErrSyntax, "", "could appear in a value")
	_, err = BuildElementString(Elements{{"10", "L"}}, GS)
	wantError(t, err, ErrInvalid, "10", "requires AI (01) or (02)")
}

func TestParseElementString(t *testing.T) {
	tests := []struct {
		in   string
		want Elements
	}{
		// Order of appearance is kept.
		{"]d2010950600013435210ABC\x1d17261231", Elements{{"01", gtin}, {"10", "ABC"}, {"17", "261231"}}},
		{"]C1010950600013435217261231\x1d10ABC\x1d", Elements{{"01", gtin}, {"17", "261231"}, {"10", "ABC"}}},
		{"]Q3010950600013435221S\x1d\x1d10L", Elements{{"01", gtin}, {"21", "S"}, {"10", "L"}}},
		{"]J1010950600013435291x", Elements{{"01", gtin}, {"91", "x"}}},
		{"(01)09506000134352(10)ABC", Elements{{"01", gtin}, {"10", "ABC"}}},
		{"(01)09506000134352(10)A(B)(21)(1)", Elements{{"01", gtin}, {"10", "A(B)"}, {"21", "(1)"}}},
		{"(00)106141411234567897(02)09506000134352(37)5", Elements{{"00", "106141411234567897"}, {"02", gtin}, {"37", "5"}}},
		{"0109506000134352" + "3103000500" + "3922", nil}, // 3922 is not in the table
	}
	for _, tt := range tests {
		got, err := ParseElementString(tt.in)
		if tt.want == nil {
			wantError(t, err, ErrUnknownAI, "", "unknown application identifier at position 27")
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseElementString(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseElementStringErrors(t *testing.T) {
	tests := []struct {
		name, in string
		kind     error
		ai, msg  string
	}{
		{"empty", "", ErrSyntax, "", "empty element string"},
		{"only symbology id", "]d2", ErrSyntax, "", "empty element string"},
		{"only separators", "\x1d\x1d", ErrSyntax, "", "no elements"},
		{"bad symbology id", "]Q1https://example.com", ErrSyntax, "", `unsupported symbology identifier "]Q1"`},
		{"unknown AI", "0109506000134352" + "235x", ErrUnknownAI, "", `position 17: "235x"`},
		{"not an AI", "hello", ErrUnknownAI, "", `position 1: "hell"`},
		{"GTIN too short", "01095060001343", ErrSyntax, "01", "value too short: 12 < 14"},
		{"bad check digit", "0109506000134353", ErrInvalid, "01", "check digit is 3, want 2"},
		{"missing separator", "010950600013435210ABC21123456789012345678", ErrInvalid, "10", "value too long: 23 > 20"},
		{"GS inside fixed", "01095060\x1d0134352", ErrInvalid, "01", "invalid character '\\x1d'"},
		{"lot without GTIN", "10ABC", ErrInvalid, "10", "requires AI (01) or (02)"},
		{"bad date", "0109506000134352" + "17261341", ErrInvalid, "17", "month 13"},
		{"duplicate", "0109506000134352" + "10A\x1d10A", ErrInvalid, "10", "appears more than once"},
		{"bracket unknown", "(01)09506000134352(235)x", ErrUnknownAI, "235", "unknown"},
		{"bracket garbage", "(01", ErrSyntax, "", `expected "(AI)" at position 1`},
		{"bracket empty value", "(01)(10)x", ErrInvalid, "01", "empty value"},
		{"bracket bad lot", "(01)09506000134352(10)a b", ErrInvalid, "10", "invalid character ' '"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseElementString(tt.in)
			if err == nil {
				t.Fatalf("ParseElementString(%q) = %v, want an error", tt.in, got)
			}
			wantError(t, err, tt.kind, tt.ai, tt.msg)
		})
	}
}
