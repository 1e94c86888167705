package standards

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"tracesvc/trace"
	"tracesvc/trace/scan"
)

// isPDF reports whether b is a PDF file by its content: the header at
// the start and the end-of-file marker near the end.
func isPDF(b []byte) bool {
	tail := b[max(0, len(b)-1024):]
	return bytes.HasPrefix(b, []byte("%PDF-")) && bytes.Contains(tail, []byte("%%EOF"))
}

// standardAt returns the index of standard n of d, or a not-found error.
func standardAt(d Declaration, n int) (int, error) {
	if n < 0 || n >= len(d.Standards) {
		return 0, fmt.Errorf("declaration %s has no standard %d (it has %d, counted from 0): %w", d.ID, n, len(d.Standards), ErrNotFound)
	}
	return n, nil
}

// PutText uploads the PDF text of standard n (counted from 0) of a draft.
func (s *Declarations) PutText(ctx context.Context, caller trace.Principal, id string, n int, pdf []byte) (Declaration, error) {
	d, err := s.own(ctx, caller, id)
	if err != nil {
		return Declaration{}, err
	}
	if n, err = standardAt(d, n); err != nil {
		return Declaration{}, err
	}
	if d.Status != Draft {
		return Declaration{}, conflict(d, "a published text does not change: revise the declaration to upload a new one")
	}
	switch {
	case len(pdf) == 0:
		return Declaration{}, invalid("body", "send the standard's PDF as the request body")
	case len(pdf) > MaxTextSize:
		return Declaration{}, invalid("body", "a standard text is at most %d MiB", MaxTextSize>>20)
	case !isPDF(pdf):
		return Declaration{}, invalid("body", "is not a PDF file (it must start with %%PDF- and end with %%%%EOF)")
	}
	sum := sha256.Sum256(pdf)
	sha := hex.EncodeToString(sum[:])
	if err := s.store.PutText(ctx, sha, pdf); err != nil {
		return Declaration{}, fmt.Errorf("store the text: %w", err)
	}
	d.Standards[n].Text = &Text{SHA256: sha, Size: len(pdf)}
	return s.update(ctx, Draft, d)
}

// TextFile is a standard's text as it is served.
type TextFile struct {
	PDF  []byte
	Name string // a file name for it: Q_TJXX_0001S-2023.pdf
	// Public is set when anyone may read it (its declaration is no
	// draft), so that shared caches may keep it.
	Public bool
}

// StandardText returns the PDF text of standard n of the declaration with
// id, to whoever may see the declaration.
func (s *Declarations) StandardText(ctx context.Context, caller trace.Principal, id string, n int) (TextFile, error) {
	d, err := s.Get(ctx, caller, id)
	if err != nil {
		return TextFile{}, err
	}
	if n, err = standardAt(d, n); err != nil {
		return TextFile{}, err
	}
	st := d.Standards[n]
	if st.Text == nil {
		return TextFile{}, fmt.Errorf("no text of %s was uploaded: %w", st.Number, ErrNotFound)
	}
	pdf, err := s.store.Text(ctx, st.Text.SHA256)
	if err != nil {
		return TextFile{}, fmt.Errorf("the text of %s: %w", st.Number, err)
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, st.Number)
	return TextFile{PDF: pdf, Name: name + ".pdf", Public: d.Status != Draft}, nil
}

// published returns the published declarations of gtin (by owner, when
// set), at most limit.
func (s *Declarations) published(ctx context.Context, owner, gtin string, limit int) ([]Declaration, error) {
	return s.store.ListDeclarations(ctx, DeclarationFilter{EntityID: owner, GTIN: gtin, Statuses: []DeclarationStatus{Published}},
		trace.Page{Limit: limit})
}

// Allow implements [trace.Gate]: a batch of a product in a gated category
// needs a published declaration of the product by its owner.
func (s *Declarations) Allow(ctx context.Context, _ string, act trace.Act, p *trace.Product) error {
	if act != trace.ActRegisterBatch || p == nil || !slices.Contains(s.gated, p.Category) {
		return nil
	}
	list, err := s.published(ctx, p.OwnerID, p.GTIN, 1)
	if err != nil {
		return fmt.Errorf("declarations of %s: %w", p.GTIN, err)
	}
	if len(list) == 0 {
		return &trace.FieldError{Field: "gtin", Kind: ErrConflict, Msg: fmt.Sprintf(
			"%s is a %s product: registering its batches needs a published declaration of the standards it follows "+
				"(POST /api/v1/declarations, then publish it), and product %s has none", p.Name, p.Category, p.GTIN)}
	}
	return nil
}

// DeclaredStandards implements [scan.StandardsLookup]: the standards of
// the product's published declarations, each once, kept a second per
// process (a declaration published or withdrawn shows within it).
func (s *Declarations) DeclaredStandards(ctx context.Context, gtin string) ([]scan.DeclaredStandard, error) {
	now := s.now.Now()
	if out, ok := s.scanCache.Get(gtin, now); ok {
		return out, nil
	}
	list, err := s.published(ctx, "", gtin, 20)
	if err != nil {
		return nil, fmt.Errorf("declarations of %s: %w", gtin, err)
	}
	var out []scan.DeclaredStandard
	for _, d := range list {
		for _, st := range d.Standards {
			if !slices.ContainsFunc(out, func(o scan.DeclaredStandard) bool { return o.Number == st.Number }) {
				out = append(out, scan.DeclaredStandard{Type: string(st.Type), Number: st.Number, Name: st.Name, BelowNational: st.BelowNational})
			}
		}
	}
	s.scanCache.Put(gtin, out, now)
	return out, nil
}
