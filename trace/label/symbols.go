package label

import (
	"fmt"
	"image"
	"unicode/utf8"

	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/datamatrix"
	qrcode "github.com/skip2/go-qrcode"

	"tracesvc/trace/gs1"
)

// qrGrid encodes uri as a QR Code at error correction level M (15%), the
// usual choice for printed Digital Links: enough to survive a scuffed
// label without growing the symbol much.
func qrGrid(uri string) (*grid, *Error) {
	if err := checkURI(uri, "QR Code"); err != nil {
		return nil, err
	}
	q, err := qrcode.New(uri, qrcode.Medium)
	if err != nil {
		return nil, &Error{Field: "uri", Msg: fmt.Sprintf("%d bytes is too long for a QR Code at error correction level M (%v)", len(uri), err), Err: err}
	}
	// The library's border is the right size, but drawing it here keeps
	// every symbology's quiet zone in one place. Bitmap may be called only
	// once: it appends the terminator and padding each time.
	q.DisableBorder = true
	bm := q.Bitmap()
	n := len(bm)
	g := newGrid(n+2*qrQuiet, n+2*qrQuiet)
	for y, row := range bm {
		copy(g.dark[(y+qrQuiet)*g.w+qrQuiet:], row)
	}
	return g, nil
}

// dataMatrixGrid encodes elements as a GS1 DataMatrix or, when elements is
// nil, uri as a plain Data Matrix.
func dataMatrixGrid(uri string, elements gs1.Elements) (*grid, *Error) {
	var content, field string
	if elements != nil {
		// FNC1 is a byte of the content, not UTF-8. First, it makes the
		// symbol a GS1 DataMatrix; later, it ends a variable-length field.
		fnc1 := string([]byte{datamatrix.FNC1})
		es, err := gs1.BuildElementString(elements, fnc1)
		if err != nil {
			return nil, &Error{Field: "elements", Msg: err.Error(), Err: err}
		}
		content, field = fnc1+es, "elements"
	} else {
		if err := checkURI(uri, "Data Matrix (or GS1 elements)"); err != nil {
			return nil, err
		}
		content, field = uri, "uri"
	}
	bc, err := datamatrix.Encode(content)
	if err != nil {
		return nil, &Error{Field: field, Msg: fmt.Sprintf("%d bytes is too long for a Data Matrix (%v)", len(content), err), Err: err}
	}
	return gridFromImage(bc, dmQuiet), nil
}

// maxGS1128Chars is the most data characters, FNC1 separators included,
// that the GS1 General Specifications allow in one GS1-128 symbol.
const maxGS1128Chars = 48

// gs1128Grid encodes elements as a GS1-128 symbol: Code 128 with FNC1 in
// first position and as the separator after variable-length fields.
func gs1128Grid(elements gs1.Elements) (*grid, *Error) {
	if elements == nil {
		return nil, invalid("elements", "empty: a GS1-128 symbol needs GS1 elements")
	}
	fnc1 := string(code128.FNC1)
	es, err := gs1.BuildElementString(elements, fnc1)
	if err != nil {
		return nil, &Error{Field: "elements", Msg: err.Error(), Err: err}
	}
	// Values are ASCII and FNC1 is one rune (two bytes of UTF-8), so runes
	// count symbol characters.
	if n := utf8.RuneCountInString(es); n > maxGS1128Chars {
		return nil, invalid("elements", "%d characters is too long for GS1-128, which holds at most %d: use a GS1 DataMatrix", n, maxGS1128Chars)
	}
	bc, err := code128.Encode(fnc1 + es)
	if err != nil {
		return nil, &Error{Field: "elements", Msg: "cannot encode as Code 128: " + err.Error(), Err: err}
	}
	g := gridFromImage(bc, 0)
	lg := newGrid(g.w+2*linearQuiet, 1)
	copy(lg.dark[linearQuiet:], g.dark[:g.w])
	lg.linear = true
	return lg, nil
}

// gridFromImage reads the modules of a barcode image drawn at one pixel
// per module, adding quiet modules around it.
func gridFromImage(img image.Image, quiet int) *grid {
	b := img.Bounds()
	g := newGrid(b.Dx()+2*quiet, b.Dy()+2*quiet)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := g.dark[(y-b.Min.Y+quiet)*g.w+quiet:]
		for x := b.Min.X; x < b.Max.X; x++ {
			r, _, _, _ := img.At(x, y).RGBA()
			row[x-b.Min.X] = r < 0x8000
		}
	}
	return g
}
