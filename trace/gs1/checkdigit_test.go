package gs1

import (
	"errors"
	"testing"
)

// Known-good keys from GS1 and retail examples.
var (
	goodGTINs = []string{
		"09506000134352", // GTIN-14 from the GS1 General Specifications
		"00012345600012", // GTIN-14
		"4006381333931",  // GTIN-13 (EAN-13)
		"036000291452",   // GTIN-12 (UPC-A)
		"96385074",       // GTIN-8 (EAN-8)
	}
	goodSSCCs = []string{
		"106141411234567897",
		"106141412345678908",
		"006141411234567890",
	}
	goodGLNs = []string{
		"9501101020016",
		"0614141000012",
		"5412345000013",
	}
)

func TestCheckDigit(t *testing.T) {
	tests := map[string]byte{
		"0950600013435":     '2',
		"400638133393":      '1',
		"03600029145":       '2',
		"9638507":           '4',
		"10614141123456789": '7',
		"0":                 '0',
		"1":                 '7', // 1×3 = 3 → 7
	}
	for in, want := range tests {
		got, err := CheckDigit(in)
		if err != nil || got != want {
			t.Errorf("CheckDigit(%q) = %q, %v; want %q, nil", in, got, err, want)
		}
	}
	for _, in := range []string{"", "12a4", " 123", "１２"} {
		if got, err := CheckDigit(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckDigit(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestKnownGoodKeys(t *testing.T) {
	for _, g := range goodGTINs {
		got, err := ValidateGTIN(g)
		if err != nil {
			t.Errorf("ValidateGTIN(%q) error: %v", g, err)
			continue
		}
		if want := "00000000000000"[:14-len(g)] + g; got != want {
			t.Errorf("ValidateGTIN(%q) = %q, want %q", g, got, want)
		}
		if !ValidCheckDigit(g) {
			t.Errorf("ValidCheckDigit(%q) = false, want true", g)
		}
	}
	for _, s := range goodSSCCs {
		if err := ValidateSSCC(s); err != nil {
			t.Errorf("ValidateSSCC(%q) error: %v", s, err)
		}
	}
	for _, g := range goodGLNs {
		if err := ValidateGLN(g); err != nil {
			t.Errorf("ValidateGLN(%q) error: %v", g, err)
		}
	}
}

// TestEveryCorruptionRejected changes each digit of each known-good key to
// every other digit; the mod-10 check catches every single substitution.
func TestEveryCorruptionRejected(t *testing.T) {
	validators := []struct {
		name  string
		keys  []string
		check func(string) error
	}{
		{"GTIN", goodGTINs, func(s string) error { _, err := ValidateGTIN(s); return err }},
		{"SSCC", goodSSCCs, ValidateSSCC},
		{"GLN", goodGLNs, ValidateGLN},
	}
	for _, v := range validators {
		for _, key := range v.keys {
			for i := range len(key) {
				for d := byte('0'); d <= '9'; d++ {
					if d == key[i] {
						continue
					}
					bad := key[:i] + string(d) + key[i+1:]
					if err := v.check(bad); !errors.Is(err, ErrInvalid) {
						t.Errorf("%s %q (corrupted %q at %d): got %v, want ErrInvalid", v.name, bad, key, i+1, err)
					}
					if ValidCheckDigit(bad) {
						t.Errorf("ValidCheckDigit(%q) = true, want false", bad)
					}
				}
			}
		}
	}
}

func TestValidateGTINErrors(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"", "GTIN must have 8, 12, 13 or 14 digits, got 0 characters"},
		{"9506000134353", "GTIN: check digit is 3, want 2"},
		{"0950600013435", "GTIN: check digit is 5, want 9"},
		{"095060001343521", "got 15 characters"},
		{"0950600013435X", "GTIN: invalid character 'X' at position 14"},
		{"1234567", "got 7 characters"},
		{"09506000-34352", "invalid character '-'"},
	}
	for _, tt := range tests {
		_, err := ValidateGTIN(tt.in)
		wantError(t, err, ErrInvalid, "", tt.msg)
	}
}

func TestValidateGLNAndSSCCErrors(t *testing.T) {
	wantError(t, ValidateGLN("950110102001"), ErrInvalid, "", "GLN must have 13 digits, got 12")
	wantError(t, ValidateGLN("9501101020017"), ErrInvalid, "", "GLN: check digit is 7, want 6")
	wantError(t, ValidateSSCC("10614141123456789"), ErrInvalid, "", "SSCC must have 18 digits")
	wantError(t, ValidateSSCC("106141411234567890"), ErrInvalid, "", "SSCC: check digit is 0, want 7")
}

func TestValidCheckDigit(t *testing.T) {
	tests := map[string]bool{
		"":               false,
		"0":              false,
		"00":             true,
		"17":             true,
		"18":             false,
		"09506000134352": true,
		"0950600013435a": false,
		"-9506000134352": false,
	}
	for in, want := range tests {
		if got := ValidCheckDigit(in); got != want {
			t.Errorf("ValidCheckDigit(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestValidateCompanyPrefix(t *testing.T) {
	for _, ok := range []string{"0614", "0614141", "950600013", "061414112345"} {
		if err := ValidateCompanyPrefix(ok); err != nil {
			t.Errorf("ValidateCompanyPrefix(%q) error: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "061", "0614141123456", "06141A1", " 0614141"} {
		if err := ValidateCompanyPrefix(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateCompanyPrefix(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestNewSSCC(t *testing.T) {
	tests := []struct {
		ext       byte
		gcp, ser  string
		want, msg string
	}{
		{1, "0614141", "123456789", "106141411234567897", ""},
		{'1', "0614141", "234567890", "106141412345678908", ""},
		{0, "0614141", "123456789", "006141411234567890", ""},
		{3, "9506000", "42", "395060000000000429", ""},
		{9, "061414112345", "1", "906141411234500012", ""},
		{0, "0614", "999999999999", "006149999999999993", ""},
		{10, "0614141", "1", "", "extension digit must be 0-9"},
		{'a', "0614141", "1", "", "extension digit must be 0-9"},
		{1, "061", "1", "", "company prefix must have 4 to 12 digits"},
		{1, "0614141", "", "", "empty serial reference"},
		{1, "0614141", "12x", "", "invalid character 'x'"},
		{1, "0614141", "1234567890", "", "serial reference too long for a 7-digit company prefix: 10 > 9 digits"},
	}
	for _, tt := range tests {
		got, err := NewSSCC(tt.ext, tt.gcp, tt.ser)
		if tt.msg != "" {
			wantError(t, err, ErrInvalid, "", tt.msg)
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NewSSCC(%d, %q, %q) = %q, %v; want %q, nil", tt.ext, tt.gcp, tt.ser, got, err, tt.want)
			continue
		}
		if err := ValidateSSCC(got); err != nil {
			t.Errorf("NewSSCC(%d, %q, %q) = %q, which does not validate: %v", tt.ext, tt.gcp, tt.ser, got, err)
		}
	}
}

// A wrong check digit is ErrInvalid and, more precisely, ErrCheckDigit,
// whichever way the key arrives; other invalid values are not.
func TestErrCheckDigit(t *testing.T) {
	for name, err := range map[string]error{
		"ValidateGTIN":   func() error { _, err := ValidateGTIN("09506000134353"); return err }(),
		"Digital Link":   func() error { _, err := ParseDigitalLink("https://id.example/01/09506000134353"); return err }(),
		"element string": func() error { _, err := ParseElementString("(01)09506000134353"); return err }(),
	} {
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, ErrCheckDigit) {
			t.Errorf("%s: %v is not ErrInvalid and ErrCheckDigit", name, err)
		}
	}
	if _, err := ValidateGTIN("0950600013435" + "X"); !errors.Is(err, ErrInvalid) || errors.Is(err, ErrCheckDigit) {
		t.Errorf("a bad character: %v", err)
	}
}
