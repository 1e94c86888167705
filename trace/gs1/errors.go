package gs1

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Kinds of error, wrapped by every [*Error] so callers can test them with
// [errors.Is].
var (
	// ErrSyntax reports input that cannot be split into AIs and values: a
	// malformed URI or element string.
	ErrSyntax = errors.New("gs1: syntax error")
	// ErrUnknownAI reports an application identifier missing from the table.
	ErrUnknownAI = errors.New("gs1: unknown application identifier")
	// ErrInvalid reports a value, or a combination of AIs, that breaks a GS1
	// rule: length, character set, check digit, date, requisites.
	ErrInvalid = errors.New("gs1: invalid data")
	// ErrCheckDigit reports a key whose check digit is wrong: a
	// misprinted, mistyped or made-up number. It comes with ErrInvalid.
	ErrCheckDigit = errors.New("gs1: wrong check digit")
)

// Error says which AI broke which rule.
type Error struct {
	AI   string // the offending AI, if one is known
	Msg  string // what is wrong
	Kind error  // ErrSyntax, ErrUnknownAI or ErrInvalid
	Rule error  // a finer reason within Kind, such as ErrCheckDigit, or nil
}

// Error implements error, e.g. "gs1: AI (10): value too long: 21 > 20".
func (e *Error) Error() string {
	if e.AI == "" {
		return "gs1: " + e.Msg
	}
	return "gs1: AI (" + e.AI + "): " + e.Msg
}

// Unwrap returns the kind and the rule so [errors.Is] matches them.
func (e *Error) Unwrap() []error {
	if e.Rule == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Rule}
}

func invalid(ai, format string, args ...any) *Error {
	return &Error{AI: ai, Msg: fmt.Sprintf(format, args...), Kind: ErrInvalid}
}

// wrongCheckDigit is the error of a key whose check digit is got, not want;
// what names the key when ai is not known ("GTIN: ").
func wrongCheckDigit(ai, what string, got, want byte) *Error {
	e := invalid(ai, "%scheck digit is %c, want %c", what, got, want)
	e.Rule = ErrCheckDigit
	return e
}

func syntax(ai, format string, args ...any) *Error {
	return &Error{AI: ai, Msg: fmt.Sprintf(format, args...), Kind: ErrSyntax}
}

func unknownAI(ai, where string) *Error {
	return &Error{AI: ai, Msg: "unknown application identifier" + where, Kind: ErrUnknownAI}
}

// charAt quotes the character at byte offset i of s for an error message,
// decoding UTF-8 so that non-ASCII input shows as typed.
func charAt(s string, i int) string {
	if s[i] < utf8.RuneSelf {
		return strconv.QuoteRune(rune(s[i]))
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError {
		return fmt.Sprintf("byte 0x%02X", s[i])
	}
	return strconv.QuoteRune(r)
}
