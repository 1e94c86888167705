package label

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every [*Error]: the caller asked for a symbol or
// sheet that cannot be drawn.
var ErrInvalid = errors.New("label: invalid")

// Error says which input field is wrong and why, so that an HTTP handler
// can answer 400 and name the field.
//
// Field is the field's name in lowerCamelCase, as JSON and query
// parameters spell it: "symbology", "format", "size", "uri" or "elements"
// for a [Spec]; "columns", "rows", "labelWidthMm", "labelHeightMm",
// "marginMm", "columnGapMm", "rowGapMm" or "fontPath" for a [Layout]; and
// "items" or a field of one item, e.g. "items[12].uri" or
// "items[3].expiry", for [Sheet].
type Error struct {
	Field string // the offending field
	Msg   string // what is wrong with it
	Err   error  // the underlying error, e.g. a *gs1.Error, if any
}

// Error implements error, e.g. "label: size: 5000 px is out of range:
// want 0 (default) to 4096".
func (e *Error) Error() string {
	return "label: " + e.Field + ": " + e.Msg
}

// Unwrap returns [ErrInvalid] and the underlying error, if any, so that
// both errors.Is(err, label.ErrInvalid) and, for bad GS1 data,
// errors.Is(err, gs1.ErrInvalid) hold.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalid, e.Err}
	}
	return []error{ErrInvalid}
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
}
