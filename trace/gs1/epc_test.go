package gs1

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEPC(t *testing.T) {
	tests := []struct {
		in   string
		key  string
		kind EPCKind
	}{
		// Tag Data Standard examples and the GS1 EPCIS examples.
		{"urn:epc:id:sgtin:0614141.812345.6789", "01/80614141123458/21/6789", EPCItem},
		{"urn:epc:id:sgtin:0614141.107346.2017", "01/10614141073464/21/2017", EPCItem},
		{"urn:epc:id:sgtin:0614141.007346.2017", "01/00614141073467/21/2017", EPCItem},
		{"urn:epc:id:sgtin:061414112345.1.S", "01/10614141123459/21/S", EPCItem},
		{"urn:epc:id:sgtin:0614141.812345.A%2FB", "01/80614141123458/21/A%2FB", EPCItem},
		{"urn:epc:id:sgtin:0614141.812345.a%25b%22c%26d%3Ce%3Ef%3Fg", "01/80614141123458/21/a%25b%22c%26d%3Ce%3Ef%3Fg", EPCItem},
		{"urn:epc:id:sgtin:0614141.812345.x.y!(z)", "01/80614141123458/21/x.y%21%28z%29", EPCItem},
		{"URN:EPC:ID:SGTIN:0614141.812345.6789", "01/80614141123458/21/6789", EPCItem},
		{"urn:epc:class:lgtin:4012345.012345.998877", "01/04012345123456/10/998877", EPCLot},
		{"urn:epc:class:lgtin:4012345.012345.L%2F1", "01/04012345123456/10/L%2F1", EPCLot},
		{"urn:epc:idpat:sgtin:4012345.098765.*", "01/04012345987652", EPCProduct},
		{"urn:epc:id:sscc:0614141.1234567890", "00/106141412345678908", EPCLogisticUnit},
		{"urn:epc:id:sgln:0614141.12345.400", "414/0614141123452/254/400", EPCLocation},
		{"urn:epc:id:sgln:0614141.12345.0", "414/0614141123452", EPCLocation},
		{"urn:epc:id:sgln:0012345.11111.0", "414/0012345111112", EPCLocation},
		{"urn:epc:id:sgln:061414112345..0", "414/0614141123452", EPCLocation},
		{"urn:epc:id:sgln:0614141.12345.a%2Fb", "414/0614141123452/254/a%2Fb", EPCLocation},
		{"urn:epc:id:pgln:0614141.12345", "417/0614141123452", EPCParty},
		{"urn:epc:id:pgln:4012345.00225", "417/4012345002256", EPCParty},

		// Digital Link URIs: any host, any prefix, query ignored.
		{"https://id.gs1.org/01/70614141123451/21/2017", "01/70614141123451/21/2017", EPCItem},
		{"https://id.gs1.org/01/10614141073464/21/2017", "01/10614141073464/21/2017", EPCItem},
		{"http://example.com/a/b/01/10614141073464/21/2017?17=261231&linkType=all#x", "01/10614141073464/21/2017", EPCItem},
		{"https://example.com/01/10614141073464/10/L1/21/A%2fB", "01/10614141073464/21/A%2FB", EPCItem},
		{"https://id.gs1.org/01/04012345123456/10/998877", "01/04012345123456/10/998877", EPCLot},
		{"https://id.gs1.org/01/04012345123456/22/V1/10/998877", "01/04012345123456/10/998877", EPCLot},
		{"https://id.gs1.org/01/04012345987652", "01/04012345987652", EPCProduct},
		{"https://id.gs1.org/01/4012345987652", "01/04012345987652", EPCProduct},
		{"https://id.gs1.org/01/04012345987652/22/V1", "01/04012345987652", EPCProduct},
		{"https://id.gs1.org/00/106141412345678908", "00/106141412345678908", EPCLogisticUnit},
		{"https://id.gs1.org/414/0614141123452/254/400", "414/0614141123452/254/400", EPCLocation},
		{"https://id.gs1.org/414/0614141123452/254/0", "414/0614141123452", EPCLocation},
		{"https://id.gs1.org/414/0614141123452", "414/0614141123452", EPCLocation},
		{"https://id.gs1.org/417/0614141123452", "417/0614141123452", EPCParty},

		// Anything else is kept as it is.
		{"urn:epc:id:giai:4000001.111", "urn:epc:id:giai:4000001.111", EPCOther},
		{"urn:epc:id:gdti:0614141.00001.1618034", "urn:epc:id:gdti:0614141.00001.1618034", EPCOther},
		{"urn:epc:idpat:sgtin:4012345.*.*", "urn:epc:idpat:sgtin:4012345.*.*", EPCOther},
		{"https://example.com/thing/1", "https://example.com/thing/1", EPCOther},
		{"http://transaction.acme.com/po/12345678", "http://transaction.acme.com/po/12345678", EPCOther},
		{"https://id.gs1.org/8004/4000001111", "https://id.gs1.org/8004/4000001111", EPCOther},
		{"https://example.com/253/4012345000054987", "https://example.com/253/4012345000054987", EPCOther},
		{"https://example.com", "https://example.com", EPCOther},
		{"urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8", "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8", EPCOther},
		{"plain string", "plain string", EPCOther},
		{"", "", EPCOther},
	}
	for _, tt := range tests {
		key, kind, err := ParseEPC(tt.in)
		if err != nil || key != tt.key || kind != tt.kind {
			t.Errorf("ParseEPC(%q) = %q, %v, %v; want %q, %v", tt.in, key, kind, err, tt.key, tt.kind)
		}
	}
}

func TestParseEPCErrors(t *testing.T) {
	tests := []struct {
		in   string
		kind error
		msg  string
	}{
		{"urn:epc:id:sgtin:0614141.81234.6789", ErrInvalid, "must have 13 digits together, got 12"},
		{"urn:epc:id:sgtin:0614141.8123456.6789", ErrInvalid, "must have 13 digits together, got 14"},
		{"urn:epc:id:sgtin:06141.81234567.6789", ErrInvalid, "company prefix must have 6 to 12 digits"},
		{"urn:epc:id:sgtin:061414A.812345.6789", ErrInvalid, "company prefix: invalid character 'A'"},
		{"urn:epc:id:sgtin:0614141.81234x.6789", ErrInvalid, "reference: invalid character 'x'"},
		{"urn:epc:id:sgtin:0614141.812345", ErrSyntax, "must be {company prefix}"},
		{"urn:epc:id:sgtin:0614141.812345.", ErrInvalid, "serial: empty value"},
		{"urn:epc:id:sgtin:0614141.812345.123456789012345678901", ErrInvalid, "serial: value too long: 21 > 20"},
		{"urn:epc:id:sgtin:0614141.812345.a%zz", ErrSyntax, "malformed escape"},
		{"urn:epc:id:sgtin:0614141.812345.a#b", ErrInvalid, "invalid character '#'"},
		{"urn:epc:class:lgtin:4012345.012345.", ErrInvalid, "lot: empty value"},
		{"urn:epc:idpat:sgtin:4012345.098765.12", ErrSyntax, "must end with"},
		{"urn:epc:id:sscc:0614141.123456789", ErrInvalid, "must have 17 digits together, got 16"},
		{"urn:epc:id:sscc:0614141", ErrSyntax, "SSCC URN"},
		{"urn:epc:id:sgln:0614141.1234.0", ErrInvalid, "must have 12 digits together, got 11"},
		{"urn:epc:id:sgln:0614141.12345", ErrSyntax, "SGLN URN"},
		{"urn:epc:id:pgln:0614141.123456", ErrInvalid, "must have 12 digits together, got 13"},
		{"https://id.gs1.org/01/10614141073465/21/2017", ErrInvalid, "check digit is 5, want 4"},
		{"https://id.gs1.org/01/123/21/2017", ErrInvalid, "value too short"},
		{"https://example.com/01/09506000134352/more/stuff", ErrSyntax, "does not end with a GS1 Digital Link primary key"},
		{"https://example.com/01/09506000134352/21/ABC/x", ErrSyntax, "does not end with a GS1 Digital Link primary key"},
		{"https://id.gs1.org/00/106141412345678909", ErrInvalid, "check digit"},
		{"https://id.gs1.org/414/0614141123453", ErrInvalid, "check digit"},
		{"https://id.gs1.org/417/061414112345", ErrInvalid, "value too short"},
		{"https://id.gs1.org/01/10614141073464/21/a%zz", ErrSyntax, "malformed percent-encoding"},
		{"https://id.gs1.org/01/10614141073464/21/2017/10/L", ErrInvalid, "key qualifier out of order"},
	}
	for _, tt := range tests {
		key, kind, err := ParseEPC(tt.in)
		if err == nil {
			t.Errorf("ParseEPC(%q) = %q, %v, nil; want an error containing %q", tt.in, key, kind, tt.msg)
			continue
		}
		var ge *Error
		if !errors.As(err, &ge) || !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseEPC(%q) error = %v (%T); want %v containing %q", tt.in, err, err, tt.kind, tt.msg)
		}
	}
}

// TestParseEPCEquivalence checks that an EPC URN and the Digital Link URI
// of the same thing give the same key, for the pairs in the GS1 EPCIS
// examples (Example_9.6.3 and its WithDigitalLinkID twin) and more.
func TestParseEPCEquivalence(t *testing.T) {
	pairs := [][2]string{
		{"urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"},
		{"urn:epc:id:sgtin:0614141.712345.2017", "https://id.gs1.org/01/70614141123451/21/2017"},
		{"urn:epc:id:sgtin:0614141.007346.2017", "https://example.org/dl/01/00614141073467/21/2017?17=260101"},
		{"urn:epc:idpat:sgtin:4012345.098765.*", "https://id.gs1.org/01/04012345987652"},
		{"urn:epc:class:lgtin:4012345.012345.998877", "https://id.gs1.org/01/04012345123456/10/998877"},
		{"urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908"},
		{"urn:epc:id:sgln:0614141.00777.0", "https://id.gs1.org/414/0614141007776"},
		{"urn:epc:id:sgln:0614141.07346.1234", "https://id.gs1.org/414/0614141073467/254/1234"},
		{"urn:epc:id:pgln:0614141.00777", "https://id.gs1.org/417/0614141007776"},
		{"urn:epc:id:sgtin:0614141.812345.A%2FB%25", "https://id.gs1.org/01/80614141123458/21/A%2FB%25"},
	}
	for _, p := range pairs {
		k1, kind1, err1 := ParseEPC(p[0])
		k2, kind2, err2 := ParseEPC(p[1])
		if err1 != nil || err2 != nil || k1 != k2 || kind1 != kind2 {
			t.Errorf("ParseEPC(%q) = %q, %v, %v; ParseEPC(%q) = %q, %v, %v; want the same key", p[0], k1, kind1, err1, p[1], k2, kind2, err2)
		}
	}
}

func TestKeyElements(t *testing.T) {
	for _, in := range []string{
		"urn:epc:id:sgtin:0614141.812345.A%2FB",
		"urn:epc:class:lgtin:4012345.012345.998877",
		"urn:epc:idpat:sgtin:4012345.098765.*",
		"urn:epc:id:sscc:0614141.1234567890",
		"urn:epc:id:sgln:0614141.07346.1234",
		"urn:epc:id:sgln:0614141.07346.0",
		"urn:epc:id:pgln:0614141.00777",
	} {
		key, _, err := ParseEPC(in)
		if err != nil {
			t.Fatalf("ParseEPC(%q): %v", in, err)
		}
		e, err := KeyElements(key)
		if err != nil {
			t.Fatalf("KeyElements(%q): %v", key, err)
		}
		uri, err := BuildDigitalLink("https://id.gs1.org", e)
		if err != nil || uri != "https://id.gs1.org/"+key {
			t.Errorf("BuildDigitalLink(KeyElements(%q)) = %q, %v; want the key back", key, uri, err)
		}
	}
	for _, bad := range []string{"", "/01/09506000134352", "01/09506000134352?10=1", "414/0614141073467/254/0", "urn:epc:id:giai:4000001.111", "01/9506000134352"} {
		if e, err := KeyElements(bad); err == nil {
			t.Errorf("KeyElements(%q) = %v, nil; want an error", bad, e)
		}
	}
}

func TestEPCKindString(t *testing.T) {
	for k, want := range map[EPCKind]string{
		EPCOther: "other", EPCItem: "item", EPCLot: "lot", EPCProduct: "product",
		EPCLogisticUnit: "sscc", EPCLocation: "location", EPCParty: "party", 42: "EPCKind(42)",
	} {
		if got := k.String(); got != want {
			t.Errorf("EPCKind(%d).String() = %q, want %q", k, got, want)
		}
	}
	if !EPCLot.Class() || !EPCProduct.Class() || EPCItem.Class() {
		t.Error("Class() is wrong")
	}
}

func FuzzParseEPC(f *testing.F) {
	for _, s := range []string{
		"urn:epc:id:sgtin:0614141.107346.2017",
		"urn:epc:id:sgtin:0614141.812345.A%2FB",
		"urn:epc:class:lgtin:4012345.012345.998877",
		"urn:epc:idpat:sgtin:4012345.098765.*",
		"urn:epc:id:sscc:0614141.1234567890",
		"urn:epc:id:sgln:0614141.07346.1234",
		"urn:epc:id:sgln:0614141.07346.0",
		"urn:epc:id:pgln:0614141.00777",
		"urn:epc:id:giai:4000001.111",
		"https://id.gs1.org/01/10614141073464/21/2017",
		"https://example.com/x/01/04012345123456/10/998877?3103=000500",
		"https://id.gs1.org/414/0614141073467/254/1234",
		"https://example.com/thing/1",
		"https://id.gs1.org/01/10614141073464/21/a%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, kind, err := ParseEPC(s)
		if err != nil {
			checkKind(t, err)
			return
		}
		if kind == EPCOther {
			if key != s {
				t.Fatalf("ParseEPC(%q) = %q, other; want the input back", s, key)
			}
			return
		}
		// A key is canonical: its Digital Link parses back to the same key
		// and kind, and to elements that rebuild it.
		again, kind2, err := ParseEPC("https://id.gs1.org/" + key)
		if err != nil || again != key || kind2 != kind {
			t.Fatalf("ParseEPC(%q) = %q, %v; its Digital Link gives %q, %v, %v", s, key, kind, again, kind2, err)
		}
		e, err := KeyElements(key)
		if err != nil {
			t.Fatalf("KeyElements(%q) from %q: %v", key, s, err)
		}
		if uri, err := BuildDigitalLink("https://id.gs1.org", e); err != nil || uri != "https://id.gs1.org/"+key {
			t.Fatalf("BuildDigitalLink(%v) = %q, %v; want key %q", e, uri, err, key)
		}
		// The EPC URN built back from the key gives the same key.
		if urn := testURN(e, s); urn != "" {
			k3, kind3, err := ParseEPC(urn)
			if err != nil || k3 != key || kind3 != kind {
				t.Fatalf("ParseEPC(%q) = %q, %v, %v; want %q, %v (from %q)", urn, k3, kind3, err, key, kind, s)
			}
		}
	})
}

// testURN rebuilds an EPC URN for elements, taking the company prefix
// length from the URN s when s is one, so the fuzz test can check the
// round trip; it returns "" when s is not a URN.
func testURN(e Elements, s string) string {
	if !hasPrefixFold(s, "urn:epc:") {
		return ""
	}
	body := s[strings.LastIndexByte(s[:strings.IndexByte(s, '.')], ':')+1:]
	cpLen := strings.IndexByte(body, '.')
	esc := func(v string) string {
		var b strings.Builder
		writeEscaped(&b, v)
		return b.String()
	}
	pk := e[0]
	switch pk.AI {
	case "01":
		cp, ir := pk.Value[1:1+cpLen], pk.Value[:1]+pk.Value[1+cpLen:13]
		if v, ok := e.Get("21"); ok {
			return "urn:epc:id:sgtin:" + cp + "." + ir + "." + esc(v)
		}
		if v, ok := e.Get("10"); ok {
			return "urn:epc:class:lgtin:" + cp + "." + ir + "." + esc(v)
		}
		return "urn:epc:idpat:sgtin:" + cp + "." + ir + ".*"
	case "00":
		return "urn:epc:id:sscc:" + pk.Value[1:1+cpLen] + "." + pk.Value[:1] + pk.Value[1+cpLen:17]
	case "414":
		ext := "0"
		if v, ok := e.Get("254"); ok {
			ext = esc(v)
		}
		return "urn:epc:id:sgln:" + pk.Value[:cpLen] + "." + pk.Value[cpLen:12] + "." + ext
	case "417":
		return "urn:epc:id:pgln:" + pk.Value[:cpLen] + "." + pk.Value[cpLen:12]
	}
	return ""
}

// TestAliasesAreOneKey is issue 9 item 6: every spelling of an item's,
// lot's or logistic unit's key gives the one canonical key, so that no
// spelling bypasses what the key is checked for.
func TestAliasesAreOneKey(t *testing.T) {
	for want, aliases := range map[string][]string{
		"01/06901230000010/21/ABC": {
			"https://id.example.cn/01/06901230000010/21/ABC",
			"https://id.example.cn/01/06901230000010/21/ABC/",
			"https://other.example/01/06901230000010/21/ABC",
			"HTTPS://ID.EXAMPLE.CN/01/06901230000010/21/ABC",
			"https://id.example.cn/gtin/06901230000010/ser/ABC",
			"https://id.example.cn/gtin/06901230000010/lot/L1/ser/ABC/",
			"https://id.example.cn/01/6901230000010/21/ABC",
			"https://id.example.cn/01/06901230000010/21/%41BC",
			"https://id.example.cn/01/06901230000010/21/ABC?17=270101",
			"https://id.example.cn/some/prefix/01/06901230000010/21/ABC",
			"https://id.example.cn/01/06901230000010/10/L1/21/ABC",
			"urn:epc:id:sgtin:6901230.000001.ABC",
			"URN:EPC:ID:SGTIN:6901230.000001.%41BC",
		},
		"01/06901230000010/10/L1": {
			"https://id.example.cn/01/06901230000010/10/L1/",
			"https://id.example.cn/gtin/06901230000010/lot/L1",
			"urn:epc:class:lgtin:6901230.000001.L1",
		},
		"00/069012303000417291": {
			"https://id.example.cn/00/069012303000417291/",
			"https://id.example.cn/sscc/069012303000417291",
			"urn:epc:id:sscc:6901230.0300041729",
		},
	} {
		for _, a := range aliases {
			if key, _, err := ParseEPC(a); err != nil || key != want {
				t.Errorf("ParseEPC(%q) = %q, %v; want %q", a, key, err, want)
			}
		}
	}
}
