package standards

import (
	"fmt"
	"math"
	"strconv"
)

// Comparator says how a measured value is held to a limit.
type Comparator string

// The comparators. People and documents write ≤ and ≥; the API takes
// those or "<=" and ">=" and answers with the ASCII forms.
const (
	AtMost  Comparator = "<="    // a maximum: lead ≤ 0.05 mg/kg
	AtLeast Comparator = ">="    // a minimum: protein ≥ 2.9 g/100g
	Equal   Comparator = "="     // a nominal value
	Between Comparator = "range" // min ≤ value ≤ max
)

// Limit is a bound on a measured value: one value with ≤, ≥ or =, or a
// range from Min to Max.
type Limit struct {
	Comparator Comparator `json:"comparator"`
	Value      *float64   `json:"value,omitempty"`
	Min        *float64   `json:"min,omitempty"`
	Max        *float64   `json:"max,omitempty"`
}

// check validates l and normalises its comparator; field names it in
// errors.
func (l *Limit) check(field string) error {
	switch l.Comparator {
	case "≤", "le", "max":
		l.Comparator = AtMost
	case "≥", "ge", "min":
		l.Comparator = AtLeast
	case "==", "eq":
		l.Comparator = Equal
	}
	finite := func(name string, v *float64) error {
		if v == nil {
			return invalid(field+"."+name, "is required with comparator %q", l.Comparator)
		}
		if math.IsNaN(*v) || math.IsInf(*v, 0) {
			return invalid(field+"."+name, "must be a number")
		}
		return nil
	}
	switch l.Comparator {
	case AtMost, AtLeast, Equal:
		if l.Min != nil || l.Max != nil {
			return invalid(field, "give value, not min and max, with comparator %q", l.Comparator)
		}
		return finite("value", l.Value)
	case Between:
		if l.Value != nil {
			return invalid(field, "give min and max, not value, with comparator \"range\"")
		}
		if err := finite("min", l.Min); err != nil {
			return err
		}
		if err := finite("max", l.Max); err != nil {
			return err
		}
		if *l.Min > *l.Max {
			return invalid(field+".min", "must not be above max")
		}
		return nil
	}
	return invalid(field+".comparator", "must be one of <=, >=, =, range (or ≤, ≥), got %q", l.Comparator)
}

// bounds returns the interval of values l allows.
func (l Limit) bounds() (lo, hi float64) {
	switch l.Comparator {
	case AtMost:
		return math.Inf(-1), *l.Value
	case AtLeast:
		return *l.Value, math.Inf(1)
	case Equal:
		return *l.Value, *l.Value
	}
	return *l.Min, *l.Max
}

// Allows reports whether a measured value v meets l.
func (l Limit) Allows(v float64) bool {
	lo, hi := l.bounds()
	return v >= lo && v <= hi
}

// WeakerThan reports whether l allows some value national does not: a
// higher maximum, a lower minimum, a wider range.
func (l Limit) WeakerThan(national Limit) bool {
	lo, hi := l.bounds()
	nlo, nhi := national.bounds()
	return lo < nlo || hi > nhi
}

// Expr writes l as people read it: "≤ 0.05", "2.9–3.5".
func (l Limit) Expr() string {
	f := func(v *float64) string { return strconv.FormatFloat(*v, 'f', -1, 64) }
	switch l.Comparator {
	case AtMost:
		return "≤ " + f(l.Value)
	case AtLeast:
		return "≥ " + f(l.Value)
	case Equal:
		return "= " + f(l.Value)
	case Between:
		return f(l.Min) + "–" + f(l.Max)
	}
	return string(l.Comparator)
}

// Indicator is one key technical indicator of an enterprise or group
// standard: what is measured, in which unit, the limit the product meets
// and the test method. National is the limit of the national standard the
// entity compares its own with, when it names one; an indicator weaker
// than it is flagged BelowNational, publicly.
type Indicator struct {
	Name string `json:"name"`
	Unit string `json:"unit"`
	Limit
	Method        string `json:"method,omitempty"`
	National      *Limit `json:"national,omitempty"`
	BelowNational bool   `json:"belowNationalStandard,omitempty"`
}

// check validates in and sets BelowNational; field is its place in the
// request ("standards[0].indicators[2]").
func (in *Indicator) check(field string) error {
	if err := checkText(field+".name", in.Name, true, 200); err != nil {
		return err
	}
	if err := checkText(field+".unit", in.Unit, false, 50); err != nil {
		return err
	}
	if err := checkText(field+".method", in.Method, false, 200); err != nil {
		return err
	}
	if err := in.Limit.check(field); err != nil {
		return err
	}
	in.BelowNational = false
	if in.National != nil {
		if err := in.National.check(field + ".national"); err != nil {
			return err
		}
		in.BelowNational = in.Limit.WeakerThan(*in.National)
	}
	return nil
}

// describe names the indicator and its limit for messages.
func (in Indicator) describe() string {
	return fmt.Sprintf("%s %s %s", in.Name, in.Limit.Expr(), in.Unit)
}
