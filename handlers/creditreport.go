package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"tracesvc/recall/credit"
	"tracesvc/trace/label"
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

// creditReportPDF is the same report as a PDF, drawn by trace/label: in
// the reader's language when -label-font gives a TrueType font for
// Chinese, in English otherwise (Helvetica has no Chinese).
func (s *Server) creditReportPDF(c *gin.Context) error {
	r, err := s.credit.Report(c.Request.Context(), c.Param("id"))
	if err != nil {
		return err
	}
	t := s.pages.base(c).T
	if s.labelFont == "" {
		t = s.pages.t[langEN]
	}
	v := newReportView(r, t)
	d := label.Document{Title: t["report_title"] + " " + v.USCC, FontPath: s.labelFont}
	add := func(size float64, bold bool, text string) {
		d.Blocks = append(d.Blocks, label.Block{Text: text, Size: size, Bold: bold})
	}
	add(18, true, t["report_title"])
	for _, kv := range [][2]string{{"report_name", v.Name}, {"report_uscc", v.USCC}, {"report_region", v.Region}, {"report_date", v.At}} {
		add(11, false, t[kv[0]]+": "+kv[1])
	}
	swatch := rgbOf(v.Colour)
	d.Blocks = append(d.Blocks, label.Block{Text: v.ClassText, Size: 14, Bold: true, Swatch: &swatch, Space: 4})
	if v.Rule != "" {
		add(10, false, v.Rule)
	}
	for _, b := range v.Basis {
		add(10, false, "- "+b)
	}
	if v.Restricted {
		add(10, true, t["report_restricted"])
	}
	d.Blocks = append(d.Blocks, label.Block{Text: t["report_lists"], Size: 13, Bold: true, Space: 4})
	if len(v.Listings) == 0 {
		add(10, false, t["report_nolists"])
	}
	for _, l := range v.Listings {
		add(10, false, "- "+l)
	}
	d.Blocks = append(d.Blocks, label.Block{Text: t["report_history"], Size: 13, Bold: true, Space: 4})
	bar := label.Block{}
	for _, sg := range v.Segments {
		bar.Bar = append(bar.Bar, label.Span{From: sg.X / 600, To: (sg.X + sg.W) / 600, Colour: rgbOf(colourOfFill(sg.Fill))})
	}
	d.Blocks = append(d.Blocks, bar)
	add(9, false, v.From+" - "+v.To)
	for _, h := range v.History {
		add(10, false, h)
	}
	var buf bytes.Buffer
	if err := label.RenderDocument(&buf, d); err != nil {
		return fmt.Errorf("credit report PDF: %w", err)
	}
	c.Header("Content-Disposition", fmt.Sprintf(`inline; filename="credit-%s.pdf"`, v.USCC))
	c.Data(http.StatusOK, "application/pdf", buf.Bytes())
	return nil
}

// rgbOf is a class colour's RGB.
func rgbOf(colour string) label.RGB {
	switch colour {
	case "green":
		return label.RGB{30, 142, 62}
	case "yellow":
		return label.RGB{249, 171, 0}
	case "red":
		return label.RGB{217, 48, 37}
	}
	return label.RGB{0, 0, 0}
}

func colourOfFill(fill string) string {
	for colour, f := range fills {
		if f == fill {
			return colour
		}
	}
	return "black"
}
