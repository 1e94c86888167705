package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"tracesvc/recall"
	"tracesvc/trace"
	"tracesvc/trace/storetest"
)

// sameJSON compares got and want by their JSON encoding, which is what the
// stores keep of campaigns and notices (maps and pointers included), and
// their versions, which JSON leaves out.
func sameJSON[T any](t testing.TB, got, want T, gotVersion, wantVersion int) {
	t.Helper()
	g, err := json.Marshal(got)
	storetest.Must(t, err)
	w, err := json.Marshal(want)
	storetest.Must(t, err)
	if string(g) != string(w) {
		t.Fatalf("got  %s\nwant %s", g, w)
	}
	if gotVersion != wantVersion {
		t.Fatalf("version %d, want %d", gotVersion, wantVersion)
	}
}

// campaign returns a draft campaign with every field set, maps and
// pointers included.
func campaign(id string, kind recall.Kind, status recall.Status, makers ...string) recall.Campaign {
	return recall.Campaign{
		ID: id, Kind: kind, Makers: makers, StartedBy: "reg-1", Class: "I", Depth: recall.LevelConsumer,
		Hazard: "Listeria monocytogenes", Reason: "positive lab result", Remedy: recall.RemedyRefund,
		CustodianInstructions: "Stop selling; quarantine.", ConsumerInstructions: "Do not eat; return for a refund.",
		Contact: "400-000-0000", Incidents: []string{"inc-1"},
		Products: []recall.ProductName{{GTIN: "09506000134352", Name: "软奶酪 Soft cheese"}},
		Input: recall.ScopeInput{Products: []string{"09506000134352"}, Lots: []recall.LotRef{{GTIN: "09506000134352", Lot: "L1"}},
			Serials: []recall.SerialRef{{GTIN: "09506000134352", Serial: "S1"}}, ProducedFrom: "2026-11-01", ProducedTo: "2026-11-20"},
		Status: status,
		Scope: &recall.Scope{Version: 1, ComputedAt: t0.Add(123456789 * time.Nanosecond), Units: 12, Sold: 3,
			ByLevel: recall.LevelCount{recall.LevelRetail: 9, recall.LevelConsumer: 3}, Quantities: map[string]float64{"KGM": 12.5},
			Lots: []recall.LotRef{{GTIN: "09506000134352", Lot: "L1"}}, Logistic: 2,
			Custodians: []recall.Custodian{{EntityID: "e-shop", Name: "Shop", Level: recall.LevelRetail, Units: 9,
				Quantities: map[string]float64{"KGM": 9}, Holding: true, Notice: id + ".e-shop"}}},
		Changes:   []recall.ScopeChange{{Version: 1, At: t0, AddedUnits: 12, AddedKeys: 14, NewCustodians: []string{"e-shop"}}},
		CreatedAt: t0, UpdatedAt: t0.Add(time.Nanosecond),
	}
}

func testCampaigns(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Campaigns
	_, err := st.Campaign(ctx, "c1")
	storetest.WantErr(t, err, recall.ErrNotFound, "")

	c1 := campaign("c1", recall.Ordered, recall.Draft, "m1", "m2")
	storetest.Must(t, st.CreateCampaign(ctx, c1))
	got, err := st.Campaign(ctx, "c1")
	storetest.Must(t, err)
	sameJSON(t, got, c1, got.Version, 1)

	// A bare campaign: no makers, no scope, nothing optional.
	bare := recall.Campaign{ID: "c0", Kind: recall.Voluntary, Status: recall.Draft, CreatedAt: t0, UpdatedAt: t0}
	storetest.Must(t, st.CreateCampaign(ctx, bare))
	got, err = st.Campaign(ctx, "c0")
	storetest.Must(t, err)
	sameJSON(t, got, bare, got.Version, 1)

	// The ID is taken: the stored campaign stays as it was.
	dup := campaign("c1", recall.Voluntary, recall.Open, "m9")
	storetest.WantErr(t, st.CreateCampaign(ctx, dup), recall.ErrConflict, "")
	got, err = st.Campaign(ctx, "c1")
	storetest.Must(t, err)
	sameJSON(t, got, c1, got.Version, 1)
}

func testCampaignUpdate(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Campaigns
	c := campaign("c1", recall.Voluntary, recall.Draft, "m1", "m2")
	storetest.Must(t, st.CreateCampaign(ctx, c))
	storetest.Must(t, st.CreateCampaign(ctx, campaign("c2", recall.Voluntary, recall.Draft, "m1")))

	// Unknown campaign.
	ghost := campaign("c9", recall.Voluntary, recall.Open, "m1")
	ghost.Version = 2
	storetest.WantErr(t, st.UpdateCampaign(ctx, ghost), recall.ErrNotFound, "")

	// The update the caller read version 1 for.
	v2 := c
	v2.Version = 2
	v2.Status, v2.OpenedAt, v2.UpdatedAt = recall.Open, t0.Add(time.Hour), t0.Add(time.Hour)
	v2.Makers = []string{"m2", "m3"} // m1 leaves, m3 joins
	v2.Scope.Units = 13
	storetest.Must(t, st.UpdateCampaign(ctx, v2))
	got, err := st.Campaign(ctx, "c1")
	storetest.Must(t, err)
	sameJSON(t, got, v2, got.Version, 2)

	// A stale writer (it read version 1 too) loses, and changes nothing.
	stale := c
	stale.Version = 2
	stale.Status = recall.Cancelled
	storetest.WantErr(t, st.UpdateCampaign(ctx, stale), recall.ErrConflict, "")
	// So does one a version ahead of the store.
	ahead := v2
	ahead.Version = 4
	storetest.WantErr(t, st.UpdateCampaign(ctx, ahead), recall.ErrConflict, "")
	got, err = st.Campaign(ctx, "c1")
	storetest.Must(t, err)
	sameJSON(t, got, v2, got.Version, 2)

	// The lists follow the stored version: makers, status, opening time.
	page := trace.Page{Limit: 10}
	for _, tc := range []struct {
		f    recall.CampaignFilter
		want []string
	}{
		{recall.CampaignFilter{Maker: "m1"}, []string{"c2"}},
		{recall.CampaignFilter{Maker: "m2"}, []string{"c1"}},
		{recall.CampaignFilter{Maker: "m3"}, []string{"c1"}},
		{recall.CampaignFilter{Statuses: []recall.Status{recall.Draft}}, []string{"c2"}},
		{recall.CampaignFilter{Statuses: []recall.Status{recall.Open}}, []string{"c1"}},
		{recall.CampaignFilter{OpenedFrom: t0}, []string{"c1"}},
	} {
		list, err := st.ListCampaigns(ctx, tc.f, page)
		storetest.Must(t, err)
		storetest.Equal(t, campaignIDs(list), tc.want)
	}

	// The next writer builds on version 2; the makers may empty.
	v3 := got
	v3.Version = 3
	v3.Status, v3.EndedAt, v3.EndReason = recall.Terminated, t0.Add(2*time.Hour), "wrong product"
	v3.Makers = nil
	storetest.Must(t, st.UpdateCampaign(ctx, v3))
	got, err = st.Campaign(ctx, "c1")
	storetest.Must(t, err)
	sameJSON(t, got, v3, got.Version, 3)
	for _, m := range []string{"m2", "m3"} {
		list, err := st.ListCampaigns(ctx, recall.CampaignFilter{Maker: m}, page)
		storetest.Must(t, err)
		storetest.Equal(t, campaignIDs(list), []string{})
	}
}

func campaignIDs(list []recall.Campaign) []string {
	out := []string{}
	for _, c := range list {
		out = append(out, c.ID)
	}
	return out
}

// matchCampaign is the meaning of [recall.CampaignFilter], which the
// stores' lists are held to.
func matchCampaign(f recall.CampaignFilter, c recall.Campaign) bool {
	return (len(f.Statuses) == 0 || slices.Contains(f.Statuses, c.Status)) &&
		(f.Maker == "" || slices.Contains(c.Makers, f.Maker)) &&
		(f.Kind == "" || c.Kind == f.Kind) &&
		(f.OpenedFrom.IsZero() || (!c.OpenedAt.IsZero() && !c.OpenedAt.Before(f.OpenedFrom))) &&
		(f.OpenedTo.IsZero() || (!c.OpenedAt.IsZero() && c.OpenedAt.Before(f.OpenedTo)))
}

func testCampaignList(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Campaigns
	kinds := []recall.Kind{recall.Ordered, recall.Voluntary}
	makers := [][]string{{"m1"}, {"m2"}, {"m1", "m2"}, {"m3", "m1"}, nil}
	var all []recall.Campaign
	for i := range 24 {
		status := recall.Statuses[i%len(recall.Statuses)]
		c := campaign(fmt.Sprintf("c%02d", i), kinds[i%2], status, makers[i%len(makers)]...)
		if status != recall.Draft && status != recall.Cancelled {
			c.OpenedAt = t0.Add(time.Duration(i) * time.Hour)
		}
		all = append(all, c)
	}
	// Stored out of ID order; lists come in ID order all the same.
	for _, i := range []int{5, 17, 0, 23, 11, 3, 8, 1, 2, 4, 6, 7, 9, 10, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22} {
		storetest.Must(t, st.CreateCampaign(ctx, all[i]))
	}

	statuses := [][]recall.Status{nil, {recall.Open}, {recall.Open, recall.Completed}, {recall.Cancelled, recall.Draft}, recall.Statuses}
	var filters []recall.CampaignFilter
	for _, sts := range statuses {
		for _, maker := range []string{"", "m1", "m3", "m9"} {
			for _, kind := range []recall.Kind{"", recall.Ordered, recall.Voluntary} {
				for _, rng := range [][2]time.Time{
					{}, {t0.Add(5 * time.Hour), time.Time{}}, {time.Time{}, t0.Add(11 * time.Hour)},
					{t0.Add(6 * time.Hour), t0.Add(16 * time.Hour)}, // [6h, 16h): 16h itself is out
					{t0.Add(40 * time.Hour), time.Time{}},
				} {
					filters = append(filters, recall.CampaignFilter{Statuses: sts, Maker: maker, Kind: kind, OpenedFrom: rng[0], OpenedTo: rng[1]})
				}
			}
		}
	}
	for _, f := range filters {
		var want []string
		for _, c := range all {
			if matchCampaign(f, c) {
				want = append(want, c.ID)
			}
		}
		// Whole, then in pages of 3 following each page's last ID.
		list, err := st.ListCampaigns(ctx, f, trace.Page{Limit: 100})
		storetest.Must(t, err)
		if got := campaignIDs(list); !slices.Equal(got, want) {
			t.Fatalf("ListCampaigns(%+v) = %v, want %v", f, got, want)
		}
		paged := pagedIDs(t, 3, func(p trace.Page) ([]recall.Campaign, error) { return st.ListCampaigns(ctx, f, p) },
			func(c recall.Campaign) string { return c.ID })
		if !slices.Equal(paged, want) {
			t.Fatalf("ListCampaigns(%+v) in pages = %v, want %v", f, paged, want)
		}
	}
	// Listed campaigns are whole, with their versions.
	list, err := st.ListCampaigns(ctx, recall.CampaignFilter{}, trace.Page{Limit: 1, After: "c06"})
	storetest.Must(t, err)
	if len(list) != 1 {
		t.Fatalf("got %d campaigns, want 1", len(list))
	}
	sameJSON(t, list[0], all[7], list[0].Version, 1)
}

func testRecallKeys(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Campaigns
	ids, err := st.CampaignsByKeys(ctx, nil)
	storetest.Must(t, err)
	storetest.Equal(t, len(ids), 0)
	ids, err = st.CampaignsByKeys(ctx, []string{"01/09506000134352"})
	storetest.Must(t, err)
	storetest.Equal(t, len(ids), 0)

	storetest.Must(t, st.AddRecallKeys(ctx, "c2", []string{"01/09506000134352", "01/09506000134352/10/L1"}))
	storetest.Must(t, st.AddRecallKeys(ctx, "c1", []string{"01/09506000134352/21/S1", "01/09506000134352"}))
	// Again, with a key repeated within the call and new ones: no error.
	storetest.Must(t, st.AddRecallKeys(ctx, "c1", []string{"01/09506000134352", "00/095060001000000018", "00/095060001000000018"}))
	storetest.Must(t, st.AddRecallKeys(ctx, "c3", nil))
	storetest.Must(t, st.AddRecallKeys(ctx, "c3", []string{"01/04006381333931"}))

	for _, tc := range []struct {
		keys []string
		want []string
	}{
		{[]string{"01/09506000134352"}, []string{"c1", "c2"}},
		{[]string{"01/09506000134352/21/S1"}, []string{"c1"}},
		{[]string{"01/09506000134352/10/L1", "01/09506000134352/21/S1", "01/09506000134352"}, []string{"c1", "c2"}},
		{[]string{"00/095060001000000018", "01/04006381333931", "01/0000"}, []string{"c1", "c3"}},
		{[]string{"01/09506000134352/21/S2", "01/0000"}, nil},
	} {
		ids, err := st.CampaignsByKeys(ctx, tc.keys)
		storetest.Must(t, err)
		slices.Sort(ids)
		if !slices.Equal(ids, tc.want) {
			t.Fatalf("CampaignsByKeys(%v) = %v, want %v", tc.keys, ids, tc.want)
		}
	}

	// A scope's worth of item keys, in one call, some of which the
	// campaign has already; then a lookup of more keys than one query
	// may carry.
	var many []string
	for i := range 10500 {
		many = append(many, fmt.Sprintf("01/09506000134352/21/N%05d", i))
	}
	storetest.Must(t, st.AddRecallKeys(ctx, "c4", many[:700]))
	storetest.Must(t, st.AddRecallKeys(ctx, "c4", many))
	storetest.Must(t, st.AddRecallKeys(ctx, "c4", many[10000:]))
	look := append(slices.Clone(many[9000:]), "01/04006381333931")
	ids, err = st.CampaignsByKeys(ctx, look)
	storetest.Must(t, err)
	slices.Sort(ids)
	storetest.Equal(t, ids, []string{"c3", "c4"})
	ids, err = st.CampaignsByKeys(ctx, many[len(many)-1:])
	storetest.Must(t, err)
	storetest.Equal(t, ids, []string{"c4"})
}

// notice returns the notice of campaign to entity, unacknowledged, due
// at ackBy.
func notice(campaign, entity string, ackBy time.Time) recall.Notice {
	return recall.Notice{ID: campaign + "." + entity, CampaignID: campaign, EntityID: entity, Level: recall.LevelRetail,
		Units: 3, Keys: []string{"01/09506000134352/21/S1", "01/09506000134352/10/L1"}, Instructions: "Stop selling.",
		CreatedAt: t0, AckBy: ackBy, Recovery: recall.Recovery{Counts: map[string]int{}}}
}

func noticeIDs(list []recall.Notice) []string {
	out := []string{}
	for _, n := range list {
		out = append(out, n.ID)
	}
	return out
}

func testNotices(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Campaigns
	_, err := st.Notice(ctx, "c1.e1")
	storetest.WantErr(t, err, recall.ErrNotFound, "")
	storetest.Must(t, st.PutNotices(ctx, nil))

	n1 := notice("c1", "e1", t0.Add(24*time.Hour))
	n1.Recovery = recall.Recovery{Counts: map[string]int{recall.Returned: 2}, Serials: map[string]string{"01/09506000134352/21/S1": recall.Returned}}
	n2 := notice("c1", "e2", t0.Add(48*time.Hour))
	storetest.Must(t, st.PutNotices(ctx, []recall.Notice{n1, n2}))
	got, err := st.Notice(ctx, "c1.e1")
	storetest.Must(t, err)
	sameJSON(t, got, n1, got.Version, 1)

	// Put again, changed, with a new one: the stored ones stay as they are.
	n1b, n3 := n1, notice("c1", "e3", t0)
	n1b.Units, n1b.Instructions = 99, "changed"
	storetest.Must(t, st.PutNotices(ctx, []recall.Notice{n1b, n3, n3}))
	got, err = st.Notice(ctx, "c1.e1")
	storetest.Must(t, err)
	sameJSON(t, got, n1, got.Version, 1)
	got, err = st.Notice(ctx, "c1.e3")
	storetest.Must(t, err)
	sameJSON(t, got, n3, got.Version, 1)

	// Acknowledged, read, recovered: the update the caller read version 1 for.
	v2 := n1
	v2.Version = 2
	v2.AckedAt, v2.AckedBy, v2.ReadAt = t0.Add(time.Hour), "key-7", t0.Add(time.Minute)
	v2.Recovery = recall.Recovery{Counts: map[string]int{recall.Returned: 2, recall.Destroyed: 1},
		Serials: map[string]string{"01/09506000134352/21/S1": recall.Returned, "01/09506000134352/21/S2": recall.Destroyed}}
	storetest.Must(t, st.UpdateNotice(ctx, v2))
	got, err = st.Notice(ctx, "c1.e1")
	storetest.Must(t, err)
	sameJSON(t, got, v2, got.Version, 2)

	stale := n1
	stale.Version, stale.Units = 2, 1
	storetest.WantErr(t, st.UpdateNotice(ctx, stale), recall.ErrConflict, "")
	ghost := notice("c1", "e9", t0)
	ghost.Version = 2
	storetest.WantErr(t, st.UpdateNotice(ctx, ghost), recall.ErrNotFound, "")
	got, err = st.Notice(ctx, "c1.e1")
	storetest.Must(t, err)
	sameJSON(t, got, v2, got.Version, 2)

	// A put of a notice stored and updated since leaves it at its version.
	storetest.Must(t, st.PutNotices(ctx, []recall.Notice{n1}))
	got, err = st.Notice(ctx, "c1.e1")
	storetest.Must(t, err)
	sameJSON(t, got, v2, got.Version, 2)

	// Listed notices are whole, with their versions.
	list, err := st.ListNotices(ctx, recall.NoticeFilter{CampaignID: "c1"}, trace.Page{Limit: 10})
	storetest.Must(t, err)
	storetest.Equal(t, noticeIDs(list), []string{"c1.e1", "c1.e2", "c1.e3"})
	sameJSON(t, list[0], v2, list[0].Version, 2)
	sameJSON(t, list[1], n2, list[1].Version, 1)

	// An acknowledgement withdrawn (AckedAt zero again) makes it unacknowledged.
	v3 := v2
	v3.Version, v3.AckedAt, v3.AckedBy = 3, time.Time{}, ""
	storetest.Must(t, st.UpdateNotice(ctx, v3))
	list, err = st.ListNotices(ctx, recall.NoticeFilter{UnackedAt: t0.Add(25 * time.Hour)}, trace.Page{Limit: 10})
	storetest.Must(t, err)
	storetest.Equal(t, noticeIDs(list), []string{"c1.e1", "c1.e3"})
}

// matchNotice is the meaning of [recall.NoticeFilter], which the stores'
// lists are held to.
func matchNotice(f recall.NoticeFilter, n recall.Notice) bool {
	return (f.CampaignID == "" || n.CampaignID == f.CampaignID) &&
		(f.EntityID == "" || n.EntityID == f.EntityID) &&
		(f.UnackedAt.IsZero() || (n.AckedAt.IsZero() && n.AckBy.Before(f.UnackedAt))) &&
		(f.AckByFrom.IsZero() || !n.AckBy.Before(f.AckByFrom)) &&
		(f.AckByTo.IsZero() || n.AckBy.Before(f.AckByTo))
}

func testNoticeList(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Campaigns
	// Campaign IDs that prefix one another ("c1", "c1x") and sort around
	// the "." of notice IDs ("c1-2" sorts before "c1.", "c1/" after it).
	campaigns := []string{"c1", "c1x", "c1-2", "c2"}
	entities := []string{"e1", "e2", "e3", "e10"}
	var all []recall.Notice
	for i, c := range campaigns {
		for j, e := range entities {
			n := notice(c, e, t0.Add(time.Duration(i*len(entities)+j)*time.Hour))
			if (i+j)%3 == 0 {
				n.AckedAt, n.AckedBy = t0.Add(time.Minute), "k"
			}
			all = append(all, n)
		}
	}
	storetest.Must(t, st.PutNotices(ctx, all))
	// Acknowledged after being stored, too.
	late := all[5]
	late.Version, late.AckedAt = 2, t0.Add(time.Hour)
	storetest.Must(t, st.UpdateNotice(ctx, late))
	all[5] = late

	var filters []recall.NoticeFilter
	for _, c := range []string{"", "c1", "c1x", "c2", "c9"} {
		for _, e := range []string{"", "e1", "e10"} {
			for _, unacked := range []time.Time{{}, t0.Add(5 * time.Hour), t0.Add(100 * time.Hour)} {
				for _, rng := range [][2]time.Time{{}, {t0.Add(3 * time.Hour), {}}, {{}, t0.Add(9 * time.Hour)}, {t0.Add(2 * time.Hour), t0.Add(7 * time.Hour)}} {
					filters = append(filters, recall.NoticeFilter{CampaignID: c, EntityID: e, UnackedAt: unacked, AckByFrom: rng[0], AckByTo: rng[1]})
				}
			}
		}
	}
	sorted := slices.Clone(all)
	slices.SortFunc(sorted, func(a, b recall.Notice) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	for _, f := range filters {
		var want []string
		for _, n := range sorted {
			if matchNotice(f, n) {
				want = append(want, n.ID)
			}
		}
		list, err := st.ListNotices(ctx, f, trace.Page{Limit: 100})
		storetest.Must(t, err)
		if got := noticeIDs(list); !slices.Equal(got, want) {
			t.Fatalf("ListNotices(%+v) = %v, want %v", f, got, want)
		}
		paged := pagedIDs(t, 4, func(p trace.Page) ([]recall.Notice, error) { return st.ListNotices(ctx, f, p) },
			func(n recall.Notice) string { return n.ID })
		if !slices.Equal(paged, want) {
			t.Fatalf("ListNotices(%+v) in pages = %v, want %v", f, paged, want)
		}
	}

	// The deadline is strictly before UnackedAt, and AckByTo is exclusive:
	// a notice due at the instant given is not overdue yet.
	list, err := st.ListNotices(ctx, recall.NoticeFilter{CampaignID: "c1", UnackedAt: t0.Add(2 * time.Hour)}, trace.Page{Limit: 10})
	storetest.Must(t, err)
	storetest.Equal(t, noticeIDs(list), []string{"c1.e2"}) // c1.e1 is acknowledged, c1.e3 due at 2h
	list, err = st.ListNotices(ctx, recall.NoticeFilter{AckByFrom: t0.Add(time.Hour), AckByTo: t0.Add(2 * time.Hour)}, trace.Page{Limit: 10})
	storetest.Must(t, err)
	storetest.Equal(t, noticeIDs(list), []string{"c1.e2"})
}

// testNoticesBulk puts a large campaign's notices in one call, some of
// which are stored (and updated) already.
func testNoticesBulk(t *testing.T, s Stores) {
	if testing.Short() {
		t.Skip("12,000 notices")
	}
	ctx := context.Background()
	st := s.Campaigns
	const n = 12000
	all := make([]recall.Notice, n)
	for i := range all {
		all[i] = notice("big", fmt.Sprintf("e%05d", i), t0.Add(time.Duration(i)*time.Minute))
	}
	// Some already there: a run at the start, one across where a batch
	// may end, and a scatter; a few of them updated since.
	var before []recall.Notice
	for i := range all {
		if i < 300 || (i >= 950 && i < 1100) || i%997 == 0 {
			before = append(before, all[i])
		}
	}
	storetest.Must(t, st.PutNotices(ctx, before))
	updated := map[string]recall.Notice{}
	for _, i := range []int{0, 999, 1994} {
		u := all[i]
		u.Version, u.AckedAt, u.AckedBy = 2, t0.Add(time.Hour), "k"
		storetest.Must(t, st.UpdateNotice(ctx, u))
		updated[u.ID] = u
	}

	// The new put differs from what is stored, so a rewrite would show.
	again := slices.Clone(all)
	for i := range again {
		again[i].Instructions = "second put"
	}
	storetest.Must(t, st.PutNotices(ctx, again))
	storetest.Must(t, st.PutNotices(ctx, again[n-10:])) // all there now

	stored := map[string]bool{}
	for _, b := range before {
		stored[b.ID] = true
	}
	// One page of them all: the store takes any limit (the service
	// bounds it), and one query keeps this quick on FerretDB.
	list, err := st.ListNotices(ctx, recall.NoticeFilter{CampaignID: "big"}, trace.Page{Limit: n + 1})
	storetest.Must(t, err)
	if len(list) != n {
		t.Fatalf("%d notices stored, want %d", len(list), n)
	}
	for i, got := range list {
		want, version := again[i], 1
		if got.ID != want.ID {
			t.Fatalf("notice %d is %s, want %s", i, got.ID, want.ID)
		}
		if stored[got.ID] {
			want = all[i]
		}
		if u, ok := updated[got.ID]; ok {
			want, version = u, 2
		}
		sameJSON(t, got, want, got.Version, version)
	}
	list, err = st.ListNotices(ctx, recall.NoticeFilter{CampaignID: "big", UnackedAt: t0.Add(1000 * time.Minute)}, trace.Page{Limit: n})
	storetest.Must(t, err)
	if len(list) != 998 { // 0..999 due before, 0 and 999 acknowledged
		t.Fatalf("%d overdue, want 998", len(list))
	}
}

// testUpdateRace: writers that read the same version race to update a
// campaign and a notice; exactly one of each wins, the others get
// [recall.ErrConflict].
func testUpdateRace(t *testing.T, s Stores) {
	if s.NotAtomic != "" {
		t.Skip(s.NotAtomic)
	}
	ctx := context.Background()
	st := s.Campaigns
	c := campaign("c1", recall.Ordered, recall.Draft, "m1")
	storetest.Must(t, st.CreateCampaign(ctx, c))
	n := notice("c1", "e1", t0)
	storetest.Must(t, st.PutNotices(ctx, []recall.Notice{n}))

	const writers = 12
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for i := range writers {
		wg.Go(func() {
			u := c
			u.Version, u.Reason = 2, fmt.Sprint("writer ", i)
			errs <- st.UpdateCampaign(ctx, u)
		})
		wg.Go(func() {
			u := n
			u.Version, u.AckedBy, u.AckedAt = 2, fmt.Sprint("writer ", i), t0.Add(time.Hour)
			errs <- st.UpdateNotice(ctx, u)
		})
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, recall.ErrConflict):
			t.Fatalf("a losing writer got %v, want %v", err, recall.ErrConflict)
		}
	}
	if won != 2 {
		t.Fatalf("%d updates won, want 2 (one campaign, one notice)", won)
	}
}

// pagedIDs reads a whole list in pages of size, each after the last ID of
// the page before, and fails t on a page longer than size.
func pagedIDs[T any](t *testing.T, size int, list func(trace.Page) ([]T, error), id func(T) string) []string {
	t.Helper()
	var out []string
	for after := ""; ; {
		page, err := list(trace.Page{Limit: size, After: after})
		storetest.Must(t, err)
		if len(page) > size {
			t.Fatalf("a page of %d, limit %d", len(page), size)
		}
		for _, v := range page {
			out = append(out, id(v))
		}
		if len(page) < size {
			return out
		}
		after = id(page[len(page)-1])
	}
}
