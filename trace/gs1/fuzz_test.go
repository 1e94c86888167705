package gs1

import (
	"errors"
	"strings"
	"testing"
)

// checkKind fails unless err is an *Error of a known kind.
func checkKind(t *testing.T, err error) {
	t.Helper()
	var ge *Error
	if !errors.As(err, &ge) || !(errors.Is(err, ErrSyntax) || errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnknownAI)) {
		t.Fatalf("error %v (%T) is not an *Error of a known kind", err, err)
	}
}

// checkStable checks that e, which parsed without error, survives both
// encodings: building, parsing and building again gives the same string
// and the same elements.
func checkStable(t *testing.T, e Elements) {
	t.Helper()
	uri, err := BuildDigitalLink("https://id.example.com/p", e)
	if err == nil {
		p, err := ParseDigitalLink(uri)
		if err != nil {
			t.Fatalf("ParseDigitalLink(BuildDigitalLink(%v) = %q): %v", e, uri, err)
		}
		if !sameElements(p, e) {
			t.Fatalf("ParseDigitalLink(%q) = %v, want %v", uri, p, e)
		}
		again, err := BuildDigitalLink("https://id.example.com/p", p)
		if err != nil || again != uri {
			t.Fatalf("BuildDigitalLink(%v) = %q, %v; first build gave %q", p, again, err, uri)
		}
	} else if e.primaryKey() >= 0 {
		t.Fatalf("BuildDigitalLink(%v) with a primary key: %v", e, err)
	}

	raw, err := BuildElementString(e, GS)
	if err != nil {
		t.Fatalf("BuildElementString(%v): %v", e, err)
	}
	p, err := ParseElementString("]d2" + raw)
	if err != nil {
		t.Fatalf("ParseElementString(%q) from %v: %v", raw, e, err)
	}
	if !sameElements(p, e) {
		t.Fatalf("ParseElementString(%q) = %v, want %v", raw, p, e)
	}
	if again, err := BuildElementString(p, GS); err != nil || again != raw {
		t.Fatalf("BuildElementString(%v) = %q, %v; first build gave %q", p, again, err, raw)
	}
	hri := e.HRI()
	if p, err := ParseElementString(hri); err == nil && !sameElements(p, e) {
		// A value holding "(NN)" legitimately splits differently; anything
		// else must come back unchanged.
		for _, el := range e {
			if strings.Contains(el.Value, "(") {
				return
			}
		}
		t.Fatalf("ParseElementString(%q) = %v, want %v", hri, p, e)
	}
}

func FuzzParseDigitalLink(f *testing.F) {
	for _, s := range []string{
		"https://id.gs1.org/01/09506000134352",
		"https://example.com/01/09506000134352/10/ABC/21/123?17=261231",
		"http://example.com/dl/01/4006381333931/22/V/10/A%2FB/21/S?11=250101&3103=000500&linkType=gs1:pip",
		"https://example.com/00/106141411234567897?02=09506000134352&37=5&10=L",
		"https://example.com/414/9501101020016/254/7?01=96385074",
		"https://example.com/8010/%23A/8011/9",
		"https://example.com/01/09506000134352/21/S/10/L",
		"https://example.com/01/09506000134352?10=L",
		"https://example.com/01/09506000134352/10/AB%zz",
		"https://example.com/01/09506000134352?91=a+b#x",
		"HTTPS://a/x/01/09506000134352/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		e, err := ParseDigitalLink(uri)
		if err != nil {
			checkKind(t, err)
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("ParseDigitalLink(%q) = %v, which does not validate: %v", uri, e, err)
		}
		checkStable(t, e)
	})
}

func FuzzParseElementString(f *testing.F) {
	for _, s := range []string{
		"]d2010950600013435210ABC\x1d17261231",
		"]C1010950600013435217261231\x1d10ABC\x1d21S",
		"]Q30109506000134352" + "3103000500" + "21(1)/%",
		"00106141411234567897" + "0209506000134352" + "3724\x1d400PO",
		"(01)09506000134352(10)ABC(17)261200",
		"(414)9501101020016(254)x",
		"(8010)#A(8011)1",
		"0109506000134353",
		"\x1d\x1d",
		"]e0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseElementString(s)
		if err != nil {
			checkKind(t, err)
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("ParseElementString(%q) = %v, which does not validate: %v", s, e, err)
		}
		checkStable(t, e)
	})
}

func FuzzValidateGTIN(f *testing.F) {
	for _, g := range goodGTINs {
		f.Add(g)
	}
	f.Add("")
	f.Add("0950600013435x")
	f.Add("095060001343521")
	f.Fuzz(func(t *testing.T, s string) {
		g, err := ValidateGTIN(s)
		if err != nil {
			checkKind(t, err)
			if ValidCheckDigit(s) && (len(s) == 8 || len(s) == 12 || len(s) == 13 || len(s) == 14) {
				t.Fatalf("ValidateGTIN(%q) = %v, but it has a valid check digit", s, err)
			}
			return
		}
		if len(g) != 14 || !strings.HasSuffix(g, s) || !ValidCheckDigit(g) || strings.TrimLeft(g[:14-len(s)], "0") != "" {
			t.Fatalf("ValidateGTIN(%q) = %q", s, g)
		}
		if again, err := ValidateGTIN(g); err != nil || again != g {
			t.Fatalf("ValidateGTIN(%q) = %q, %v; want it unchanged", g, again, err)
		}
		if uri, err := BuildDigitalLink("https://a", Elements{{"01", s}}); err != nil || uri != "https://a/01/"+g {
			t.Fatalf("BuildDigitalLink(01=%q) = %q, %v", s, uri, err)
		}
	})
}
