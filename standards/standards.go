// Package standards keeps the compliance facts about market entities and
// their products: tip-offs from the public and their handling (and, as the
// service grows, standard self-declarations, spot checks and mandatory
// incident reports). It reads the register through trace; trace never
// imports it, and asks it questions only through interfaces cmd wires.
package standards

import (
	"errors"
	"fmt"

	"tracesvc/trace"
)

// Sentinel errors returned by the standards domain and its stores. Callers
// test them with [errors.Is]; handlers map them to HTTP statuses.
var (
	ErrNotFound = errors.New("standards: not found")
	ErrConflict = errors.New("standards: already exists")
	ErrInvalid  = errors.New("standards: invalid")
	// ErrUnavailable is a store that does not answer in time: the request
	// may be retried.
	ErrUnavailable = errors.New("standards: unavailable")
)

// invalid returns an [ErrInvalid] error about field.
func invalid(field, format string, args ...any) error {
	return &trace.FieldError{Field: field, Msg: fmt.Sprintf(format, args...), Kind: ErrInvalid}
}

// checkText validates a text field as [trace.CheckText] does, as this
// domain's invalid error.
func checkText(field, s string, required bool, max int) error {
	return trace.CheckTextAs(ErrInvalid, field, s, required, max)
}

// isNotFound reports whether err is a not-found of this domain or of trace.
func isNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, trace.ErrNotFound)
}

// isConflict reports whether err is a conflict of this domain.
func isConflict(err error) bool { return errors.Is(err, ErrConflict) }
