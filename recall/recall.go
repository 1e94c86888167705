// Package recall drives recalls: where each entity wants recall notices
// delivered (its endpoint, with a signing secret), and, as the service
// grows, recall campaigns scoped from the trace graph. It reads the
// register through trace; trace never imports it, and asks it questions
// only through interfaces cmd wires.
package recall

import (
	"errors"
	"fmt"

	"tracesvc/trace"
)

// Sentinel errors returned by the recall domain and its stores. Callers
// test them with [errors.Is]; handlers map them to HTTP statuses.
var (
	ErrNotFound = errors.New("recall: not found")
	ErrConflict = errors.New("recall: already exists")
	ErrInvalid  = errors.New("recall: invalid")
	// ErrUnavailable is a store that does not answer in time: the request
	// may be retried.
	ErrUnavailable = errors.New("recall: unavailable")
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

// isConflict reports whether err is a conflict of this domain.
func isConflict(err error) bool { return errors.Is(err, ErrConflict) }
