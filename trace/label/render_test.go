package label

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"
	"sync"
	"testing"

	"tracesvc/trace/gs1"
)

// testSpecs are one spec per symbology, as the golden files show them.
var testSpecs = map[string]Spec{
	"qr":         {Symbology: QR, URI: benchURI},
	"datamatrix": {Symbology: DataMatrix, Elements: benchElements},
	"gs1-128":    {Symbology: GS1128, Elements: benchElements[:3]},
}

// decodePNG decodes a PNG and checks that it is black and white only.
func decodePNG(t testing.TB, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode PNG: %v", err)
	}
	return img
}

func isDark(img image.Image, x, y int) bool {
	return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y < 0x80
}

func samePixels(t testing.TB) func(got, want []byte) bool {
	return func(got, want []byte) bool {
		g, w := decodePNG(t, got), decodePNG(t, want)
		if g.Bounds() != w.Bounds() {
			return false
		}
		b := g.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				if isDark(g, x, y) != isDark(w, x, y) {
					return false
				}
			}
		}
		return true
	}
}

func TestRenderGolden(t *testing.T) {
	for name, s := range testSpecs {
		t.Run(name, func(t *testing.T) {
			s.Format = PNG
			golden(t, name+".png", render(t, s), samePixels(t))
			s.Format = SVG
			golden(t, name+".svg", render(t, s), bytes.Equal)
		})
	}
}

func TestRenderPNG(t *testing.T) {
	tests := map[string]struct {
		spec           Spec
		quiet          int // modules
		wantW, wantH   int // pixels
		wantContentTyp string
	}{
		// A version 4 QR Code, 33 modules and 2×4 quiet: 41 modules.
		"qr default size": {Spec{Symbology: QR, URI: benchURI}, qrQuiet, 41 * 7, 41 * 7, "image/png"},
		"qr 1000 px":      {Spec{Symbology: QR, URI: benchURI, Size: 1000}, qrQuiet, 41 * 24, 41 * 24, "image/png"},
		"qr 1 px/module":  {Spec{Symbology: QR, URI: benchURI, Size: 41}, qrQuiet, 41, 41, "image/png"},
		// 31 codewords need a 24×24 symbol; 2×2 quiet: 28.
		"datamatrix": {Spec{Symbology: DataMatrix, Elements: benchElements, Size: 100}, dmQuiet, 28 * 3, 28 * 3, "image/png"},
		// (01)(17)(10): 288 modules and 2×10 quiet; bars a third as high
		// as wide, rounded up to whole modules.
		"gs1-128":             {Spec{Symbology: GS1128, Elements: benchElements[:3], Size: 1000}, linearQuiet, 308 * 3, 103 * 3, "image/png"},
		"gs1-128 1 px/module": {Spec{Symbology: GS1128, Elements: benchElements[:3], Size: 308}, linearQuiet, 308, 102, "image/png"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.spec.Format = PNG
			var buf bytes.Buffer
			ct, err := Render(&buf, tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if ct != tc.wantContentTyp {
				t.Errorf("got content type %q, want %q", ct, tc.wantContentTyp)
			}
			img := decodePNG(t, buf.Bytes())
			b := img.Bounds()
			if b.Dx() != tc.wantW || b.Dy() != tc.wantH {
				t.Fatalf("got %dx%d px, want %dx%d", b.Dx(), b.Dy(), tc.wantW, tc.wantH)
			}
			if tc.spec.Size > 0 && b.Dx() > tc.spec.Size {
				t.Errorf("got %d px wide, more than Size %d", b.Dx(), tc.spec.Size)
			}
			if _, ok := img.(*image.Gray); !ok {
				t.Errorf("got a %T, want a 1-bit greyscale PNG (*image.Gray)", img)
			}
			// The quiet zone is white: the left and right edges always,
			// the top and bottom too for 2-D symbols.
			g, _, _, verr := prepare(tc.spec)
			if verr != nil {
				t.Fatal(verr)
			}
			k := b.Dx() / g.w
			for y := range b.Dy() {
				for x := range b.Dx() {
					inQuiet := x < tc.quiet*k || x >= b.Dx()-tc.quiet*k
					if !g.linear {
						inQuiet = inQuiet || y < tc.quiet*k || y >= b.Dy()-tc.quiet*k
					}
					if inQuiet && isDark(img, x, y) {
						t.Fatalf("pixel (%d, %d) in the quiet zone is dark", x, y)
					}
				}
			}
		})
	}
}

// svgDoc is the part of an SVG that Render writes.
type svgDoc struct {
	XMLName        xml.Name `xml:"http://www.w3.org/2000/svg svg"`
	Width          int      `xml:"width,attr"`
	Height         int      `xml:"height,attr"`
	ViewBox        string   `xml:"viewBox,attr"`
	ShapeRendering string   `xml:"shape-rendering,attr"`
	Rect           struct {
		Width  string `xml:"width,attr"`
		Height string `xml:"height,attr"`
		Fill   string `xml:"fill,attr"`
	} `xml:"rect"`
	Path struct {
		D    string `xml:"d,attr"`
		Fill string `xml:"fill,attr"`
	} `xml:"path"`
}

// fillPath marks the modules covered by an SVG path made only of
// "MxyhNvHh-Nz" rectangles.
func fillPath(t testing.TB, d string, w, h int) []bool {
	t.Helper()
	dark := make([]bool, w*h)
	for _, sub := range strings.Split(strings.TrimSuffix(d, "z"), "z") {
		var x, y, n, rh, back int
		if _, err := fmt.Sscanf(sub, "M%d %dh%dv%dh-%d", &x, &y, &n, &rh, &back); err != nil || n != back {
			t.Fatalf("unexpected path segment %q: %v", sub, err)
		}
		for yy := y; yy < y+rh; yy++ {
			for xx := x; xx < x+n; xx++ {
				if xx < 0 || xx >= w || yy < 0 || yy >= h {
					t.Fatalf("path segment %q leaves the %dx%d viewBox", sub, w, h)
				}
				if dark[yy*w+xx] {
					t.Fatalf("path segment %q overlaps another", sub)
				}
				dark[yy*w+xx] = true
			}
		}
	}
	return dark
}

// TestRenderSVG checks that SVGs are well-formed, sized like the PNG, and
// show the same modules.
func TestRenderSVG(t *testing.T) {
	for name, s := range testSpecs {
		t.Run(name, func(t *testing.T) {
			s.Format = SVG
			var buf bytes.Buffer
			ct, err := Render(&buf, s)
			if err != nil {
				t.Fatal(err)
			}
			if ct != "image/svg+xml" {
				t.Errorf("got content type %q, want image/svg+xml", ct)
			}
			var doc svgDoc
			if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
				t.Fatalf("SVG is not well-formed XML: %v", err)
			}
			s.Format = PNG
			img := decodePNG(t, render(t, s))
			b := img.Bounds()
			if doc.Width != b.Dx() || doc.Height != b.Dy() {
				t.Errorf("got SVG %dx%d, want the PNG's %dx%d", doc.Width, doc.Height, b.Dx(), b.Dy())
			}
			g, k, rows, verr := prepare(s)
			if verr != nil {
				t.Fatal(verr)
			}
			if want := "0 0 " + strconv.Itoa(g.w) + " " + strconv.Itoa(rows); doc.ViewBox != want {
				t.Errorf("got viewBox %q, want %q", doc.ViewBox, want)
			}
			if doc.ShapeRendering != "crispEdges" || doc.Rect.Fill != "#fff" || doc.Path.Fill != "#000" {
				t.Errorf("got shape-rendering %q, background %q, foreground %q; want crispEdges, #fff, #000",
					doc.ShapeRendering, doc.Rect.Fill, doc.Path.Fill)
			}
			dark := fillPath(t, doc.Path.D, g.w, rows)
			for y := range rows {
				for x := range g.w {
					if got, want := dark[y*g.w+x], isDark(img, x*k+k/2, y*k+k/2); got != want {
						t.Fatalf("module (%d, %d): got dark=%v in the SVG, want %v as in the PNG", x, y, got, want)
					}
				}
			}
			if again := render(t, Spec{Symbology: s.Symbology, Format: SVG, URI: s.URI, Elements: s.Elements}); !bytes.Equal(again, buf.Bytes()) {
				t.Error("two renderings of the same spec differ")
			}
		})
	}
}

func TestRenderInvalid(t *testing.T) {
	badCheckDigit := gs1.Elements{{AI: "01", Value: "09506000134353"}}
	long := gs1.Elements{
		{AI: "01", Value: "09506000134352"},
		{AI: "10", Value: "ABCDEFGHIJKLMNOPQRST"},
		{AI: "21", Value: "ABCDEFGHIJKLMNOPQRST"},
	}
	tests := map[string]struct {
		spec    Spec
		field   string
		gs1Kind error // also wrapped, if set
	}{
		"no symbology":           {Spec{Format: PNG, URI: benchURI}, "symbology", nil},
		"unknown symbology":      {Spec{Symbology: "ean13", Format: PNG, URI: benchURI}, "symbology", nil},
		"no format":              {Spec{Symbology: QR, URI: benchURI}, "format", nil},
		"unknown format":         {Spec{Symbology: QR, Format: "jpeg", URI: benchURI}, "format", nil},
		"negative size":          {Spec{Symbology: QR, Format: PNG, Size: -1, URI: benchURI}, "size", nil},
		"size above max":         {Spec{Symbology: QR, Format: PNG, Size: MaxSize + 1, URI: benchURI}, "size", nil},
		"size below 1 px/module": {Spec{Symbology: QR, Format: SVG, Size: 40, URI: benchURI}, "size", nil},
		"gs1-128 too narrow":     {Spec{Symbology: GS1128, Format: PNG, Size: 307, Elements: benchElements[:3]}, "size", nil},
		"qr without uri":         {Spec{Symbology: QR, Format: PNG, Elements: benchElements}, "uri", nil},
		"uri with space":         {Spec{Symbology: QR, Format: PNG, URI: "https://example.com/a b"}, "uri", nil},
		"uri not ascii":          {Spec{Symbology: QR, Format: PNG, URI: "https://example.com/茶"}, "uri", nil},
		"uri too long for qr":    {Spec{Symbology: QR, Format: PNG, URI: "https://example.com/" + strings.Repeat("a", 3000)}, "uri", nil},
		"datamatrix empty":       {Spec{Symbology: DataMatrix, Format: PNG}, "uri", nil},
		"datamatrix too long":    {Spec{Symbology: DataMatrix, Format: PNG, URI: "https://example.com/" + strings.Repeat("a", 2000)}, "uri", nil},
		"datamatrix bad gs1":     {Spec{Symbology: DataMatrix, Format: PNG, Elements: badCheckDigit}, "elements", gs1.ErrInvalid},
		"datamatrix unknown ai":  {Spec{Symbology: DataMatrix, Format: PNG, Elements: gs1.Elements{{AI: "99999", Value: "1"}}}, "elements", gs1.ErrUnknownAI},
		"gs1-128 no elements":    {Spec{Symbology: GS1128, Format: PNG, URI: benchURI}, "elements", nil},
		"gs1-128 bad gs1":        {Spec{Symbology: GS1128, Format: SVG, Elements: badCheckDigit}, "elements", gs1.ErrInvalid},
		"gs1-128 over 48 chars":  {Spec{Symbology: GS1128, Format: PNG, Elements: long}, "elements", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			ct, err := Render(&buf, tc.spec)
			wantInvalid(t, err, tc.field)
			if tc.gs1Kind != nil && !errors.Is(err, tc.gs1Kind) {
				t.Errorf("got error %v, want it to wrap %v", err, tc.gs1Kind)
			}
			if ct != "" || buf.Len() != 0 {
				t.Errorf("got content type %q and %d bytes written, want nothing", ct, buf.Len())
			}
		})
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestRenderWriteError(t *testing.T) {
	for _, f := range []Format{PNG, SVG} {
		_, err := Render(failWriter{}, Spec{Symbology: QR, Format: f, URI: benchURI})
		if err == nil || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: got error %v, want the writer's error, not ErrInvalid", f, err)
		}
	}
}

// TestRendererConcurrent shares a Renderer between goroutines; run with
// -race.
func TestRendererConcurrent(t *testing.T) {
	var r Renderer
	want := render(t, Spec{Symbology: QR, Format: PNG, URI: benchURI})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				var buf bytes.Buffer
				if _, err := r.Render(&buf, Spec{Symbology: QR, Format: PNG, URI: benchURI}); err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Error("got different PNG bytes from a shared Renderer")
					return
				}
			}
		})
	}
	wg.Wait()
}
