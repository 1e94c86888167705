// Package mongotest gives Go tests a real MongoDB-wire server: an embedded
// FerretDB v1.24.2 (SQLite handler, temporary data directory, 127.0.0.1 on a
// free port, error-level logging), or the server named by the MONGODB_URI
// environment variable when it is set.
//
// Import it only from _test.go files, so that FerretDB and SQLite are never
// linked into a production binary. The first build compiles modernc.org/sqlite
// and takes about a minute (longer with -race); later builds are cached.
//
// # Usage
//
// Start one server per test binary from TestMain and share it:
//
//	var srv *mongotest.Server
//
//	func TestMain(m *testing.M) { os.Exit(mongotest.Run(m, &srv)) }
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		db := srv.Database(t) // fresh database, dropped in t.Cleanup
//		coll := db.Collection("things")
//		...
//	}
//
// Starting the embedded server takes a few milliseconds. Each package's test
// binary gets its own server, so `go test ./...` is safe. To run the same tests
// against MongoDB:
//
//	MONGODB_URI=mongodb://localhost:27017 go test ./...
//
// Tests that need behaviour FerretDB lacks should skip with a reason:
//
//	if srv.IsFerretDB() {
//		t.Skip("FerretDB: concurrent $inc is not atomic")
//	}
//
// Under -race, FerretDB is built in its debug mode (the race detector turns on
// the ferretdb_debug build tag), so internal errors may panic instead of being
// returned.
//
// # FerretDB v1.24.2 (SQLite) limitations
//
// Found by this package's tests and by reading FerretDB's source. Marked
// "silent" when FerretDB gives a wrong result without an error.
//
// Atomicity and transactions:
//   - Updates (update, findAndModify, $inc, upserts) read the document, apply
//     the change in Go and write it back, with no transaction or lock around
//     them. Concurrent updates of the same document lose writes (silent): in
//     one run, 20 goroutines × 25 UpdateOne $inc left n=47 instead of 500, and
//     10 × 20 FindOneAndUpdate $inc left 18–21 instead of 200. Concurrent
//     upserts of the same new document may create duplicates or fail with
//     E11000.
//   - Multi-document transactions fail with FailedToParse (9): `insert: unknown
//     field "startTransaction"`.
//   - Change streams ($changeStream) are not implemented.
//
// Indexes:
//   - Unique indexes (single and compound) work for inserts: E11000, and
//     mongo.IsDuplicateKeyError is true. int32 1 and double 1.0 count as equal,
//     as on MongoDB.
//   - An update, replace or findOneAndUpdate that would break a unique index is
//     rejected, but with InternalError (1) carrying the SQLite message, not
//     11000: mongo.IsDuplicateKeyError is false.
//   - Unique indexes let more than one document lack the field (MongoDB
//     indexes a missing field as null and rejects the second document) (silent).
//   - Unique indexes on array fields compare the whole array, not each element
//     (no multikey indexes): [a b] and [b c] are both accepted (silent).
//   - partialFilterExpression, expireAfterSeconds (TTL), collation, hidden and
//     wildcard options fail with NotImplemented (238). text, hashed and
//     2dsphere keys fail with IndexNotFound (27). "sparse" is accepted and
//     ignored (silent).
//   - Secondary indexes are used only to enforce uniqueness. Only a filter
//     that is exactly {_id: <string or ObjectID>} is sent to SQLite. Every
//     other filter, including equality on an indexed field or an integer _id,
//     runs in Go after a full scan of the collection. CountDocuments or a range
//     query over 10,000 documents takes about 250–300 ms.
//
// Writes:
//   - InsertMany with ordered=false reports each duplicate as a
//     mongo.BulkWriteException, with the right WriteErrors[i].Index, and
//     inserts the rest. BulkWrite (ordered and unordered) returns the same
//     counts as MongoDB.
//   - InsertMany with ordered=true (the default) does not stop at the first
//     error when there are more than 100 documents. FerretDB inserts in batches
//     of 100, and after a duplicate it still inserts the next batch. With 250
//     documents and a duplicate at index 11, FerretDB inserts 111 of them, not
//     11 (silent).
//   - The 16 MiB BSON document limit is not enforced. FerretDB stores documents
//     up to the 48 MB wire message limit (silent).
//   - Decimal128 values make FerretDB close the connection: the client sees a
//     network error, and FerretDB logs "invalid BSON type".
//   - $push ignores $slice, $position and $sort (only $each works) (silent).
//     Positional updates ("a.$") fail with code 28. arrayFilters and
//     pipeline-style updates are not implemented.
//   - findAndModify with a projection (SetProjection on FindOneAndUpdate /
//     FindOneAndReplace / FindOneAndDelete) is not implemented.
//   - Collection validators are not implemented. Capped collections are.
//
// These work: $inc with ReturnDocument After and Before, upserts,
// $setOnInsert, $set, $unset, $min, $max, $mul, $rename, $currentDate, $pop,
// $pull, $pullAll, $addToSet (with $each), and $push with $each.
//
// Queries:
//   - These work as on MongoDB: $in, $nin, $or, $and, $ne, $exists, equality
//     on null, equality against array elements, dotted paths into arrays of
//     documents, $regex (including options), $lt/$gt on strings and dates,
//     sorting on several fields (including mixed BSON types and missing
//     fields), skip, limit, distinct, CountDocuments (with skip and limit) and
//     EstimatedDocumentCount.
//   - $elemMatch works only with operators on arrays of scalars, as in
//     {nums: {$elemMatch: {$gt: 3}}}. With a field condition on arrays of
//     documents, {items: {$elemMatch: {n: {$gt: 3}}}} matches nothing (silent),
//     and two field conditions fail with BadValue (2) "unknown operator". Use
//     dotted paths ("items.n") when one condition is enough.
//   - collation, let and $expr (with comparison operators) are not
//     implemented. $text is rejected. hint and maxTimeMS are ignored.
//
// Aggregation:
//   - The implemented stages are $match, $group, $sort, $limit, $skip,
//     $count, $project, $addFields/$set, $unset, $unwind and $collStats. Among
//     the missing ones: $lookup, $facet, $sortByCount, $bucket and $merge/$out.
//   - $group accumulators: only $sum and $count. $max, $min, $avg, $first,
//     $last, $push and $addToSet fail with NotImplemented (238).
//   - A $group with more than one accumulator gets only the first one right.
//     The others see no documents and return 0 (silent). All accumulators share
//     one iterator (stages/group.go). Use one accumulator per $group.
//   - $project and $addFields take a "$field" path as a string literal:
//     {$project: {x: "$v"}} gives x: "$v" (silent). Operators such as $cond and
//     $dateToString are not implemented.
//
// Speed (embedded, this machine): Start takes about 2–4 ms, InsertMany of
// 10,000 small documents about 180–220 ms, and a single InsertOne or FindOne
// by _id about 0.4–0.5 ms.
package mongotest
