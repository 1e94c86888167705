package storetest

import (
	"context"
	"fmt"
	"testing"

	"tracesvc/recall"
	"tracesvc/recall/draw"
	"tracesvc/trace"
	"tracesvc/trace/storetest"
)

// publishedDraw returns a draw with every field set, at place seq, that
// drew result (entity → inspectors, in the order given).
func publishedDraw(id string, seq int64, result ...draw.Assignment) draw.Draw {
	cands := []string{"e1", "e2", "e3", "e4"}
	pool := []string{"i1", "i2", "i3"}
	return draw.Draw{ID: id, Seq: seq, Algorithm: draw.Algorithm, Date: "2026-11-26", CreatedAt: t0, CreatedBy: "regulator/key:r1",
		Filters: draw.Filters{Region: "天津 Tianjin", Category: trace.CategoryFood, Kinds: []trace.Kind{trace.KindManufacturer, trace.KindRetailer}},
		Seed:    "00112233445566778899aabbccddeeff", SeedSource: draw.SeedGiven,
		Candidates: cands, CandidatesHash: draw.HashList(cands), Excluded: 2,
		Inspectors: pool, InspectorsHash: draw.HashList(pool), Entities: len(result), InspectorsPerEntity: 2,
		Previous: []draw.Previous{{EntityID: "e1", DrawID: "d0", Inspectors: []string{"i3", "i1"}}},
		Result:   result}
}

func assign(entity string, inspectors ...string) draw.Assignment {
	return draw.Assignment{EntityID: entity, Inspectors: inspectors}
}

func testDraws(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Draws
	_, err := st.Draw(ctx, "d1")
	storetest.WantErr(t, err, recall.ErrNotFound, "")
	seq, err := st.LastSeq(ctx)
	storetest.Must(t, err)
	storetest.Equal(t, seq, int64(0))
	list, err := st.ListDraws(ctx, trace.Page{Limit: 10})
	storetest.Must(t, err)
	storetest.Equal(t, len(list), 0)

	d1 := publishedDraw("d1", 1, assign("e2", "i2", "i1"), assign("e1", "i2", "i3"))
	storetest.Must(t, st.CreateDraw(ctx, d1))
	got, err := st.Draw(ctx, "d1")
	storetest.Must(t, err)
	sameJSON(t, got, d1, 0, 0)

	// The place is taken: a racing draw loses and is not stored.
	storetest.WantErr(t, st.CreateDraw(ctx, publishedDraw("d2", 1, assign("e3", "i1", "i2"))), recall.ErrConflict, "")
	_, err = st.Draw(ctx, "d2")
	storetest.WantErr(t, err, recall.ErrNotFound, "")
	// So is the ID.
	storetest.WantErr(t, st.CreateDraw(ctx, publishedDraw("d1", 2, assign("e3", "i1", "i2"))), recall.ErrConflict, "")
	got, err = st.Draw(ctx, "d1")
	storetest.Must(t, err)
	sameJSON(t, got, d1, 0, 0)

	// A draw of nothing and with nothing before it.
	bare := draw.Draw{ID: "d0", Seq: 2, Algorithm: draw.Algorithm, CreatedAt: t0, Candidates: []string{}, Inspectors: []string{},
		Previous: []draw.Previous{}, Result: []draw.Assignment{}}
	storetest.Must(t, st.CreateDraw(ctx, bare))
	got, err = st.Draw(ctx, "d0")
	storetest.Must(t, err)
	sameJSON(t, got, bare, 0, 0)

	for i := 3; i <= 7; i++ {
		storetest.Must(t, st.CreateDraw(ctx, publishedDraw(fmt.Sprintf("d%d", i), int64(i), assign("e4", "i1", "i2"))))
	}
	seq, err = st.LastSeq(ctx)
	storetest.Must(t, err)
	storetest.Equal(t, seq, int64(7))

	// Lists go in ID order, a page at a time.
	var ids []string
	p := trace.Page{Limit: 3}
	for {
		page, err := st.ListDraws(ctx, p)
		storetest.Must(t, err)
		for _, d := range page {
			ids = append(ids, d.ID)
		}
		if len(page) < p.Limit {
			break
		}
		p.After = page[len(page)-1].ID
	}
	storetest.Equal(t, ids, []string{"d0", "d1", "d3", "d4", "d5", "d6", "d7"})
}

// testDrawAssignments: an entity's last assignment is read from the
// latest draw at or before a place that drew it.
func testDrawAssignments(t *testing.T, s Stores) {
	ctx := context.Background()
	st := s.Draws
	_, err := st.LastAssignment(ctx, "e1", 10)
	storetest.WantErr(t, err, recall.ErrNotFound, "")

	storetest.Must(t, st.CreateDraw(ctx, publishedDraw("a", 1, assign("e1", "i1", "i2"), assign("e2", "i3", "i1"))))
	storetest.Must(t, st.CreateDraw(ctx, publishedDraw("b", 2, assign("e2", "i2", "i3"))))
	storetest.Must(t, st.CreateDraw(ctx, publishedDraw("c", 3, assign("e3", "i1", "i2"), assign("e1", "i3", "i2"))))

	for _, c := range []struct {
		entity string
		max    int64
		want   draw.Previous
	}{
		{"e1", 3, draw.Previous{EntityID: "e1", DrawID: "c", Inspectors: []string{"i3", "i2"}}},
		{"e1", 2, draw.Previous{EntityID: "e1", DrawID: "a", Inspectors: []string{"i1", "i2"}}},
		{"e2", 9, draw.Previous{EntityID: "e2", DrawID: "b", Inspectors: []string{"i2", "i3"}}},
		{"e2", 1, draw.Previous{EntityID: "e2", DrawID: "a", Inspectors: []string{"i3", "i1"}}},
		{"e3", 3, draw.Previous{EntityID: "e3", DrawID: "c", Inspectors: []string{"i1", "i2"}}},
	} {
		got, err := st.LastAssignment(ctx, c.entity, c.max)
		storetest.Must(t, err)
		storetest.Equal(t, got, c.want)
	}
	for _, c := range []struct {
		entity string
		max    int64
	}{{"e3", 2}, {"e1", 0}, {"e9", 3}} {
		_, err := st.LastAssignment(ctx, c.entity, c.max)
		storetest.WantErr(t, err, recall.ErrNotFound, "")
	}
}
