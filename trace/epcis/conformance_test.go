package epcis

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// conformanceDir holds the GS1 EPCIS 2.0 example documents, with GS1's
// licence (see SOURCE.md there). handlers' tests read them too.
const conformanceDir = "testdata/gs1"

// conformanceFiles returns the example EPCISDocuments.
func conformanceFiles(tb testing.TB) map[string][]byte {
	tb.Helper()
	files := make(map[string][]byte)
	err := filepath.WalkDir(conformanceDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".jsonld") || d.Name() == "EPCISQueryDocument.jsonld" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(conformanceDir, path)
		files[filepath.ToSlash(rel)] = data
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) < 40 {
		tb.Fatalf("found only %d example documents in %s", len(files), conformanceDir)
	}
	return files
}

func TestConformance(t *testing.T) {
	files := conformanceFiles(t)
	events := 0
	for name, data := range files {
		d, err := DecodeDocument(data)
		if err != nil {
			t.Errorf("%s: DecodeDocument: %v", name, err)
			continue
		}
		for i := range d.Events {
			events++
			e, err := d.ParseEvent(i)
			if err != nil {
				t.Errorf("%s: event %d: %v", name, i, err)
				continue
			}
			if e.ID == "" || e.Type == "" || e.EventTime.IsZero() {
				t.Errorf("%s: event %d: ParseEvent = %+v, missing ID, type or time", name, i, e)
			}
		}
	}
	t.Logf("%d files, %d events", len(files), events)
}
