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

// scanViews are scan pages taking every branch of the template: each
// verdict's shape, every optional part present and absent, and hostile
// text (markup, quotes, '+', NUL, invalid UTF-8, URL specials) in every
// field that holds data.
func scanViews(p *pages, lang string) []pageView {
	t := p.t[lang]
	hostile := "<script>alert('x'+1)</script> & \"q\" \x00 \xff ü 路"
	full := scanView(p, lang)
	full.Other, full.SwitchURL = "en", "/01/06901230000010/21/A%2FB(c)'d\"e<f>?lang=en&x=1+2"
	full.Mismatches = []string{"lot " + hostile, "expiry"}
	full.SaleText, full.Caution, full.CreditText, full.CreditColour = "sold "+hostile, true, t["credit_good"], "green\"x"
	full.Recall = &scan.RecallNotice{Hazard: hostile, Remedy: "refund", Instructions: hostile, Contact: "+86 " + hostile}
	full.Product = &scan.ProductFacts{Name: hostile, Brand: hostile, GTIN: "06901230000010",
		Maker: scan.Maker{Name: hostile, Region: hostile}}
	full.Unit = &scan.UnitFacts{SSCC: "369012300000000018", Issuer: scan.Maker{Name: hostile, Region: "Tianjin"}}
	full.Batch = &scan.BatchFacts{Lot: hostile, ProductionDate: "2026-11-01", ExpiryDate: "2027-11-01"}
	full.Serial = hostile
	full.Stages = []stageView{{Stage: "farm", Step: hostile, Date: "2026-11-02", Place: hostile, Custodian: hostile},
		{Stage: "retail", Step: "selling", Date: "2026-11-03"}}
	full.Standards = []scan.DeclaredStandard{{Number: "GB 25190-2010", Name: hostile, BelowNational: true}, {Number: "Q/X 1", Name: "n"}}

	bare := pageView{CSS: p.css, Lang: lang, Other: "zh", T: t, SwitchURL: "?lang=zh", URI: "u", Verdict: "genuine",
		VerdictText: t["verdict_genuine"], Explain: t["explain_genuine"]}
	noNotice := full
	noNotice.Recall = nil
	notRecalled := full
	notRecalled.Verdict, notRecalled.Recall = "genuine", nil
	unknown := bare
	unknown.Verdict, unknown.Product = "unknown_code", &scan.ProductFacts{Name: "p"}
	noStages := bare
	noStages.Product, noStages.Recall = &scan.ProductFacts{Name: "p"}, &scan.RecallNotice{Remedy: "nonesuch"}
	unitOnly := bare
	unitOnly.Unit = &scan.UnitFacts{SSCC: "1", Issuer: scan.Maker{Region: "r"}}
	scripted := bare
	scripted.SwitchURL = "javascript:alert(1)"
	return []pageView{full, bare, noNotice, notRecalled, unknown, noStages, unitOnly, scripted}
}

// TestScanPageWriter: the hand-written scan page is the generic "scan"
// template's output byte for byte, in every language and branch.
func TestScanPageWriter(t *testing.T) {
	p := loadPages(slog.New(slog.DiscardHandler))
	generic := template.Must(template.ParseFS(templateFS, "templates/*.html"))
	for lang := range p.t {
		for i, v := range scanViews(p, lang) {
			v.Categories = tipoffOptions(p.t[lang])
			var want, got bytes.Buffer
			if err := generic.ExecuteTemplate(&want, "scan", v); err != nil {
				t.Fatal(err)
			}
			writeScanPage(&got, v, p.opts[lang])
			if got.String() != want.String() {
				t.Errorf("view %d in %s: the written page differs from the template's:\n%s\n---\n%s", i, lang, got.String(), want.String())
			}
		}
	}
}

// FuzzScanPageWriter holds the hand-written scan page to the template's
// escaping for any text in the fields that hold data.
func FuzzScanPageWriter(f *testing.F) {
	f.Add("<b>'x'+\"y\"&</b>", "/01/0690/21/a(b)'c?lang=en&k=%zz%4F", "en", "\x00\xff")
	f.Add("javascript:alert(1)", "JavaScript:x", "zh", "mailto:a@b")
	p := loadPages(slog.New(slog.DiscardHandler))
	generic := template.Must(template.ParseFS(templateFS, "templates/*.html"))
	f.Fuzz(func(t *testing.T, text, switchURL, lang, other string) {
		for _, v := range scanViews(p, "zh")[:2] {
			v.Lang, v.Other, v.SwitchURL, v.URI, v.Verdict, v.Explain, v.Serial = lang, other, switchURL, text, text, text, other
			v.Categories = tipoffOptions(p.t["zh"])
			var want, got bytes.Buffer
			if err := generic.ExecuteTemplate(&want, "scan", v); err != nil {
				t.Fatal(err)
			}
			writeScanPage(&got, v, p.opts["zh"])
			if got.String() != want.String() {
				t.Fatalf("the written page differs from the template's:\n%s\n---\n%s", got.String(), want.String())
			}
		}
	})
}

// BenchmarkRenderScanPage renders one scan page (issue 14's profiles of
// the scan page found a fifth, then a third, of its CPU time in
// html/template), with the specialised template and as written now.
func BenchmarkRenderScanPage(b *testing.B) {
	p := loadPages(slog.New(slog.DiscardHandler))
	v := scanView(p, "zh")
	b.Run("template", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.tmpl["zh"].ExecuteTemplate(io.Discard, "scan", v)
		}
	})
	b.Run("written", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			writeScanPage(&buf, v, p.opts["zh"])
		}
	})
}
