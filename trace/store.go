package trace

import (
	"context"
	"time"
)

// Store is the storage the [Registry] needs. It is implemented by
// trace/tracesql (embedded SQLite) and trace/tracemongo (MongoDB), and both
// are held to the same behaviour by trace/storetest.
//
// Create methods return an error wrapping [ErrConflict] (a [*FieldError]
// naming the clashing field) when a unique key is taken. Lookups return
// [ErrNotFound]. List methods return items in ascending key order (entity ID,
// GTIN, lot), starting after [Page.After], at most [Page.Limit] of them.
type Store interface {
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error

	// CreateEntity stores a new entity. USCC is unique, and so is GLN when set.
	CreateEntity(ctx context.Context, e Entity) error
	Entity(ctx context.Context, id string) (Entity, error)
	ListEntities(ctx context.Context, f EntityFilter, p Page) ([]Entity, error)
	// UpdateEntity applies the non-nil fields of p and the updated time
	// atomically and returns the entity as stored afterwards.
	UpdateEntity(ctx context.Context, id string, p EntityPatch, at time.Time) (Entity, error)

	// CreateProduct stores a new product. GTIN is unique.
	CreateProduct(ctx context.Context, p Product) error
	Product(ctx context.Context, gtin string) (Product, error)
	ListProducts(ctx context.Context, f ProductFilter, p Page) ([]Product, error)
	// UpdateProduct applies the non-nil fields of p atomically and returns
	// the product as stored afterwards.
	UpdateProduct(ctx context.Context, gtin string, p ProductPatch, at time.Time) (Product, error)

	// CreateBatch stores a new batch. (GTIN, lot) is unique.
	CreateBatch(ctx context.Context, b Batch) error
	Batch(ctx context.Context, gtin, lot string) (Batch, error)
	ListBatches(ctx context.Context, gtin string, p Page) ([]Batch, error)
}

// Register is what the other services read of the register of entities,
// products and batches. [*Registry] implements it, validating the keys it
// is given.
type Register interface {
	// Entity returns entity id, or [ErrNotFound].
	Entity(ctx context.Context, id string) (Entity, error)
	// Product returns the product with gtin, or [ErrNotFound].
	Product(ctx context.Context, gtin string) (Product, error)
	// Batch returns batch lot of the product with gtin, or [ErrNotFound].
	Batch(ctx context.Context, gtin, lot string) (Batch, error)
	// EntityByGLN returns the entity registered with gln, or [ErrNotFound].
	EntityByGLN(ctx context.Context, gln string) (Entity, error)
}

var _ Register = (*Registry)(nil)
