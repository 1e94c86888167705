package tracesql

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/access"
	"tracesvc/trace/audit"
	"tracesvc/trace/scan"
	"tracesvc/trace/sqlitedb"
)

// Store implements [trace.Store], [trace.CodeStore], [trace.EventStore],
// [scan.Store], [scan.Captures], [access.Store] and [audit.Store] on the
// embedded database.
type Store struct {
	db handles
	// faults is a test's hook into ApplyCapture's steps; nil otherwise.
	faults func(step string) error
	// captured is told each capture's keys (see NotifyCaptures).
	captured atomic.Pointer[func(keys []string)]
	// shared counts captures for every process on the folder (see
	// ShareCaptures); nil until then.
	shared *sqlitedb.Counter
}

// handles are the database's two pools.
type handles struct {
	W *sql.DB // the writer: one connection, transactions BEGIN IMMEDIATE
	R *sql.DB // readers: query_only connections
}

var (
	_ trace.Store   = (*Store)(nil)
	_ scan.Store    = (*Store)(nil)
	_ access.Store  = (*Store)(nil)
	_ audit.Store   = (*Store)(nil)
	_ scan.Captures = (*Store)(nil)
)

var schema = []string{
	`CREATE TABLE IF NOT EXISTS entities (
		id TEXT PRIMARY KEY,
		uscc TEXT NOT NULL UNIQUE,
		gln TEXT,
		name TEXT NOT NULL,
		kinds TEXT NOT NULL,
		region TEXT NOT NULL,
		address TEXT NOT NULL,
		company_prefix TEXT NOT NULL,
		contact TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	) WITHOUT ROWID`,
	`CREATE UNIQUE INDEX IF NOT EXISTS entities_gln ON entities(gln) WHERE gln IS NOT NULL`,
	`CREATE INDEX IF NOT EXISTS entities_region ON entities(region, id)`,
	`CREATE INDEX IF NOT EXISTS entities_company_prefix ON entities(company_prefix) WHERE company_prefix != ''`,
	`CREATE TABLE IF NOT EXISTS products (
		gtin TEXT PRIMARY KEY,
		owner_id TEXT NOT NULL,
		name TEXT NOT NULL,
		brand TEXT NOT NULL,
		model TEXT NOT NULL,
		category TEXT NOT NULL,
		description TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		updated_at INTEGER NOT NULL
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS products_owner ON products(owner_id, gtin)`,
	`CREATE INDEX IF NOT EXISTS products_category ON products(category, gtin)`,
	`CREATE TABLE IF NOT EXISTS batches (
		gtin TEXT NOT NULL,
		lot TEXT NOT NULL,
		owner_id TEXT NOT NULL,
		production_date TEXT NOT NULL,
		expiry_date TEXT NOT NULL,
		quantity REAL NOT NULL,
		unit TEXT NOT NULL,
		origin TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (gtin, lot)
	) WITHOUT ROWID`,
	`CREATE TABLE IF NOT EXISTS api_keys (
		id TEXT PRIMARY KEY,
		hash TEXT NOT NULL UNIQUE,
		role TEXT NOT NULL,
		entity_id TEXT NOT NULL,
		label TEXT NOT NULL,
		created_by TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		revoked_at INTEGER
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS api_keys_entity ON api_keys(entity_id, id)`,
	`CREATE INDEX IF NOT EXISTS api_keys_role ON api_keys(role, id)`,
	`CREATE TABLE IF NOT EXISTS audit_log (
		seq INTEGER PRIMARY KEY,
		at INTEGER NOT NULL,
		actor TEXT NOT NULL,
		role TEXT NOT NULL,
		action TEXT NOT NULL,
		target TEXT NOT NULL,
		status INTEGER NOT NULL,
		prev_hash TEXT NOT NULL,
		hash TEXT NOT NULL
	)`,
}

// New returns a Store on the database's writer and reader pools (see
// sqlitedb.Open), creating its tables and indexes.
func New(ctx context.Context, writer, readers *sql.DB) (*Store, error) {
	if err := sqlitedb.Migrate(ctx, writer, slices.Concat(schema, codeSchema, eventSchema, scanSchema)); err != nil {
		return nil, err
	}
	if err := dropEntityWebhooks(ctx, writer); err != nil {
		return nil, err
	}
	if err := leaseColumns(ctx, writer); err != nil {
		return nil, err
	}
	if err := codeRefsUpgrade(ctx, writer); err != nil {
		return nil, err
	}
	return &Store{db: handles{W: writer, R: readers}}, nil
}

// dropEntityWebhooks upgrades a database written before webhook settings
// moved from entities to the recall domain: the NOT NULL columns
// webhook_url and webhook_secret would make every new entity fail. Their
// values are kept in legacy_entity_webhooks (secrets as they were stored,
// in plain text) for an operator to re-register; then the columns go.
func dropEntityWebhooks(ctx context.Context, w *sql.DB) error {
	var n int
	if err := w.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('entities') WHERE name = 'webhook_url'`).Scan(&n); err != nil {
		return fmt.Errorf("tracesql: inspect entities: %w", err)
	}
	if n == 0 {
		return nil
	}
	return sqlitedb.Migrate(ctx, w, []string{
		`CREATE TABLE IF NOT EXISTS legacy_entity_webhooks (entity_id TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL) WITHOUT ROWID`,
		`INSERT OR IGNORE INTO legacy_entity_webhooks SELECT id, webhook_url, webhook_secret FROM entities WHERE webhook_url != ''`,
		`ALTER TABLE entities DROP COLUMN webhook_url`,
		`ALTER TABLE entities DROP COLUMN webhook_secret`,
	})
}

// translate maps SQLite errors onto the trace domain's sentinels. fields
// maps "table.column" names found in constraint messages to API field
// names; a clash on another column is a plain conflict, its detail kept
// for the log only.
func translate(err error, fields map[string]string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return trace.ErrNotFound
	case sqlitedb.Busy(err):
		return fmt.Errorf("%w: %w", trace.ErrUnavailable, err)
	}
	if cols, ok := sqlitedb.UniqueViolation(err); ok {
		for _, col := range cols {
			if field, ok := fields[col]; ok {
				return &trace.FieldError{Field: field, Msg: "is already registered", Kind: trace.ErrConflict}
			}
		}
		return fmt.Errorf("%w: %w", trace.ErrConflict, err)
	}
	return err
}

// Ping implements [trace.Store].
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.db.R.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("tracesql: marshal %T: %v", v, err)) // only plain structs are marshalled
	}
	return string(b)
}

var entityFields = map[string]string{"entities.uscc": "uscc", "entities.gln": "gln", "entities.id": "id"}

// CreateEntity implements [trace.Store].
func (s *Store) CreateEntity(ctx context.Context, e trace.Entity) error {
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO entities
		(id, uscc, gln, name, kinds, region, address, company_prefix, contact, created_at, updated_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		e.ID, e.USCC, nullable(e.GLN), e.Name, mustJSON(e.Kinds), e.Region, e.Address, e.CompanyPrefix,
		mustJSON(e.Contact), sqlitedb.Millis(e.CreatedAt), sqlitedb.Millis(e.UpdatedAt))
	return translate(err, entityFields)
}

const entityCols = `id, uscc, COALESCE(gln, ''), name, kinds, region, address, company_prefix, contact,
	created_at, updated_at`

func scanEntity(row sqlitedb.Scanner) (trace.Entity, error) {
	var e trace.Entity
	var kinds, contact string
	var created, updated int64
	err := row.Scan(&e.ID, &e.USCC, &e.GLN, &e.Name, &kinds, &e.Region, &e.Address, &e.CompanyPrefix,
		&contact, &created, &updated)
	if err != nil {
		return trace.Entity{}, err
	}
	if err := json.Unmarshal([]byte(kinds), &e.Kinds); err != nil {
		return trace.Entity{}, fmt.Errorf("entity %s: kinds: %w", e.ID, err)
	}
	if err := json.Unmarshal([]byte(contact), &e.Contact); err != nil {
		return trace.Entity{}, fmt.Errorf("entity %s: contact: %w", e.ID, err)
	}
	e.CreatedAt, e.UpdatedAt = sqlitedb.FromMillis(created), sqlitedb.FromMillis(updated)
	return e, nil
}

// Entity implements [trace.Store].
func (s *Store) Entity(ctx context.Context, id string) (trace.Entity, error) {
	e, err := scanEntity(s.db.R.QueryRowContext(ctx, `SELECT `+entityCols+` FROM entities WHERE id = ?`, id))
	return e, translate(err, nil)
}

// ListEntities implements [trace.Store].
func (s *Store) ListEntities(ctx context.Context, f trace.EntityFilter, p trace.Page) ([]trace.Entity, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	add("id > ?", p.After)
	if f.Kind != "" {
		add("EXISTS (SELECT 1 FROM json_each(entities.kinds) WHERE value = ?)", string(f.Kind))
	}
	if f.Region != "" {
		add("region = ?", f.Region)
	}
	if f.USCC != "" {
		add("uscc = ?", f.USCC)
	}
	if f.GLN != "" {
		add("gln = ?", f.GLN)
	}
	if f.Name != "" {
		add("instr(lower(name), lower(?)) > 0", f.Name)
	}
	if len(f.CompanyPrefixes) > 0 {
		where = append(where, "company_prefix IN (?"+strings.Repeat(", ?", len(f.CompanyPrefixes)-1)+")")
		for _, cp := range f.CompanyPrefixes {
			args = append(args, cp)
		}
	}
	args = append(args, p.Limit)
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+entityCols+` FROM entities WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	return sqlitedb.Collect(rows, scanEntity)
}

func collect[T any](rows *sql.Rows, scan func(sqlitedb.Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// setter collects the SET clause of a partial update.
type setter struct {
	cols []string
	args []any
}

func (u *setter) set(col string, v any) {
	u.cols = append(u.cols, col+" = ?")
	u.args = append(u.args, v)
}

// update runs UPDATE table SET … WHERE key and reads the row back in the
// same transaction.
func update[T any](ctx context.Context, s *Store, table, where string, key []any, u setter, fields map[string]string,
	read func(*sql.Tx) (T, error)) (T, error) {
	var zero T
	tx, err := s.db.W.BeginTx(ctx, nil)
	if err != nil {
		return zero, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+strings.Join(u.cols, ", ")+` WHERE `+where,
		append(u.args, key...)...)
	if err != nil {
		return zero, translate(err, fields)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return zero, trace.ErrNotFound
	}
	v, err := read(tx)
	if err != nil {
		return zero, translate(err, nil)
	}
	return v, tx.Commit()
}

// UpdateEntity implements [trace.Store].
func (s *Store) UpdateEntity(ctx context.Context, id string, p trace.EntityPatch, at time.Time) (trace.Entity, error) {
	var u setter
	u.set("updated_at", sqlitedb.Millis(at))
	if p.Contact != nil {
		u.set("contact", mustJSON(*p.Contact))
	}
	if p.Name != nil {
		u.set("name", *p.Name)
	}
	if p.Kinds != nil {
		u.set("kinds", mustJSON(*p.Kinds))
	}
	if p.Region != nil {
		u.set("region", *p.Region)
	}
	if p.Address != nil {
		u.set("address", *p.Address)
	}
	if p.GLN != nil {
		u.set("gln", nullable(*p.GLN))
	}
	if p.CompanyPrefix != nil {
		u.set("company_prefix", *p.CompanyPrefix)
	}
	return update(ctx, s, "entities", "id = ?", []any{id}, u, entityFields, func(tx *sql.Tx) (trace.Entity, error) {
		return scanEntity(tx.QueryRowContext(ctx, `SELECT `+entityCols+` FROM entities WHERE id = ?`, id))
	})
}

var productFields = map[string]string{"products.gtin": "gtin"}

const productCols = `gtin, owner_id, name, brand, model, category, description, created_at, updated_at`

func scanProduct(row sqlitedb.Scanner) (trace.Product, error) {
	var p trace.Product
	var created, updated int64
	err := row.Scan(&p.GTIN, &p.OwnerID, &p.Name, &p.Brand, &p.Model, &p.Category, &p.Description, &created, &updated)
	p.CreatedAt, p.UpdatedAt = sqlitedb.FromMillis(created), sqlitedb.FromMillis(updated)
	return p, err
}

// CreateProduct implements [trace.Store].
func (s *Store) CreateProduct(ctx context.Context, p trace.Product) error {
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO products (`+productCols+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		p.GTIN, p.OwnerID, p.Name, p.Brand, p.Model, p.Category, p.Description, sqlitedb.Millis(p.CreatedAt), sqlitedb.Millis(p.UpdatedAt))
	return translate(err, productFields)
}

// Product implements [trace.Store].
func (s *Store) Product(ctx context.Context, gtin string) (trace.Product, error) {
	p, err := scanProduct(s.db.R.QueryRowContext(ctx, `SELECT `+productCols+` FROM products WHERE gtin = ?`, gtin))
	return p, translate(err, nil)
}

// ListProducts implements [trace.Store].
func (s *Store) ListProducts(ctx context.Context, f trace.ProductFilter, p trace.Page) ([]trace.Product, error) {
	q := `SELECT ` + productCols + ` FROM products WHERE gtin > ?`
	args := []any{p.After}
	if f.OwnerID != "" {
		q += ` AND owner_id = ?`
		args = append(args, f.OwnerID)
	}
	if f.Category != "" {
		q += ` AND category = ?`
		args = append(args, string(f.Category))
	}
	rows, err := s.db.R.QueryContext(ctx, q+` ORDER BY gtin LIMIT ?`, append(args, p.Limit)...)
	if err != nil {
		return nil, err
	}
	return sqlitedb.Collect(rows, scanProduct)
}

// UpdateProduct implements [trace.Store].
func (s *Store) UpdateProduct(ctx context.Context, gtin string, p trace.ProductPatch, at time.Time) (trace.Product, error) {
	var u setter
	u.set("updated_at", sqlitedb.Millis(at))
	if p.Name != nil {
		u.set("name", *p.Name)
	}
	if p.Brand != nil {
		u.set("brand", *p.Brand)
	}
	if p.Model != nil {
		u.set("model", *p.Model)
	}
	if p.Category != nil {
		u.set("category", string(*p.Category))
	}
	if p.Description != nil {
		u.set("description", *p.Description)
	}
	return update(ctx, s, "products", "gtin = ?", []any{gtin}, u, productFields, func(tx *sql.Tx) (trace.Product, error) {
		return scanProduct(tx.QueryRowContext(ctx, `SELECT `+productCols+` FROM products WHERE gtin = ?`, gtin))
	})
}

const batchCols = `gtin, lot, owner_id, production_date, expiry_date, quantity, unit, origin, created_at`

func scanBatch(row sqlitedb.Scanner) (trace.Batch, error) {
	var b trace.Batch
	var origin string
	var created int64
	if err := row.Scan(&b.GTIN, &b.Lot, &b.OwnerID, &b.ProductionDate, &b.ExpiryDate, &b.Quantity, &b.Unit,
		&origin, &created); err != nil {
		return trace.Batch{}, err
	}
	b.CreatedAt = sqlitedb.FromMillis(created)
	if err := json.Unmarshal([]byte(origin), &b.Origin); err != nil {
		return trace.Batch{}, fmt.Errorf("batch %s/%s: origin: %w", b.GTIN, b.Lot, err)
	}
	return b, nil
}

// CreateBatch implements [trace.Store].
func (s *Store) CreateBatch(ctx context.Context, b trace.Batch) error {
	_, err := s.db.W.ExecContext(ctx, `INSERT INTO batches (`+batchCols+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		b.GTIN, b.Lot, b.OwnerID, b.ProductionDate, b.ExpiryDate, b.Quantity, b.Unit, mustJSON(b.Origin), sqlitedb.Millis(b.CreatedAt))
	return translate(err, map[string]string{"batches.gtin": "lot"})
}

// Batch implements [trace.Store].
func (s *Store) Batch(ctx context.Context, gtin, lot string) (trace.Batch, error) {
	b, err := scanBatch(s.db.R.QueryRowContext(ctx, `SELECT `+batchCols+` FROM batches WHERE gtin = ? AND lot = ?`, gtin, lot))
	return b, translate(err, nil)
}

// ListBatches implements [trace.Store].
func (s *Store) ListBatches(ctx context.Context, gtin string, p trace.Page) ([]trace.Batch, error) {
	rows, err := s.db.R.QueryContext(ctx, `SELECT `+batchCols+` FROM batches WHERE gtin = ? AND lot > ? ORDER BY lot LIMIT ?`,
		gtin, p.After, p.Limit)
	if err != nil {
		return nil, err
	}
	return sqlitedb.Collect(rows, scanBatch)
}
