package standards

import (
	"strings"
	"testing"
)

// TestParseNumber is the table of good and bad standard numbers of each
// type (issue 11): canonical forms come back, and a bad number's error says
// what is wrong.
func TestParseNumber(t *testing.T) {
	good := []struct {
		typ       StandardType
		in, canon string
	}{
		{TypeGB, "GB 2760-2014", "GB 2760-2014"},
		{TypeGB, "GB 4806.1-2016", "GB 4806.1-2016"},
		{TypeGB, "gb  2762—2022", "GB 2762-2022"},
		{TypeGB, "ＧＢ　２７６０－２０１４", "GB 2760-2014"},
		{TypeGBT, "GB/T 19001-2016", "GB/T 19001-2016"},
		{TypeGBT, "GB /T 1.1 - 2020", "GB/T 1.1-2020"},
		{TypeGBT, "GB／T 191-2008", "GB/T 191-2008"},
		{TypeIndustry, "QB/T 1234-2019", "QB/T 1234-2019"},
		{TypeIndustry, "YY 0505-2012", "YY 0505-2012"},
		{TypeIndustry, "NY/T 394-2021", "NY/T 394-2021"},
		{TypeLocal, "DB11/T 1234-2015", "DB11/T 1234-2015"},
		{TypeLocal, "DB11/ 501-2017", "DB11/ 501-2017"},
		{TypeLocal, "db31/501-2017", "DB31/ 501-2017"},
		{TypeGroup, "T/CAB 0001-2017", "T/CAB 0001-2017"},
		{TypeGroup, "T/CNFIA001-2018", "T/CNFIA 001-2018"},
		{TypeEnterprise, "Q/TJXX 0001S-2023", "Q/TJXX 0001S-2023"},
		{TypeEnterprise, "q/12hb 4036-2015", "Q/12HB 4036-2015"},
	}
	for _, c := range good {
		got, err := ParseNumber(c.typ, c.in, 2026)
		if err != nil || got != c.canon {
			t.Errorf("%s %q: got %q, %v; want %q", c.typ, c.in, got, err, c.canon)
		}
	}
	bad := []struct {
		typ     StandardType
		in, why string
	}{
		{TypeGB, "GB 2760", "not a GB number"},
		{TypeGB, "GB 2760-14", "not a GB number"},
		{TypeGB, "GB/T 19001-2016", "is a GB/T number, not a GB one"},
		{TypeGB, "GB 2760-1900", "not a year"},
		{TypeGB, "GB 2760-2031", "not a year"},
		{TypeGB, "", "not a GB number"},
		{TypeGBT, "GB 2760-2014", "is a GB number, not a GB/T one"},
		{TypeGBT, "GB/T19001-2016x", "not a GB/T number"},
		{TypeIndustry, "GB/T 2760-2014", "is a GB/T number, not an industry one"},
		{TypeEnterprise, "Q/TJXX0001S-2023", "not an enterprise number"},
		{TypeIndustry, "DB/T 1234-2015", "not an industry number"},
		{TypeIndustry, "QBT 1234-2019", "not an industry number"},
		{TypeLocal, "DB99/T 1234-2015", "names no province"},
		{TypeLocal, "DB1/T 1234-2015", "not a local number"},
		{TypeLocal, "Q/TJXX 0001S-2023", "is an enterprise number, not a local one"},
		{TypeGroup, "T/ 0001-2017", "not a group number"},
		{TypeGroup, "CAB 0001-2017", "not a group number"},
		{TypeEnterprise, "Q/TJXX 0001S", "not an enterprise number"},
		{TypeEnterprise, "Q/TJXX 0001SS-2023", "not an enterprise number"},
		{TypeEnterprise, "T/CAB 0001-2017", "is a group number"},
		{"national", "GB 2760-2014", "unknown type"},
	}
	for _, c := range bad {
		got, err := ParseNumber(c.typ, c.in, 2026)
		if err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s %q: got %q, %v; want an error saying %q", c.typ, c.in, got, err, c.why)
		}
	}
}

// TestNormalizeQuery: a number searched for is put in the stored form,
// with or without its year.
func TestNormalizeQuery(t *testing.T) {
	for in, want := range map[string]string{
		"gb 2760": "GB 2760", "GB 2760—2014": "GB 2760-2014", "db31/501-2017": "DB31/ 501-2017",
		"q/tjxx 0001s": "Q/TJXX 0001S", "milk": "MILK",
	} {
		if got := normalizeQuery(in); got != want {
			t.Errorf("normalizeQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func f(v float64) *float64 { return &v }

// TestLimits: measured values against each comparator, and which
// declared limits are weaker than a national one.
func TestLimits(t *testing.T) {
	atMost, atLeast := Limit{Comparator: AtMost, Value: f(0.05)}, Limit{Comparator: AtLeast, Value: f(2.9)}
	eq, rng := Limit{Comparator: Equal, Value: f(500)}, Limit{Comparator: Between, Min: f(12), Max: f(18)}
	for _, c := range []struct {
		l    Limit
		v    float64
		want bool
	}{
		{atMost, 0.05, true}, {atMost, 0.051, false}, {atLeast, 2.9, true}, {atLeast, 2.89, false},
		{eq, 500, true}, {eq, 499.9, false}, {rng, 12, true}, {rng, 18, true}, {rng, 18.1, false}, {rng, 11, false},
	} {
		if got := c.l.Allows(c.v); got != c.want {
			t.Errorf("%s allows %v: %v, want %v", c.l.Expr(), c.v, got, c.want)
		}
	}
	for _, c := range []struct {
		declared, national Limit
		weaker             bool
	}{
		{Limit{Comparator: AtMost, Value: f(0.1)}, atMost, true},        // a higher maximum
		{Limit{Comparator: AtMost, Value: f(0.02)}, atMost, false},      // stricter
		{Limit{Comparator: AtLeast, Value: f(2.8)}, atLeast, true},      // a lower minimum
		{Limit{Comparator: AtLeast, Value: f(3.1)}, atLeast, false},     //
		{Limit{Comparator: Between, Min: f(10), Max: f(18)}, rng, true}, // wider
		{Limit{Comparator: Between, Min: f(13), Max: f(16)}, rng, false},
		{Limit{Comparator: AtMost, Value: f(16)}, rng, true}, // no minimum where the national has one
		{Limit{Comparator: Equal, Value: f(15)}, rng, false},
	} {
		if got := c.declared.WeakerThan(c.national); got != c.weaker {
			t.Errorf("%s weaker than %s: %v, want %v", c.declared.Expr(), c.national.Expr(), got, c.weaker)
		}
	}
	bad := []Limit{{Comparator: "<"}, {Comparator: AtMost}, {Comparator: Between, Min: f(2), Max: f(1)},
		{Comparator: Between, Value: f(1)}, {Comparator: AtLeast, Value: f(1), Max: f(2)}}
	for _, l := range bad {
		if err := l.check("limit"); err == nil {
			t.Errorf("%+v: no error", l)
		}
	}
	uni := Limit{Comparator: "≤", Value: f(1)}
	if err := uni.check("limit"); err != nil || uni.Comparator != AtMost {
		t.Errorf("≤ reads as %q, %v", uni.Comparator, err)
	}
}

// FuzzParseNumber: any text either fails with an error or gives a
// canonical number that parses to itself, under the same type.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"GB 2760-2014", "GB/T 1.1-2020", "QB/T 1234-2019", "DB11/ 501-2017", "T/CAB 0001-2017",
		"Q/TJXX 0001S-2023", "ＧＢ　２７６０－２０１４", "gb /t 1 - 2020", "", "DB99/T 1-2015", "\xff"} {
		for i := range StandardTypes {
			f.Add(i, s)
		}
	}
	f.Fuzz(func(t *testing.T, i int, s string) {
		typ := StandardTypes[(i%len(StandardTypes)+len(StandardTypes))%len(StandardTypes)]
		n, err := ParseNumber(typ, s, 2026)
		if err != nil {
			return
		}
		again, err := ParseNumber(typ, n, 2026)
		if err != nil || again != n {
			t.Fatalf("%s %q → %q → %q, %v", typ, s, n, again, err)
		}
		_ = normalizeQuery(s)
	})
}
