package label

import (
	"fmt"
	"io"
	"sync"

	"tracesvc/trace/gs1"
)

// Symbology is the kind of barcode [Render] draws.
type Symbology string

// The symbologies [Render] draws.
const (
	// QR is a QR Code holding [Spec.URI] as is, normally a GS1 Digital
	// Link: the code consumers scan with a phone.
	QR Symbology = "qr"
	// DataMatrix is a GS1 DataMatrix holding [Spec.Elements] (FNC1 first,
	// and FNC1 between fields), or, when Elements is nil, a plain Data
	// Matrix holding [Spec.URI].
	DataMatrix Symbology = "datamatrix"
	// GS1128 is a GS1-128 linear barcode holding [Spec.Elements].
	GS1128 Symbology = "gs1-128"
)

// Format is the image format [Render] writes.
type Format string

// The formats [Render] writes.
const (
	PNG Format = "png" // a 1-bit greyscale PNG
	SVG Format = "svg" // an SVG of the module grid
)

// Limits of [Spec.Size], in pixels.
const (
	// MaxSize is the largest image width Render draws.
	MaxSize = 4096
	// DefaultSize2D is the width QR and DataMatrix images fit in when
	// Spec.Size is 0.
	DefaultSize2D = 300
	// DefaultSizeLinear is the width GS1-128 images fit in when Spec.Size
	// is 0.
	DefaultSizeLinear = 1000
)

// Quiet zones, in modules, drawn around each symbol. Scanners need them
// to find the symbol; each is the symbology's specified minimum or more.
const (
	qrQuiet     = 4  // ISO/IEC 18004: 4 modules
	dmQuiet     = 2  // ISO/IEC 16022 asks for 1; decoders do better with 2
	linearQuiet = 10 // ISO/IEC 15417 and GS1: 10 modules each side
)

// minBarHeight is the least height, in pixels, of a GS1-128 image; bars
// are otherwise a third of the symbol's width.
const minBarHeight = 50

// Spec says what [Render] draws.
type Spec struct {
	Symbology Symbology
	Format    Format

	// Size is the wanted image width in pixels; 0 means [DefaultSize2D]
	// or, for GS1-128, [DefaultSizeLinear]. The image is drawn at the
	// largest whole number of pixels per module that fits, so it may be
	// narrower than Size, never wider. Size must leave at least one pixel
	// per module (quiet zone included) and be at most [MaxSize].
	Size int

	// URI is the content of a QR Code, and of a Data Matrix when Elements
	// is nil: normally a GS1 Digital Link (see [gs1.BuildDigitalLink]). It
	// is encoded byte for byte and must be printable ASCII without
	// spaces, as a URI is, so that every scanner reads it back unchanged.
	URI string

	// Elements is the content of a GS1 DataMatrix or a GS1-128 symbol,
	// validated and ordered by [gs1.BuildElementString]. QR ignores it.
	Elements gs1.Elements
}

// Renderer draws symbols, reusing its compression buffers from one call
// to the next. The zero value is ready to use. A Renderer is safe for
// concurrent use and must not be copied after first use; a server keeps
// one for its lifetime.
type Renderer struct {
	pngBufs sync.Pool // *pngBuffers
}

// Render draws the symbol s describes to w, as PNG or SVG, and returns the
// content type written ("image/png" or "image/svg+xml").
//
// A spec that cannot be drawn is reported as an [*Error] naming the field
// ("symbology", "format", "size", "uri" or "elements") and wrapping
// [ErrInvalid], before anything is written. Any other error comes from w.
func (r *Renderer) Render(w io.Writer, s Spec) (contentType string, err error) {
	g, k, rows, verr := prepare(s)
	if verr != nil {
		return "", verr
	}
	switch s.Format {
	case PNG:
		err = r.writePNG(w, g, k, rows)
		contentType = "image/png"
	case SVG:
		err = writeSVG(w, g, k, rows)
		contentType = "image/svg+xml"
	}
	if err != nil {
		return "", fmt.Errorf("label: write %s %s: %w", s.Symbology, s.Format, err)
	}
	return contentType, nil
}

// Render draws s to w with a new [Renderer]; see [Renderer.Render].
// Callers drawing many symbols should keep a Renderer instead, which
// saves allocating compression buffers on every call.
func Render(w io.Writer, s Spec) (contentType string, err error) {
	var r Renderer
	return r.Render(w, s)
}

// prepare validates s, encodes its content and chooses the scale: k
// pixels per module and rows module rows (the bar height of a linear
// symbol, in modules).
func prepare(s Spec) (g *grid, k, rows int, err *Error) {
	switch s.Format {
	case PNG, SVG:
	default:
		return nil, 0, 0, invalid("format", "unknown format %q: want %q or %q", s.Format, PNG, SVG)
	}
	if s.Size < 0 || s.Size > MaxSize {
		return nil, 0, 0, invalid("size", "%d px is out of range: want 0 (default) to %d", s.Size, MaxSize)
	}
	switch s.Symbology {
	case QR:
		g, err = qrGrid(s.URI)
	case DataMatrix:
		g, err = dataMatrixGrid(s.URI, s.Elements)
	case GS1128:
		g, err = gs1128Grid(s.Elements)
	default:
		return nil, 0, 0, invalid("symbology", "unknown symbology %q: want %q, %q or %q", s.Symbology, QR, DataMatrix, GS1128)
	}
	if err != nil {
		return nil, 0, 0, err
	}
	k, rows, err = g.scale(s.Size)
	return g, k, rows, err
}
