package label

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"iter"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"tracesvc/trace/testtool"
)

func TestLayoutValidate(t *testing.T) {
	with := func(f func(*Layout)) Layout {
		l := DefaultLayout()
		f(&l)
		return l
	}
	tests := map[string]struct {
		layout Layout
		field  string // "" if valid
	}{
		"default": {DefaultLayout(), ""},
		// Avery L7160: 3 × 7 labels of 63.5 × 38.1 mm.
		"l7160":               {with(func(l *Layout) { l.Rows, l.LabelHeightMM = 7, 38.1 }), ""},
		"one big label":       {Layout{Columns: 1, Rows: 1, LabelWidthMM: 200, LabelHeightMM: 287, MarginMM: 5}, ""},
		"no columns":          {with(func(l *Layout) { l.Columns = 0 }), "columns"},
		"too many rows":       {with(func(l *Layout) { l.Rows = 41 }), "rows"},
		"too wide for A4":     {with(func(l *Layout) { l.Columns = 4 }), "columns"},
		"too high for A4":     {with(func(l *Layout) { l.Rows = 9 }), "rows"},
		"gaps too wide":       {with(func(l *Layout) { l.ColumnGapMM = 6 }), "columns"},
		"margin too wide":     {with(func(l *Layout) { l.MarginMM = 8 }), "columns"},
		"label too narrow":    {with(func(l *Layout) { l.LabelWidthMM = 25 }), "labelWidthMm"},
		"label too low":       {with(func(l *Layout) { l.LabelHeightMM = 14 }), "labelHeightMm"},
		"label width NaN":     {with(func(l *Layout) { l.LabelWidthMM = math.NaN() }), "labelWidthMm"},
		"negative margin":     {with(func(l *Layout) { l.MarginMM = -1 }), "marginMm"},
		"negative column gap": {with(func(l *Layout) { l.ColumnGapMM = -0.5 }), "columnGapMm"},
		"infinite row gap":    {with(func(l *Layout) { l.RowGapMM = math.Inf(1) }), "rowGapMm"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.layout.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				return
			}
			wantInvalid(t, err, tc.field)
		})
	}
}

// testItems yields n labels for one lot, each with its own serial.
func testItems(n int, name string) iter.Seq[Item] {
	return func(yield func(Item) bool) {
		for i := range n {
			serial := fmt.Sprintf("SN%06d", i)
			if !yield(Item{
				URI:         testBase + "/01/09506000134352/10/L2026-11/21/" + serial,
				ProductName: name,
				GTIN:        "09506000134352",
				Lot:         "L2026-11",
				Expiry:      "261130",
				Serial:      serial,
			}) {
				return
			}
		}
	}
}

func renderSheet(t testing.TB, l Layout, items iter.Seq[Item]) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Sheet(&buf, l, items); err != nil {
		t.Fatalf("Sheet: %v", err)
	}
	return buf.Bytes()
}

// pdfText extracts the text of a page with pdftotext (poppler-utils).
func pdfText(t testing.TB, pdf string, page int) string {
	t.Helper()
	pdftotext := testtool.Program(t, "pdftotext", "poppler-utils")
	p := fmt.Sprint(page)
	return string(run(t, pdftotext, "-f", p, "-l", p, "-enc", "UTF-8", pdf, "-"))
}

// scanLabels rasterizes a page of a sheet at dpi with pdftoppm and reads
// each label with zbarimg, one at a time as a scanner would: zbarimg
// reading a whole page of 24 QR Codes in a grid now and then misses one
// it reads alone. It returns what each label holds, in label order.
func scanLabels(t testing.TB, pdf string, l Layout, page, labels, dpi int) [][]zbarSymbol {
	t.Helper()
	pdftoppm := testtool.Program(t, "pdftoppm", "poppler-utils")
	p := fmt.Sprint(page)
	prefix := strings.TrimSuffix(pdf, ".pdf") + "-" + p
	run(t, pdftoppm, "-r", fmt.Sprint(dpi), "-gray", "-png", "-f", p, "-l", p, "-singlefile", pdf, prefix)
	f, err := os.Open(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		t.Fatalf("pdftoppm gave a %T", img)
	}
	px := func(mm float64) int { return int(math.Round(mm * float64(dpi) / 25.4)) }
	x0, y0 := (pageWidthMM-l.gridWidth())/2, (pageHeightMM-l.gridHeight())/2
	var paths []string
	for i := range labels {
		col, row := i%l.Columns, i/l.Columns
		x := x0 + float64(col)*(l.LabelWidthMM+l.ColumnGapMM)
		y := y0 + float64(row)*(l.LabelHeightMM+l.RowGapMM)
		r := image.Rect(px(x), px(y), px(x+l.LabelWidthMM), px(y+l.LabelHeightMM))
		var buf bytes.Buffer
		if err := png.Encode(&buf, sub.SubImage(r)); err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("%s-label%02d.png", prefix, i)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return scanZbar(t, paths...)
}

// TestSheetScan prints a sheet to PNG at 300 dpi, as a printer would, and
// reads every label's QR Code back.
func TestSheetScan(t *testing.T) {
	const n = 30 // a full page of 24 and 6 on the second
	l := DefaultLayout()
	pdf := writeTemp(t, "sheet.pdf", renderSheet(t, l, testItems(n, "Organic green tea, 250 g")))
	var uris []string
	for it := range testItems(n, "") {
		uris = append(uris, it.URI)
	}
	perPage := l.Columns * l.Rows
	for page, want := range [][]string{uris[:perPage], uris[perPage:]} {
		t.Run(fmt.Sprint("page ", page+1), func(t *testing.T) {
			for i, got := range scanLabels(t, pdf, l, page+1, len(want), 300) {
				if !slices.Equal(got, qrSymbols(want[i])) {
					t.Errorf("label %d: zbarimg read %v, want %q", i, got, want[i])
				}
			}
			text := pdfText(t, pdf, page+1)
			for _, s := range []string{"GTIN 09506000134352", "LOT L2026-11", "EXP 2026-11-30", "Organic green tea"} {
				if c := strings.Count(text, s); c != len(want) {
					t.Errorf("got %q %d times on the page, want %d", s, c, len(want))
				}
			}
			for _, u := range want {
				serial := u[strings.LastIndexByte(u, '/')+1:]
				if !strings.Contains(text, "SN "+serial) {
					t.Errorf("page text lacks %q", "SN "+serial)
				}
			}
		})
	}
	if t.Failed() {
		t.Logf("kept %s", pdf)
	}
}

// fontCandidates are TrueType fonts Debian installs, CJK first.
var fontCandidates = []string{
	"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", // fonts-droid-fallback
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",           // fonts-dejavu-core
	"/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
	"/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf",
}

func TestSheetText(t *testing.T) {
	const name = "有机绿茶 Crème brûlée Ωmega" // CJK, cp1252 and Greek
	t.Run("core font", func(t *testing.T) {
		pdf := writeTemp(t, "core.pdf", renderSheet(t, DefaultLayout(), testItems(1, name)))
		text := pdfText(t, pdf, 1)
		// The name takes two lines.
		for _, want := range []string{"???? Crème brûlée\n?mega"} {
			if !strings.Contains(text, want) {
				t.Errorf("got page text %q, want it to contain %q: cp1252 kept, the rest as '?'", text, want)
			}
		}
	})
	t.Run("TrueType font", func(t *testing.T) {
		font := testtool.File(t, "fonts-droid-fallback", fontCandidates...)
		t.Logf("FontPath %s", font)
		l := DefaultLayout()
		l.FontPath = font
		pdf := writeTemp(t, "ttf.pdf", renderSheet(t, l, testItems(2, name)))
		text := pdfText(t, pdf, 1)
		// The name takes two lines.
		for _, want := range []string{"有机绿茶 Crème brûlée", "Ωmega"} {
			if c := strings.Count(text, want); c != 2 {
				t.Errorf("got %q %d times in page text %q, want 2", want, c, text)
			}
		}
		if !strings.Contains(text, "SN SN000001") {
			t.Errorf("page text %q lacks the serial", text)
		}
	})
}

func TestSheetLongText(t *testing.T) {
	items := func(yield func(Item) bool) {
		yield(Item{
			URI:         benchURI,
			ProductName: strings.Repeat("Extra virgin olive oil, cold pressed, ", 5),
			GTIN:        "09506000134352",
			Lot:         "ABCDEFGHIJKLMNOPQRST",
			Serial:      "abcdefghijklmnopqrst",
		})
	}
	pdf := writeTemp(t, "long.pdf", renderSheet(t, DefaultLayout(), items))
	text := pdfText(t, pdf, 1)
	// Two lines of the name, cut short; the data lines in full, shrunk.
	for _, want := range []string{"Extra virgin olive oil,", "...", "LOT ABCDEFGHIJKLMNOPQRST", "SN abcdefghijklmnopqrst"} {
		if !strings.Contains(text, want) {
			t.Errorf("page text %q lacks %q", text, want)
		}
	}
}

func TestSheetInvalid(t *testing.T) {
	withItem := func(n int, f func(*Item)) iter.Seq[Item] {
		return func(yield func(Item) bool) {
			for i, it := range slices.Collect(testItems(n, "Tea")) {
				if i == n-1 {
					f(&it)
				}
				if !yield(it) {
					return
				}
			}
		}
	}
	dir := t.TempDir()
	writeFont := func(name, magic string) string {
		path := dir + "/" + name
		if err := os.WriteFile(path, []byte(magic+strings.Repeat("\x00", 64)), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	withFont := func(path string) Layout {
		l := DefaultLayout()
		l.FontPath = path
		return l
	}
	tests := map[string]struct {
		layout Layout
		items  iter.Seq[Item]
		field  string
	}{
		"bad layout":         {Layout{}, testItems(1, ""), "columns"},
		"no items":           {DefaultLayout(), testItems(0, ""), "items"},
		"empty uri":          {DefaultLayout(), withItem(3, func(it *Item) { it.URI = "" }), "items[2].uri"},
		"uri on second page": {DefaultLayout(), withItem(28, func(it *Item) { it.URI = "https://example.com/a b" }), "items[27].uri"},
		"bad expiry":         {DefaultLayout(), withItem(1, func(it *Item) { it.Expiry = "2026-13-01" }), "items[0].expiry"},
		"font collection":    {withFont(writeFont("wqy.ttc", "ttcf")), testItems(1, ""), "fontPath"},
		"opentype cff font":  {withFont(writeFont("noto.otf", "OTTO")), testItems(1, ""), "fontPath"},
		"not a font":         {withFont(writeFont("font.ttf", "<htm")), testItems(1, ""), "fontPath"},
		"truncated truetype": {withFont(writeFont("bad.ttf", "\x00\x01\x00\x00")), testItems(1, ""), "fontPath"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			wantInvalid(t, Sheet(&buf, tc.layout, tc.items), tc.field)
			if buf.Len() != 0 {
				t.Errorf("got %d bytes written, want none", buf.Len())
			}
		})
	}
	t.Run("missing font", func(t *testing.T) {
		err := Sheet(&bytes.Buffer{}, withFont(dir+"/missing.ttf"), testItems(1, ""))
		if err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("got error %v, want a file error, not ErrInvalid", err)
		}
	})
}

func TestFormatExpiry(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"2026-11-30", "2026-11-30", true},
		{"261130", "2026-11-30", true},
		{"280229", "2028-02-29", true},
		{"261100", "2026-11", true}, // day 00: end of month
		{"270229", "", false},
		{"261131", "", false},
		{"2026-02-30", "", false},
		{"26113", "", false},
		{"26-11-30", "", false},
		{"abcdef", "", false},
	}
	for _, tc := range tests {
		got, err := formatExpiry(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("formatExpiry(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestToCP1252(t *testing.T) {
	tests := []struct{ in, want string }{
		{"GTIN 09506000134352", "GTIN 09506000134352"},
		{"Crème brûlée", "Cr\xe8me br\xfbl\xe9e"},
		{"€5 – “quoted” …", "\x805 \x96 \x93quoted\x94 \x85"},
		{"有机 tea", "?? tea"},
		{"Ωmega", "?mega"},
	}
	for _, tc := range tests {
		if got := toCP1252(tc.in); got != tc.want {
			t.Errorf("toCP1252(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWrap(t *testing.T) {
	runes := func(s string) float64 { return float64(len([]rune(s))) }
	tests := []struct {
		in       string
		width    float64
		maxLines int
		want     []string
	}{
		{"short", 10, 2, []string{"short"}},
		{"green tea leaves", 10, 2, []string{"green tea", "leaves"}},
		{"green tea leaves from Fujian", 10, 2, []string{"green tea", "leaves..."}},
		{"supercalifragilisticexpialidocious", 10, 2, []string{"supercalif", "ragilis..."}},
		{"supercalifragilistic", 10, 2, []string{"supercalif", "ragilistic"}},
		{"有机绿茶有机绿茶有机绿茶", 5, 2, []string{"有机绿茶有", "机绿..."}},
		{"one two", 3, 1, []string{"..."}},
	}
	for _, tc := range tests {
		got := wrap(tc.in, tc.width, tc.maxLines, ellipsis, runes)
		if !slices.Equal(got, tc.want) {
			t.Errorf("wrap(%q, %v, %d) = %q, want %q", tc.in, tc.width, tc.maxLines, got, tc.want)
		}
	}
}
