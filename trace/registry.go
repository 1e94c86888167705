package trace

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"tracesvc/trace/gs1"
	"tracesvc/trace/uscc"
)

// Registry keeps the register of market entities, their products and the
// batches of those products. It validates every input before it reaches the
// [Store] and enforces entity scope: an entity changes only what it owns.
type Registry struct {
	store Store
	cfg   RegistryConfig
}

// RegistryConfig configures a [Registry].
type RegistryConfig struct {
	Now Clock // nil is the wall clock
	// Gates rule on registering products and batches (see [Gate]).
	Gates []Gate
	// GTINsWithoutPrefix lets an entity with no GS1 company prefix
	// registered here register GTINs under no one's prefix. Without it,
	// only a regulator may register such a product for the entity.
	GTINsWithoutPrefix bool
}

// NewRegistry returns a Registry over store.
func NewRegistry(store Store, cfg RegistryConfig) *Registry {
	return &Registry{store: store, cfg: cfg}
}

// Ping reports whether the store answers.
func (r *Registry) Ping(ctx context.Context) error { return r.store.Ping(ctx) }

// CreateEntity validates in and registers a new market entity; only a
// regulator may. It returns [ErrConflict] when the USCC or GLN is already
// registered. To register an entity together with its first API key, use
// access.Service.RegisterEntity, which calls [Registry.ValidateEntity] and
// [Registry.InsertEntity].
func (r *Registry) CreateEntity(ctx context.Context, p Principal, in NewEntity) (Entity, error) {
	e, err := r.ValidateEntity(p, in)
	if err != nil {
		return Entity{}, err
	}
	return e, r.InsertEntity(ctx, e)
}

// ValidateEntity checks that p may register an entity and that in is
// valid, and returns the entity to store, with its new ID. Nothing is stored.
func (r *Registry) ValidateEntity(p Principal, in NewEntity) (Entity, error) {
	if err := p.Require(RoleRegulator); err != nil {
		return Entity{}, err
	}
	code, err := uscc.Validate(in.USCC)
	if err != nil {
		return Entity{}, Invalid("uscc", "%v", err)
	}
	if err := CheckText("name", in.Name, true, 200); err != nil {
		return Entity{}, err
	}
	if err := checkKinds(in.Kinds); err != nil {
		return Entity{}, err
	}
	if err := CheckText("region", in.Region, true, 100); err != nil {
		return Entity{}, err
	}
	if err := CheckText("address", in.Address, true, 300); err != nil {
		return Entity{}, err
	}
	if err := checkGLN("gln", in.GLN); err != nil {
		return Entity{}, err
	}
	if err := checkCompanyPrefix(in.CompanyPrefix); err != nil {
		return Entity{}, err
	}
	if err := checkContact(in.Contact); err != nil {
		return Entity{}, err
	}
	now := r.cfg.Now.Now()
	return Entity{
		ID:            NewID(now),
		Name:          strings.TrimSpace(in.Name),
		USCC:          code,
		Kinds:         in.Kinds,
		Region:        strings.TrimSpace(in.Region),
		Address:       strings.TrimSpace(in.Address),
		GLN:           in.GLN,
		CompanyPrefix: in.CompanyPrefix,
		Contact:       in.Contact,
		CreatedAt:     now,
		UpdatedAt:     now,
	}, nil
}

// InsertEntity stores an entity made by [Registry.ValidateEntity].
func (r *Registry) InsertEntity(ctx context.Context, e Entity) error {
	if err := r.store.CreateEntity(ctx, e); err != nil {
		return fmt.Errorf("create entity %s: %w", e.USCC, err)
	}
	return nil
}

// Entity returns the entity with id, or [ErrNotFound].
func (r *Registry) Entity(ctx context.Context, id string) (Entity, error) {
	e, err := r.store.Entity(ctx, id)
	if err != nil {
		return Entity{}, fmt.Errorf("entity %s: %w", id, err)
	}
	return e, nil
}

// EntityByGLN implements [Register].
func (r *Registry) EntityByGLN(ctx context.Context, gln string) (Entity, error) {
	list, err := r.store.ListEntities(ctx, EntityFilter{GLN: gln}, Page{Limit: 1})
	if err != nil {
		return Entity{}, fmt.Errorf("entity with GLN %s: %w", gln, err)
	}
	if len(list) == 0 {
		return Entity{}, fmt.Errorf("entity with GLN %s: %w", gln, ErrNotFound)
	}
	return list[0], nil
}

// Entities returns one page of entities matching f, and the cursor of the
// next page ("" on the last).
func (r *Registry) Entities(ctx context.Context, f EntityFilter, p Page) ([]Entity, string, error) {
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	if f.Kind != "" {
		if err := checkKinds([]Kind{f.Kind}); err != nil {
			return nil, "", Invalid("kind", "unknown kind %q (want one of %s)", f.Kind, kindList())
		}
	}
	items, err := r.store.ListEntities(ctx, f, Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list entities: %w", err)
	}
	return PageOf(items, p.Limit, func(e Entity) string { return e.ID })
}

// UpdateEntity applies patch to entity id. A regulator may change every
// field; the entity itself only its contact, and any other field is
// [ErrForbidden]; nobody else may change it.
func (r *Registry) UpdateEntity(ctx context.Context, p Principal, id string, patch EntityPatch) (Entity, error) {
	if err := r.MayManage(p, id); err != nil {
		return Entity{}, err
	}
	if field, ok := patch.touchesRegistry(); ok && p.Role != RoleRegulator {
		return Entity{}, &FieldError{Field: field, Msg: "only a regulator may change registry fields", Kind: ErrForbidden}
	}
	if _, err := r.store.Entity(ctx, id); err != nil {
		return Entity{}, fmt.Errorf("entity %s: %w", id, err)
	}
	if patch.Name != nil {
		if err := CheckText("name", *patch.Name, true, 200); err != nil {
			return Entity{}, err
		}
	}
	if patch.Kinds != nil {
		if err := checkKinds(*patch.Kinds); err != nil {
			return Entity{}, err
		}
	}
	if patch.Region != nil {
		if err := CheckText("region", *patch.Region, true, 100); err != nil {
			return Entity{}, err
		}
	}
	if patch.Address != nil {
		if err := CheckText("address", *patch.Address, true, 300); err != nil {
			return Entity{}, err
		}
	}
	if patch.GLN != nil {
		if err := checkGLN("gln", *patch.GLN); err != nil {
			return Entity{}, err
		}
	}
	if patch.CompanyPrefix != nil {
		if err := checkCompanyPrefix(*patch.CompanyPrefix); err != nil {
			return Entity{}, err
		}
	}
	if patch.Contact != nil {
		if err := checkContact(*patch.Contact); err != nil {
			return Entity{}, err
		}
	}
	e, err := r.store.UpdateEntity(ctx, id, patch, r.cfg.Now.Now())
	if err != nil {
		return Entity{}, fmt.Errorf("update entity %s: %w", id, err)
	}
	return e, nil
}

// MayManage checks that p may manage entity id's own settings: a regulator,
// or the entity itself.
func (r *Registry) MayManage(p Principal, id string) error {
	if p.Role == RoleRegulator || p.IsEntity(id) {
		return nil
	}
	if err := p.Require(RoleRegulator, RoleEntity); err != nil {
		return err
	}
	return fmt.Errorf("entity %s is not yours: %w", id, ErrForbidden)
}

// CreateProduct registers a product owned by the calling entity, or by
// in.OwnerID when a regulator registers it. A GTIN under another entity's
// GS1 company prefix is [ErrConflict], naming the holder; when the owner
// has a prefix the GTIN must be under it; a GTIN under no registered
// prefix needs the owner to have none and RegistryConfig.GTINsWithoutPrefix,
// or a regulator to register it.
func (r *Registry) CreateProduct(ctx context.Context, p Principal, in NewProduct) (Product, error) {
	if err := p.Require(RoleEntity, RoleRegulator); err != nil {
		return Product{}, err
	}
	ownerID := p.EntityID
	switch {
	case p.Role == RoleRegulator && in.OwnerID == "":
		return Product{}, Invalid("ownerId", "a regulator registering a product names the entity that owns it")
	case p.Role == RoleRegulator:
		ownerID = in.OwnerID
	case in.OwnerID != "" && in.OwnerID != p.EntityID:
		return Product{}, &FieldError{Field: "ownerId", Kind: ErrForbidden, Msg: "only a regulator registers a product for another entity"}
	}
	gtin, err := gs1.ValidateGTIN(in.GTIN)
	if err != nil {
		return Product{}, Invalid("gtin", "%v", err)
	}
	if err := checkProductText(&in.Name, &in.Brand, &in.Model, &in.Description); err != nil {
		return Product{}, err
	}
	if err := checkCategory(in.Category); err != nil {
		return Product{}, err
	}
	owner, err := r.store.Entity(ctx, ownerID)
	if errors.Is(err, ErrNotFound) && p.Role == RoleRegulator {
		return Product{}, Invalid("ownerId", "no entity %s is registered", ownerID)
	}
	if err != nil {
		return Product{}, fmt.Errorf("owner %s: %w", ownerID, err)
	}
	if err := r.checkGTINPrefix(ctx, p, owner, gtin); err != nil {
		return Product{}, err
	}
	if err := gates(r.cfg.Gates).allow(ctx, ownerID, ActRegisterProduct, nil); err != nil {
		return Product{}, err
	}
	now := r.cfg.Now.Now()
	prod := Product{
		GTIN:        gtin,
		OwnerID:     ownerID,
		Name:        strings.TrimSpace(in.Name),
		Brand:       strings.TrimSpace(in.Brand),
		Model:       strings.TrimSpace(in.Model),
		Category:    in.Category,
		Description: in.Description,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	if err := r.store.CreateProduct(ctx, prod); err != nil {
		return Product{}, fmt.Errorf("create product %s: %w", gtin, err)
	}
	return prod, nil
}

// checkGTINPrefix refuses a GTIN that owner may not register: one under
// another entity's GS1 company prefix, one outside owner's own prefix, or
// one under no registered prefix unless that is allowed.
func (r *Registry) checkGTINPrefix(ctx context.Context, p Principal, owner Entity, gtin string) error {
	// A company prefix has 6 to 12 digits and follows the GTIN-14's
	// indicator digit.
	var candidates []string
	for n := 6; n <= 12; n++ {
		candidates = append(candidates, gtin[1:1+n])
	}
	holders, err := r.store.ListEntities(ctx, EntityFilter{CompanyPrefixes: candidates}, Page{Limit: len(candidates) + 1})
	if err != nil {
		return fmt.Errorf("holders of the company prefix of %s: %w", gtin, err)
	}
	for _, h := range holders {
		if h.ID != owner.ID {
			return &FieldError{Field: "gtin", Kind: ErrConflict,
				Msg: fmt.Sprintf("GTIN %s is under GS1 company prefix %s, registered to %s (entity %s)", gtin, h.CompanyPrefix, h.Name, h.ID)}
		}
	}
	switch {
	case owner.CompanyPrefix != "" && !strings.HasPrefix(gtin[1:], owner.CompanyPrefix):
		return &FieldError{Field: "gtin", Kind: ErrForbidden,
			Msg: fmt.Sprintf("GTIN %s is not under the owner's GS1 company prefix %s", gtin, owner.CompanyPrefix)}
	case owner.CompanyPrefix == "" && p.Role != RoleRegulator && !r.cfg.GTINsWithoutPrefix:
		return &FieldError{Field: "gtin", Kind: ErrForbidden,
			Msg: "you have no GS1 company prefix registered here: ask a regulator to record yours, or to register this product for you"}
	}
	return nil
}

// Product returns the product with gtin (any GTIN length is accepted and
// padded), or [ErrNotFound].
func (r *Registry) Product(ctx context.Context, gtin string) (Product, error) {
	g, err := gs1.ValidateGTIN(gtin)
	if err != nil {
		return Product{}, Invalid("gtin", "%v", err)
	}
	p, err := r.store.Product(ctx, g)
	if err != nil {
		return Product{}, fmt.Errorf("product %s: %w", g, err)
	}
	return p, nil
}

// Products returns one page of products matching f and the next cursor.
// An entity lists its own products only.
func (r *Registry) Products(ctx context.Context, caller Principal, f ProductFilter, p Page) ([]Product, string, error) {
	if caller.Role == RoleEntity {
		f.OwnerID = caller.EntityID
	}
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	if f.Category != "" {
		if err := checkCategory(f.Category); err != nil {
			return nil, "", err
		}
	}
	items, err := r.store.ListProducts(ctx, f, Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list products: %w", err)
	}
	return PageOf(items, p.Limit, func(p Product) string { return p.GTIN })
}

// UpdateProduct applies patch to the product with gtin, which must belong
// to the calling entity.
func (r *Registry) UpdateProduct(ctx context.Context, caller Principal, gtin string, patch ProductPatch) (Product, error) {
	cur, err := r.ownProduct(ctx, caller, gtin)
	if err != nil {
		return Product{}, err
	}
	if err := checkProductText(patch.Name, patch.Brand, patch.Model, patch.Description); err != nil {
		return Product{}, err
	}
	if patch.Category != nil {
		if err := checkCategory(*patch.Category); err != nil {
			return Product{}, err
		}
	}
	p, err := r.store.UpdateProduct(ctx, cur.GTIN, patch, r.cfg.Now.Now())
	if err != nil {
		return Product{}, fmt.Errorf("update product %s: %w", cur.GTIN, err)
	}
	return p, nil
}

// ownProduct loads the product and checks that the calling entity owns it.
func (r *Registry) ownProduct(ctx context.Context, caller Principal, gtin string) (Product, error) {
	if err := caller.Require(RoleEntity); err != nil {
		return Product{}, err
	}
	p, err := r.Product(ctx, gtin)
	if err != nil {
		return Product{}, err
	}
	if p.OwnerID != caller.EntityID {
		return Product{}, fmt.Errorf("product %s belongs to another entity: %w", p.GTIN, ErrForbidden)
	}
	return p, nil
}

// CreateBatch registers a batch of the product with gtin, which must belong
// to the calling entity, if every [Gate] allows it.
func (r *Registry) CreateBatch(ctx context.Context, caller Principal, gtin string, in NewBatch) (Batch, error) {
	p, err := r.ownProduct(ctx, caller, gtin)
	if err != nil {
		return Batch{}, err
	}
	if err := checkBatch(in); err != nil {
		return Batch{}, err
	}
	if err := gates(r.cfg.Gates).allow(ctx, p.OwnerID, ActRegisterBatch, &p); err != nil {
		return Batch{}, err
	}
	b := Batch{
		GTIN:           p.GTIN,
		Lot:            in.Lot,
		OwnerID:        p.OwnerID,
		ProductionDate: in.ProductionDate,
		ExpiryDate:     in.ExpiryDate,
		Quantity:       in.Quantity,
		Unit:           strings.TrimSpace(in.Unit),
		Origin:         in.Origin,
		CreatedAt:      r.cfg.Now.Now(),
	}
	if err := r.store.CreateBatch(ctx, b); err != nil {
		return Batch{}, fmt.Errorf("create batch %s/%s: %w", p.GTIN, in.Lot, err)
	}
	return b, nil
}

// Batch returns batch lot of the product with gtin, or [ErrNotFound].
func (r *Registry) Batch(ctx context.Context, gtin, lot string) (Batch, error) {
	g, err := gs1.ValidateGTIN(gtin)
	if err != nil {
		return Batch{}, Invalid("gtin", "%v", err)
	}
	if err := checkLot(lot); err != nil {
		return Batch{}, err
	}
	b, err := r.store.Batch(ctx, g, lot)
	if err != nil {
		return Batch{}, fmt.Errorf("batch %s/%s: %w", g, lot, err)
	}
	return b, nil
}

// Batches returns one page of the batches of the product with gtin.
func (r *Registry) Batches(ctx context.Context, gtin string, p Page) ([]Batch, string, error) {
	prod, err := r.Product(ctx, gtin)
	if err != nil {
		return nil, "", err
	}
	p, err = p.Normalize()
	if err != nil {
		return nil, "", err
	}
	items, err := r.store.ListBatches(ctx, prod.GTIN, Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list batches of %s: %w", prod.GTIN, err)
	}
	return PageOf(items, p.Limit, func(b Batch) string { return b.Lot })
}

func checkLot(lot string) error {
	if err := gs1.ValidateValue("10", lot); err != nil {
		return Invalid("lot", "%v", err)
	}
	return nil
}

func checkGLN(field, gln string) error {
	if gln == "" {
		return nil
	}
	if err := gs1.ValidateGLN(gln); err != nil {
		return Invalid(field, "%v", err)
	}
	return nil
}

func checkCompanyPrefix(p string) error {
	if p == "" {
		return nil
	}
	if err := gs1.ValidateCompanyPrefix(p); err != nil {
		return Invalid("companyPrefix", "%v", err)
	}
	return nil
}
