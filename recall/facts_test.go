package recall_test

import (
	"context"
	"testing"
	"time"

	"tracesvc/recall"
	"tracesvc/recall/recallsql"
	"tracesvc/trace/sqlitedb"
)

// TestCreditFacts: what the credit record reads of recalls — the
// campaigns opened on a maker's products in a period, ordered and
// voluntary, and the notices a custodian acknowledged late or never —
// straight from the campaigns and notices.
func TestCreditFacts(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := recallsql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2026, 3, d, 2, 0, 0, 0, time.UTC) }
	for _, c := range []recall.Campaign{
		{ID: "c1", Kind: recall.Ordered, Makers: []string{"m1"}, Status: recall.Open, OpenedAt: day(2)},
		{ID: "c2", Kind: recall.Voluntary, Makers: []string{"m1", "m2"}, Status: recall.Completed, OpenedAt: day(10)},
		{ID: "c3", Kind: recall.Ordered, Makers: []string{"m1"}, Status: recall.Draft},
		{ID: "c4", Kind: recall.Ordered, Makers: []string{"m1"}, Status: recall.Terminated, OpenedAt: day(25)},
	} {
		if err := st.CreateCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	notice := func(id, entity string, ackBy, acked time.Time) recall.Notice {
		return recall.Notice{ID: id, CampaignID: "c1", EntityID: entity, AckBy: ackBy, AckedAt: acked}
	}
	if err := st.PutNotices(ctx, []recall.Notice{
		notice("c1.e1", "e1", day(5), time.Time{}), // never
		notice("c1.e2", "e1", day(6), day(7)),      // late
		notice("c1.e3", "e1", day(8), day(8)),      // at the deadline instant: late
		notice("c1.e4", "e1", day(9), day(3)),      // in time
		notice("c1.e5", "e1", day(20), time.Time{}),
		notice("c1.e6", "e2", day(5), time.Time{}),
	}); err != nil {
		t.Fatal(err)
	}
	s := recall.NewCampaigns(recall.CampaignsConfig{Store: st})
	got, err := s.RecallsOf(ctx, "m1", day(1), day(20))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "c1" || got[0].Kind != recall.Ordered || got[1].ID != "c2" || got[1].Kind != recall.Voluntary {
		t.Fatalf("recalls of m1 in March 1–19: %+v", got)
	}
	late, err := s.Unacknowledged(ctx, "e1", day(1), day(31), day(15))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range late {
		ids = append(ids, n.ID)
	}
	if len(ids) != 3 || ids[0] != "c1.e1" || ids[1] != "c1.e2" || ids[2] != "c1.e3" {
		t.Fatalf("notices e1 did not acknowledge in time, as of March 15: %v", ids)
	}
}
