package trace

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by the trace domain and its stores. Callers test
// them with [errors.Is]; handlers map them to HTTP statuses in one place.
var (
	ErrNotFound     = errors.New("trace: not found")
	ErrConflict     = errors.New("trace: already exists")
	ErrInvalid      = errors.New("trace: invalid")
	ErrUnauthorized = errors.New("trace: unauthorized")
	ErrForbidden    = errors.New("trace: forbidden")
	// ErrUnavailable is a store that does not answer in time, or a
	// replica that cannot take writes now: the request may be retried.
	ErrUnavailable = errors.New("trace: unavailable")
)

// FieldError reports which input field broke which rule. It wraps one of
// the sentinels (usually [ErrInvalid] or [ErrConflict]) so that both
// [errors.Is] and [errors.As] work on it.
type FieldError struct {
	Field string // JSON name or pointer of the offending field
	Msg   string // what is wrong, in words a client can act on
	Kind  error  // the sentinel this error wraps
}

// Error implements error.
func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Unwrap returns the sentinel kind so [errors.Is] matches it.
func (e *FieldError) Unwrap() error { return e.Kind }

// Invalid returns an [ErrInvalid] error about field.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...), Kind: ErrInvalid}
}

// Conflict returns an [ErrConflict] error about field.
func Conflict(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...), Kind: ErrConflict}
}
