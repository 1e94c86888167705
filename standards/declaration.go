package standards

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/gs1"
	"tracesvc/trace/scan"
	"tracesvc/trace/ttl"
)

// DeclarationStatus is where a declaration is in its life.
type DeclarationStatus string

// The declaration statuses: draft → published → revised (superseded by a
// newer published version) or withdrawn. A draft may also be withdrawn
// (discarded).
const (
	Draft     DeclarationStatus = "draft"
	Published DeclarationStatus = "published"
	Revised   DeclarationStatus = "revised"
	Withdrawn DeclarationStatus = "withdrawn"
)

// DeclarationStatuses lists every [DeclarationStatus].
var DeclarationStatuses = []DeclarationStatus{Draft, Published, Revised, Withdrawn}

// Standard is one standard a declaration says its products follow.
type Standard struct {
	Type   StandardType `json:"type"`
	Number string       `json:"number"` // canonical, with its year: GB 2760-2014
	Name   string       `json:"name"`
	// NationalStandard is the national standard (GB or GB/T) an enterprise
	// or group standard's indicators are compared with, when named.
	NationalStandard string      `json:"nationalStandard,omitempty"`
	Indicators       []Indicator `json:"indicators,omitempty"`
	// BelowNational is set when one of the indicators is weaker than the
	// national standard's.
	BelowNational bool `json:"belowNationalStandard,omitempty"`
	// Text is the standard's uploaded PDF, when there is one.
	Text *Text `json:"text,omitempty"`
}

// Text is an uploaded standard text: the PDF itself is kept once per
// content, under its SHA-256.
type Text struct {
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
	URL    string `json:"url,omitempty"` // where it is served; set on the way out
}

// ProductRef names a product a declaration covers.
type ProductRef struct {
	GTIN string `json:"gtin"`
	Name string `json:"name"`
}

// Declaration is an entity's public statement of the standards some of
// its products follow. Every version is its own record: a revision is a
// new declaration in the same Series, whose publication marks the version
// before it Revised. History is never rewritten.
type Declaration struct {
	ID        string            `json:"id"`
	Series    string            `json:"series"`  // the ID of the first version
	Version   int               `json:"version"` // 1, 2, …
	EntityID  string            `json:"entityId"`
	Products  []ProductRef      `json:"products"`
	Standards []Standard        `json:"standards"`
	Status    DeclarationStatus `json:"status"`
	// Supersedes is the version this one revises; SupersededBy the one
	// that revised it.
	Supersedes   string    `json:"supersedes,omitempty"`
	SupersededBy string    `json:"supersededBy,omitempty"`
	Reason       string    `json:"reason,omitempty"` // why it was withdrawn
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
	PublishedAt  time.Time `json:"publishedAt,omitzero"`
	WithdrawnAt  time.Time `json:"withdrawnAt,omitzero"`
}

// GTINs lists the products' GTINs.
func (d Declaration) GTINs() []string {
	out := make([]string, len(d.Products))
	for i, p := range d.Products {
		out[i] = p.GTIN
	}
	return out
}

// Numbers lists the standards' numbers, each also without its year, as a
// search by number matches them.
func (d Declaration) Numbers() []string {
	var out []string
	for _, s := range d.Standards {
		out = append(out, s.Number, numberBase(s.Number))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SearchText is what a free-text search looks in, in lower case: product
// names, standard numbers and names, indicator names.
func (d Declaration) SearchText() string {
	var b strings.Builder
	for _, p := range d.Products {
		b.WriteString(p.Name + "\n")
	}
	for _, s := range d.Standards {
		b.WriteString(s.Number + "\n" + s.Name + "\n")
		for _, in := range s.Indicators {
			b.WriteString(in.Name + "\n")
		}
	}
	return strings.ToLower(b.String())
}

// DeclarationFilter narrows a list of declarations. Empty fields match
// everything.
type DeclarationFilter struct {
	EntityID string
	Series   string
	GTIN     string
	Number   string              // a canonical number, or one without its year
	Query    string              // lower-case text the search text must contain
	Statuses []DeclarationStatus // any of these; none for all
}

// DeclarationStore keeps declarations and the standard texts they carry.
// standards/standardssql and standards/standardsmongo implement it;
// standards/storetest holds them to it.
type DeclarationStore interface {
	// CreateDeclaration stores d; [ErrConflict] when its ID exists.
	CreateDeclaration(ctx context.Context, d Declaration) error
	// Declaration returns the declaration with id, or [ErrNotFound].
	Declaration(ctx context.Context, id string) (Declaration, error)
	// ListDeclarations returns declarations in ID order after p.After.
	ListDeclarations(ctx context.Context, f DeclarationFilter, p trace.Page) ([]Declaration, error)
	// UpdateDeclaration replaces the declaration with d.ID by d if its
	// status is still from; [ErrNotFound] when there is none,
	// [ErrConflict] when its status moved.
	UpdateDeclaration(ctx context.Context, from DeclarationStatus, d Declaration) error
	// PutText keeps a standard text under its SHA-256 (hex); storing the
	// same text again is not an error.
	PutText(ctx context.Context, sha256 string, pdf []byte) error
	// Text returns the text kept under sha256, or [ErrNotFound].
	Text(ctx context.Context, sha256 string) ([]byte, error)
}

// Products finds registered products; trace.Registry implements it.
type Products interface {
	Product(ctx context.Context, gtin string) (trace.Product, error)
}

// NewDeclaration is what an entity declares: the GTINs of some of its own
// products and the standards they follow.
type NewDeclaration struct {
	GTINs     []string   `json:"gtins"`
	Standards []Standard `json:"standards"`
}

// Limits of a declaration.
const (
	MaxDeclaredProducts  = 100
	MaxDeclaredStandards = 50
	MaxIndicators        = 200
	// MaxTextSize caps an uploaded standard text.
	MaxTextSize = 10 << 20
)

// check validates in for caller, whose own products the GTINs must be,
// and returns the products and the standards in canonical form.
func (s *Declarations) check(ctx context.Context, caller trace.Principal, in NewDeclaration) ([]ProductRef, []Standard, error) {
	if len(in.GTINs) == 0 {
		return nil, nil, invalid("gtins", "name at least one of your products")
	}
	if len(in.GTINs) > MaxDeclaredProducts {
		return nil, nil, invalid("gtins", "at most %d products in one declaration", MaxDeclaredProducts)
	}
	var products []ProductRef
	for i, g := range in.GTINs {
		field := fmt.Sprintf("gtins[%d]", i)
		gtin, err := gs1.ValidateGTIN(g)
		if err != nil {
			return nil, nil, invalid(field, "%v", err)
		}
		p, err := s.products.Product(ctx, gtin)
		if err != nil {
			if isNotFound(err) {
				return nil, nil, invalid(field, "no product %s is registered", gtin)
			}
			return nil, nil, err
		}
		if p.OwnerID != caller.EntityID {
			return nil, nil, &trace.FieldError{Field: field, Kind: trace.ErrForbidden,
				Msg: fmt.Sprintf("product %s belongs to another entity: an entity declares for its own products", gtin)}
		}
		if slices.ContainsFunc(products, func(r ProductRef) bool { return r.GTIN == gtin }) {
			return nil, nil, invalid(field, "%s is named twice", gtin)
		}
		products = append(products, ProductRef{GTIN: gtin, Name: p.Name})
	}
	if len(in.Standards) == 0 {
		return nil, nil, invalid("standards", "name at least one standard the products follow")
	}
	if len(in.Standards) > MaxDeclaredStandards {
		return nil, nil, invalid("standards", "at most %d standards in one declaration", MaxDeclaredStandards)
	}
	year := s.now.Now().In(s.loc).Year()
	out := make([]Standard, 0, len(in.Standards))
	indicators := 0
	for i, st := range in.Standards {
		field := fmt.Sprintf("standards[%d]", i)
		if !slices.Contains(StandardTypes, st.Type) {
			return nil, nil, invalid(field+".type", "must be one of GB, GB/T, industry, local, group, enterprise, got %q", st.Type)
		}
		n, err := ParseNumber(st.Type, st.Number, year)
		if err != nil {
			return nil, nil, invalid(field+".number", "%v", err)
		}
		if slices.ContainsFunc(out, func(o Standard) bool { return o.Number == n }) {
			return nil, nil, invalid(field+".number", "%s is named twice", n)
		}
		if err := checkText(field+".name", st.Name, true, 300); err != nil {
			return nil, nil, err
		}
		std := Standard{Type: st.Type, Number: n, Name: strings.TrimSpace(st.Name)}
		if !st.Type.hasIndicators() {
			if len(st.Indicators) > 0 || st.NationalStandard != "" {
				return nil, nil, invalid(field+".indicators", "only enterprise and group standards list their indicators in a declaration: a %s standard's are public", st.Type)
			}
			out = append(out, std)
			continue
		}
		if len(st.Indicators) == 0 {
			return nil, nil, invalid(field+".indicators", "an %s standard lists its key technical indicators", st.Type)
		}
		if indicators += len(st.Indicators); indicators > MaxIndicators {
			return nil, nil, invalid(field+".indicators", "at most %d indicators in one declaration", MaxIndicators)
		}
		if st.NationalStandard != "" {
			nat, err := nationalNumber(st.NationalStandard, year)
			if err != nil {
				return nil, nil, invalid(field+".nationalStandard", "%v", err)
			}
			std.NationalStandard = nat
		}
		for j, ind := range st.Indicators {
			f := fmt.Sprintf("%s.indicators[%d]", field, j)
			if ind.National != nil && std.NationalStandard == "" {
				return nil, nil, invalid(f+".national", "name the national standard it comes from in %s.nationalStandard", field)
			}
			if err := ind.check(f); err != nil {
				return nil, nil, err
			}
			ind.Name, ind.Unit, ind.Method = strings.TrimSpace(ind.Name), strings.TrimSpace(ind.Unit), strings.TrimSpace(ind.Method)
			if slices.ContainsFunc(std.Indicators, func(o Indicator) bool { return strings.EqualFold(o.Name, ind.Name) }) {
				return nil, nil, invalid(f+".name", "%q is listed twice", ind.Name)
			}
			std.BelowNational = std.BelowNational || ind.BelowNational
			std.Indicators = append(std.Indicators, ind)
		}
		out = append(out, std)
	}
	return products, out, nil
}

// nationalNumber validates the number of a national standard (GB or
// GB/T) an entity compares its own with.
func nationalNumber(number string, year int) (string, error) {
	if n, err := ParseNumber(TypeGB, number, year); err == nil {
		return n, nil
	}
	if n, err := ParseNumber(TypeGBT, number, year); err == nil {
		return n, nil
	}
	return "", fmt.Errorf("%q is not a national standard (GB or GB/T) number such as GB 19301-2010", number)
}

// GatedCategories are the product categories whose batches need a
// published declaration by default.
var GatedCategories = []trace.Category{trace.CategoryFood, trace.CategoryDrug, trace.CategoryMedicalDevice,
	trace.CategoryHealthFood, trace.CategoryChildren, trace.CategoryToy}

// DeclarationsConfig configures [NewDeclarations].
type DeclarationsConfig struct {
	Now trace.Clock
	// Location is the regulator's time zone, which dates standards' years.
	Location *time.Location
	// Gated lists the categories whose batches need a published
	// declaration (see [Declarations.Allow]); nil means none.
	Gated []trace.Category
}

// Declarations keeps entities' standard self-declarations: drafting,
// publishing, revising and withdrawing them, the public search, the
// standard texts, and the batch gate. It is also the scan page's
// [scan.StandardsLookup].
type Declarations struct {
	store     DeclarationStore
	products  Products
	now       trace.Clock
	loc       *time.Location
	gated     []trace.Category
	scanCache *ttl.Cache[string, []scan.DeclaredStandard]
}

// NewDeclarations returns the declarations service.
func NewDeclarations(store DeclarationStore, products Products, cfg DeclarationsConfig) *Declarations {
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	return &Declarations{store: store, products: products, now: cfg.Now, loc: cfg.Location, gated: cfg.Gated,
		scanCache: ttl.New[string, []scan.DeclaredStandard](time.Second, 100_000)}
}

// Declare stores a new draft declaration of caller's own products.
func (s *Declarations) Declare(ctx context.Context, caller trace.Principal, in NewDeclaration) (Declaration, error) {
	if err := caller.Require(trace.RoleEntity); err != nil {
		return Declaration{}, err
	}
	products, stds, err := s.check(ctx, caller, in)
	if err != nil {
		return Declaration{}, err
	}
	now := s.now.Now()
	id := trace.NewID(now)
	d := Declaration{ID: id, Series: id, Version: 1, EntityID: caller.EntityID, Products: products, Standards: stds,
		Status: Draft, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateDeclaration(ctx, d); err != nil {
		return Declaration{}, fmt.Errorf("declare: %w", err)
	}
	return d, nil
}

// Get returns the declaration with id as caller may see it: any but a
// draft to anyone; a draft to its entity and to officials.
func (s *Declarations) Get(ctx context.Context, caller trace.Principal, id string) (Declaration, error) {
	d, err := s.store.Declaration(ctx, id)
	if err != nil {
		return Declaration{}, fmt.Errorf("declaration %s: %w", id, err)
	}
	if d.Status == Draft && !caller.IsOfficial() && !caller.IsEntity(d.EntityID) {
		if err := caller.Require(trace.RoleEntity); err != nil {
			return Declaration{}, fmt.Errorf("declaration %s is a draft: %w", id, err)
		}
		return Declaration{}, fmt.Errorf("declaration %s is another entity's draft: %w", id, trace.ErrForbidden)
	}
	return d, nil
}

// own returns the declaration with id if caller is its entity.
func (s *Declarations) own(ctx context.Context, caller trace.Principal, id string) (Declaration, error) {
	if err := caller.Require(trace.RoleEntity); err != nil {
		return Declaration{}, err
	}
	d, err := s.Get(ctx, caller, id)
	if err != nil {
		return Declaration{}, err
	}
	if !caller.IsEntity(d.EntityID) {
		return Declaration{}, fmt.Errorf("declaration %s is another entity's: %w", id, trace.ErrForbidden)
	}
	return d, nil
}

// conflict is an [ErrConflict] about the declaration's status.
func conflict(d Declaration, format string, args ...any) error {
	return &trace.FieldError{Field: "status", Kind: ErrConflict,
		Msg: fmt.Sprintf("declaration %s is %s: ", d.ID, d.Status) + fmt.Sprintf(format, args...)}
}

// update stores d if its status is still from.
func (s *Declarations) update(ctx context.Context, from DeclarationStatus, d Declaration) (Declaration, error) {
	d.UpdatedAt = s.now.Now()
	if err := s.store.UpdateDeclaration(ctx, from, d); err != nil {
		return Declaration{}, fmt.Errorf("declaration %s: %w", d.ID, err)
	}
	return d, nil
}

// Replace rewrites a draft's products and standards. Its standard texts
// stay with the standards whose numbers are kept.
func (s *Declarations) Replace(ctx context.Context, caller trace.Principal, id string, in NewDeclaration) (Declaration, error) {
	d, err := s.own(ctx, caller, id)
	if err != nil {
		return Declaration{}, err
	}
	if d.Status != Draft {
		return Declaration{}, conflict(d, "only a draft is edited; revise a published declaration")
	}
	products, stds, err := s.check(ctx, caller, in)
	if err != nil {
		return Declaration{}, err
	}
	d.Products, d.Standards = products, keepTexts(stds, d.Standards)
	return s.update(ctx, Draft, d)
}

// keepTexts carries the texts of old standards over to the new ones of
// the same number.
func keepTexts(stds, old []Standard) []Standard {
	for i := range stds {
		if j := slices.IndexFunc(old, func(o Standard) bool { return o.Number == stds[i].Number }); j >= 0 {
			stds[i].Text = old[j].Text
		}
	}
	return stds
}

// Publish publishes a draft, and marks the version it revises revised.
// Publishing a published declaration again finishes that second step,
// should a crash have come between the two.
func (s *Declarations) Publish(ctx context.Context, caller trace.Principal, id string) (Declaration, error) {
	d, err := s.own(ctx, caller, id)
	if err != nil {
		return Declaration{}, err
	}
	switch d.Status {
	case Draft:
		d.Status, d.PublishedAt = Published, s.now.Now()
		if d, err = s.update(ctx, Draft, d); err != nil {
			return Declaration{}, err
		}
	case Published:
	default:
		return Declaration{}, conflict(d, "only a draft is published")
	}
	if d.Supersedes == "" {
		return d, nil
	}
	prev, err := s.store.Declaration(ctx, d.Supersedes)
	if err != nil {
		return Declaration{}, fmt.Errorf("the version %s revises: %w", d.Supersedes, err)
	}
	if prev.Status == Published {
		prev.Status, prev.SupersededBy = Revised, d.ID
		if _, err := s.update(ctx, Published, prev); err != nil && !isConflict(err) {
			return Declaration{}, err
		}
	}
	return d, nil
}

// Revise starts a new version of a published declaration, as a draft that
// supersedes it once published. A series has one draft at a time.
func (s *Declarations) Revise(ctx context.Context, caller trace.Principal, id string, in NewDeclaration) (Declaration, error) {
	d, err := s.own(ctx, caller, id)
	if err != nil {
		return Declaration{}, err
	}
	if d.Status != Published {
		return Declaration{}, conflict(d, "only the published version is revised")
	}
	products, stds, err := s.check(ctx, caller, in)
	if err != nil {
		return Declaration{}, err
	}
	versions, err := s.store.ListDeclarations(ctx, DeclarationFilter{Series: d.Series}, trace.Page{Limit: trace.MaxLimit})
	if err != nil {
		return Declaration{}, fmt.Errorf("declaration %s: %w", id, err)
	}
	last := 0
	for _, v := range versions {
		if v.Status == Draft {
			return Declaration{}, conflict(d, "version %d (%s) is a draft revising it already: edit or publish that one", v.Version, v.ID)
		}
		last = max(last, v.Version)
	}
	now := s.now.Now()
	rev := Declaration{ID: fmt.Sprintf("%s-v%d", d.Series, last+1), Series: d.Series, Version: last + 1, EntityID: d.EntityID,
		Products: products, Standards: keepTexts(stds, d.Standards), Status: Draft, Supersedes: d.ID, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateDeclaration(ctx, rev); err != nil {
		if isConflict(err) {
			return Declaration{}, conflict(d, "another revision was started at the same time")
		}
		return Declaration{}, fmt.Errorf("revise %s: %w", id, err)
	}
	return rev, nil
}

// Withdraw withdraws a published declaration (or discards a draft), by
// its entity or a regulator, with a reason.
func (s *Declarations) Withdraw(ctx context.Context, caller trace.Principal, id, reason string) (Declaration, error) {
	var d Declaration
	var err error
	if caller.Role == trace.RoleRegulator {
		d, err = s.Get(ctx, caller, id)
	} else {
		d, err = s.own(ctx, caller, id)
	}
	if err != nil {
		return Declaration{}, err
	}
	if err := checkText("reason", reason, caller.Role == trace.RoleRegulator, 2000); err != nil {
		return Declaration{}, err
	}
	if d.Status != Published && d.Status != Draft {
		return Declaration{}, conflict(d, "only a published declaration or a draft is withdrawn")
	}
	from := d.Status
	d.Status, d.Reason, d.WithdrawnAt = Withdrawn, strings.TrimSpace(reason), s.now.Now()
	return s.update(ctx, from, d)
}

// History lists every version of the declaration's series that caller
// may see, oldest first.
func (s *Declarations) History(ctx context.Context, caller trace.Principal, id string) ([]Declaration, error) {
	d, err := s.Get(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	versions, err := s.store.ListDeclarations(ctx, DeclarationFilter{Series: d.Series}, trace.Page{Limit: trace.MaxLimit})
	if err != nil {
		return nil, fmt.Errorf("declaration %s: %w", id, err)
	}
	versions = slices.DeleteFunc(versions, func(v Declaration) bool {
		return v.Status == Draft && !caller.IsOfficial() && !caller.IsEntity(v.EntityID)
	})
	slices.SortFunc(versions, func(a, b Declaration) int { return a.Version - b.Version })
	return versions, nil
}

// Search is a search of declarations.
type Search struct {
	EntityID string
	GTIN     string
	Standard string // a standard number, with or without its year
	Query    string // words in product names, standard numbers and names, indicator names
	// Status is published unless asked otherwise; other statuses are for
	// officials and for an entity's own declarations. "all" is any.
	Status string
}

// List returns one page of declarations: published ones to anyone.
func (s *Declarations) List(ctx context.Context, caller trace.Principal, q Search, p trace.Page) ([]Declaration, string, error) {
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	f := DeclarationFilter{EntityID: strings.TrimSpace(q.EntityID), Statuses: []DeclarationStatus{Published}}
	if q.GTIN != "" {
		if f.GTIN, err = gs1.ValidateGTIN(q.GTIN); err != nil {
			return nil, "", invalid("gtin", "%v", err)
		}
	}
	if q.Standard != "" {
		f.Number = normalizeQuery(q.Standard)
	}
	if err := checkText("q", q.Query, false, 100); err != nil {
		return nil, "", err
	}
	f.Query = strings.ToLower(strings.TrimSpace(q.Query))
	switch st := DeclarationStatus(q.Status); {
	case st == "" || st == Published:
	case st != "all" && !slices.Contains(DeclarationStatuses, st):
		return nil, "", invalid("status", "must be one of draft, published, revised, withdrawn, all")
	case st == Revised || st == Withdrawn:
		f.Statuses = []DeclarationStatus{st} // history is public
	default: // drafts, or all: an official, or an entity for its own
		if !caller.IsOfficial() && !(f.EntityID != "" && caller.IsEntity(f.EntityID)) {
			if err := caller.Require(trace.RoleEntity); err != nil {
				return nil, "", err
			}
			return nil, "", &trace.FieldError{Field: "status", Kind: trace.ErrForbidden,
				Msg: "drafts are listed only to officials and to their own entity (set entity to yours)"}
		}
		f.Statuses = nil
		if st == Draft {
			f.Statuses = []DeclarationStatus{Draft}
		}
	}
	list, err := s.store.ListDeclarations(ctx, f, trace.Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list declarations: %w", err)
	}
	return trace.PageOf(list, p.Limit, func(d Declaration) string { return d.ID })
}
