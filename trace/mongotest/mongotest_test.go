package mongotest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/trace/mongotest"
)

// srv is the one server of this test binary, set by TestMain.
var srv *mongotest.Server

func TestMain(m *testing.M) { os.Exit(mongotest.Run(m, &srv)) }

// Error codes used below (see MongoDB's error_codes.yml).
const (
	codeInternalError  = 1
	codeIndexNotFound  = 27
	codeNotImplemented = 238 // FerretDB only
)

// knownLimitation is called when a check that holds on MongoDB failed. If
// the server is FerretDB and quirk says the observed behaviour is the
// documented limitation (see doc.go), it only logs; otherwise it fails t.
func knownLimitation(t *testing.T, quirk bool, format string, args ...any) {
	t.Helper()

	if srv.IsFerretDB() && quirk {
		t.Logf("known FerretDB limitation: "+format, args...)
		return
	}

	t.Errorf(format, args...)
}

// hasCode reports whether err is a server error with the given code.
func hasCode(err error, code int) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && se.HasErrorCode(code)
}

// ids returns the _id values of all documents matched by filter.
func ids(t *testing.T, c *mongo.Collection, filter any, opts ...options.Lister[options.FindOptions]) []int32 {
	t.Helper()

	cur, err := c.Find(t.Context(), filter, opts...)
	if err != nil {
		t.Fatalf("find %v: %v", filter, err)
	}

	var docs []struct {
		ID int32 `bson:"_id"`
	}
	if err := cur.All(t.Context(), &docs); err != nil {
		t.Fatalf("find %v: %v", filter, err)
	}

	res := make([]int32, 0, len(docs))
	for _, d := range docs {
		res = append(res, d.ID)
	}

	return res
}

// insertMany inserts docs and fails the test on error.
func insertMany(t *testing.T, c *mongo.Collection, docs ...any) {
	t.Helper()

	if _, err := c.InsertMany(t.Context(), docs); err != nil {
		t.Fatalf("InsertMany: %v", err)
	}
}

func TestServer(t *testing.T) {
	t.Parallel()

	if srv.URI == "" {
		t.Fatal("empty URI")
	}

	if err := srv.Client().Ping(t.Context(), nil); err != nil {
		t.Fatal(err)
	}

	want := "mongodb"
	if srv.IsFerretDB() {
		want = "ferretdb"
	}

	if got := srv.Name(); got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}

	t.Logf("server %s at %s", srv.Name(), srv.URI)
}

func TestDatabaseName(t *testing.T) {
	t.Parallel()

	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}$`)
	long := "weird name/with spaces.dots$ & ünïcode " + strings.Repeat("x", 100)

	var names []string

	for _, sub := range []string{long, long, "short"} {
		t.Run(sub, func(t *testing.T) {
			db := srv.Database(t)
			if !valid.MatchString(db.Name()) {
				t.Errorf("invalid database name %q", db.Name())
			}

			// Databases are created lazily; make it exist.
			if _, err := db.Collection("c").InsertOne(t.Context(), bson.M{"x": 1}); err != nil {
				t.Fatal(err)
			}

			names = append(names, db.Name())
		})
	}

	if len(names) != 3 || names[0] == names[1] {
		t.Fatalf("names not unique: %q", names)
	}

	// Subtest cleanups have run: the databases must be gone.
	all, err := srv.Client().ListDatabaseNames(t.Context(), bson.M{})
	if err != nil {
		t.Fatal(err)
	}

	for _, n := range names {
		if slices.Contains(all, n) {
			t.Errorf("database %q not dropped", n)
		}
	}
}

func TestCRUD(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	c := srv.Database(t).Collection("items")

	res, err := c.InsertOne(ctx, bson.M{"_id": int32(1), "name": "one", "n": 1})
	if err != nil {
		t.Fatal(err)
	}

	if res.InsertedID != int32(1) {
		t.Errorf("InsertedID = %v", res.InsertedID)
	}

	var got struct {
		Name string `bson:"name"`
	}
	if err := c.FindOne(ctx, bson.M{"_id": 1}).Decode(&got); err != nil || got.Name != "one" {
		t.Fatalf("FindOne = %+v, %v", got, err)
	}

	if err := c.FindOne(ctx, bson.M{"_id": 42}).Err(); !errors.Is(err, mongo.ErrNoDocuments) {
		t.Errorf("FindOne missing: %v, want ErrNoDocuments", err)
	}

	for i := int32(2); i <= 10; i++ {
		if _, err := c.InsertOne(ctx, bson.M{"_id": i, "n": i, "even": i%2 == 0}); err != nil {
			t.Fatal(err)
		}
	}

	// $in
	if got := ids(t, c, bson.M{"_id": bson.M{"$in": bson.A{3, 5, 99}}}, options.Find().SetSort(bson.M{"_id": 1})); !slices.Equal(got, []int32{3, 5}) {
		t.Errorf("$in = %v", got)
	}

	// sort + limit
	opts := options.Find().SetSort(bson.D{{Key: "n", Value: -1}}).SetLimit(3)
	if got := ids(t, c, bson.M{}, opts); !slices.Equal(got, []int32{10, 9, 8}) {
		t.Errorf("sort+limit = %v", got)
	}

	// skip
	opts = options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetSkip(8)
	if got := ids(t, c, bson.M{}, opts); !slices.Equal(got, []int32{9, 10}) {
		t.Errorf("skip = %v", got)
	}

	// countDocuments, with and without limit/skip, and the estimate
	for _, tc := range []struct {
		filter any
		opts   *options.CountOptionsBuilder
		want   int64
	}{
		{bson.M{}, options.Count(), 10},
		{bson.M{"even": true}, options.Count(), 5},
		{bson.M{"n": bson.M{"$gte": 5}}, options.Count().SetSkip(1).SetLimit(3), 3},
	} {
		n, err := c.CountDocuments(ctx, tc.filter, tc.opts)
		if err != nil || n != tc.want {
			t.Errorf("CountDocuments(%v) = %d, %v; want %d", tc.filter, n, err, tc.want)
		}
	}

	if n, err := c.EstimatedDocumentCount(ctx); err != nil || n != 10 {
		t.Errorf("EstimatedDocumentCount = %d, %v", n, err)
	}

	// update, replace, delete
	if r, err := c.UpdateMany(ctx, bson.M{"even": true}, bson.M{"$set": bson.M{"tag": "e"}}); err != nil || r.MatchedCount != 5 || r.ModifiedCount != 5 {
		t.Errorf("UpdateMany = %+v, %v", r, err)
	}

	if r, err := c.ReplaceOne(ctx, bson.M{"_id": 1}, bson.M{"name": "uno"}); err != nil || r.ModifiedCount != 1 {
		t.Errorf("ReplaceOne = %+v, %v", r, err)
	}

	if r, err := c.DeleteMany(ctx, bson.M{"tag": "e"}); err != nil || r.DeletedCount != 5 {
		t.Errorf("DeleteMany = %+v, %v", r, err)
	}
}

func TestUniqueIndexes(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	c := srv.Database(t).Collection("u")

	_, err := c.Indexes().CreateMany(ctx, []mongo.IndexModel{
		{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true)},
		{Keys: bson.D{{Key: "tenant", Value: 1}, {Key: "slug", Value: 1}}, Options: options.Index().SetUnique(true)},
	})
	if err != nil {
		t.Fatal(err)
	}

	insertMany(t, c,
		bson.M{"email": "a@x", "tenant": "t1", "slug": "s1"},
		bson.M{"email": "b@x", "tenant": "t1", "slug": "s2"}, // same tenant, other slug: OK
		bson.M{"email": "c@x", "tenant": "t2", "slug": "s1"}, // other tenant, same slug: OK
	)

	for name, doc := range map[string]bson.M{
		"single":   {"email": "a@x", "tenant": "t9", "slug": "s9"},
		"compound": {"email": "z@x", "tenant": "t1", "slug": "s1"},
	} {
		_, err := c.InsertOne(ctx, doc)
		if !mongo.IsDuplicateKeyError(err) {
			t.Errorf("%s: duplicate insert: %v, want duplicate key error", name, err)
		}
	}

	// Same value with another numeric type is a duplicate on both servers.
	if _, err := c.InsertOne(ctx, bson.M{"email": 1}); err != nil {
		t.Fatal(err)
	}

	if _, err := c.InsertOne(ctx, bson.M{"email": 1.0}); !mongo.IsDuplicateKeyError(err) {
		t.Errorf("int32 1 vs double 1.0: %v, want duplicate key error", err)
	}

	// An update or replace that violates a unique index.
	_, err = c.UpdateOne(ctx, bson.M{"email": "b@x"}, bson.M{"$set": bson.M{"email": "a@x"}})
	if !mongo.IsDuplicateKeyError(err) {
		knownLimitation(t, hasCode(err, codeInternalError),
			"UpdateOne violating a unique index: %v, want duplicate key error", err)
	}

	err = c.FindOneAndUpdate(ctx, bson.M{"email": "b@x"}, bson.M{"$set": bson.M{"slug": "s1"}}).Err()
	if !mongo.IsDuplicateKeyError(err) {
		knownLimitation(t, hasCode(err, codeInternalError),
			"FindOneAndUpdate violating a unique index: %v, want duplicate key error", err)
	}
}

func TestUniqueIndexMissingAndArrayValues(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	c := srv.Database(t).Collection("u")

	if _, err := c.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "k", Value: 1}}, Options: options.Index().SetUnique(true),
	}); err != nil {
		t.Fatal(err)
	}

	// MongoDB indexes a missing field as null, so a second document
	// without "k" is a duplicate.
	insertMany(t, c, bson.M{"other": 1})

	_, err := c.InsertOne(ctx, bson.M{"other": 2})
	if !mongo.IsDuplicateKeyError(err) {
		knownLimitation(t, err == nil, "second document without the unique field: %v, want duplicate key error", err)
	}

	// MongoDB indexes each array element (multikey), so [b c] clashes
	// with [a b].
	insertMany(t, c, bson.M{"k": bson.A{"a", "b"}})

	_, err = c.InsertOne(ctx, bson.M{"k": bson.A{"b", "c"}})
	if !mongo.IsDuplicateKeyError(err) {
		knownLimitation(t, err == nil, "arrays sharing an element under a unique index: %v, want duplicate key error", err)
	}
}

func TestIndexOptions(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	c := srv.Database(t).Collection("ix")

	for _, tc := range []struct {
		name  string
		model mongo.IndexModel
		quirk func(error) bool // FerretDB's documented error
	}{
		{
			name: "partialFilterExpression",
			model: mongo.IndexModel{Keys: bson.D{{Key: "p", Value: 1}}, Options: options.Index().
				SetUnique(true).SetPartialFilterExpression(bson.M{"p": bson.M{"$exists": true}})},
			quirk: func(err error) bool { return hasCode(err, codeNotImplemented) },
		},
		{
			name:  "TTL",
			model: mongo.IndexModel{Keys: bson.D{{Key: "at", Value: 1}}, Options: options.Index().SetExpireAfterSeconds(60)},
			quirk: func(err error) bool { return hasCode(err, codeNotImplemented) },
		},
		{
			name: "collation",
			model: mongo.IndexModel{Keys: bson.D{{Key: "ci", Value: 1}}, Options: options.Index().
				SetCollation(&options.Collation{Locale: "en", Strength: 2})},
			quirk: func(err error) bool { return hasCode(err, codeNotImplemented) },
		},
		{
			name:  "text",
			model: mongo.IndexModel{Keys: bson.D{{Key: "body", Value: "text"}}},
			quirk: func(err error) bool { return hasCode(err, codeIndexNotFound) },
		},
		{
			name:  "hashed",
			model: mongo.IndexModel{Keys: bson.D{{Key: "h", Value: "hashed"}}},
			quirk: func(err error) bool { return hasCode(err, codeIndexNotFound) },
		},
		{
			// Accepted on FerretDB, but "sparse" is silently ignored.
			name:  "sparse",
			model: mongo.IndexModel{Keys: bson.D{{Key: "s", Value: 1}}, Options: options.Index().SetSparse(true).SetUnique(true)},
		},
		{
			name:  "descending nested",
			model: mongo.IndexModel{Keys: bson.D{{Key: "a.b", Value: -1}, {Key: "c", Value: 1}}},
		},
	} {
		_, err := c.Indexes().CreateOne(ctx, tc.model)
		if err != nil {
			knownLimitation(t, tc.quirk != nil && tc.quirk(err), "create %s index: %v", tc.name, err)
		}
	}
}

func TestFindOneAndUpdate(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	c := srv.Database(t).Collection("counters")

	type counter struct {
		ID      string `bson:"_id"`
		N       int    `bson:"n"`
		Created string `bson:"created"`
	}

	upsertInc := func(created string) (counter, error) {
		var got counter
		err := c.FindOneAndUpdate(ctx,
			bson.M{"_id": "ctr"},
			bson.M{"$inc": bson.M{"n": 1}, "$setOnInsert": bson.M{"created": created}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After),
		).Decode(&got)

		return got, err
	}

	// Upsert: $setOnInsert applies, After returns the new document.
	if got, err := upsertInc("first"); err != nil || got != (counter{"ctr", 1, "first"}) {
		t.Fatalf("upsert = %+v, %v", got, err)
	}

	// Update: $setOnInsert ignored, $inc applied.
	if got, err := upsertInc("second"); err != nil || got != (counter{"ctr", 2, "first"}) {
		t.Fatalf("update = %+v, %v", got, err)
	}

	// ReturnDocument Before (the default).
	var before counter
	if err := c.FindOneAndUpdate(ctx, bson.M{"_id": "ctr"}, bson.M{"$inc": bson.M{"n": 1}}).Decode(&before); err != nil || before.N != 2 {
		t.Fatalf("before = %+v, %v", before, err)
	}

	// No match, no upsert.
	if err := c.FindOneAndUpdate(ctx, bson.M{"_id": "nope"}, bson.M{"$inc": bson.M{"n": 1}}).Err(); !errors.Is(err, mongo.ErrNoDocuments) {
		t.Errorf("no match: %v, want ErrNoDocuments", err)
	}

	// UpdateOne upsert with a non-_id filter copies the equality fields.
	r, err := c.UpdateOne(ctx,
		bson.M{"k": "x", "n": bson.M{"$gt": 3}},
		bson.M{"$set": bson.M{"a": 1}, "$setOnInsert": bson.M{"created": "u"}},
		options.UpdateOne().SetUpsert(true))
	if err != nil || r.UpsertedCount != 1 || r.MatchedCount != 0 {
		t.Fatalf("UpdateOne upsert = %+v, %v", r, err)
	}

	var up bson.M
	if err := c.FindOne(ctx, bson.M{"_id": r.UpsertedID}).Decode(&up); err != nil {
		t.Fatal(err)
	}

	if up["k"] != "x" || up["created"] != "u" || up["n"] != nil {
		t.Errorf("upserted document = %v", up)
	}

	// Projection on findAndModify.
	err = c.FindOneAndUpdate(ctx, bson.M{"_id": "ctr"}, bson.M{"$inc": bson.M{"n": 1}},
		options.FindOneAndUpdate().SetProjection(bson.M{"n": 1})).Err()
	if err != nil {
		knownLimitation(t, hasCode(err, codeNotImplemented), "FindOneAndUpdate with projection: %v", err)
	}
}

func TestInsertMany(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	db := srv.Database(t)

	t.Run("unordered reports each duplicate", func(t *testing.T) {
		c := db.Collection("unordered")

		var docs []any
		for i := range 300 {
			id := i
			if i%100 == 50 { // duplicates at 50, 150, 250 (one per FerretDB batch)
				id = i - 1
			}

			docs = append(docs, bson.M{"_id": id})
		}

		res, err := c.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))

		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || !mongo.IsDuplicateKeyError(err) {
			t.Fatalf("err = %v (%T), want BulkWriteException with duplicate keys", err, err)
		}

		var idx []int
		for _, we := range bwe.WriteErrors {
			idx = append(idx, we.Index)
		}

		if !slices.Equal(idx, []int{50, 150, 250}) {
			t.Errorf("write error indexes = %v", idx)
		}

		if len(res.InsertedIDs) != 297 {
			t.Errorf("InsertedIDs = %d", len(res.InsertedIDs))
		}

		if n, _ := c.CountDocuments(ctx, bson.M{}); n != 297 {
			t.Errorf("count = %d, want 297", n)
		}
	})

	t.Run("ordered stops at first error", func(t *testing.T) {
		for _, size := range []int{50, 250} {
			c := db.Collection(fmt.Sprint("ordered", size))

			var docs []any
			for i := range size {
				id := i
				if i == 11 {
					id = 10 // the only duplicate
				}

				docs = append(docs, bson.M{"_id": id})
			}

			_, err := c.InsertMany(ctx, docs)
			if !mongo.IsDuplicateKeyError(err) {
				t.Errorf("size %d: err = %v", size, err)
			}

			// FerretDB v1.24.2 inserts in batches of 100 and, after a
			// duplicate, still inserts the next batch.
			if n, _ := c.CountDocuments(ctx, bson.M{}); n != 11 {
				knownLimitation(t, size > 100 && n == 111, "size %d: ordered InsertMany inserted %d documents, want 11", size, n)
			}
		}
	})
}

func TestBulkWrite(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	c := srv.Database(t).Collection("bw")

	res, err := c.BulkWrite(ctx, []mongo.WriteModel{
		mongo.NewInsertOneModel().SetDocument(bson.M{"_id": 1, "v": 1}),
		mongo.NewInsertOneModel().SetDocument(bson.M{"_id": 2, "v": 2}),
		mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": 1}).SetUpdate(bson.M{"$inc": bson.M{"v": 10}}),
		mongo.NewUpdateManyModel().SetFilter(bson.M{}).SetUpdate(bson.M{"$set": bson.M{"m": true}}),
		mongo.NewReplaceOneModel().SetFilter(bson.M{"_id": 3}).SetReplacement(bson.M{"v": 3}).SetUpsert(true),
		mongo.NewDeleteOneModel().SetFilter(bson.M{"_id": 2}),
	})
	if err != nil {
		t.Fatal(err)
	}

	if res.InsertedCount != 2 || res.MatchedCount != 3 || res.ModifiedCount != 3 ||
		res.UpsertedCount != 1 || res.DeletedCount != 1 {
		t.Errorf("ordered BulkWrite = %+v", res)
	}

	_, err = c.BulkWrite(ctx, []mongo.WriteModel{
		mongo.NewInsertOneModel().SetDocument(bson.M{"_id": 10}),
		mongo.NewInsertOneModel().SetDocument(bson.M{"_id": 1}), // duplicate
		mongo.NewInsertOneModel().SetDocument(bson.M{"_id": 11}),
	}, options.BulkWrite().SetOrdered(false))

	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || len(bwe.WriteErrors) != 1 || bwe.WriteErrors[0].Index != 1 || !mongo.IsDuplicateKeyError(err) {
		t.Errorf("unordered BulkWrite err = %v", err)
	}

	if n, _ := c.CountDocuments(ctx, bson.M{"_id": bson.M{"$gte": 10}}); n != 2 {
		t.Errorf("unordered BulkWrite inserted %d of 2 valid documents", n)
	}
}

func TestQueries(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	c := srv.Database(t).Collection("q")
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

	for i := range int32(10) {
		insertMany(t, c, bson.M{
			"_id":   i,
			"g":     i % 3,
			"s":     string(rune('a' + i)), // "a".."j"
			"t":     base.Add(time.Duration(i) * time.Hour),
			"nums":  bson.A{i, i + 1},
			"items": bson.A{bson.M{"k": "a", "n": i}, bson.M{"k": "b", "n": i * 10}},
		})
	}

	byID := options.Find().SetSort(bson.M{"_id": 1})

	for _, tc := range []struct {
		name   string
		filter any
		opts   *options.FindOptionsBuilder
		want   []int32
	}{
		{"sort on two fields", bson.M{}, options.Find().SetSort(bson.D{{Key: "g", Value: 1}, {Key: "_id", Value: -1}}).SetLimit(5), []int32{9, 6, 3, 0, 7}},
		{"$gt/$lt on strings", bson.M{"s": bson.M{"$gt": "c", "$lt": "g"}}, byID, []int32{3, 4, 5}},
		{"$gte/$lt on dates", bson.M{"t": bson.M{"$gte": base.Add(2 * time.Hour), "$lt": base.Add(5 * time.Hour)}}, byID, []int32{2, 3, 4}},
		{"$in", bson.M{"s": bson.M{"$in": bson.A{"b", "d", "zz"}}}, byID, []int32{1, 3}},
		{"$nin", bson.M{"g": bson.M{"$nin": bson.A{0, 1}}}, byID, []int32{2, 5, 8}},
		{"$regex", bson.M{"s": bson.M{"$regex": "^[b-d]$"}}, byID, []int32{1, 2, 3}},
		{"$regex i", bson.M{"s": bson.Regex{Pattern: "^B", Options: "i"}}, byID, []int32{1}},
		{"$or", bson.M{"$or": bson.A{bson.M{"_id": 1}, bson.M{"s": "c"}}}, byID, []int32{1, 2}},
		{"array equality", bson.M{"nums": 3}, byID, []int32{2, 3}},
		{"$elemMatch on scalars", bson.M{"nums": bson.M{"$elemMatch": bson.M{"$gt": 3, "$lt": 5}}}, byID, []int32{3, 4}},
		{"dotted path into array of documents", bson.M{"items.n": bson.M{"$gte": 80}}, byID, []int32{8, 9}},
	} {
		if got := ids(t, c, tc.filter, tc.opts); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}

	// $elemMatch with field conditions on array elements that are documents.
	filter := bson.M{"items": bson.M{"$elemMatch": bson.M{"n": bson.M{"$gte": 80}}}}

	got, err := func() ([]int32, error) {
		cur, err := c.Find(ctx, filter, byID)
		if err != nil {
			return nil, err
		}

		var docs []struct {
			ID int32 `bson:"_id"`
		}
		err = cur.All(ctx, &docs)

		var res []int32
		for _, d := range docs {
			res = append(res, d.ID)
		}

		return res, err
	}()
	if err != nil || !slices.Equal(got, []int32{8, 9}) {
		knownLimitation(t, err == nil && len(got) == 0, "$elemMatch on documents = %v, %v; want [8 9]", got, err)
	}

	filter = bson.M{"items": bson.M{"$elemMatch": bson.M{"k": "b", "n": bson.M{"$gte": 80}}}}
	if err := c.FindOne(ctx, filter).Err(); err != nil {
		knownLimitation(t, hasCode(err, 2), "$elemMatch with two field conditions: %v", err)
	}

	// distinct
	var gs []int32
	if err := c.Distinct(ctx, "g", bson.M{}).Decode(&gs); err != nil || !slices.Equal(gs, []int32{0, 1, 2}) {
		t.Errorf("Distinct = %v, %v", gs, err)
	}

	// collation
	if err := c.FindOne(ctx, bson.M{}, options.FindOne().SetCollation(&options.Collation{Locale: "en"})).Err(); err != nil {
		knownLimitation(t, hasCode(err, codeNotImplemented), "find with collation: %v", err)
	}
}

func TestAggregate(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	c := srv.Database(t).Collection("agg")

	for i := range 9 {
		insertMany(t, c, bson.M{"_id": i, "g": i % 3, "v": i * 10})
	}

	type row struct {
		ID  int `bson:"_id"`
		N   int `bson:"n"`
		Sum int `bson:"sum"`
	}

	run := func(p mongo.Pipeline) ([]row, error) {
		cur, err := c.Aggregate(ctx, p)
		if err != nil {
			return nil, err
		}

		var rows []row
		err = cur.All(ctx, &rows)

		return rows, err
	}

	match := bson.D{{Key: "$match", Value: bson.M{"_id": bson.M{"$lt": 8}}}}
	sort := bson.D{{Key: "$sort", Value: bson.D{{Key: "n", Value: -1}, {Key: "_id", Value: 1}}}}
	limit := bson.D{{Key: "$limit", Value: 2}}

	// $match/$group/$sort/$limit with one accumulator works.
	rows, err := run(mongo.Pipeline{match,
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$g"}, {Key: "n", Value: bson.M{"$sum": 1}}}}},
		sort, limit,
	})
	if err != nil || !slices.Equal(rows, []row{{ID: 0, N: 3}, {ID: 1, N: 3}}) {
		t.Errorf("one accumulator = %+v, %v", rows, err)
	}

	// Two accumulators in one $group: FerretDB computes only the first.
	rows, err = run(mongo.Pipeline{match,
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$g"}, {Key: "n", Value: bson.M{"$sum": 1}}, {Key: "sum", Value: bson.M{"$sum": "$v"}}}}},
		sort, limit,
	})
	if want := []row{{0, 3, 90}, {1, 3, 120}}; err != nil || !slices.Equal(rows, want) {
		knownLimitation(t, err == nil && slices.Equal(rows, []row{{0, 3, 0}, {1, 3, 0}}),
			"two $group accumulators = %+v, %v; want %+v", rows, err, want)
	}

	// $count stage.
	var cnt []bson.M
	if cur, err := c.Aggregate(ctx, mongo.Pipeline{match, {{Key: "$count", Value: "n"}}}); err != nil || cur.All(ctx, &cnt) != nil || len(cnt) != 1 {
		t.Errorf("$count = %v, %v", cnt, err)
	}

	// $project with a field path: FerretDB returns the string literally.
	var proj []bson.M
	cur, err := c.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: bson.M{"_id": 1}}},
		{{Key: "$project", Value: bson.M{"x": "$v"}}},
	})
	if err == nil {
		err = cur.All(ctx, &proj)
	}

	if err != nil || len(proj) != 1 || proj[0]["x"] != int32(10) {
		knownLimitation(t, err == nil && len(proj) == 1 && proj[0]["x"] == "$v",
			"$project {x: \"$v\"} = %v, %v; want x: 10", proj, err)
	}

	// Accumulators and stages FerretDB v1.24.2 does not implement.
	for name, p := range map[string]mongo.Pipeline{
		"$group $max":  {{{Key: "$group", Value: bson.M{"_id": "$g", "m": bson.M{"$max": "$v"}}}}},
		"$group $avg":  {{{Key: "$group", Value: bson.M{"_id": "$g", "m": bson.M{"$avg": "$v"}}}}},
		"$group $push": {{{Key: "$group", Value: bson.M{"_id": "$g", "m": bson.M{"$push": "$v"}}}}},
		"$lookup":      {{{Key: "$lookup", Value: bson.M{"from": "agg", "localField": "_id", "foreignField": "_id", "as": "j"}}}},
		"$facet":       {{{Key: "$facet", Value: bson.M{"a": bson.A{bson.M{"$limit": 1}}}}}},
		"$cond":        {{{Key: "$project", Value: bson.M{"c": bson.M{"$cond": bson.A{true, 1, 2}}}}}},
	} {
		if _, err := c.Aggregate(ctx, p); err != nil {
			knownLimitation(t, hasCode(err, codeNotImplemented), "%s: %v", name, err)
		}
	}
}

func TestArrayUpdates(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	c := srv.Database(t).Collection("arr")

	insertMany(t, c, bson.M{"_id": 1, "tags": bson.A{"x"}, "log": bson.A{"e1", "e2", "e3"}})

	update := func(u any) {
		t.Helper()

		if _, err := c.UpdateOne(ctx, bson.M{"_id": 1}, u); err != nil {
			t.Fatalf("update %v: %v", u, err)
		}
	}

	var doc struct {
		Tags []string `bson:"tags"`
		Log  []string `bson:"log"`
	}

	load := func() {
		t.Helper()

		if err := c.FindOne(ctx, bson.M{"_id": 1}).Decode(&doc); err != nil {
			t.Fatal(err)
		}
	}

	update(bson.M{"$addToSet": bson.M{"tags": "x"}})
	update(bson.M{"$addToSet": bson.M{"tags": bson.M{"$each": bson.A{"y", "z", "x"}}}})
	update(bson.M{"$pull": bson.M{"tags": "y"}})
	update(bson.M{"$push": bson.M{"log": "e4"}})
	update(bson.M{"$push": bson.M{"log": bson.M{"$each": bson.A{"e5", "e6"}}}})
	load()

	if !slices.Equal(doc.Tags, []string{"x", "z"}) || !slices.Equal(doc.Log, []string{"e1", "e2", "e3", "e4", "e5", "e6"}) {
		t.Fatalf("after $addToSet/$pull/$push: %+v", doc)
	}

	// $push modifiers other than $each.
	update(bson.M{"$push": bson.M{"log": bson.M{"$each": bson.A{"e7"}, "$slice": -2}}})
	load()

	if want := []string{"e6", "e7"}; !slices.Equal(doc.Log, want) {
		knownLimitation(t, len(doc.Log) == 7, "$push $slice: log = %v, want %v", doc.Log, want)
	}

	// Positional update and arrayFilters.
	if _, err := c.UpdateOne(ctx, bson.M{"_id": 1, "tags": "z"}, bson.M{"$set": bson.M{"tags.$": "Z"}}); err != nil {
		knownLimitation(t, hasCode(err, 28), "positional $ update: %v", err)
	}

	if _, err := c.UpdateOne(ctx, bson.M{"_id": 1}, bson.M{"$set": bson.M{"tags.$[t]": "X"}},
		options.UpdateOne().SetArrayFilters([]any{bson.M{"t": "x"}})); err != nil {
		knownLimitation(t, hasCode(err, codeNotImplemented), "arrayFilters: %v", err)
	}
}

func TestMaxDocumentSize(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	c := srv.Database(t).Collection("big")

	const maxBSON = 16 * 1024 * 1024

	// Just under 16 MiB including the envelope: accepted everywhere.
	if _, err := c.InsertOne(ctx, bson.M{"_id": 1, "b": strings.Repeat("x", maxBSON-100)}); err != nil {
		t.Fatalf("16 MiB - 100 B document: %v", err)
	}

	var raw bson.Raw
	if err := c.FindOne(ctx, bson.M{"_id": 1}).Decode(&raw); err != nil || len(raw) < maxBSON-100 {
		t.Fatalf("read back: %d bytes, %v", len(raw), err)
	}

	// Over 16 MiB: MongoDB rejects it, FerretDB v1.24.2 stores it (up to
	// the 48 MB wire message limit).
	if _, err := c.InsertOne(ctx, bson.M{"_id": 2, "b": strings.Repeat("x", maxBSON+1024)}); err == nil {
		knownLimitation(t, true, "16 MiB + 1 KiB document was accepted")
	}
}

func TestDecimal128(t *testing.T) {
	t.Parallel()

	// FerretDB v1.24.2 closes the connection on Decimal128; use a private
	// client so the resulting pool clear cannot disturb other tests.
	client, err := mongo.Connect(options.Client().ApplyURI(srv.URI).SetMaxPoolSize(1))
	if err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })

	c := client.Database(srv.Database(t).Name()).Collection("dec")
	if _, err := c.InsertOne(t.Context(), bson.M{"d": bson.NewDecimal128(0, 1)}); err != nil {
		knownLimitation(t, mongo.IsNetworkError(err), "insert Decimal128: %v", err)
	}
}

func TestTransactions(t *testing.T) {
	t.Parallel()

	ctx := t.Context()
	c := srv.Database(t).Collection("tx")

	sess, err := srv.Client().StartSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.EndSession(ctx)

	_, err = sess.WithTransaction(ctx, func(ctx context.Context) (any, error) {
		return c.InsertOne(ctx, bson.M{"a": 1})
	})

	switch {
	case err == nil:
		if srv.IsFerretDB() {
			t.Log("FerretDB accepted a transaction")
		}
	case srv.IsFerretDB():
		// insert: unknown field "startTransaction" (FailedToParse).
		knownLimitation(t, hasCode(err, 9), "transaction: %v", err)
	case hasCode(err, 20): // IllegalOperation: standalone mongod
		t.Skipf("server does not support transactions (standalone?): %v", err)
	default:
		t.Fatal(err)
	}
}

func TestConcurrentIncIsAtomic(t *testing.T) {
	t.Parallel()

	if srv.IsFerretDB() {
		t.Skip("FerretDB v1.24.2 updates are read-modify-write without a lock: concurrent $inc loses updates")
	}

	ctx := t.Context()
	c := srv.Database(t).Collection("inc")

	const workers, each = 10, 20

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := c.UpdateOne(ctx, bson.M{"_id": "ctr"}, bson.M{"$inc": bson.M{"n": 1}},
					options.UpdateOne().SetUpsert(true)); err != nil && !mongo.IsDuplicateKeyError(err) {
					t.Error(err)
				}
			}
		})
	}

	wg.Wait()

	var got struct {
		N int `bson:"n"`
	}
	if err := c.FindOne(ctx, bson.M{"_id": "ctr"}).Decode(&got); err != nil {
		t.Fatal(err)
	}

	// Upserts that lost the insert race return E11000 and are not
	// counted, so allow for those.
	if got.N > workers*each || got.N < workers*each-workers {
		t.Errorf("n = %d after %d increments", got.N, workers*each)
	}
}

// TestInsertMany10k checks that a bulk insert of 10,000 small documents
// lands whole and a range count over them is right (its timing is
// BenchmarkInsertMany10k).
func TestInsertMany10k(t *testing.T) {
	ctx := t.Context()
	c := srv.Database(t).Collection("bulk")
	if _, err := c.InsertMany(ctx, smallDocs(10_000)); err != nil {
		t.Fatal(err)
	}
	n, err := c.CountDocuments(ctx, bson.M{"i": bson.M{"$gte": 5000}})
	if err != nil || n != 5000 {
		t.Fatalf("count = %d, %v", n, err)
	}
}

// BenchmarkInsertMany10k measures InsertMany of 10,000 small documents
// into the test server and reports documents per second.
func BenchmarkInsertMany10k(b *testing.B) {
	ctx := b.Context()
	docs := smallDocs(10_000)
	n := 0
	for b.Loop() {
		c := srv.Database(b).Collection(fmt.Sprintf("bulk%d", n))
		n++
		if _, err := c.InsertMany(ctx, docs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(docs)*b.N)/b.Elapsed().Seconds(), "docs/s")
}

func smallDocs(n int) []any {
	docs := make([]any, n)
	for i := range docs {
		docs[i] = bson.M{"i": i, "s": "a small string", "t": time.Unix(int64(i), 0)}
	}
	return docs
}

// TestStart starts a second, independent server (not parallel: it uses
// t.Setenv) and checks the MONGODB_URI mode against the main one.
func TestStart(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		t.Setenv(mongotest.EnvURI, "")

		start := time.Now()

		s, err := mongotest.Start()
		if err != nil {
			t.Fatal(err)
		}

		t.Logf("Start (embedded FerretDB, connected, buildInfo done): %v", time.Since(start))

		if !s.IsFerretDB() || s.URI == srv.URI {
			t.Errorf("IsFerretDB = %v, URI = %q", s.IsFerretDB(), s.URI)
		}

		if _, err := s.Client().Database("x").Collection("y").InsertOne(t.Context(), bson.M{}); err != nil {
			t.Fatal(err)
		}

		s.Close()
		s.Close() // idempotent

		if err := s.Client().Ping(t.Context(), nil); err == nil {
			t.Error("client still usable after Close")
		}
	})

	t.Run("MONGODB_URI", func(t *testing.T) {
		t.Setenv(mongotest.EnvURI, srv.URI)

		s, err := mongotest.Start()
		if err != nil {
			t.Fatal(err)
		}

		if s.URI != srv.URI || s.IsFerretDB() != srv.IsFerretDB() {
			t.Errorf("URI = %q, IsFerretDB = %v", s.URI, s.IsFerretDB())
		}

		s.Close()

		// Closing a client-only Server must not stop the shared server.
		if err := srv.Client().Ping(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("bad MONGODB_URI", func(t *testing.T) {
		t.Setenv(mongotest.EnvURI, "not-a-uri")

		if s, err := mongotest.Start(); err == nil {
			s.Close()
			t.Fatal("Start succeeded")
		}
	})
}
