package epcis

import (
	"errors"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every [*Error], so callers can test any error
// from this package with errors.Is(err, epcis.ErrInvalid).
var ErrInvalid = errors.New("epcis: invalid")

// Error is one broken rule, located by a JSON pointer.
type Error struct {
	// Pointer is the RFC 6901 JSON pointer of the offending value, relative
	// to the event for [ParseEvent] ("/quantityList/0/quantity") and to the
	// document for [DecodeDocument] ("/epcisBody/eventList").
	Pointer string
	// Rule is a short stable identifier of the rule, such as
	// "eventTime.required", for clients and tests to match on.
	Rule string
	// Message says what is wrong and cites the clause of the standard,
	// e.g. "EPCIS 2.0 §7.4.1: eventTime is required".
	Message string
}

// Error implements error: "epcis: /eventTime: EPCIS 2.0 §7.4.1: eventTime
// is required".
func (e *Error) Error() string {
	p := e.Pointer
	if p == "" {
		p = "/"
	}
	return "epcis: " + p + ": " + e.Message
}

// Unwrap returns [ErrInvalid].
func (e *Error) Unwrap() error { return ErrInvalid }

// Errors is every rule an event breaks, in the order they were found.
type Errors []*Error

// Error implements error, listing the first few errors.
func (es Errors) Error() string {
	switch len(es) {
	case 0:
		return "epcis: no errors"
	case 1:
		return es[0].Error()
	}
	var b strings.Builder
	b.WriteString("epcis: ")
	b.WriteString(strconv.Itoa(len(es)))
	b.WriteString(" errors: ")
	const show = 5
	for i, e := range es {
		if i == show {
			b.WriteString("; …")
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		p := e.Pointer
		if p == "" {
			p = "/"
		}
		b.WriteString(p)
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap returns the errors, so that errors.As finds the first [*Error]
// and errors.Is matches [ErrInvalid].
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Prefix returns copies of the errors with prefix put in front of each
// pointer, e.g. "/epcisBody/eventList/7" to locate an event's errors in
// its document.
func (es Errors) Prefix(prefix string) Errors {
	out := make(Errors, len(es))
	for i, e := range es {
		c := *e
		c.Pointer = prefix + c.Pointer
		out[i] = &c
	}
	return out
}

// pointerToken escapes a member name for use in a JSON pointer (RFC 6901).
func pointerToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
