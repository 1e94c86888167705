package tracemongo_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"tracesvc/trace"
	"tracesvc/trace/tracemongo"
)

// These tests need what only a real MongoDB has: query plans (explain)
// and fail points (a primary stepping down). They run against
// MONGODB_URI and skip, saying why, on the embedded FerretDB. To run them
// against the compose replica set (a machine with Docker):
//
//	docker compose -f deploy/compose.yaml -f deploy/compose.test.yaml up -d --wait mongo1 mongo2 mongo3 && \
//	  MONGODB_URI='mongodb://localhost:27017/?directConnection=true' go test ./trace/tracemongo/ -run RealMongo -v

func requireRealMongo(t *testing.T) {
	t.Helper()
	if srv.IsFerretDB() {
		t.Skip("needs a real MongoDB (explain plans, fail points); this run is on FerretDB: set MONGODB_URI (see realmongo_test.go)")
	}
}

// TestRealMongoPlansUseIndexes: on a real MongoDB the hot queries' winning
// plans scan an index and sort nothing in memory.
func TestRealMongoPlansUseIndexes(t *testing.T) {
	requireRealMongo(t)
	ctx := context.Background()
	db := srv.Database(t)
	if _, err := tracemongo.New(ctx, db); err != nil {
		t.Fatal(err)
	}
	for name, cmd := range map[string]bson.D{
		"entity events in eventTime order": {{Key: "find", Value: "events"},
			{Key: "filter", Value: bson.D{{Key: "visible", Value: "e1"}, {Key: "eventTime", Value: bson.D{{Key: "$gte", Value: time.Now()}}}}},
			{Key: "sort", Value: bson.D{{Key: "eventTime", Value: 1}, {Key: "_id", Value: 1}}}, {Key: "limit", Value: 100}},
		"recent scans": {{Key: "find", Value: "scans"},
			{Key: "filter", Value: bson.D{{Key: "gtin", Value: "09506000134352"}, {Key: "serial", Value: "S1"}}},
			{Key: "sort", Value: bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: -1}}}, {Key: "limit", Value: 20}},
		"contents": {{Key: "find", Value: "codes"}, {Key: "filter", Value: bson.D{{Key: "container", Value: "00/106141410000000002"}}},
			{Key: "sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	} {
		var plan bson.M
		if err := db.RunCommand(ctx, bson.D{{Key: "explain", Value: cmd}, {Key: "verbosity", Value: "queryPlanner"}}).Decode(&plan); err != nil {
			t.Fatalf("%s: explain: %v", name, err)
		}
		winning := strings.ToUpper(fmtPlan(plan["queryPlanner"].(bson.M)["winningPlan"]))
		if !strings.Contains(winning, "IXSCAN") || strings.Contains(winning, `"SORT"`) || strings.Contains(winning, "COLLSCAN") {
			t.Errorf("%s: winning plan %s", name, winning)
		}
	}
}

func fmtPlan(v any) string {
	b, _ := bson.MarshalExtJSON(bson.M{"p": v}, false, false)
	return string(b)
}

// TestRealMongoStepDownIsUnavailable: a primary stepping down mid-write
// (failCommand with NotWritablePrimary, as during an election) is an
// outage, [trace.ErrUnavailable] (503), and the capture leaves nothing.
func TestRealMongoStepDownIsUnavailable(t *testing.T) {
	requireRealMongo(t)
	ctx := context.Background()
	s, state, w := newCaptureFixture(t)
	admin := srv.Client().Database("admin")
	if err := admin.RunCommand(ctx, bson.D{{Key: "configureFailPoint", Value: "failCommand"},
		{Key: "mode", Value: bson.D{{Key: "times", Value: 1}}},
		{Key: "data", Value: bson.D{{Key: "failCommands", Value: bson.A{"insert"}}, {Key: "errorCode", Value: 10107},
			{Key: "errorLabels", Value: bson.A{"RetryableWriteError"}}}}}).Err(); err != nil {
		t.Skipf("fail points are off on this server (start mongod with --setParameter enableTestCommands=1): %v", err)
	}
	t.Cleanup(func() {
		admin.RunCommand(ctx, bson.D{{Key: "configureFailPoint", Value: "failCommand"}, {Key: "mode", Value: "off"}})
	})
	err := s.ApplyCapture(ctx, w)
	if err != nil && !errors.Is(err, trace.ErrUnavailable) {
		t.Fatalf("a step-down mid-capture: %v", err)
	}
	codes, events, intents := state()
	whole := codes["A1"] == 1 && codes["B1"] == 1 && events == 1
	nothing := codes["A1"] == 0 && codes["B1"] == 0 && events == 0
	if err == nil && !whole || err != nil && !nothing || intents != 0 {
		t.Fatalf("after a step-down (err %v): codes %v, %d events, %d intents", err, codes, events, intents)
	}
}
