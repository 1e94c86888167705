package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-pdf/fpdf"
	"golang.org/x/text/encoding/charmap"

	"tracesvc/recall/credit"
)

// reportView is an entity's credit report as the page and the PDF show
// it, in the reader's language.
type reportView struct {
	Name, USCC, Region, At string
	Class, Colour          string
	ClassText, Rule        string
	Restricted             bool
	Basis, Listings        []string
	History                []string
	Segments               []segment
	From, To               string
}

// segment is one class's stretch of the history chart.
type segment struct {
	X, W        float64
	Fill, Label string
}

// fills are the classes' colours in the chart.
var fills = map[string]string{"green": "#1e8e3e", "yellow": "#f9ab00", "red": "#d93025", "black": "#000000"}

func newReportView(r credit.Report, t map[string]string) *reportView {
	v := &reportView{Name: r.Entity.Name, USCC: r.Entity.USCC, Region: r.Entity.Region, At: r.Standing.At,
		Class: string(r.Standing.Class), Colour: r.Standing.Colour, ClassText: t["credit_"+string(r.Standing.Class)],
		Restricted: r.Standing.Restricted, From: r.From, To: r.To}
	if r.Standing.Rule != nil {
		v.Rule = r.Standing.Rule.ID + ": " + r.Standing.Rule.Text
	}
	for _, e := range r.Standing.Basis {
		line := e.Date + " · " + strings.ReplaceAll(string(e.Type), "_", " ") + " · " + e.Source
		if e.Fine != "" {
			line += " · ¥" + e.Fine
		}
		v.Basis = append(v.Basis, line)
	}
	for _, l := range r.Listings {
		line := fmt.Sprintf("%s: %s (%s)", strings.ReplaceAll(l.List, "_", " "), l.EnteredOn, l.EntryReason)
		if l.RemovedOn != "" {
			line += fmt.Sprintf(" — %s (%s)", l.RemovedOn, l.RemovalReason)
		}
		v.Listings = append(v.Listings, line)
	}
	from, _ := time.Parse(time.DateOnly, r.From)
	to, _ := time.Parse(time.DateOnly, r.To)
	span := to.Sub(from).Hours()/24 + 1
	for i, h := range r.History {
		v.History = append(v.History, h.From+": "+t["credit_"+string(h.Class)])
		start, _ := time.Parse(time.DateOnly, h.From)
		end := to.AddDate(0, 0, 1)
		if i+1 < len(r.History) {
			end, _ = time.Parse(time.DateOnly, r.History[i+1].From)
		}
		x := start.Sub(from).Hours() / 24 / span * 600
		w := end.Sub(start).Hours() / 24 / span * 600
		v.Segments = append(v.Segments, segment{X: x, W: w, Fill: fills[h.Colour], Label: h.From + " " + t["credit_"+string(h.Class)]})
	}
	return v
}

// creditReport is an entity's printable credit report page: public.
func (s *Server) creditReport(c *gin.Context) error {
	r, err := s.credit.Report(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	v := s.pages.base(c)
	v.Report = newReportView(r, v.T)
	s.pages.render(c, http.StatusOK, "credit", v)
	return nil
}

// creditReportPDF is the same report as a PDF: text in Helvetica, and in
// the -label-font TrueType font where Helvetica has no glyph (without
// one, such characters print as '?').
func (s *Server) creditReportPDF(c *gin.Context) error {
	r, err := s.credit.Report(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	t := s.pages.base(c).T
	pdf := fpdf.New("P", "mm", "A4", "")
	ttf := false
	if s.labelFont != "" {
		if data, err := os.ReadFile(s.labelFont); err == nil {
			pdf.AddUTF8FontFromBytes("ttf", "", data)
			ttf = pdf.Error() == nil
		}
	}
	if !ttf {
		t = s.pages.t[langEN] // Helvetica has no Chinese: the words in English
	}
	v := newReportView(r, t)
	pdf.SetTitle(t["report_title"]+" "+v.USCC, true)
	pdf.AddPage()
	write := func(size float64, bold bool, text string) {
		style := ""
		if bold {
			style = "B"
		}
		for _, run := range runs(text, ttf) {
			if run.ttf {
				pdf.SetFont("ttf", "", size)
				pdf.Write(size*0.5, run.text)
			} else {
				pdf.SetFont("Helvetica", style, size)
				pdf.Write(size*0.5, latin1(run.text))
			}
		}
		pdf.Ln(size * 0.6)
	}
	write(18, true, t["report_title"])
	write(11, false, t["report_name"]+": "+v.Name)
	write(11, false, t["report_uscc"]+": "+v.USCC)
	write(11, false, t["report_region"]+": "+v.Region)
	write(11, false, t["report_date"]+": "+v.At)
	pdf.Ln(3)
	rgb := map[string][3]int{"green": {30, 142, 62}, "yellow": {249, 171, 0}, "red": {217, 48, 37}, "black": {0, 0, 0}}
	col := rgb[v.Colour]
	pdf.SetFillColor(col[0], col[1], col[2])
	pdf.Rect(pdf.GetX(), pdf.GetY(), 8, 6, "F")
	pdf.SetX(pdf.GetX() + 10)
	write(14, true, v.ClassText)
	if v.Rule != "" {
		write(10, false, v.Rule)
	}
	for _, b := range v.Basis {
		write(10, false, "• "+b)
	}
	if v.Restricted {
		write(10, true, t["report_restricted"])
	}
	pdf.Ln(3)
	write(13, true, t["report_lists"])
	if len(v.Listings) == 0 {
		write(10, false, t["report_nolists"])
	}
	for _, l := range v.Listings {
		write(10, false, "• "+l)
	}
	pdf.Ln(3)
	write(13, true, t["report_history"])
	x0, y0 := pdf.GetX(), pdf.GetY()
	for _, sg := range v.Segments {
		c := rgb[colourOfFill(sg.Fill)]
		pdf.SetFillColor(c[0], c[1], c[2])
		pdf.Rect(x0+sg.X*180/600, y0, sg.W*180/600, 8, "F")
	}
	pdf.SetY(y0 + 10)
	write(9, false, v.From+" — "+v.To)
	for _, h := range v.History {
		write(10, false, h)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return fmt.Errorf("credit report PDF: %w", err)
	}
	c.Header("Content-Disposition", fmt.Sprintf(`inline; filename="credit-%s.pdf"`, v.USCC))
	c.Data(http.StatusOK, "application/pdf", buf.Bytes())
	return nil
}

func colourOfFill(fill string) string {
	for colour, f := range fills {
		if f == fill {
			return colour
		}
	}
	return "black"
}

// run is text drawn in one font.
type run struct {
	text string
	ttf  bool
}

// runs splits text into runs Helvetica can draw (cp1252) and runs for the
// TrueType font, when there is one.
func runs(text string, ttf bool) []run {
	if !ttf {
		return []run{{text: text}}
	}
	var out []run
	for _, r := range text {
		_, ok := charmap.Windows1252.EncodeRune(r)
		need := !ok
		if len(out) == 0 || out[len(out)-1].ttf != need {
			out = append(out, run{ttf: need})
		}
		out[len(out)-1].text += string(r)
	}
	return out
}

// latin1 encodes text for Helvetica (cp1252), '?' where it has no glyph.
func latin1(text string) string {
	var b strings.Builder
	for _, r := range text {
		if c, ok := charmap.Windows1252.EncodeRune(r); ok {
			b.WriteByte(c)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}
