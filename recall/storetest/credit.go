package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tracesvc/recall/credit"
	"tracesvc/trace"
	"tracesvc/trace/storetest"
)

func testCreditRecords(t *testing.T, st Stores) {
	s := st.Credit
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	rec := func(i int, entity, kind, state string) credit.Record {
		return credit.Record{ID: fmt.Sprintf("r%02d", i), EntityID: entity, Kind: kind, State: state,
			Body: []byte(fmt.Sprintf(`{"n":%d,"text":"罚款 ¥%d"}`, i, i)), CreatedAt: t0.Add(time.Duration(i) * time.Millisecond)}
	}
	all := []credit.Record{rec(1, "e1", credit.KindEvent, "counted"), rec(2, "e1", credit.KindObjection, "filed"),
		rec(3, "e2", credit.KindObjection, "filed"), rec(4, "e1", credit.KindObjection, "upheld"), rec(5, "e2", credit.KindListing, "abnormal_operations")}
	for _, i := range []int{3, 0, 4, 2, 1} {
		storetest.Must(t, s.CreateRecord(ctx, all[i]))
	}
	storetest.WantErr(t, s.CreateRecord(ctx, rec(1, "e9", credit.KindEvent, "")), credit.ErrConflict, "")
	for _, want := range all {
		got, err := s.Record(ctx, want.ID)
		storetest.Must(t, err)
		want.Version = 1
		if string(got.Body) != string(want.Body) || got.EntityID != want.EntityID || got.Kind != want.Kind || got.State != want.State ||
			got.Version != 1 || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Fatalf("got %+v\nwant %+v", got, want)
		}
	}
	_, err := s.Record(ctx, "nope")
	storetest.WantErr(t, err, credit.ErrNotFound, "")
	list := func(f credit.RecordFilter, p trace.Page) []string {
		t.Helper()
		if p.Limit == 0 {
			p.Limit = 10
		}
		got, err := s.ListRecords(ctx, f, p)
		storetest.Must(t, err)
		out := []string{}
		for _, r := range got {
			out = append(out, r.ID)
		}
		return out
	}
	storetest.Equal(t, list(credit.RecordFilter{}, trace.Page{Limit: 2}), []string{"r01", "r02"})
	storetest.Equal(t, list(credit.RecordFilter{}, trace.Page{Limit: 2, After: "r02"}), []string{"r03", "r04"})
	storetest.Equal(t, list(credit.RecordFilter{EntityID: "e1"}, trace.Page{}), []string{"r01", "r02", "r04"})
	storetest.Equal(t, list(credit.RecordFilter{EntityID: "e1", Kind: credit.KindObjection}, trace.Page{}), []string{"r02", "r04"})
	storetest.Equal(t, list(credit.RecordFilter{Kind: credit.KindObjection, State: "filed"}, trace.Page{}), []string{"r02", "r03"})
	storetest.Equal(t, list(credit.RecordFilter{Kind: credit.KindListing}, trace.Page{}), []string{"r05"})

	up := all[1]
	up.State, up.Body, up.Version = "rejected", []byte(`{"decided":true}`), 2
	storetest.Must(t, s.UpdateRecord(ctx, up))
	got, err := s.Record(ctx, "r02")
	storetest.Must(t, err)
	if got.State != "rejected" || string(got.Body) != `{"decided":true}` || got.Version != 2 {
		t.Fatalf("updated: %+v", got)
	}
	storetest.Equal(t, list(credit.RecordFilter{Kind: credit.KindObjection, State: "filed"}, trace.Page{}), []string{"r03"})
	storetest.WantErr(t, s.UpdateRecord(ctx, up), credit.ErrConflict, "") // stale version
	up.ID = "nope"
	storetest.WantErr(t, s.UpdateRecord(ctx, up), credit.ErrNotFound, "")
}
