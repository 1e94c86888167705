package label

import (
	"slices"
	"strings"
	"testing"

	"tracesvc/trace/gs1"
)

// The tests in this file read the symbols back with the decoders Debian
// ships, as a scanner would: zbarimg (zbar-tools) for QR Code and
// GS1-128, dmtxread (dmtx-utils) for Data Matrix.

const testBase = "https://id.example.cn"

// mustSSCC returns a valid SSCC.
func mustSSCC(t testing.TB) string {
	t.Helper()
	sscc, err := gs1.NewSSCC('3', "9506000", "123456789")
	if err != nil {
		t.Fatal(err)
	}
	return sscc
}

func TestScanQR(t *testing.T) {
	tests := map[string]struct {
		elements    gs1.Elements
		pxPerModule int // 0 for the default size
	}{
		"gtin only": {elements: gs1.Elements{{AI: "01", Value: "09506000134352"}}},
		"gtin lot serial": {elements: gs1.Elements{
			{AI: "01", Value: "09506000134352"}, {AI: "10", Value: "L2026-11"}, {AI: "21", Value: "ABCDEFGH2345"},
		}},
		"expiry in query": {elements: gs1.Elements{
			{AI: "01", Value: "09506000134352"}, {AI: "10", Value: "L2026-11"}, {AI: "17", Value: "261130"},
		}},
		"lot needing percent-encoding": {elements: gs1.Elements{
			{AI: "01", Value: "09506000134352"}, {AI: "10", Value: "12/34%AB&C+D"}, {AI: "21", Value: "x?y=z"},
		}},
		"gtin-13 padded": {elements: gs1.Elements{{AI: "01", Value: "4006381333931"}, {AI: "21", Value: "1"}}},
		"2 px per module": {
			elements:    gs1.Elements{{AI: "01", Value: "09506000134352"}, {AI: "21", Value: "ABCDEFGH2345"}},
			pxPerModule: 2,
		},
		"large": {elements: gs1.Elements{
			{AI: "01", Value: "09506000134352"}, {AI: "10", Value: "ABCDEFGHIJKLMNOPQRST"},
			{AI: "21", Value: "abcdefghijklmnopqrst"}, {AI: "17", Value: "261130"},
		}, pxPerModule: 10},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			uri, err := gs1.BuildDigitalLink(testBase, tc.elements)
			if err != nil {
				t.Fatal(err)
			}
			spec := Spec{Symbology: QR, Format: PNG, URI: uri}
			if tc.pxPerModule > 0 {
				g, _, _, err := prepare(spec)
				if err != nil {
					t.Fatal(err)
				}
				spec.Size = g.w * tc.pxPerModule
			}
			path := writeTemp(t, "qr.png", render(t, spec))
			got := scanZbar(t, path)[0]
			if want := qrSymbols(uri); !slices.Equal(got, want) {
				t.Fatalf("zbarimg read %v, want %v", got, want)
			}
			back, err := gs1.ParseDigitalLink(got[0].Data)
			if err != nil {
				t.Fatalf("the URI read does not parse: %v", err)
			}
			if back.HRI() != tc.elements.HRI() {
				t.Errorf("got elements %s, want %s", back.HRI(), tc.elements.HRI())
			}
		})
	}
}

func TestScanDataMatrix(t *testing.T) {
	tests := map[string]struct {
		elements gs1.Elements
		uri      string
	}{
		"gs1 01 17 10 21": {elements: benchElements},
		// An odd number of digits before a separator, and the separator
		// between two variable-length fields.
		"gs1 odd digits": {elements: gs1.Elements{
			{AI: "01", Value: "09506000134352"}, {AI: "10", Value: "123"}, {AI: "21", Value: "45678"}, {AI: "17", Value: "270200"},
		}},
		"gs1 sscc": {elements: gs1.Elements{{AI: "00", Value: mustSSCC(t)}}},
		"uri":      {uri: benchURI},
		// Big enough for a 64×64 symbol: several data regions and
		// interleaved error correction blocks.
		"long uri": {uri: testBase + "/01/09506000134352?" + strings.Repeat("linkType=gs1:pip&", 12)},
		// The largest size, 144×144, with its unequal blocks.
		"largest": {uri: testBase + "/" + strings.Repeat("a1B-", 325)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want := tc.uri
			if tc.elements != nil {
				es, err := gs1.BuildElementString(tc.elements, gs1.GS)
				if err != nil {
					t.Fatal(err)
				}
				want = gs1.GS + es // dmtxread -G 29 shows the leading FNC1 too
			}
			path := writeTemp(t, "dm.png", render(t, Spec{Symbology: DataMatrix, Format: PNG, Size: 600, URI: tc.uri, Elements: tc.elements}))
			got := scanDmtx(t, path)
			if got != want {
				t.Fatalf("dmtxread read %q, want %q", got, want)
			}
			if tc.elements != nil {
				back, err := gs1.ParseElementString(got)
				if err != nil {
					t.Fatalf("the element string read does not parse: %v", err)
				}
				if back.HRI() != tc.elements.HRI() {
					t.Errorf("got elements %s, want %s", back.HRI(), tc.elements.HRI())
				}
			}
		})
	}
}

func TestScanGS1128(t *testing.T) {
	tests := map[string]struct {
		elements gs1.Elements
		size     int
	}{
		"01 10":    {elements: gs1.Elements{{AI: "01", Value: "09506000134352"}, {AI: "10", Value: "L2026-11"}}},
		"00 sscc":  {elements: gs1.Elements{{AI: "00", Value: mustSSCC(t)}}},
		"01 17 10": {elements: benchElements[:3]},
		// A separator between two variable-length fields.
		"01 10 21": {elements: gs1.Elements{
			{AI: "01", Value: "09506000134352"}, {AI: "10", Value: "123"}, {AI: "21", Value: "A1"},
		}},
		"1 px per module": {elements: gs1.Elements{{AI: "01", Value: "09506000134352"}, {AI: "10", Value: "L2026-11"}}, size: 300},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// zbarimg shows the leading FNC1 as the GS1 modifier and the
			// others as GS.
			es, err := gs1.BuildElementString(tc.elements, gs1.GS)
			if err != nil {
				t.Fatal(err)
			}
			path := writeTemp(t, "gs1-128.png", render(t, Spec{Symbology: GS1128, Format: PNG, Size: tc.size, Elements: tc.elements}))
			got := scanZbar(t, path)[0]
			if want := []zbarSymbol{{Type: "CODE-128", Data: es, GS1: true}}; !slices.Equal(got, want) {
				t.Fatalf("zbarimg read %v, want %v", got, want)
			}
			back, err := gs1.ParseElementString(got[0].Data)
			if err != nil {
				t.Fatalf("the element string read does not parse: %v", err)
			}
			if back.HRI() != tc.elements.HRI() {
				t.Errorf("got elements %s, want %s", back.HRI(), tc.elements.HRI())
			}
		})
	}
}

// TestScanGolden reads the golden images, which are what the service
// serves, with the decoders.
func TestScanGolden(t *testing.T) {
	es, err := gs1.BuildElementString(benchElements, gs1.GS)
	if err != nil {
		t.Fatal(err)
	}
	es128, err := gs1.BuildElementString(benchElements[:3], gs1.GS)
	if err != nil {
		t.Fatal(err)
	}
	got := scanZbar(t, "testdata/qr.png", "testdata/gs1-128.png")
	if want := qrSymbols(benchURI); !slices.Equal(got[0], want) {
		t.Errorf("testdata/qr.png: zbarimg read %v, want %v", got[0], want)
	}
	if want := []zbarSymbol{{Type: "CODE-128", Data: es128, GS1: true}}; !slices.Equal(got[1], want) {
		t.Errorf("testdata/gs1-128.png: zbarimg read %v, want %v", got[1], want)
	}
	if got := scanDmtx(t, "testdata/datamatrix.png"); got != gs1.GS+es {
		t.Errorf("testdata/datamatrix.png: dmtxread read %q, want %q", got, gs1.GS+es)
	}
}
