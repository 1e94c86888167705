package gs1

import (
	"strconv"
	"strings"
)

// isDigits reports whether s is non-empty and all ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// nonDigit returns the index of the first byte of s that is not an ASCII
// digit, or -1.
func nonDigit(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return i
		}
	}
	return -1
}

// checkDigit computes the mod-10 check digit of the digits in data, which
// the caller has already checked.
func checkDigit(data string) byte {
	sum := 0
	weight := 3 // the rightmost data digit has weight 3
	for i := len(data) - 1; i >= 0; i-- {
		sum += int(data[i]-'0') * weight
		weight = 4 - weight
	}
	return byte('0' + (10-sum%10)%10)
}

// CheckDigit returns the GS1 mod-10 check digit, as an ASCII digit '0'–'9',
// for digits, the data digits without the check digit. Weights 3, 1, 3, 1, …
// apply from the rightmost data digit; the check digit is
// (10 − sum mod 10) mod 10.
func CheckDigit(digits string) (byte, error) {
	if digits == "" {
		return 0, invalid("", "check digit: no digits")
	}
	if i := nonDigit(digits); i >= 0 {
		return 0, invalid("", "check digit: invalid character %s at position %d", charAt(digits, i), i+1)
	}
	return checkDigit(digits), nil
}

// ValidCheckDigit reports whether s is at least two ASCII digits whose last
// digit is the GS1 check digit of the others. It fits GTINs, GLNs, SSCCs and
// the other GS1 keys with a mod-10 check digit.
func ValidCheckDigit(s string) bool {
	return len(s) >= 2 && isDigits(s) && checkDigit(s[:len(s)-1]) == s[len(s)-1]
}

// checkKey validates a numeric key with a check digit whose length is one
// of lengths.
func checkKey(name, s string, lengths ...int) *Error {
	ok := false
	for _, n := range lengths {
		ok = ok || len(s) == n
	}
	if !ok {
		return invalid("", "%s must have %s digits, got %d characters", name, orList(lengths), len(s))
	}
	if i := nonDigit(s); i >= 0 {
		return invalid("", "%s: invalid character %s at position %d", name, charAt(s, i), i+1)
	}
	if got, want := s[len(s)-1], checkDigit(s[:len(s)-1]); got != want {
		return wrongCheckDigit("", name+": ", got, want)
	}
	return nil
}

func orList(ns []int) string {
	var b strings.Builder
	for i, n := range ns {
		switch {
		case i == 0:
		case i == len(ns)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// padGTIN left-pads a GTIN-8, -12 or -13 with zeros to 14 digits.
func padGTIN(s string) string {
	if len(s) >= 14 {
		return s
	}
	return "00000000000000"[:14-len(s)] + s
}

// ValidateGTIN checks that s is a GTIN-8, GTIN-12, GTIN-13 or GTIN-14: only
// digits, with a correct check digit. It returns the GTIN left-padded with
// zeros to 14 digits, the form AI (01) carries.
func ValidateGTIN(s string) (gtin14 string, err error) {
	if e := checkKey("GTIN", s, 8, 12, 13, 14); e != nil {
		return "", e
	}
	return padGTIN(s), nil
}

// ValidateGLN checks that s is a 13-digit Global Location Number with a
// correct check digit.
func ValidateGLN(s string) error {
	if e := checkKey("GLN", s, 13); e != nil {
		return e
	}
	return nil
}

// ValidateSSCC checks that s is an 18-digit Serial Shipping Container Code
// with a correct check digit.
func ValidateSSCC(s string) error {
	if e := checkKey("SSCC", s, 18); e != nil {
		return e
	}
	return nil
}

// ValidateCompanyPrefix checks that p is a plausible GS1 Company Prefix:
// 4 to 12 digits. Whether GS1 actually allocated it is not checked.
func ValidateCompanyPrefix(p string) error {
	if len(p) < 4 || len(p) > 12 {
		return invalid("", "company prefix must have 4 to 12 digits, got %d characters", len(p))
	}
	if i := nonDigit(p); i >= 0 {
		return invalid("", "company prefix: invalid character %s at position %d", charAt(p, i), i+1)
	}
	return nil
}

// NewSSCC builds an 18-digit SSCC: the extension digit, the GS1 Company
// Prefix, the serial reference left-padded with zeros to fill 17 digits,
// and the check digit. extension may be given as a number 0–9 or as an
// ASCII digit '0'–'9'. The company prefix and serial reference together
// must not exceed 16 digits.
func NewSSCC(extension byte, companyPrefix, serialRef string) (string, error) {
	if extension <= 9 {
		extension += '0'
	}
	if extension < '0' || extension > '9' {
		return "", invalid("", "SSCC: extension digit must be 0-9, got %q", extension)
	}
	if err := ValidateCompanyPrefix(companyPrefix); err != nil {
		return "", err
	}
	if serialRef == "" {
		return "", invalid("", "SSCC: empty serial reference")
	}
	if i := nonDigit(serialRef); i >= 0 {
		return "", invalid("", "SSCC: serial reference: invalid character %s at position %d", charAt(serialRef, i), i+1)
	}
	room := 16 - len(companyPrefix)
	if len(serialRef) > room {
		return "", invalid("", "SSCC: serial reference too long for a %d-digit company prefix: %d > %d digits", len(companyPrefix), len(serialRef), room)
	}
	var b [18]byte
	b[0] = extension
	n := 1 + copy(b[1:], companyPrefix)
	for range room - len(serialRef) {
		b[n] = '0'
		n++
	}
	n += copy(b[n:], serialRef)
	b[n] = checkDigit(string(b[:n]))
	return string(b[:]), nil
}
