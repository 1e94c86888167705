package label

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyLabelImportsBarcodeLibraries holds the line drawn in the package
// comment: no other package of the module imports the barcode and PDF
// libraries.
func TestOnlyLabelImportsBarcodeLibraries(t *testing.T) {
	const self = "tracesvc/trace/label"
	out, err := exec.Command("go", "list", "-e", "-f",
		`{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`,
		"tracesvc/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if pkg == self {
			continue
		}
		for _, imp := range strings.Fields(imports) {
			for _, lib := range []string{"github.com/skip2/go-qrcode", "github.com/boombuler/barcode", "github.com/go-pdf/fpdf"} {
				if imp == lib || strings.HasPrefix(imp, lib+"/") {
					t.Errorf("%s imports %s: only %s may; render through it", pkg, imp, self)
				}
			}
		}
	}
}
