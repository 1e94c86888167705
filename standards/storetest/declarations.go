package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/storetest"
)

func ptr(v float64) *float64 { return &v }

// declaration is version v of series, with every field a stored
// declaration can carry.
func declaration(id, series string, v int, entity string, status standards.DeclarationStatus, gtins ...string) standards.Declaration {
	d := standards.Declaration{ID: id, Series: series, Version: v, EntityID: entity, Status: status,
		CreatedAt: t0.Add(time.Duration(v) * time.Hour), UpdatedAt: t0.Add(time.Duration(v)*time.Hour + 3*time.Millisecond),
		Standards: []standards.Standard{
			{Type: standards.TypeGB, Number: "GB 19645-2010", Name: "食品安全国家标准 巴氏杀菌乳"},
			{Type: standards.TypeEnterprise, Number: "Q/TJXX 0001S-2023", Name: "Pasteurised milk", NationalStandard: "GB 19301-2010",
				BelowNational: true, Text: &standards.Text{SHA256: "ab", Size: 12},
				Indicators: []standards.Indicator{
					{Name: "Protein", Unit: "g/100g", Limit: standards.Limit{Comparator: standards.AtLeast, Value: ptr(2.8)}, Method: "GB 5009.5-2016",
						National: &standards.Limit{Comparator: standards.AtLeast, Value: ptr(2.9)}, BelowNational: true},
					{Name: "Acidity", Unit: "°T", Limit: standards.Limit{Comparator: standards.Between, Min: ptr(12), Max: ptr(18)}},
				}},
		}}
	for _, g := range gtins {
		d.Products = append(d.Products, standards.ProductRef{GTIN: g, Name: "Fresh milk " + g[len(g)-2:]})
	}
	if status == standards.Published {
		d.PublishedAt = d.UpdatedAt
	}
	return d
}

// sameJSON fails t unless got and want encode alike: a declaration's
// pointers (limits, texts) compare by what they point at.
func sameJSON(t *testing.T, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	storetest.Must(t, err)
	w, err := json.Marshal(want)
	storetest.Must(t, err)
	if !bytes.Equal(g, w) {
		t.Fatalf("got  %s\nwant %s", g, w)
	}
}

func declarationIDs(list []standards.Declaration) []string {
	out := []string{}
	for _, d := range list {
		out = append(out, d.ID)
	}
	return out
}

func testDeclarations(t *testing.T, s standards.DeclarationStore) {
	ctx := context.Background()
	const g1, g2, g3 = "06901234000017", "06901234000024", "06901234000031"
	d1 := declaration("d1", "d1", 1, "e1", standards.Revised, g1, g2)
	d1.SupersededBy = "d1-v2"
	d2 := declaration("d1-v2", "d1", 2, "e1", standards.Published, g1)
	d2.Supersedes = "d1"
	d3 := declaration("d3", "d3", 1, "e1", standards.Draft, g3)
	d3.Standards = d3.Standards[1:]
	d4 := declaration("d4", "d4", 1, "e2", standards.Published, g2)
	d4.Standards[0] = standards.Standard{Type: standards.TypeGBT, Number: "GB/T 19001-2016", Name: "质量管理体系 要求"}
	d5 := declaration("d5", "d5", 1, "e2", standards.Withdrawn, g3)
	d5.Reason, d5.WithdrawnAt = "product discontinued", t0.Add(9*time.Hour)
	all := []standards.Declaration{d1, d2, d3, d4, d5}
	for _, i := range []int{3, 0, 4, 1, 2} {
		storetest.Must(t, s.CreateDeclaration(ctx, all[i]))
	}
	storetest.WantErr(t, s.CreateDeclaration(ctx, declaration("d3", "d3", 1, "e9", standards.Draft, g1)), standards.ErrConflict, "")

	for _, want := range all {
		got, err := s.Declaration(ctx, want.ID)
		storetest.Must(t, err)
		sameJSON(t, got, want)
	}
	_, err := s.Declaration(ctx, "nope")
	storetest.WantErr(t, err, standards.ErrNotFound, "")

	list := func(f standards.DeclarationFilter, p trace.Page) []string {
		t.Helper()
		if p.Limit == 0 {
			p.Limit = 10
		}
		got, err := s.ListDeclarations(ctx, f, p)
		storetest.Must(t, err)
		return declarationIDs(got)
	}
	pub := []standards.DeclarationStatus{standards.Published}
	storetest.Equal(t, list(standards.DeclarationFilter{}, trace.Page{}), []string{"d1", "d1-v2", "d3", "d4", "d5"})
	storetest.Equal(t, list(standards.DeclarationFilter{}, trace.Page{Limit: 2, After: "d1-v2"}), []string{"d3", "d4"})
	storetest.Equal(t, list(standards.DeclarationFilter{Statuses: pub}, trace.Page{}), []string{"d1-v2", "d4"})
	storetest.Equal(t, list(standards.DeclarationFilter{Statuses: []standards.DeclarationStatus{standards.Draft, standards.Withdrawn}}, trace.Page{}), []string{"d3", "d5"})
	storetest.Equal(t, list(standards.DeclarationFilter{EntityID: "e2"}, trace.Page{}), []string{"d4", "d5"})
	storetest.Equal(t, list(standards.DeclarationFilter{EntityID: "e1", Statuses: pub}, trace.Page{}), []string{"d1-v2"})
	storetest.Equal(t, list(standards.DeclarationFilter{Series: "d1"}, trace.Page{}), []string{"d1", "d1-v2"})
	storetest.Equal(t, list(standards.DeclarationFilter{GTIN: g2}, trace.Page{}), []string{"d1", "d4"})
	storetest.Equal(t, list(standards.DeclarationFilter{GTIN: g2, Statuses: pub}, trace.Page{}), []string{"d4"})
	storetest.Equal(t, list(standards.DeclarationFilter{GTIN: g1, EntityID: "e2"}, trace.Page{}), []string{})
	storetest.Equal(t, list(standards.DeclarationFilter{Number: "GB 19645-2010"}, trace.Page{}), []string{"d1", "d1-v2", "d5"})
	storetest.Equal(t, list(standards.DeclarationFilter{Number: "GB/T 19001"}, trace.Page{}), []string{"d4"})
	storetest.Equal(t, list(standards.DeclarationFilter{Number: "GB 19645-2011"}, trace.Page{}), []string{})
	storetest.Equal(t, list(standards.DeclarationFilter{Query: "巴氏杀菌"}, trace.Page{}), []string{"d1", "d1-v2", "d5"})
	storetest.Equal(t, list(standards.DeclarationFilter{Query: "protein", Statuses: pub}, trace.Page{}), []string{"d1-v2", "d4"})
	storetest.Equal(t, list(standards.DeclarationFilter{Query: "milk 31"}, trace.Page{}), []string{"d3", "d5"})
	storetest.Equal(t, list(standards.DeclarationFilter{Query: "(.*"}, trace.Page{}), []string{}) // no pattern syntax

	// Updates are conditional on the status read, and move the search keys.
	up := d3
	up.Status, up.PublishedAt, up.UpdatedAt = standards.Published, t0.Add(20*time.Hour), t0.Add(20*time.Hour)
	up.Products = []standards.ProductRef{{GTIN: g1, Name: "Skimmed milk"}}
	storetest.Must(t, s.UpdateDeclaration(ctx, standards.Draft, up))
	got, err := s.Declaration(ctx, "d3")
	storetest.Must(t, err)
	sameJSON(t, got, up)
	storetest.Equal(t, list(standards.DeclarationFilter{GTIN: g3}, trace.Page{}), []string{"d5"})
	storetest.Equal(t, list(standards.DeclarationFilter{GTIN: g1, Statuses: pub}, trace.Page{}), []string{"d1-v2", "d3"})
	storetest.Equal(t, list(standards.DeclarationFilter{Query: "skimmed"}, trace.Page{}), []string{"d3"})
	storetest.WantErr(t, s.UpdateDeclaration(ctx, standards.Draft, up), standards.ErrConflict, "")
	ghost := up
	ghost.ID = "nope"
	storetest.WantErr(t, s.UpdateDeclaration(ctx, standards.Draft, ghost), standards.ErrNotFound, "")

	// Texts are kept once per content, large ones too.
	pdf := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("0123456789abcdef"), 9<<16)...)
	pdf = append(pdf, "\n%%EOF\n"...)
	sum := sha256.Sum256(pdf)
	sha := hex.EncodeToString(sum[:])
	storetest.Must(t, s.PutText(ctx, sha, pdf))
	storetest.Must(t, s.PutText(ctx, sha, pdf))
	back, err := s.Text(ctx, sha)
	storetest.Must(t, err)
	if !bytes.Equal(back, pdf) {
		t.Fatalf("text of %d bytes came back as %d bytes", len(pdf), len(back))
	}
	_, err = s.Text(ctx, fmt.Sprintf("%064d", 0))
	storetest.WantErr(t, err, standards.ErrNotFound, "")
}
