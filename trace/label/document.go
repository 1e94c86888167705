package label

import (
	"fmt"
	"io"
	"strings"
)

// Document is a plain printed document — lines of text, colour swatches
// and bars of coloured spans — for reports that are not labels, such as a
// credit report. It shares the labels' fonts: Helvetica, and the
// TrueType font at FontPath, if any, for the characters Helvetica lacks
// (without one they print as '?').
type Document struct {
	Title    string
	FontPath string
	Blocks   []Block
}

// Block is one line of a document: text (wrapped to the page), or a bar.
type Block struct {
	Text   string
	Size   float64 // points; 0 means 10
	Bold   bool
	Swatch *RGB    // a colour box before the text
	Bar    []Span  // a bar of coloured spans instead of text
	Space  float64 // extra space before the block, in mm
}

// RGB is a colour.
type RGB [3]uint8

// Span is a stretch of a bar, From and To in 0…1 of its width.
type Span struct {
	From, To float64
	Colour   RGB
}

// The page's margins, in mm.
const (
	docLeft   = 20.0
	docWidth  = pageWidthMM - 2*docLeft
	docTop    = 22.0
	docBottom = pageHeightMM - 20
)

// RenderDocument writes d as an A4 PDF to w.
func RenderDocument(w io.Writer, d Document) error {
	s, err := newSheet(Layout{Columns: 1, Rows: 1, LabelWidthMM: 50, LabelHeightMM: 30, FontPath: d.FontPath})
	if err != nil {
		return err
	}
	s.pdf.SetTitle(d.Title, true)
	s.pdf.AddPage()
	y := docTop
	room := func(h float64) {
		if y+h > docBottom {
			s.pdf.AddPage()
			y = docTop
		}
	}
	for _, b := range d.Blocks {
		y += b.Space
		if len(b.Bar) > 0 {
			room(10)
			for _, sp := range b.Bar {
				s.pdf.SetFillColor(int(sp.Colour[0]), int(sp.Colour[1]), int(sp.Colour[2]))
				s.pdf.Rect(docLeft+sp.From*docWidth, y, (sp.To-sp.From)*docWidth, 8, "F")
			}
			y += 11
			continue
		}
		s.pt, s.bold = b.Size, b.Bold
		if s.pt == 0 {
			s.pt = 10
		}
		line := s.pt * 0.5 // mm between baselines
		x := docLeft
		if b.Swatch != nil {
			room(line)
			s.pdf.SetFillColor(int(b.Swatch[0]), int(b.Swatch[1]), int(b.Swatch[2]))
			s.pdf.Rect(x, y-s.pt*0.3, 7, s.pt*0.35, "F")
			x += 10
		}
		for _, l := range s.wrap(b.Text, docLeft+docWidth-x) {
			room(line)
			y += line
			s.draw(x, y, l)
		}
		y += line * 0.3
	}
	if err := s.pdf.Output(w); err != nil {
		return fmt.Errorf("label: write PDF document: %w", err)
	}
	return nil
}

// wrap breaks text into lines no wider than width mm, at spaces where it
// can and anywhere in a word (Chinese has no spaces) where it must.
func (s *sheet) wrap(text string, width float64) []string {
	var lines []string
	var cur strings.Builder
	for _, word := range strings.SplitAfter(text, " ") {
		if s.width(cur.String()+word) <= width {
			cur.WriteString(word)
			continue
		}
		if cur.Len() > 0 {
			lines = append(lines, strings.TrimRight(cur.String(), " "))
			cur.Reset()
		}
		for _, r := range word {
			if s.width(cur.String()+string(r)) > width && cur.Len() > 0 {
				lines = append(lines, cur.String())
				cur.Reset()
			}
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 || len(lines) == 0 {
		lines = append(lines, strings.TrimRight(cur.String(), " "))
	}
	return lines
}
