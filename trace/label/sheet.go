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
		{"label_width_mm", l.LabelWidthMM, minLabelWidthMM, pageWidthMM},
		{"label_height_mm", l.LabelHeightMM, minLabelHeightMM, pageHeightMM},
		{"margin_mm", l.MarginMM, 0, maxMarginMM},
		{"column_gap_mm", l.ColumnGapMM, 0, pageWidthMM},
		{"row_gap_mm", l.RowGapMM, 0, pageHeightMM},
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
	// Expiry is a date, "YYYY-MM-DD" or GS1's "YYMMDD" (AI 17, day 00
	// meaning the end of the month), printed as "EXP YYYY-MM-DD".
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
// Each module is a whole number of pixels, so a 300 dpi printer never
// smears a module edge across two dots more than once per module, and
// viewers that smooth images still show sharp edges.
const qrDPI = 300

// Sheet writes a PDF of A4 pages of labels, one per item, laid out by l,
// adding pages as needed.
//
// Items are read one at a time and each QR Code is encoded, drawn and
// handed to the PDF library before the next; no list of items or images
// is kept. The PDF library does keep the finished pages, compressed, until
// the document is written at the end (about 2 kB per label), and nothing
// is written to w if an error occurs.
//
// A bad layout or item is reported as an [*Error] naming the field, e.g.
// "items[12].uri", and wrapping [ErrInvalid].
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

	ttf  bool    // a TrueType font is loaded for text Helvetica lacks
	pt   float64 // the current text size
	bold bool    // whether the current text is bold (Helvetica only)
	runs []textRun
}

// prepared is one label ready to draw.
type prepared struct {
	png    []byte // the QR Code
	expiry string // formatted
	bad    *Error // what is wrong with the item
	err    error  // a failure to draw it
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
		pad: min(2, l.LabelHeightMM*0.06),
	}
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
			return nil, &Error{Field: "font_path", Msg: fmt.Sprintf("%s is %s: use a .ttf file", l.FontPath, kind)}
		}
		if err := addFont(pdf, data); err != nil {
			return nil, &Error{Field: "font_path", Msg: fmt.Sprintf("%s: cannot use this TrueType font: %v", l.FontPath, err), Err: err}
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

// textRun is a piece of text in one font: Helvetica, encoded in cp1252,
// or the TrueType font, in UTF-8.
type textRun struct {
	s   string
	ttf bool
}

// split cuts v into runs: what Helvetica can show goes in Helvetica, and
// the rest, if a TrueType font is loaded, in that font. Fallback fonts
// for CJK, such as Droid Sans Fallback, have no Latin letters, and
// Helvetica has no CJK; together they show both. Without a TrueType font,
// characters outside cp1252 become '?'. The result is valid until the
// next call.
func (s *sheet) split(v string) []textRun {
	runs := s.runs[:0]
	if !s.ttf {
		s.runs = append(runs, textRun{s: toCP1252(v)})
		return s.runs
	}
	start, inTTF := 0, false
	for i, r := range v {
		ttf := r != '?' && cp1252Byte(r) == '?'
		if ttf != inTTF && i > start {
			runs = appendRun(runs, v[start:i], inTTF)
			start = i
		}
		inTTF = ttf
	}
	s.runs = appendRun(runs, v[start:], inTTF)
	return s.runs
}

func appendRun(runs []textRun, v string, ttf bool) []textRun {
	if v == "" {
		return runs
	}
	if !ttf {
		v = toCP1252(v)
	}
	return append(runs, textRun{s: v, ttf: ttf})
}

// setFont selects the font of a run at the current size and weight.
func (s *sheet) setFont(ttf bool) {
	switch {
	case ttf:
		s.pdf.SetFont(ttfFamily, "", s.pt)
	case s.bold:
		s.pdf.SetFont("Helvetica", "B", s.pt)
	default:
		s.pdf.SetFont("Helvetica", "", s.pt)
	}
}

// width returns the width of v, in mm, at the current size and weight.
func (s *sheet) width(v string) float64 {
	w := 0.0
	for _, r := range s.split(v) {
		s.setFont(r.ttf)
		w += s.pdf.GetStringWidth(r.s)
	}
	return w
}

// draw writes v with its baseline starting at (x, y).
func (s *sheet) draw(x, y float64, v string) {
	for _, r := range s.split(v) {
		s.setFont(r.ttf)
		s.pdf.Text(x, y, r.s)
		x += s.pdf.GetStringWidth(r.s)
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

		name := "qr" + strconv.Itoa(first+i)
		s.pdf.RegisterImageOptionsReader(name, opts, bytes.NewReader(lb.png))
		s.pdf.ImageOptions(name, x+s.pad, y+(l.LabelHeightMM-s.qrSide)/2, s.qrSide, s.qrSide, false, opts, 0, "")

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
