package label

import (
	"bytes"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
)

// A4 paper, in millimetres.
const (
	pageWidthMM  = 210.0
	pageHeightMM = 297.0
)

// Layout describes a sheet of labels on A4 paper: a grid of Columns ×
// Rows labels, centred on the page as on die-cut label sheets.
type Layout struct {
	Columns, Rows int

	LabelWidthMM, LabelHeightMM float64

	// MarginMM is the least blank border left around the grid, for
	// printers that cannot print to the edge of the paper.
	MarginMM float64

	// ColumnGapMM and RowGapMM are the spaces between neighbouring labels.
	// Die-cut sheets usually have a gap between columns but none between
	// rows.
	ColumnGapMM, RowGapMM float64

	// FontPath is an optional TrueType font file (.ttf with TrueType
	// outlines; not .otf, nor .ttc collections) for the characters the PDF
	// core font, Helvetica, cannot show. Helvetica only has Windows-1252
	// (Western European) characters: without FontPath every other
	// character, Chinese included, prints as '?'. With it, text is drawn
	// in Helvetica where it can be and in this font elsewhere, so a CJK
	// fallback font without Latin letters does. For Chinese, Debian's
	// fonts-droid-fallback provides
	// /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf; the
	// WenQuanYi and Noto CJK fonts come as .ttc or .otf files, which the
	// PDF library cannot embed.
	FontPath string
	// Unprintable, when set, hears of every character printed as '?'
	// because no font has it (without FontPath, every Chinese one), so
	// that the caller can warn instead of handing out a sheet of "???".
	Unprintable func(r rune)
}

// DefaultLayout returns the common A4 sheet of 24 labels, 3 × 8 labels of
// 63.5 × 33.9 mm with 2.5 mm between columns (Avery L7159 and its
// equivalents).
func DefaultLayout() Layout {
	return Layout{
		Columns:       3,
		Rows:          8,
		LabelWidthMM:  63.5,
		LabelHeightMM: 33.9,
		MarginMM:      5,
		ColumnGapMM:   2.5,
	}
}

// Bounds of a [Layout].
const (
	minLabelWidthMM  = 30 // room for a QR Code and a column of text
	minLabelHeightMM = 15
	maxColumns       = 20
	maxRows          = 40
	maxMarginMM      = 50
	layoutSlackMM    = 0.01 // rounding in published sheet dimensions
)

// Validate checks that l describes labels big enough for a QR Code and its
// text that fit on A4 paper. The error is an [*Error] naming the field.
func (l Layout) Validate() error {
	if err := l.validate(); err != nil {
		return err
	}
	return nil
}

func (l Layout) validate() *Error {
	for _, f := range []struct {
		name  string
		v, lo float64
		hi    float64
	}{
		{"columns", float64(l.Columns), 1, maxColumns},
		{"rows", float64(l.Rows), 1, maxRows},
		{"labelWidthMm", l.LabelWidthMM, minLabelWidthMM, pageWidthMM},
		{"labelHeightMm", l.LabelHeightMM, minLabelHeightMM, pageHeightMM},
		{"marginMm", l.MarginMM, 0, maxMarginMM},
		{"columnGapMm", l.ColumnGapMM, 0, pageWidthMM},
		{"rowGapMm", l.RowGapMM, 0, pageHeightMM},
	} {
		// The negated test also rejects NaN.
		if !(f.v >= f.lo && f.v <= f.hi) {
			return invalid(f.name, "%s is out of range: want %s to %s", fmtMM(f.v), fmtMM(f.lo), fmtMM(f.hi))
		}
	}
	if w := l.gridWidth() + 2*l.MarginMM; w > pageWidthMM+layoutSlackMM {
		return invalid("columns", "%d columns of %s mm with %s mm gaps and %s mm margins are %s mm wide, more than A4's %s mm",
			l.Columns, fmtMM(l.LabelWidthMM), fmtMM(l.ColumnGapMM), fmtMM(l.MarginMM), fmtMM(w), fmtMM(pageWidthMM))
	}
	if h := l.gridHeight() + 2*l.MarginMM; h > pageHeightMM+layoutSlackMM {
		return invalid("rows", "%d rows of %s mm with %s mm gaps and %s mm margins are %s mm high, more than A4's %s mm",
			l.Rows, fmtMM(l.LabelHeightMM), fmtMM(l.RowGapMM), fmtMM(l.MarginMM), fmtMM(h), fmtMM(pageHeightMM))
	}
	return nil
}

func fmtMM(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func (l Layout) gridWidth() float64 {
	return float64(l.Columns)*l.LabelWidthMM + float64(l.Columns-1)*l.ColumnGapMM
}

func (l Layout) gridHeight() float64 {
	return float64(l.Rows)*l.LabelHeightMM + float64(l.Rows-1)*l.RowGapMM
}

// Item is what one label shows: a QR Code of URI on the left and, on the
// right, ProductName and one line each for GTIN, Lot, Expiry and Serial
// that are set.
type Item struct {
	URI         string // the QR Code's content, normally a GS1 Digital Link
	ProductName string // up to two lines, cut short with "..." if longer
	GTIN        string // printed as "GTIN …"
	Lot         string // printed as "LOT …"
	// Expiry is a date, "YYYY-MM-DD" or GS1's "YYMMDD" (AI 17), printed
	// as "EXP YYYY-MM-DD", or "EXP YYYY-MM" for GS1's day 00, which means
	// the end of the month.
	Expiry string
	Serial string // printed as "SN …"
}

// Text sizes, in points, and the least they shrink to when a line is too
// wide or there are too many lines for the label.
const (
	namePt    = 8.0
	dataPt    = 7.0
	minTextPt = 4.5
	lineSpace = 1.2 // line height as a multiple of the font size
	ptToMM    = 25.4 / 72
)

// qrDPI is the least resolution of the QR Code images embedded in sheets.
// Modules are whole pixels, so wherever a renderer puts the image's pixel
// edges the module edges follow; but printers and viewers that smooth
// scaled images blur each edge over about one image pixel, which at 200
// dpi is an eighth of a millimetre. More costs memory: the PDF library
// reserves width × height / 8 bytes for every image until the document is
// written.
const qrDPI = 200

// Sheet writes a PDF of A4 pages of labels, one per item, laid out by l,
// adding pages as needed.
//
// Items are read a page at a time. The page's QR Codes are encoded on as
// many goroutines as GOMAXPROCS allows, since encoding is most of the
// work, and handed to the PDF library as PNG images before the next page
// is read. The PDF library keeps every page and image until it writes the
// document at the end, about 7 kB of memory per label with the default
// layout (37 MB for 5,000 labels; the PDF itself is about 0.9 kB per
// label). Nothing is written to w if an error occurs.
//
// A bad layout or item is reported as an [*Error] naming the field, e.g.
// "items[12].uri", and wrapping [ErrInvalid]. Other errors come from
// reading [Layout.FontPath] or writing to w.
func Sheet(w io.Writer, l Layout, items iter.Seq[Item]) error {
	if err := l.validate(); err != nil {
		return err
	}
	s, err := newSheet(l)
	if err != nil {
		return err
	}
	n := 0
	page := make([]Item, 0, s.perPage)
	for it := range items {
		page = append(page, it)
		if len(page) == s.perPage {
			if err := s.addPage(n, page); err != nil {
				return err
			}
			n += len(page)
			page = page[:0]
		}
	}
	if len(page) > 0 {
		if err := s.addPage(n, page); err != nil {
			return err
		}
		n += len(page)
	}
	if n == 0 {
		return invalid("items", "no items: a sheet needs at least one label")
	}
	if err := s.pdf.Output(w); err != nil {
		return fmt.Errorf("label: write PDF sheet of %d labels: %w", n, err)
	}
	return nil
}

// sheet is a PDF of labels being built.
type sheet struct {
	l       Layout
	pdf     *fpdf.Fpdf
	perPage int
	x0, y0  float64 // top left of the grid
	pad     float64 // blank space inside each label's edge
	qrSide  float64 // the QR Code's side, quiet zone included

	labels  []prepared   // the page being drawn
	workers []pngBuffers // one per goroutine encoding QR Codes

	ttf    bool    // a TrueType font is loaded for text Helvetica lacks
	pt     float64 // the current text size
	bold   bool    // whether the current text is bold (Helvetica only)
	widths map[glyph]float64

	unprintable func(r rune) // Layout.Unprintable
}

// prepared is one label ready to draw.
type prepared struct {
	png     []byte // the QR Code, without its quiet zone
	modules int    // its width in modules, with the quiet zone
	expiry  string // formatted
	bad     *Error // what is wrong with the item
	err     error  // a failure to draw it
}

// ttfFamily is the name the loaded TrueType font goes by in the PDF.
const ttfFamily = "labelttf"

// ellipsis ends text cut short; ASCII, so every font has it.
const ellipsis = "..."

func newSheet(l Layout) (*sheet, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetMargins(0, 0, 0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetCompression(true)
	s := &sheet{
		l:       l,
		pdf:     pdf,
		perPage: l.Columns * l.Rows,
		x0:      (pageWidthMM - l.gridWidth()) / 2,
		y0:      (pageHeightMM - l.gridHeight()) / 2,
		// The QR Code fills the label's height or 45% of its width,
		// inside a padding that absorbs die-cut tolerance.
		pad:         min(2, l.LabelHeightMM*0.06),
		unprintable: l.Unprintable,
	}
	s.widths = make(map[glyph]float64)
	s.qrSide = min(l.LabelHeightMM-2*s.pad, (l.LabelWidthMM-2*s.pad)*0.45)
	s.labels = make([]prepared, s.perPage)
	s.workers = make([]pngBuffers, min(runtime.GOMAXPROCS(0), s.perPage))
	if l.FontPath != "" {
		data, err := os.ReadFile(l.FontPath)
		if err != nil {
			return nil, fmt.Errorf("label: read font: %w", err)
		}
		if len(data) < 4 || (string(data[:4]) != "\x00\x01\x00\x00" && string(data[:4]) != "true") {
			kind := "not a TrueType font"
			switch {
			case len(data) >= 4 && string(data[:4]) == "ttcf":
				kind = "a TrueType collection (.ttc), which the PDF library cannot embed"
			case len(data) >= 4 && string(data[:4]) == "OTTO":
				kind = "an OpenType font with CFF outlines (.otf), which the PDF library cannot embed"
			}
			return nil, &Error{Field: "fontPath", Msg: fmt.Sprintf("%s is %s: use a .ttf file", l.FontPath, kind)}
		}
		if err := addFont(pdf, data); err != nil {
			return nil, &Error{Field: "fontPath", Msg: fmt.Sprintf("%s: cannot use this TrueType font: %v", l.FontPath, err), Err: err}
		}
		s.ttf = true
	}
	return s, nil
}

// addFont loads a TrueType font. The PDF library panics on some damaged
// fonts instead of returning an error; that becomes the error here.
func addFont(pdf *fpdf.Fpdf, data []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("damaged font: %v", r)
		}
	}()
	pdf.AddUTF8FontFromBytes(ttfFamily, "", data)
	return pdf.Error()
}

// The text of a label is drawn in Helvetica where Helvetica has the
// characters and, if a TrueType font is loaded, in that font elsewhere.
// Fallback fonts for CJK, such as Droid Sans Fallback, have no Latin
// letters, and Helvetica has no CJK: together they show both. Without a
// TrueType font, characters outside cp1252 print as '?'.

// face is one of the fonts of label text.
type face uint8

const (
	faceRegular face = iota // Helvetica
	faceBold                // Helvetica-Bold
	faceTTF                 // the TrueType font, in one weight
)

// glyph is a character in a face, the key of the width cache.
type glyph struct {
	r rune
	f face
}

// measurePt is the size at which character widths are measured; they
// scale linearly.
const measurePt = 100

// faceOf returns the face that draws r in the current weight.
func (s *sheet) faceOf(r rune) face {
	switch {
	case s.ttf && r != '?' && cp1252Byte(r) == '?':
		return faceTTF
	case s.bold:
		return faceBold
	}
	return faceRegular
}

// setFace selects f at size pt.
func (s *sheet) setFace(f face, pt float64) {
	switch f {
	case faceTTF:
		s.pdf.SetFont(ttfFamily, "", pt)
	case faceBold:
		s.pdf.SetFont("Helvetica", "B", pt)
	default:
		s.pdf.SetFont("Helvetica", "", pt)
	}
}

// em returns the advance width of r in f, in mm per point of font size.
// Widths are cached: the PDF library measures only in the current font,
// and every font change it makes is written into the page.
func (s *sheet) em(r rune, f face) float64 {
	if w, ok := s.widths[glyph{r, f}]; ok {
		return w
	}
	s.setFace(f, measurePt)
	c := string(r)
	if f != faceTTF {
		c = string([]byte{cp1252Byte(r)})
	}
	w := s.pdf.GetStringWidth(c) / measurePt
	s.widths[glyph{r, f}] = w
	return w
}

// width returns the width of v, in mm, at the current size and weight.
func (s *sheet) width(v string) float64 {
	w := 0.0
	for _, r := range v {
		w += s.em(r, s.faceOf(r))
	}
	return w * s.pt
}

// draw writes v at the current size and weight, its baseline starting at
// (x, y): one piece of text per run of characters in the same face.
func (s *sheet) draw(x, y float64, v string) {
	for len(v) > 0 {
		r, _ := utf8.DecodeRuneInString(v)
		f := s.faceOf(r)
		end, w := 0, 0.0
		for end < len(v) {
			r, n := utf8.DecodeRuneInString(v[end:])
			if s.faceOf(r) != f {
				break
			}
			end += n
			w += s.em(r, f)
		}
		run := v[:end]
		if f != faceTTF {
			if s.unprintable != nil {
				for _, r := range run {
					if r != '?' && cp1252Byte(r) == '?' {
						s.unprintable(r)
					}
				}
			}
			run = toCP1252(run)
		}
		s.setFace(f, s.pt)
		s.pdf.Text(x, y, run)
		x += w * s.pt
		v = v[end:]
	}
}

// addPage draws a page of labels for items, the first being item number
// first of the sheet.
func (s *sheet) addPage(first int, items []Item) error {
	labels := s.prepare(items)
	for i, lb := range labels {
		if lb.bad != nil {
			lb.bad.Field = fmt.Sprintf("items[%d].%s", first+i, lb.bad.Field)
			return lb.bad
		}
		if lb.err != nil {
			return fmt.Errorf("label: item %d: %w", first+i, lb.err)
		}
	}
	s.pdf.AddPage()
	l := s.l
	opts := fpdf.ImageOptions{ImageType: "PNG"}
	for i, lb := range labels {
		col, row := i%l.Columns, i/l.Columns
		x := s.x0 + float64(col)*(l.LabelWidthMM+l.ColumnGapMM)
		y := s.y0 + float64(row)*(l.LabelHeightMM+l.RowGapMM)

		// The image is the symbol alone: the quiet zone around it is
		// left blank on the label, which saves the PDF library's memory.
		name := "qr" + strconv.Itoa(first+i)
		s.pdf.RegisterImageOptionsReader(name, opts, bytes.NewReader(lb.png))
		quiet := s.qrSide * qrQuiet / float64(lb.modules)
		s.pdf.ImageOptions(name, x+s.pad+quiet, y+(l.LabelHeightMM-s.qrSide)/2+quiet,
			s.qrSide-2*quiet, s.qrSide-2*quiet, false, opts, 0, "")

		// The quiet zone separates the text from the QR Code.
		tx := x + s.pad + s.qrSide
		s.drawText(tx, y+s.pad, x+l.LabelWidthMM-s.pad-tx, l.LabelHeightMM-2*s.pad, items[i], lb.expiry)
		if err := s.pdf.Error(); err != nil {
			return fmt.Errorf("label: item %d: %w", first+i, err)
		}
	}
	return nil
}

// prepare encodes the QR Codes of a page and checks the items, on as many
// goroutines as there are processors: encoding QR Codes is most of the
// work. The result is valid until the next call.
func (s *sheet) prepare(items []Item) []prepared {
	labels := s.labels[:len(items)]
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for w := range s.workers[:min(len(s.workers), len(items))] {
		pb := &s.workers[w]
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) {
					return
				}
				s.prepareLabel(&labels[i], items[i], pb)
			}
		})
	}
	wg.Wait()
	return labels
}

func (s *sheet) prepareLabel(lb *prepared, it Item, pb *pngBuffers) {
	lb.bad, lb.err = nil, nil
	expiry, err := formatExpiry(it.Expiry)
	if err != nil {
		lb.bad = invalid("expiry", "%s", err)
		return
	}
	lb.expiry = expiry
	g, verr := qrGrid(it.URI)
	if verr != nil {
		lb.bad = verr
		return
	}
	k := int(math.Ceil(qrDPI * s.qrSide / float64(g.w) / 25.4))
	lb.modules = g.w
	g = g.crop(qrQuiet)
	png, err := pb.encode(g, k, g.h)
	if err != nil {
		lb.err = fmt.Errorf("encode QR Code image: %w", err)
		return
	}
	lb.png = append(lb.png[:0], png...)
}

// textLine is one line of a label's text.
type textLine struct {
	s    string
	pt   float64
	bold bool
}

// drawText fits the item's text in the box at (x, y), w × h mm: the
// product name on up to two lines, then one line per other field,
// shrinking lines that are too wide and then everything if there are too
// many lines, centred vertically.
func (s *sheet) drawText(x, y, w, h float64, it Item, expiry string) {
	lines := make([]textLine, 0, 6)
	if name := cleanText(it.ProductName); name != "" {
		s.pt, s.bold = namePt, true
		for _, ln := range wrap(name, w, 2, ellipsis, s.width) {
			lines = append(lines, textLine{s: ln, pt: namePt, bold: true})
		}
	}
	for _, f := range [...]struct{ label, v string }{
		{"GTIN ", it.GTIN}, {"LOT ", it.Lot}, {"EXP ", expiry}, {"SN ", it.Serial},
	} {
		if v := cleanText(f.v); v != "" {
			lines = append(lines, textLine{s: f.label + v, pt: dataPt})
		}
	}
	// Shrink each line to its width, down to minTextPt, then cut it.
	for i := range lines {
		ln := &lines[i]
		s.pt, s.bold = ln.pt, ln.bold
		if tw := s.width(ln.s); tw > w {
			// A hair smaller than an exact fit, which rounding could
			// push over the edge.
			ln.pt = max(minTextPt, ln.pt*w/tw*0.999)
			s.pt = ln.pt
			ln.s = truncate(ln.s, w, ellipsis, s.width)
		}
	}
	total := 0.0
	for _, ln := range lines {
		total += ln.pt * lineSpace * ptToMM
	}
	scale := 1.0
	if total > h {
		scale = h / total
	}
	ty := y + (h-total*scale)/2
	for _, ln := range lines {
		s.pt, s.bold = ln.pt*scale, ln.bold
		lh := s.pt * lineSpace * ptToMM
		// Text is placed by its baseline, about 0.8 of the size below the
		// top of the line.
		s.draw(x, ty+lh*0.8, ln.s)
		ty += lh
	}
}

// formatExpiry returns v, "YYYY-MM-DD" or GS1's "YYMMDD", as
// "YYYY-MM-DD", or "YYYY-MM" for GS1's day 00 (end of the month).
func formatExpiry(v string) (string, error) {
	switch len(v) {
	case 0:
		return "", nil
	case len(time.DateOnly):
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return "", fmt.Errorf("%q is not a date (YYYY-MM-DD or YYMMDD)", v)
		}
		return v, nil
	case 6:
		// GS1 maps YY to the century within 49 years back and 50 ahead of
		// today; for expiry dates printed now that is 20YY.
		iso := "20" + v[0:2] + "-" + v[2:4] + "-" + v[4:6]
		if v[4:6] == "00" {
			iso = iso[:7] + "-01"
		}
		if _, err := time.Parse(time.DateOnly, iso); err != nil {
			return "", fmt.Errorf("%q is not a date (YYYY-MM-DD or YYMMDD)", v)
		}
		if v[4:6] == "00" {
			return iso[:7], nil
		}
		return iso, nil
	}
	return "", fmt.Errorf("%q is not a date (YYYY-MM-DD or YYMMDD)", v)
}
