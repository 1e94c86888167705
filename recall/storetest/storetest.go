// Package storetest is the conformance suite every backend of the recall
// domain's stores must pass. It is run by the tests of recall/recallsql (on
// a temp folder) and recall/recallmongo (on an embedded FerretDB, or on
// MONGODB_URI).
package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"tracesvc/recall"
	"tracesvc/recall/credit"
	"tracesvc/recall/draw"
	"tracesvc/trace/storetest"
)

// Stores is one fresh, empty set of stores of a backend.
type Stores struct {
	Endpoints recall.EndpointStore
	Campaigns recall.CampaignStore
	Outbox    recall.OutboxStore
	Credit    credit.Store
	Draws     draw.Store

	// NotAtomic says why the backend's conditional single-document
	// updates and claims are not atomic under concurrency (FerretDB); ""
	// when they are. The tests that race writers skip with it.
	NotAtomic string
}

// Run runs the whole suite. newStores returns empty stores for one test.
func Run(t *testing.T, newStores func(t testing.TB) Stores) {
	tests := map[string]func(*testing.T, Stores){
		"Endpoints":          testEndpoints,
		"Campaigns":          testCampaigns,
		"CampaignUpdate":     testCampaignUpdate,
		"CampaignList":       testCampaignList,
		"RecallKeys":         testRecallKeys,
		"Notices":            testNotices,
		"NoticeList":         testNoticeList,
		"NoticesBulk":        testNoticesBulk,
		"UpdateRace":         testUpdateRace,
		"EndpointRotation":   testEndpointRotation,
		"OutboxEnqueue":      testOutboxEnqueue,
		"OutboxLeases":       testOutboxLeases,
		"OutboxRelease":      testOutboxRelease,
		"OutboxListRedrive":  testOutboxListRedrive,
		"OutboxClaimsRacing": testOutboxClaimsRacing,
		"CreditRecords":      testCreditRecords,
		"Draws":              testDraws,
		"DrawAssignments":    testDrawAssignments,
	}
	names := make([]string, 0, len(tests))
	for n := range tests {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) { tests[name](t, newStores(t)) })
	}
}

var t0 = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

func testEndpoints(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Endpoints
	_, err := st.Endpoint(ctx, "e1")
	storetest.WantErr(t, err, recall.ErrNotFound, "")
	storetest.Must(t, st.DeleteEndpoint(ctx, "e1")) // deleting none is fine

	e1 := recall.Endpoint{EntityID: "e1", URL: "https://hooks.example.cn/recall", SealedSecret: "v1:abc", UpdatedAt: t0}
	e2 := recall.Endpoint{EntityID: "e2", URL: "https://other.example.cn/r", SealedSecret: "v1:def", UpdatedAt: t0}
	storetest.Must(t, st.PutEndpoint(ctx, e1))
	storetest.Must(t, st.PutEndpoint(ctx, e2))
	got, err := st.Endpoint(ctx, "e1")
	storetest.Must(t, err)
	storetest.Equal(t, got, e1)

	// A second put replaces the first.
	e1b := e1
	e1b.URL, e1b.SealedSecret, e1b.UpdatedAt = "https://hooks.example.cn/v2", "v1:xyz", t0.Add(time.Hour+time.Millisecond)
	storetest.Must(t, st.PutEndpoint(ctx, e1b))
	got, err = st.Endpoint(ctx, "e1")
	storetest.Must(t, err)
	storetest.Equal(t, got, e1b)
	got, err = st.Endpoint(ctx, "e2")
	storetest.Must(t, err)
	storetest.Equal(t, got, e2)

	storetest.Must(t, st.DeleteEndpoint(ctx, "e1"))
	_, err = st.Endpoint(ctx, "e1")
	storetest.WantErr(t, err, recall.ErrNotFound, "")
	got, err = st.Endpoint(ctx, "e2")
	storetest.Must(t, err)
	storetest.Equal(t, got, e2)
}

// testEndpointRotation: the secret a rotation replaced is kept with the
// end of its grace period, and an endpoint put without one has none.
func testEndpointRotation(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Endpoints
	e := recall.Endpoint{EntityID: "e1", URL: "https://hooks.example.cn/recall", SealedSecret: "v1:new",
		PreviousSealedSecret: "v1:old", PreviousUntil: t0.Add(24 * time.Hour), UpdatedAt: t0}
	storetest.Must(t, st.PutEndpoint(ctx, e))
	got, err := st.Endpoint(ctx, "e1")
	storetest.Must(t, err)
	storetest.Equal(t, got, e)

	e.PreviousSealedSecret, e.PreviousUntil = "", time.Time{}
	storetest.Must(t, st.PutEndpoint(ctx, e))
	got, err = st.Endpoint(ctx, "e1")
	storetest.Must(t, err)
	storetest.Equal(t, got, e)
}
