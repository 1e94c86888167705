package label

import (
	"fmt"
	"io"
	"testing"

	"tracesvc/trace/gs1"
)

// benchURI is a typical Digital Link on a consumer pack.
const benchURI = "https://id.example.cn/01/09506000134352/10/L2026-11/21/ABCDEFGH2345"

// benchElements is what a pharmaceutical pack's GS1 DataMatrix holds.
var benchElements = gs1.Elements{
	{AI: "01", Value: "09506000134352"},
	{AI: "17", Value: "261130"},
	{AI: "10", Value: "L2026-11"},
	{AI: "21", Value: "ABCDEFGH2345"},
}

// benchRender renders s repeatedly and reports labels per second.
func benchRender(b *testing.B, r *Renderer, s Spec) {
	b.Helper()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := r.Render(io.Discard, s); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "labels/s")
}

func BenchmarkRenderQRPNG(b *testing.B) {
	benchRender(b, new(Renderer), Spec{Symbology: QR, Format: PNG, Size: 300, URI: benchURI})
}

// BenchmarkRenderQRPNGNoReuse is BenchmarkRenderQRPNG through the
// package-level Render, which allocates compression buffers every time.
func BenchmarkRenderQRPNGNoReuse(b *testing.B) {
	b.ReportAllocs()
	n := 0
	s := Spec{Symbology: QR, Format: PNG, Size: 300, URI: benchURI}
	for b.Loop() {
		if _, err := Render(io.Discard, s); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "labels/s")
}

func BenchmarkRenderQRSVG(b *testing.B) {
	benchRender(b, new(Renderer), Spec{Symbology: QR, Format: SVG, Size: 300, URI: benchURI})
}

func BenchmarkRenderDataMatrixPNG(b *testing.B) {
	benchRender(b, new(Renderer), Spec{Symbology: DataMatrix, Format: PNG, Size: 300, Elements: benchElements})
}

func BenchmarkRenderGS1128PNG(b *testing.B) {
	benchRender(b, new(Renderer), Spec{Symbology: GS1128, Format: PNG, Size: 900, Elements: benchElements[:3]})
}

// BenchmarkSheet lays out 240 labels, ten A4 pages.
func BenchmarkSheet(b *testing.B) {
	const count = 240
	items := func(yield func(Item) bool) {
		for i := range count {
			serial := fmt.Sprintf("ABCD%08d", i)
			if !yield(Item{
				URI:         "https://id.example.cn/01/09506000134352/10/L2026-11/21/" + serial,
				ProductName: "Organic green tea, 250 g",
				GTIN:        "09506000134352",
				Lot:         "L2026-11",
				Expiry:      "2026-11-30",
				Serial:      serial,
			}) {
				return
			}
		}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := Sheet(io.Discard, DefaultLayout(), items); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*count)/b.Elapsed().Seconds(), "labels/s")
}

// BenchmarkQREncode is the QR Code encoder alone, no image: the floor
// under BenchmarkRenderQRPNG.
func BenchmarkQREncode(b *testing.B) {
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := qrGrid(benchURI); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "labels/s")
}
