package safecsv_test

import (
	"bytes"
	"encoding/csv"
	"testing"

	"tracesvc/trace/safecsv"
)

// TestCell is issue 9 item 11: cells a spreadsheet would evaluate are
// neutralised; data and numbers are not changed.
func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://evil\",\"x\")": "'=HYPERLINK(\"http://evil\",\"x\")",
		"+cmd|' /C calc'!A0":                "'+cmd|' /C calc'!A0",
		"-2+3+cmd|' /C calc'!A0":            "'-2+3+cmd|' /C calc'!A0",
		"@SUM(1+1)":                         "'@SUM(1+1)",
		"\t=1+1":                            "'\t=1+1",
		"\r=1+1":                            "'\r=1+1",
		"+86 138 0000 0000":                 "'+86 138 0000 0000",
		"-12.5":                             "-12.5",
		"+3":                                "+3",
		"L/2026-11":                         "L/2026-11",
		"Haihe Dairy":                       "Haihe Dairy",
		"":                                  "",
		"海河乳业":                              "海河乳业",
	} {
		if got := safecsv.Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	w := safecsv.NewWriter(&b)
	w.Write([]string{"lot", "name"})
	w.Write([]string{"=1+1", "a,b"})
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][0] != "'=1+1" || rows[1][1] != "a,b" {
		t.Fatalf("%v %v", rows, err)
	}
}

func FuzzCell(f *testing.F) {
	for _, s := range []string{"=1", "-1", "+x", "@", "\t", "", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := safecsv.Cell(s)
		if out != s && out != "'"+s {
			t.Fatalf("Cell(%q) = %q changed more than a prefix", s, out)
		}
		if len(out) > 0 && (out[0] == '=' || out[0] == '@') {
			t.Fatalf("Cell(%q) = %q still begins a formula", s, out)
		}
	})
}
