package handlers

import (
	"bytes"
	"html/template"
	"io"
	"log/slog"
	"testing"

	"tracesvc/trace/scan"
)

// scanView is a scan page with most of its parts, in lang.
func scanView(p *pages, lang string) pageView {
	t := p.t[lang]
	return pageView{CSS: p.css, Lang: lang, Other: "en", T: t, URI: "https://id.example.cn/01/06901230000010/21/ABC",
		Verdict: "recalled", VerdictText: t["verdict_recalled"], Explain: "<b>x</b> & \"y\"", ChecksText: "3",
		Recall:  &scan.RecallNotice{Hazard: "Listeria <monocytogenes>", Remedy: "return", Instructions: "Return it"},
		Product: &scan.ProductFacts{Name: "Whole milk 'UHT'", GTIN: "06901230000010"}, Category: "食品",
		Title: "t", Reason: "r", Help: "h", StatusText: "s", DueText: "d", BackURL: "/01/06901230000010",
		Categories: tipoffOptions(t)}
}

// TestSpecialisedPages: the pages parsed with each language's words
// written in render exactly as the generic templates reading .T do.
func TestSpecialisedPages(t *testing.T) {
	p := loadPages(slog.New(slog.DiscardHandler))
	generic := template.Must(template.ParseFS(templateFS, "templates/*.html"))
	for lang := range p.t {
		v := scanView(p, lang)
		for _, name := range []string{"scan", "error", "receipt", "credit"} {
			var want, got bytes.Buffer
			if err := generic.ExecuteTemplate(&want, name, v); err != nil {
				t.Fatal(name, err)
			}
			if err := p.tmpl[lang].ExecuteTemplate(&got, name, v); err != nil {
				t.Fatal(name, err)
			}
			if got.String() != want.String() {
				t.Errorf("%s page in %s differs from the generic template's:\n%s\n---\n%s", name, lang, got.String(), want.String())
			}
			// The categories are written in: the view's list is not read.
			bare := v
			bare.Categories = nil
			got.Reset()
			if err := p.tmpl[lang].ExecuteTemplate(&got, name, bare); err != nil || got.String() != want.String() {
				t.Errorf("%s page in %s reads the view's tip-off categories (%v)", name, lang, err)
			}
		}
	}
}

// BenchmarkRenderScanPage renders one scan page (issue 14's profile of
// the scan page found a fifth of its CPU time in html/template).
func BenchmarkRenderScanPage(b *testing.B) {
	p := loadPages(slog.New(slog.DiscardHandler))
	v := scanView(p, "zh")
	b.ReportAllocs()
	for b.Loop() {
		p.tmpl["zh"].ExecuteTemplate(io.Discard, "scan", v)
	}
}
