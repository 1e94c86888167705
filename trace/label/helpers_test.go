package label

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tracesvc/trace/testtool"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// run runs a program and returns its standard output.
func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// writeTemp writes data to a new file in the test's temporary directory.
func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// zbarSymbol is a symbol zbarimg read.
type zbarSymbol struct {
	Type string // "QR-Code", "CODE-128"
	Data string
	// GS1 is set for a Code 128 symbol that starts with FNC1, a GS1-128.
	// zbarimg does not show that FNC1 in Data, and shows the other FNC1s
	// as GS (0x1D).
	GS1 bool
}

func (s zbarSymbol) String() string {
	if s.GS1 {
		return fmt.Sprintf("%s (GS1) %q", s.Type, s.Data)
	}
	return fmt.Sprintf("%s %q", s.Type, s.Data)
}

// zbarXML is the output of zbarimg --xml.
type zbarXML struct {
	Sources []struct {
		Href    string `xml:"href,attr"`
		Symbols []struct {
			Type      string `xml:"type,attr"`
			Modifiers string `xml:"modifiers,attr"`
			Data      struct {
				Format string `xml:"format,attr"` // "base64" when the data has control characters
				Text   string `xml:",chardata"`
			} `xml:"data"`
		} `xml:"index>symbol"`
	} `xml:"source"`
}

// scanZbar reads the QR Codes and linear barcodes in PNG files with one
// run of zbarimg, and returns the symbols found in each file. The XML
// output, unlike --raw, says which file each symbol is in, keeps control
// characters (in base64), and shows the GS1 modifier of a GS1-128.
func scanZbar(t testing.TB, paths ...string) [][]zbarSymbol {
	t.Helper()
	zbar := testtool.Program(t, "zbarimg", "zbar-tools")
	cmd := exec.Command(zbar, append([]string{"-q", "--nodbus", "--xml"}, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 4) { // 4: no symbol in any file
		t.Fatalf("zbarimg %s: %v\n%s", strings.Join(paths, " "), err, stderr.Bytes())
	}
	var doc zbarXML
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("zbarimg --xml output: %v\n%s", err, out)
	}
	found := make(map[string][]zbarSymbol)
	for _, src := range doc.Sources {
		for _, sym := range src.Symbols {
			data := sym.Data.Text
			if sym.Data.Format == "base64" {
				b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(data))
				if err != nil {
					t.Fatalf("zbarimg base64 data %q: %v", data, err)
				}
				data = string(b)
			}
			found[src.Href] = append(found[src.Href], zbarSymbol{
				Type: sym.Type,
				Data: data,
				GS1:  slices.Contains(strings.Split(sym.Modifiers, ","), "GS1"),
			})
		}
	}
	got := make([][]zbarSymbol, len(paths))
	for i, p := range paths {
		got[i] = found[p]
	}
	return got
}

// qrSymbols returns what zbarimg reports for QR Codes holding data.
func qrSymbols(data ...string) []zbarSymbol {
	var syms []zbarSymbol
	for _, d := range data {
		syms = append(syms, zbarSymbol{Type: "QR-Code", Data: d})
	}
	return syms
}

// scanDmtx decodes the first Data Matrix in a PNG file with dmtxread in
// GS1 mode, which prints every FNC1, the leading one included, as GS
// (0x1D). Without -G, dmtxread drops FNC1 altogether.
func scanDmtx(t testing.TB, path string) string {
	t.Helper()
	dmtx := testtool.Program(t, "dmtxread", "dmtx-utils")
	return string(run(t, dmtx, "-G", "29", "-N", "1", path))
}

// render renders s and fails the test on error.
func render(t testing.TB, s Spec) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Render(&buf, s); err != nil {
		t.Fatalf("Render(%+v): %v", s, err)
	}
	return buf.Bytes()
}

// wantInvalid checks that err is an *Error for field wrapping ErrInvalid.
func wantInvalid(t testing.TB, err error, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one for field %q", field)
	}
	var le *Error
	if !errors.As(err, &le) {
		t.Fatalf("got error %v of type %T, want *Error", err, err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("got error %v, not wrapping ErrInvalid", err)
	}
	if le.Field != field {
		t.Errorf("got error %q for field %q, want field %q", err, le.Field, field)
	}
}

// golden compares got with testdata/name, or rewrites the file with -update.
// same says whether two versions are equivalent.
func golden(t testing.TB, name string, got []byte, same func(got, want []byte) bool) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !same(got, want) {
		t.Errorf("%s differs from %s; if the change is intended, run go test -update and check the files", name, path)
	}
}
