package uscc

import (
	"errors"
	"strings"
	"testing"
)

// validCodes validate under GB 32100-2015. The first is checked by hand:
//
//	value: 9 1 3 5 0  1  0  0  M=21 0  0  0  1 0  0  Y=30 4
//	weight:1 3 9 27 19 26 16 17 20  29 25 13 8 24 10 30   28
//	sum = 9+3+27+135+26+420+8+900+112 = 1640; 1640 mod 31 = 28; 31-28 = 3.
var validCodes = []string{
	"91350100M000100Y43",
	"91110000600037341L",
	"914403001922038216",
	"91440300708461136T",
	"91110108551385082Q",
	"91110000802100433B",
}

func TestValidateValid(t *testing.T) {
	for _, code := range validCodes {
		got, err := Validate(code)
		if err != nil {
			t.Errorf("Validate(%q) error: %v", code, err)
			continue
		}
		if got != code {
			t.Errorf("Validate(%q) = %q, want %q", code, got, code)
		}
	}
}

func TestValidateNormalizes(t *testing.T) {
	tests := map[string]string{
		"  91350100m000100y43\t": "91350100M000100Y43",
		"91110000600037341l":     "91110000600037341L",
		"\n914403001922038216 ":  "914403001922038216",
	}
	for in, want := range tests {
		got, err := Validate(in)
		if err != nil || got != want {
			t.Errorf("Validate(%q) = %q, %v; want %q, nil", in, got, err, want)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"", "uscc: must be 18 characters, got 0"},
		{"91350100M000100Y4", "uscc: must be 18 characters, got 17"},
		{"91350100M000100Y431", "uscc: must be 18 characters, got 19"},
		{"9135I100M000100Y43", "uscc: invalid character 'I' at position 5 (I, O, S, V and Z are not used)"},
		{"91350100M000100O43", "uscc: invalid character 'O' at position 16 (I, O, S, V and Z are not used)"},
		{"91350100M0001-0Y43", "uscc: invalid character '-' at position 14"},
		{"913501００M000100Y43", "uscc: invalid character '０' at position 7"},
		{"91350100M000100Y 3", "uscc: invalid character ' ' at position 17"},
		{"913A0100M000100Y43", "uscc: administrative division code (positions 3-8) must be digits, got 'A' at position 4"},
		{"91350100M000100Y4X", "uscc: check character is 'X', want '3'"},
	}
	for _, tt := range tests {
		_, err := Validate(tt.in)
		if err == nil {
			t.Errorf("Validate(%q) succeeded, want error %q", tt.in, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Validate(%q) error = %q, want %q", tt.in, err, tt.want)
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%q) error %v does not match ErrInvalid", tt.in, err)
		}
	}
}

func TestCheckChar(t *testing.T) {
	for _, code := range validCodes {
		got, err := CheckChar(code[:17])
		if err != nil || got != code[17] {
			t.Errorf("CheckChar(%q) = %q, %v; want %q, nil", code[:17], got, err, code[17])
		}
	}
	for _, in := range []string{"", "91350100M000100Y", "91350100M000100Y43", "9135010OM000100Y4", "91350100m000100Y4"} {
		if c, err := CheckChar(in); err == nil || !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckChar(%q) = %q, %v; want ErrInvalid", in, c, err)
		}
	}
}

// TestEverySubstitutionRejected replaces each character of each valid code
// by every other character of the charset. The modulus 31 is prime and no
// weight is a multiple of it, so the check character catches every single
// substitution.
func TestEverySubstitutionRejected(t *testing.T) {
	for _, code := range validCodes {
		for i := range Length {
			for _, r := range Charset {
				if byte(r) == code[i] {
					continue
				}
				bad := code[:i] + string(r) + code[i+1:]
				if got, err := Validate(bad); err == nil {
					t.Errorf("Validate(%q) = %q, nil; want an error (corrupted %q at position %d)", bad, got, code, i+1)
				}
			}
		}
	}
}

// TestAdjacentTranspositionsRejected checks the other common keying error.
func TestAdjacentTranspositionsRejected(t *testing.T) {
	for _, code := range validCodes {
		for i := 0; i+1 < Length; i++ {
			if code[i] == code[i+1] {
				continue
			}
			b := []byte(code)
			b[i], b[i+1] = b[i+1], b[i]
			if _, err := Validate(string(b)); err == nil {
				t.Errorf("Validate(%q) accepted a transposition of %q", b, code)
			}
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, code := range validCodes {
		f.Add(code)
		f.Add(strings.ToLower(code))
	}
	f.Add("")
	f.Add(" 91350100M000100Y4X ")
	f.Add("913501００M000100Y4")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Validate(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate(%q) error %v does not match ErrInvalid", s, err)
			}
			return
		}
		if len(got) != Length {
			t.Fatalf("Validate(%q) = %q, not %d bytes", s, got, Length)
		}
		again, err := Validate(got)
		if err != nil || again != got {
			t.Fatalf("Validate(%q) = %q, %v; want %q, nil (idempotent)", got, again, err, got)
		}
	})
}
