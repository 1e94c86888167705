package gs1

// ValidateValue checks one value against the format of AI ai (length,
// character set, check digit, date), without the requisites that apply to
// a whole element string. It returns an [*Error] naming the AI.
func ValidateValue(ai, v string) error {
	a := lookupAI(ai)
	if a == nil {
		return unknownAI(ai, "")
	}
	if err := checkValue(a, v); err != nil {
		return err
	}
	return nil
}
