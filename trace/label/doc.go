// Package label draws the codes the service prints: QR Codes holding GS1
// Digital Link URIs, GS1 DataMatrix and GS1-128 symbols as PNG or SVG
// images ([Render]), and A4 PDF sheets of QR labels ([Sheet]).
//
// It is the only package of the service that imports barcode and PDF
// libraries (github.com/skip2/go-qrcode, github.com/boombuler/barcode and
// github.com/go-pdf/fpdf). It renders and nothing else: no storage, no
// HTTP. Content comes in as a URI or as [gs1.Elements]; this package
// neither builds Digital Links nor decides what a label says.
//
// Symbols are drawn from their module grids at a whole number of pixels
// per module, with their quiet zones, so that they stay sharp when
// printed: a symbol is never resampled.
//
// Errors in a [Spec], [Layout] or [Item] are [*Error] values naming the
// offending field and wrapping [ErrInvalid]; any other error is a failure
// to read a font or to write the output.
package label
