package label

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// tool returns the path of an external program the test needs, from the
// Debian package pkg. Without it the test is skipped, unless the CI
// environment variable is set: CI installs the package, so there a missing
// program is a failure.
func tool(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found, and CI is set: install the Debian package %s (apt-get install -y %s)", name, pkg, pkg)
	}
	t.Skipf("%s not found: install the Debian package %s to run this test (it fails instead when CI is set)", name, pkg)
	return ""
}

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

// scanZbar decodes the QR Codes and linear barcodes in a PNG file with
// zbarimg and returns one string per symbol found, as zbarimg prints
// them: for GS1-128, the element string with GS (0x1D) for each FNC1
// separator and no leading FNC1.
func scanZbar(t testing.TB, path string) []string {
	t.Helper()
	zbar := tool(t, "zbarimg", "zbar-tools")
	out := run(t, zbar, "-q", "--nodbus", "--raw", path)
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

// scanDmtx decodes the first Data Matrix in a PNG file with dmtxread in
// GS1 mode, which prints every FNC1, the leading one included, as GS
// (0x1D). Without -G, dmtxread drops FNC1 altogether.
func scanDmtx(t testing.TB, path string) string {
	t.Helper()
	dmtx := tool(t, "dmtxread", "dmtx-utils")
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
