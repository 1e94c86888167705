package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tracesvc/trace/testtool"
)

func TestLabels(t *testing.T) {
	e := newBatchEnv(t)
	var got issued
	json.Unmarshal(e.must(201, "POST", e.codesPath, e.owner, map[string]any{"count": 2}).Body, &got)
	uri := got.Codes[0].URI
	q := func(v url.Values) string { return "/api/v1/labels?" + v.Encode() }
	ok := func(code, sym, format string) string {
		return q(url.Values{"code": {code}, "symbology": {sym}, "format": {format}})
	}
	runCases(t, e.env, map[string]authCase{
		"no key":         {"GET", ok(uri, "qr", "png"), "", nil, 401, "unauthorized"},
		"wrong key":      {"GET", ok(uri, "qr", "png"), bogusKey, nil, 401, "unauthorized"},
		"other entity":   {"GET", ok(uri, "qr", "png"), e.other, nil, 200, ""},
		"regulator":      {"GET", ok(uri, "datamatrix", "svg"), e.reg, nil, 200, ""},
		"gs1-128":        {"GET", ok("(01)09506000134352(10)ABC123", "gs1-128", "png"), e.owner, nil, 200, ""},
		"bad check":      {"GET", ok("https://id.example.cn/01/09506000134353/21/X", "qr", "png"), e.owner, nil, 400, "invalid"},
		"no code":        {"GET", "/api/v1/labels?symbology=qr", e.owner, nil, 400, "invalid"},
		"bad symbology":  {"GET", ok(uri, "aztec", "png"), e.owner, nil, 400, "invalid"},
		"bad format":     {"GET", ok(uri, "qr", "gif"), e.owner, nil, 400, "invalid"},
		"huge size":      {"GET", ok(uri, "qr", "png") + "&size=100000", e.owner, nil, 400, "invalid"},
		"tiny size":      {"GET", ok(uri, "qr", "png") + "&size=10", e.owner, nil, 400, "invalid"},
		"size not int":   {"GET", ok(uri, "qr", "png") + "&size=big", e.owner, nil, 400, "invalid"},
		"bad content":    {"GET", ok(uri, "datamatrix", "png") + "&content=html", e.owner, nil, 400, "invalid"},
		"element string": {"GET", ok("(01)09506000134352(17)270228(10)L1(21)X9", "qr", "svg"), e.owner, nil, 200, ""},
	})
	r := e.must(200, "GET", ok(uri, "qr", "png"), e.owner, nil)
	if r.Hdr.Get("Content-Type") != "image/png" || !bytes.HasPrefix(r.Body, []byte("\x89PNG")) {
		t.Fatalf("qr png: %s, %q", r.Hdr.Get("Content-Type"), r.Body[:8])
	}
	if r := e.do("GET", ok("not a code", "qr", "png"), e.owner, nil); r.errField() != "code" {
		t.Fatalf("invalid code names field %q: %s", r.errField(), r.Body)
	}
}

// TestLabelScannersEye renders labels through the API and reads them back
// with the decoders a scanner uses.
func TestLabelScannersEye(t *testing.T) {
	zbarimg := testtool.Program(t, "zbarimg", "zbar-tools")
	dmtxread := testtool.Program(t, "dmtxread", "dmtx-utils")
	e := newBatchEnv(t)
	var got issued
	json.Unmarshal(e.must(201, "POST", e.codesPath, e.owner, map[string]any{"count": 1}).Body, &got)
	uri := got.Codes[0].URI
	dir := t.TempDir()
	fetch := func(v url.Values) string {
		r := e.must(200, "GET", "/api/v1/labels?"+v.Encode(), e.owner, nil)
		p := filepath.Join(dir, "label.png")
		if err := os.WriteFile(p, r.Body, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		return strings.TrimRight(string(out), "\n")
	}
	if dec := run(zbarimg, "-q", "--nodbus", "--raw", fetch(url.Values{"code": {uri}, "symbology": {"qr"}})); dec != uri {
		t.Fatalf("QR decodes to %q, want %q", dec, uri)
	}
	serial := got.Codes[0].Serial
	wantES := "01" + e.gtin + "17270228" + "10L/2026-11\x1d21" + serial
	if dec := run(dmtxread, "-n", "-G", "29", fetch(url.Values{"code": {uri}, "symbology": {"datamatrix"}})); strings.TrimPrefix(dec, "\x1d") != wantES {
		t.Fatalf("DataMatrix decodes to %q, want %q", dec, wantES)
	}
	// A serialized item overflows GS1-128's 48 characters; its batch-level
	// code (as on a case label) fits.
	batchCode := "(01)" + e.gtin + "(17)270228(10)L/2026-11"
	if dec := run(zbarimg, "-q", "--nodbus", "--raw", fetch(url.Values{"code": {batchCode}, "symbology": {"gs1-128"}})); dec != "01"+e.gtin+"17270228"+"10L/2026-11" {
		t.Fatalf("GS1-128 decodes to %q", dec)
	}
}

func TestLabelSheet(t *testing.T) {
	e := newBatchEnv(t)
	pdf := "/api/v1/products/" + e.gtin + "/batches/" + url.PathEscape(e.lot) + "/labels.pdf"
	runCases(t, e.env, map[string]authCase{
		"no codes yet": {"GET", pdf, e.owner, nil, 400, "invalid"},
	})
	var got issued
	json.Unmarshal(e.must(201, "POST", e.codesPath, e.owner, map[string]any{"count": 30}).Body, &got)
	runCases(t, e.env, map[string]authCase{
		"no key":       {"GET", pdf, "", nil, 401, "unauthorized"},
		"wrong key":    {"GET", pdf, bogusKey, nil, 401, "unauthorized"},
		"other entity": {"GET", pdf, e.other, nil, 403, "forbidden"},
		"bad columns":  {"GET", pdf + "?columns=x", e.owner, nil, 400, "invalid"},
		"too wide":     {"GET", pdf + "?columns=9&labelWidthMm=60", e.owner, nil, 400, "invalid"},
		"bad limit":    {"GET", pdf + "?limit=0", e.owner, nil, 400, "invalid"},
		"regulator":    {"GET", pdf, e.reg, nil, 200, ""},
	})
	r := e.must(200, "GET", pdf+"?limit=24", e.owner, nil)
	if r.Hdr.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.Body, []byte("%PDF")) || r.Hdr.Get("X-Next-Cursor") == "" {
		t.Fatalf("sheet: %s %q next=%q", r.Hdr.Get("Content-Type"), r.Body[:5], r.Hdr.Get("X-Next-Cursor"))
	}
	rest := e.must(200, "GET", pdf+"?cursor="+url.QueryEscape(r.Hdr.Get("X-Next-Cursor")), e.owner, nil)
	if rest.Hdr.Get("X-Next-Cursor") != "" {
		t.Fatal("second sheet should be the last")
	}
	// Read the first page as a scanner would: every label's QR is the URI of a code.
	pdftoppm := testtool.Program(t, "pdftoppm", "poppler-utils")
	zbarimg := testtool.Program(t, "zbarimg", "zbar-tools")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s.pdf"), r.Body, 0o644)
	if out, err := exec.Command(pdftoppm, "-r", "300", "-f", "1", "-l", "1", "-png", filepath.Join(dir, "s.pdf"), filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "p*.png"))
	// Decode each label on its own, as a scanner aimed at one label would:
	// cut the page along the default grid (3 × 8 labels of 63.5 × 33.9 mm,
	// 2.5 mm between columns, centred on A4).
	f, err := os.Open(pages[0])
	if err != nil {
		t.Fatal(err)
	}
	page, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	px := func(mm float64) int { return int(mm / 25.4 * 300) }
	left, top := (210-(3*63.5+2*2.5))/2, (297-8*33.9)/2
	var crops []string
	for row := range 8 {
		for col := range 3 {
			x, y := left+float64(col)*(63.5+2.5), top+float64(row)*33.9
			cell := page.(interface {
				SubImage(image.Rectangle) image.Image
			}).SubImage(image.Rect(px(x), px(y), px(x+63.5), px(y+33.9)))
			name := filepath.Join(dir, fmt.Sprintf("cell-%d-%d.png", row, col))
			out, _ := os.Create(name)
			png.Encode(out, cell)
			out.Close()
			crops = append(crops, name)
		}
	}
	out, err := exec.Command(zbarimg, append([]string{"-q", "--nodbus", "--raw"}, crops...)...).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, c := range got.Codes {
		want[c.URI] = true
	}
	lines := strings.Fields(string(out))
	if len(lines) != 24 {
		t.Fatalf("decoded %d QR codes on page 1, want 24", len(lines))
	}
	for _, l := range lines {
		if !want[l] {
			t.Fatalf("decoded %q, which is not an issued code", l)
		}
	}
}

// TestLabelSheetWarnsOfMissingGlyphs (issue 10, item 9): without a font
// for them, Chinese product names print as '?'; the sheet says so in a
// Warning header (and the log) instead of silently.
func TestLabelSheetWarnsOfMissingGlyphs(t *testing.T) {
	e := newBatchEnv(t)
	e.must(201, "POST", e.codesPath, e.owner, map[string]any{"count": 2})
	pdf := "/api/v1/products/" + e.gtin + "/batches/" + url.PathEscape(e.lot) + "/labels.pdf"
	if r := e.must(200, "GET", pdf, e.owner, nil); r.Hdr.Get("Warning") != "" {
		t.Fatalf("a Latin name warns: %s", r.Hdr.Get("Warning"))
	}
	e.must(200, "PATCH", "/api/v1/products/"+e.gtin, e.owner, map[string]any{"name": "纯牛奶 Whole milk"})
	r := e.must(200, "GET", pdf, e.owner, nil)
	if w := r.Hdr.Get("Warning"); !strings.HasPrefix(w, "299 tracesvc") || !strings.Contains(w, "-label-font") ||
		r.Hdr.Get("X-Label-Missing-Glyphs") != "3" {
		t.Fatalf("Chinese name without a font: Warning %q, missing %q", w, r.Hdr.Get("X-Label-Missing-Glyphs"))
	}
}
