// Package schemamongo holds what the MongoDB stores of every domain share:
// idempotent index set-up, the classes of driver errors, and a few query
// helpers. It knows no domain: each store (trace/tracemongo,
// standards/standardsmongo, recall/recallmongo) owns its collections and
// indexes and maps errors onto its own domain's sentinels.
package schemamongo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Indexes are the indexes a store needs, by collection.
type Indexes map[string][]mongo.IndexModel

// Add adds more's indexes to ix.
func (ix Indexes) Add(more Indexes) {
	for col, models := range more {
		ix[col] = append(ix[col], models...)
	}
}

// DropIndexes drops the named indexes that exist, per collection: indexes
// an earlier version made and this one replaced.
func DropIndexes(ctx context.Context, db *mongo.Database, obsolete map[string][]string) error {
	for _, col := range slices.Sorted(maps.Keys(obsolete)) {
		have, err := listIndexes(ctx, db.Collection(col))
		if err != nil {
			return fmt.Errorf("list indexes of %s: %w", col, err)
		}
		for _, name := range obsolete[col] {
			if _, ok := have[name]; !ok {
				continue
			}
			if err := db.Collection(col).Indexes().DropOne(ctx, name); err != nil {
				return fmt.Errorf("drop index %s of %s: %w", name, col, err)
			}
		}
	}
	return nil
}

// EnsureIndexes creates the indexes of want that the database lacks and
// leaves the others alone, so that starting again on an existing database
// (or several replicas starting at once) does no index work. An existing
// index with a wanted index's name but another definition is an error
// naming both, and the service refuses to start rather than run on
// indexes it does not expect. Every wanted index must have a name.
func EnsureIndexes(ctx context.Context, db *mongo.Database, want Indexes) error {
	// Processes starting together on one database create the same
	// indexes at once; a dropped connection then (a server restarting, an
	// election, FerretDB failing the race) is worth another try.
	var err error
	for attempt, wait := 0, 200*time.Millisecond; attempt < 5; attempt, wait = attempt+1, wait*2 {
		if err = ensureIndexes(ctx, db, want); err == nil || !transient(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
	}
	return err
}

// transient reports whether err is a dropped connection, or a pool the
// driver cleared after one: worth another try.
func transient(err error) bool {
	var r interface{ Retryable() bool }
	return mongo.IsNetworkError(err) || (errors.As(err, &r) && r.Retryable())
}

func ensureIndexes(ctx context.Context, db *mongo.Database, want Indexes) error {
	for _, col := range slices.Sorted(maps.Keys(want)) {
		have, err := listIndexes(ctx, db.Collection(col))
		if err != nil {
			return fmt.Errorf("list indexes of %s: %w", col, err)
		}
		var missing []mongo.IndexModel
		for _, m := range want[col] {
			w, err := specOf(m)
			if err != nil {
				return fmt.Errorf("index on %s: %w", col, err)
			}
			h, ok := have[w.name]
			if !ok {
				missing = append(missing, m)
				continue
			}
			if !h.serves(w) {
				return fmt.Errorf("collection %s has an index %q defined as %s, but this version needs %s: "+
					"drop that index (or restore the version that made it) and start again", col, w.name, h, w)
			}
		}
		if len(missing) == 0 {
			continue
		}
		if _, err := db.Collection(col).Indexes().CreateMany(ctx, missing); err != nil {
			return fmt.Errorf("create indexes on %s: %w", col, err)
		}
	}
	return nil
}

// spec is what EnsureIndexes compares of two indexes.
type spec struct {
	name           string
	keys           string // "field:1,other:-1"
	unique, sparse bool
}

// serves reports whether an existing index h does what w asks. Sparseness
// of an index that is not unique only saves space (queries return the
// same), and servers that ignore the option (FerretDB) report none; so it
// counts for unique indexes only.
func (h spec) serves(w spec) bool {
	if !w.unique {
		h.sparse, w.sparse = false, false
	}
	return h == w
}

func (s spec) String() string {
	out := "{" + s.keys + "}"
	if s.unique {
		out += " unique"
	}
	if s.sparse {
		out += " sparse"
	}
	return out
}

func specOf(m mongo.IndexModel) (spec, error) {
	var o options.IndexOptions
	if m.Options != nil {
		for _, set := range m.Options.Opts {
			if err := set(&o); err != nil {
				return spec{}, err
			}
		}
	}
	if o.Name == nil || *o.Name == "" {
		return spec{}, errors.New("an index without a name")
	}
	keys, ok := m.Keys.(bson.D)
	if !ok {
		return spec{}, fmt.Errorf("index %s: keys must be a bson.D", *o.Name)
	}
	s := spec{name: *o.Name, unique: o.Unique != nil && *o.Unique, sparse: o.Sparse != nil && *o.Sparse}
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%v", k.Key, keyValue(k.Value)))
	}
	s.keys = strings.Join(parts, ",")
	return s, nil
}

// keyValue normalises an index direction, which servers return as int32,
// int64 or double.
func keyValue(v any) any {
	switch n := v.(type) {
	case int32:
		return int64(n)
	case int:
		return int64(n)
	case float64:
		if n == float64(int64(n)) {
			return int64(n)
		}
	}
	return v
}

func listIndexes(ctx context.Context, c *mongo.Collection) (map[string]spec, error) {
	cur, err := c.Indexes().List(ctx)
	if err != nil {
		var ce mongo.CommandError
		if errors.As(err, &ce) && ce.Code == 26 { // NamespaceNotFound: no collection yet
			return map[string]spec{}, nil
		}
		return nil, err
	}
	var docs []struct {
		Name   string `bson:"name"`
		Key    bson.D `bson:"key"`
		Unique bool   `bson:"unique"`
		Sparse bool   `bson:"sparse"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := map[string]spec{}
	for _, d := range docs {
		s := spec{name: d.Name, unique: d.Unique, sparse: d.Sparse}
		var parts []string
		for _, k := range d.Key {
			parts = append(parts, fmt.Sprintf("%s:%v", k.Key, keyValue(k.Value)))
		}
		s.keys = strings.Join(parts, ",")
		out[d.Name] = s
	}
	return out, nil
}

// DuplicateKey reports whether err is a duplicate-key error, and the name
// of the index that clashed when the server says it ("" when it does not,
// as FerretDB).
func DuplicateKey(err error) (index string, ok bool) {
	if !mongo.IsDuplicateKeyError(err) {
		return "", false
	}
	msg := err.Error()
	if _, rest, found := strings.Cut(msg, "index: "); found {
		name, _, _ := strings.Cut(rest, " ")
		return name, true
	}
	return "", true
}

// Unavailable reports whether err means the database cannot answer now
// but may soon: a timeout, a network error, a primary stepping down or
// gone (NotWritablePrimary and the like), or any error the server labels
// RetryableWriteError. The request may be retried.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || mongo.IsTimeout(err) || mongo.IsNetworkError(err) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var labeled mongo.LabeledError
	if errors.As(err, &labeled) && (labeled.HasErrorLabel("RetryableWriteError") ||
		labeled.HasErrorLabel("TransientTransactionError")) {
		return true
	}
	var se mongo.ServerError
	if errors.As(err, &se) {
		for _, code := range notPrimaryCodes {
			if se.HasErrorCode(code) {
				return true
			}
		}
	}
	return errors.Is(err, mongo.ErrClientDisconnected)
}

// notPrimaryCodes are the server's "not the primary now" and shutdown
// error codes: NotWritablePrimary, NotPrimaryNoSecondaryOk,
// NotPrimaryOrSecondary, PrimarySteppedDown, InterruptedAtShutdown,
// ShutdownInProgress, HostUnreachable, HostNotFound, NetworkTimeout,
// SocketException, ExceededTimeLimit and InterruptedDueToReplStateChange.
var notPrimaryCodes = []int{10107, 13435, 13436, 189, 11600, 91, 6, 7, 89, 9001, 262, 11602}

// FindAll runs q with opts and decodes every result.
func FindAll[T any](ctx context.Context, c *mongo.Collection, q bson.D, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	cur, err := c.Find(ctx, q, opts...)
	if err != nil {
		return nil, err
	}
	var out []T
	return out, cur.All(ctx, &out)
}

// InChunk is how many values one $in query carries at most.
const InChunk = 500

// Chunks calls f on consecutive parts of vals of at most [InChunk] values.
func Chunks(vals []string, f func(part []string) error) error {
	for start := 0; start < len(vals); start += InChunk {
		if err := f(vals[start:min(start+InChunk, len(vals))]); err != nil {
			return err
		}
	}
	return nil
}

// InsertIgnoring inserts docs unordered and returns the positions that
// hit a duplicate key; any other write error fails the call.
func InsertIgnoring(ctx context.Context, c *mongo.Collection, docs []any) ([]int, error) {
	_, err := c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return nil, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil, err
	}
	taken := make([]int, 0, len(bwe.WriteErrors))
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(we) {
			return nil, fmt.Errorf("insert %d: %w", we.Index, err)
		}
		taken = append(taken, we.Index)
	}
	return taken, nil
}
