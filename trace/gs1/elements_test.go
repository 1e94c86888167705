package gs1

import "testing"

const gtin = "09506000134352"

func TestValidateOK(t *testing.T) {
	tests := map[string]Elements{
		"GTIN only":          {{"01", gtin}},
		"GTIN lot serial":    {{"01", gtin}, {"10", "ABC123"}, {"21", "12345"}},
		"order irrelevant":   {{"21", "X"}, {"17", "261231"}, {"01", gtin}},
		"lot with set 82":    {{"01", gtin}, {"10", `!"%&'()*+,-./:;<=>?_`}},
		"lot of 20":          {{"01", gtin}, {"10", "12345678901234567890"}},
		"day 00":             {{"01", gtin}, {"17", "261200"}},
		"leap day":           {{"01", gtin}, {"17", "280229"}},
		"leap day 2000":      {{"01", gtin}, {"15", "000229"}},
		"all dates":          {{"01", gtin}, {"11", "250101"}, {"13", "250102"}, {"15", "260131"}, {"16", "260130"}, {"17", "261231"}},
		"SSCC":               {{"00", "106141411234567897"}},
		"SSCC content count": {{"00", "106141411234567897"}, {"02", gtin}, {"37", "24"}},
		"GLN extension":      {{"414", "9501101020016"}, {"254", "A1"}},
		"CPV":                {{"01", gtin}, {"22", "2A"}},
		"net weight":         {{"01", gtin}, {"3103", "000500"}},
		"two measures":       {{"01", gtin}, {"3103", "000500"}, {"3202", "001100"}},
		"CPID":               {{"8010", "#-/0AZ"}, {"8011", "10"}},
		"GSRN":               {{"8018", "061414100000000007"}, {"8019", "1"}},
		"internal":           {{"01", gtin}, {"91", "anything"}, {"99", "x"}},
		"origin":             {{"01", gtin}, {"422", "156"}},
		"first freeze":       {{"01", gtin}, {"7006", "260101"}},
	}
	for name, e := range tests {
		if err := e.Validate(); err != nil {
			t.Errorf("%s: %v.Validate() = %v", name, e, err)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name    string
		e       Elements
		kind    error
		ai, msg string
	}{
		{"empty", Elements{}, ErrInvalid, "", "no elements"},
		{"unknown AI", Elements{{"01", gtin}, {"999", "x"}}, ErrUnknownAI, "999", "unknown application identifier"},
		{"bad GTIN check", Elements{{"01", "09506000134353"}}, ErrInvalid, "01", "check digit is 3, want 2"},
		{"GTIN-13 not padded", Elements{{"01", "4006381333931"}}, ErrInvalid, "01", "value too short: 13 < 14"},
		{"GTIN letters", Elements{{"01", "0950600013435A"}}, ErrInvalid, "01", "invalid character 'A' at position 14"},
		{"lot too long", Elements{{"01", gtin}, {"10", "123456789012345678901"}}, ErrInvalid, "10", "value too long: 21 > 20"},
		{"lot empty", Elements{{"01", gtin}, {"10", ""}}, ErrInvalid, "10", "empty value"},
		{"lot bad char", Elements{{"01", gtin}, {"10", "AB#C"}}, ErrInvalid, "10", "invalid character '#' at position 3"},
		{"lot space", Elements{{"01", gtin}, {"10", "AB C"}}, ErrInvalid, "10", "invalid character ' ' at position 3"},
		{"lot non-ASCII", Elements{{"01", gtin}, {"10", "批号"}}, ErrInvalid, "10", "invalid character '批' at position 1"},
		{"lot without GTIN", Elements{{"10", "ABC"}}, ErrInvalid, "10", "requires AI (01) or (02)"},
		{"serial without GTIN", Elements{{"00", "106141411234567897"}, {"21", "1"}}, ErrInvalid, "21", "requires AI (01)"},
		{"CPV with content", Elements{{"00", "106141411234567897"}, {"02", gtin}, {"37", "1"}, {"22", "x"}}, ErrInvalid, "22", "requires AI (01)"},
		{"content without count", Elements{{"00", "106141411234567897"}, {"02", gtin}}, ErrInvalid, "02", "requires AI (37)"},
		{"count without SSCC", Elements{{"02", gtin}, {"37", "5"}}, ErrInvalid, "37", "requires AI (00)"},
		{"GTIN and content", Elements{{"00", "106141411234567897"}, {"01", gtin}, {"02", gtin}, {"37", "5"}}, ErrInvalid, "01", "must not be used with AI (02)"},
		{"duplicate", Elements{{"01", gtin}, {"10", "A"}, {"10", "A"}}, ErrInvalid, "10", "appears more than once"},
		{"same measure twice", Elements{{"01", gtin}, {"3103", "000500"}, {"3102", "005000"}}, ErrInvalid, "3103", "must not be used with AI (3102)"},
		{"month 13", Elements{{"01", gtin}, {"17", "261341"}}, ErrInvalid, "17", "invalid date 261341: month 13 out of range"},
		{"month 00", Elements{{"01", gtin}, {"17", "260010"}}, ErrInvalid, "17", "month 00 out of range"},
		{"day 32", Elements{{"01", gtin}, {"17", "260132"}}, ErrInvalid, "17", "day 32 out of range for month 01"},
		{"April 31", Elements{{"01", gtin}, {"11", "260431"}}, ErrInvalid, "11", "day 31 out of range for month 04"},
		{"Feb 29 non-leap", Elements{{"01", gtin}, {"17", "270229"}}, ErrInvalid, "17", "day 29 out of range for month 02"},
		{"Feb 30 leap", Elements{{"01", gtin}, {"17", "280230"}}, ErrInvalid, "17", "day 30 out of range"},
		{"date too short", Elements{{"01", gtin}, {"17", "26123"}}, ErrInvalid, "17", "value too short: 5 < 6"},
		{"date letters", Elements{{"01", gtin}, {"17", "26I231"}}, ErrInvalid, "17", "invalid character 'I'"},
		{"day 00 not allowed", Elements{{"01", gtin}, {"7006", "260100"}}, ErrInvalid, "7006", "day 00 not allowed"},
		{"GLN check", Elements{{"414", "9501101020017"}}, ErrInvalid, "414", "check digit is 7, want 6"},
		{"GLN extension alone", Elements{{"01", gtin}, {"254", "A"}}, ErrInvalid, "254", "requires AI (414)"},
		{"CPID charset", Elements{{"8010", "abc"}}, ErrInvalid, "8010", "invalid character 'a'"},
		{"CPID serial zero", Elements{{"8010", "A"}, {"8011", "012"}}, ErrInvalid, "8011", "must not start with 0"},
		{"GSRN both", Elements{{"8017", "061414100000000007"}, {"8018", "061414100000000007"}}, ErrInvalid, "8017", "must not be used with AI (8018)"},
		{"secondary serial", Elements{{"01", gtin}, {"250", "x"}}, ErrInvalid, "250", "requires AI (21)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, tt.e.Validate(), tt.kind, tt.ai, tt.msg)
		})
	}
}

func TestErrorString(t *testing.T) {
	err := Elements{{"01", gtin}, {"10", "123456789012345678901"}}.Validate()
	if got, want := err.Error(), "gs1: AI (10): value too long: 21 > 20"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := (&Error{Msg: "x", Kind: ErrSyntax}).Error(), "gs1: x"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestGet(t *testing.T) {
	e := Elements{{"01", gtin}, {"10", "A"}}
	if v, ok := e.Get("10"); !ok || v != "A" {
		t.Errorf("Get(\"10\") = %q, %v; want \"A\", true", v, ok)
	}
	if v, ok := e.Get("21"); ok || v != "" {
		t.Errorf("Get(\"21\") = %q, %v; want \"\", false", v, ok)
	}
}
