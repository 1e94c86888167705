// Package uscc validates the Chinese unified social credit code
// (统一社会信用代码) defined by GB 32100-2015.
//
// A code has 18 characters drawn from "0123456789ABCDEFGHJKLMNPQRTUWXY"
// (the letters I, O, S, V and Z are never used):
//
//	position 1      registration authority code (1, 5, 9, Y, …)
//	position 2      entity type code
//	positions 3-8   administrative division code (digits)
//	positions 9-17  organization code
//	position 18     check character
//
// The check character is computed modulo 31 over positions 1-17; see
// [CheckChar].
package uscc

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is matched, through [errors.Is], by every error that
// [Validate] and [CheckChar] return.
var ErrInvalid = errors.New("uscc: invalid code")

// Length is the number of characters in a unified social credit code.
const Length = 18

// Charset lists the characters a code may contain; a character's index in
// Charset is its value in the check character computation.
const Charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// weights are 3^(i) mod 31 for positions 1..17, as listed in GB 32100-2015.
var weights = [Length - 1]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// invalidError carries a message that already reads well on its own while
// still matching ErrInvalid.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return "uscc: " + e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// value returns c's index in Charset, or -1.
func value(c rune) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c > 'Z' || c < 'A':
		return -1
	}
	return strings.IndexRune(Charset, c)
}

func badChar(r rune, pos int) error {
	if strings.ContainsRune("IOSVZ", r) {
		return invalidf("invalid character %q at position %d (I, O, S, V and Z are not used)", r, pos)
	}
	return invalidf("invalid character %q at position %d", r, pos)
}

// CheckChar returns the check character for the first 17 characters of a
// code, which must already be upper case. The check character is
// Charset[(31 - Σ value(c_i)·w_i mod 31) mod 31].
func CheckChar(first17 string) (byte, error) {
	if n := utf8.RuneCountInString(first17); n != Length-1 {
		return 0, invalidf("need %d characters to compute the check character, got %d", Length-1, n)
	}
	sum := 0
	pos := 0
	for _, r := range first17 {
		v := value(r)
		if v < 0 {
			return 0, badChar(r, pos+1)
		}
		sum += v * weights[pos]
		pos++
	}
	return Charset[(31-sum%31)%31], nil
}

// Validate trims surrounding white space from s, upper-cases it and checks
// its length, character set, administrative division code and check
// character. It returns the normalized code.
func Validate(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if n := utf8.RuneCountInString(s); n != Length {
		return "", invalidf("must be %d characters, got %d", Length, n)
	}
	pos := 0
	for _, r := range s {
		pos++
		if value(r) < 0 {
			return "", badChar(r, pos)
		}
	}
	// Every rune was in Charset, so s is ASCII from here on.
	for i := 2; i < 8; i++ {
		if c := s[i]; c < '0' || c > '9' {
			return "", invalidf("administrative division code (positions 3-8) must be digits, got %q at position %d", c, i+1)
		}
	}
	want, err := CheckChar(s[:Length-1])
	if err != nil {
		return "", err
	}
	if got := s[Length-1]; got != want {
		return "", invalidf("check character is %q, want %q", got, want)
	}
	return s, nil
}
