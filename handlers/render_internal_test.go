package handlers

import (
	"io"
	"log/slog"
	"testing"

	"tracesvc/trace/scan"
)

func BenchmarkRenderScanPage(b *testing.B) {
	p := loadPages(slog.New(slog.DiscardHandler))
	v := pageView{CSS: p.css, Lang: "zh", Other: "en", T: p.t["zh"], URI: "https://id.example.cn/01/06901230000010/21/ABC",
		Verdict: "genuine", VerdictText: "正品", Explain: "这是正品", ChecksText: "已查询 3 次",
		Product: &scan.ProductFacts{Name: "Whole milk", GTIN: "06901230000010"}, Category: "食品"}
	b.ReportAllocs()
	for b.Loop() {
		p.tmpl.ExecuteTemplate(io.Discard, "scan", v)
	}
}
