package gs1

import (
	"slices"
	"strings"
	"testing"
)

func TestCharsets(t *testing.T) {
	tests := []struct {
		c     Charset
		chars string
		size  int
	}{
		{Numeric, "0123456789", 10},
		{CSet82, cset82Chars, 82},
		{CSet39, cset39Chars, 39},
		{CSet64, cset64Chars, 65},
	}
	for _, tt := range tests {
		n := 0
		for b := range 256 {
			in := tt.c.Contains(byte(b))
			if in {
				n++
			}
			if want := strings.IndexByte(tt.chars, byte(b)) >= 0; in != want {
				t.Errorf("%v.Contains(%q) = %v, want %v", tt.c, byte(b), in, want)
			}
		}
		if n != tt.size {
			t.Errorf("%v has %d characters, want %d", tt.c, n, tt.size)
		}
	}
	for _, c := range `#$@[\]^{|}~ ` + "`\x1d\x00\xff" {
		if CSet82.Contains(byte(c)) {
			t.Errorf("CSet82 contains %q", c)
		}
	}
}

func TestRequiredAIsPresent(t *testing.T) {
	tests := []struct {
		code, format         string
		predefined, csum, dt bool
	}{
		{"00", "N18", true, true, false},
		{"01", "N14", true, true, false},
		{"02", "N14", true, true, false},
		{"10", "X..20", false, false, false},
		{"11", "N6", true, false, true},
		{"13", "N6", true, false, true},
		{"15", "N6", true, false, true},
		{"17", "N6", true, false, true},
		{"21", "X..20", false, false, false},
		{"22", "X..20", false, false, false},
		{"414", "N13", true, true, false},
		{"417", "N13", true, true, false},
		{"8010", "Y..30", false, false, false},
	}
	for _, tt := range tests {
		a, ok := LookupAI(tt.code)
		if !ok {
			t.Errorf("LookupAI(%q) not found", tt.code)
			continue
		}
		if a.Format() != tt.format || a.PredefinedLength != tt.predefined || a.CheckDigit != tt.csum || a.Date != tt.dt {
			t.Errorf("LookupAI(%q) = %s predefined=%v csum=%v date=%v; want %s %v %v %v",
				tt.code, a.Format(), a.PredefinedLength, a.CheckDigit, a.Date, tt.format, tt.predefined, tt.csum, tt.dt)
		}
		if a.SeparatorRequired() == tt.predefined {
			t.Errorf("AI (%s).SeparatorRequired() = %v, want %v", tt.code, a.SeparatorRequired(), !tt.predefined)
		}
	}
	if _, ok := LookupAI("235"); ok {
		t.Error("LookupAI(\"235\") found an AI this table leaves out")
	}
}

// TestTableConsistent checks the rules the parsers rely on.
func TestTableConsistent(t *testing.T) {
	for code, a := range aiTable {
		if a.Code != code {
			t.Errorf("table key %q holds AI %q", code, a.Code)
		}
		if len(code) < 2 || len(code) > 4 || !isDigits(code) {
			t.Errorf("AI %q is not 2 to 4 digits", code)
		}
		// GS1 AIs are prefix-free; matchElementAI depends on it.
		for n := 2; n < len(code); n++ {
			if _, ok := aiTable[code[:n]]; ok {
				t.Errorf("AI %q has AI %q as a prefix", code, code[:n])
			}
		}
		if a.Title == "" || a.Charset == 0 || a.MinLen < 1 || a.MinLen > a.MaxLen {
			t.Errorf("AI (%s) has a bad format: %+v", code, *a)
		}
		if a.PredefinedLength && !a.Fixed() {
			t.Errorf("AI (%s) has a predefined length but is not fixed", code)
		}
		// 00-04, 11-20, 31-36 and 41 are the predefined-length prefixes.
		pre := code[:2]
		want := pre <= "04" || (pre >= "11" && pre <= "20") || (pre >= "31" && pre <= "36") || pre == "41"
		if a.PredefinedLength != want {
			t.Errorf("AI (%s).PredefinedLength = %v, want %v", code, a.PredefinedLength, want)
		}
		if (a.CheckDigit || a.Date) && a.Charset != Numeric {
			t.Errorf("AI (%s) has a check digit or date but is not numeric", code)
		}
		if a.Date && a.MaxLen != 6 {
			t.Errorf("AI (%s) is a date of length %d", code, a.MaxLen)
		}
		for _, q := range a.Qualifiers {
			if aiTable[q] == nil || !a.DLPrimaryKey {
				t.Errorf("AI (%s) has qualifier %q but is no primary key or the qualifier is unknown", code, q)
			}
		}
		for _, g := range a.Requires {
			for _, r := range g {
				if aiTable[r] == nil {
					t.Errorf("AI (%s) requires unknown AI %q", code, r)
				}
			}
		}
		for _, x := range a.Excludes {
			if aiTable[x] == nil && !strings.Contains(x, "n") {
				t.Errorf("AI (%s) excludes unknown AI %q", code, x)
			}
		}
		if a.DLPrimaryKey && !slices.Contains(dlPrimaryKeys[:], code) {
			t.Errorf("primary key AI (%s) missing from dlPrimaryKeys", code)
		}
	}
	for _, pk := range dlPrimaryKeys {
		if a := aiTable[pk]; a == nil || !a.DLPrimaryKey {
			t.Errorf("dlPrimaryKeys lists %q, which is not a primary key", pk)
		}
	}
}

func TestLookupAIReturnsCopy(t *testing.T) {
	a, _ := LookupAI("01")
	a.Qualifiers[0] = "99"
	a.Excludes[0] = "99"
	b, _ := LookupAI("10")
	b.Requires[0][0] = "99"
	if got, _ := LookupAI("01"); got.Qualifiers[0] != "22" || got.Excludes[0] != "02" {
		t.Errorf("LookupAI(\"01\") changed to %+v after the caller edited a copy", got)
	}
	if got, _ := LookupAI("10"); got.Requires[0][0] != "01" {
		t.Errorf("LookupAI(\"10\") changed to %+v after the caller edited a copy", got)
	}
}

func TestMatchAI(t *testing.T) {
	tests := []struct {
		pattern, code string
		want          bool
	}{
		{"310n", "3102", true},
		{"310n", "310", false},
		{"310n", "3112", false},
		{"310n", "310x", false},
		{"01", "01", true},
		{"01", "02", false},
	}
	for _, tt := range tests {
		if got := matchAI(tt.pattern, tt.code); got != tt.want {
			t.Errorf("matchAI(%q, %q) = %v, want %v", tt.pattern, tt.code, got, tt.want)
		}
	}
}
