package gs1

import "strings"

// Element is one AI and its value, e.g. {AI: "10", Value: "ABC123"}.
type Element struct {
	AI    string
	Value string
}

// Elements is an ordered list of element strings. The order matters only
// for display; [Elements.Validate] and the builders do not depend on it.
type Elements []Element

// Get returns the value of the first element with the given AI.
func (e Elements) Get(ai string) (string, bool) {
	for _, el := range e {
		if el.AI == ai {
			return el.Value, true
		}
	}
	return "", false
}

// has reports whether any element's AI matches pattern (see [AI.Excludes]).
func (e Elements) has(pattern string) bool {
	for _, el := range e {
		if matchAI(pattern, el.AI) {
			return true
		}
	}
	return false
}

// Validate checks every value against its AI's format (length, character
// set, check digit, date) and then the combination: no AI twice, every
// requisite AI present, no mutually exclusive AIs. AI (01) must hold a
// 14-digit GTIN here; the builders also accept and pad GTIN-8, -12 and -13.
// The error is an [*Error] naming the first offending AI.
func (e Elements) Validate() error {
	if err := e.validate(false); err != nil {
		return err
	}
	return nil
}

// validate is Validate, optionally letting (01) and (02) hold a GTIN-8,
// -12 or -13 that the caller will pad.
func (e Elements) validate(shortGTIN bool) *Error {
	if len(e) == 0 {
		return invalid("", "no elements")
	}
	var buf [16]*AI
	defs := buf[:0]
	for i, el := range e {
		a := lookupAI(el.AI)
		if a == nil {
			return unknownAI(el.AI, "")
		}
		defs = append(defs, a)
		for _, prev := range e[:i] {
			if prev.AI == el.AI {
				return invalid(el.AI, "appears more than once")
			}
		}
		if err := checkElement(a, el.Value, shortGTIN); err != nil {
			return err
		}
	}
	for i, el := range e {
		a := defs[i]
		for _, group := range a.Requires {
			if !e.hasAny(group) {
				return invalid(el.AI, "requires %s", describeGroup(group))
			}
		}
		for _, ex := range a.Excludes {
			for _, other := range e {
				if other.AI != el.AI && matchAI(ex, other.AI) {
					return invalid(el.AI, "must not be used with AI (%s)", other.AI)
				}
			}
		}
	}
	return nil
}

func (e Elements) hasAny(group []string) bool {
	for _, p := range group {
		if e.has(p) {
			return true
		}
	}
	return false
}

func describeGroup(group []string) string {
	var b strings.Builder
	b.WriteString("AI ")
	for i, c := range group {
		if i > 0 {
			if i == len(group)-1 {
				b.WriteString(" or ")
			} else {
				b.WriteString(", ")
			}
		}
		b.WriteString("(" + c + ")")
	}
	return b.String()
}

func isGTINAI(ai string) bool { return ai == "01" || ai == "02" }

// isShortGTIN reports whether v looks like a GTIN-8, -12 or -13.
func isShortGTIN(v string) bool {
	return (len(v) == 8 || len(v) == 12 || len(v) == 13) && isDigits(v)
}

// checkElement checks v as a value of a, optionally letting (01) and (02)
// hold a GTIN-8, -12 or -13.
func checkElement(a *AI, v string, shortGTIN bool) *Error {
	if shortGTIN && isGTINAI(a.Code) && isShortGTIN(v) {
		if got, want := v[len(v)-1], checkDigit(v[:len(v)-1]); got != want {
			return wrongCheckDigit(a.Code, "", got, want)
		}
		return nil
	}
	return checkValue(a, v)
}

// checkValue checks v against a's format.
func checkValue(a *AI, v string) *Error {
	switch {
	case v == "":
		return invalid(a.Code, "empty value")
	case len(v) > a.MaxLen:
		return invalid(a.Code, "value too long: %d > %d", len(v), a.MaxLen)
	case len(v) < a.MinLen:
		return invalid(a.Code, "value too short: %d < %d", len(v), a.MinLen)
	}
	for i := 0; i < len(v); i++ {
		if !a.Charset.Contains(v[i]) {
			return invalid(a.Code, "invalid character %s at position %d", charAt(v, i), i+1)
		}
	}
	if a.CheckDigit {
		if got, want := v[len(v)-1], checkDigit(v[:len(v)-1]); got != want {
			return wrongCheckDigit(a.Code, "", got, want)
		}
	}
	if a.Date {
		if msg := checkDate(v, a.DayZero); msg != "" {
			return invalid(a.Code, "invalid date %s: %s", v, msg)
		}
	}
	if a.NoLeadingZero && v[0] == '0' {
		return invalid(a.Code, "value must not start with 0")
	}
	return nil
}

// checkDate checks a six-digit YYMMDD date and returns what is wrong, or
// "". Years divisible by 4 are leap years, which is right for every year
// the GS1 century rule maps YY to until 2050.
func checkDate(v string, dayZero bool) string {
	yy := int(v[0]-'0')*10 + int(v[1]-'0')
	mm := int(v[2]-'0')*10 + int(v[3]-'0')
	dd := int(v[4]-'0')*10 + int(v[5]-'0')
	if mm < 1 || mm > 12 {
		return "month " + v[2:4] + " out of range"
	}
	if dd == 0 {
		if dayZero {
			return ""
		}
		return "day 00 not allowed for this AI"
	}
	days := 31
	switch mm {
	case 4, 6, 9, 11:
		days = 30
	case 2:
		days = 28
		if yy%4 == 0 {
			days = 29
		}
	}
	if dd > days {
		return "day " + v[4:6] + " out of range for month " + v[2:4]
	}
	return ""
}
