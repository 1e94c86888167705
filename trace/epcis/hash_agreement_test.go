package epcis

import (
	"sort"
	"strings"
	"testing"
)

func TestHashAgreementExperiment(t *testing.T) {
	files := conformanceFiles(t)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var total, legacyOK, specOK int
	for _, name := range names {
		d, err := DecodeDocument(files[name])
		if err != nil {
			t.Fatal(err)
		}
		for i, raw := range d.Events {
			m, _ := decodeObject(raw)
			id, _ := m["eventID"].(string)
			if !strings.HasPrefix(id, "ni:///") {
				continue
			}
			total++
			prefixes := d.contextPrefixes()
			lh := hasher{prefixes: prefixes, legacy: true}
			sh := hasher{prefixes: prefixes}
			l, s := lh.hash(m), sh.hash(m)
			if l == id {
				legacyOK++
			}
			if s == id {
				specOK++
			}
			t.Logf("%-70s %d legacy=%v spec=%v\n  %s", name, i, l == id, s == id, lh.preHash(m))
		}
	}
	t.Logf("total %d legacy %d spec %d", total, legacyOK, specOK)
}
