package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/storetest"
)

const scanGTIN = "09506000134352"

func tipoff(i int, status standards.TipoffStatus) standards.Tipoff {
	return standards.Tipoff{ID: fmt.Sprintf("t%02d", i), Receipt: fmt.Sprintf("R-%04d", 9000-i), Subject: "product",
		GTIN: scanGTIN, Category: "quality", Description: fmt.Sprintf("tip %d: the seal was broken", i),
		Anonymous: true, Client: fmt.Sprintf("client-%d", i), Status: status,
		CreatedAt: t0.Add(time.Duration(i) * time.Minute), UpdatedAt: t0.Add(time.Duration(i) * time.Minute)}
}

func tipoffIDs(list []standards.Tipoff) []string {
	out := []string{}
	for _, tp := range list {
		out = append(out, tp.ID)
	}
	return out
}

func testTipoffs(t *testing.T, s standards.TipoffStore) {
	ctx := context.Background()
	// A named tipster with every field set.
	t1 := tipoff(1, standards.TipoffVerifying)
	t1.Subject, t1.Code, t1.GTIN = "code", "https://id.example.cn/01/09506000134352/21/S1", scanGTIN
	t1.Category, t1.Anonymous, t1.Name, t1.Contact = "counterfeit", false, "Zhang San", "+86 138 0000 0000"
	t1.Note, t1.HandledBy = "asked the brand owner", "k1"
	t1.UpdatedAt = t0.Add(time.Hour + 7*time.Millisecond)
	t1.Deadline, t1.NotifyBy = t0.Add(72*time.Hour), t0.Add(15*24*time.Hour)
	// An anonymous tip-off about an entity: no deadlines, nothing confidential.
	t2 := tipoff(2, standards.TipoffReceived)
	t2.Subject, t2.GTIN, t2.EntityID, t2.Category = "entity", "", "e7", "safety"
	t3 := tipoff(3, standards.TipoffReceived)
	t4 := tipoff(4, standards.TipoffClosed)
	t4.Deadline = t0.Add(48 * time.Hour) // a deadline without a tipster to notify
	all := []standards.Tipoff{t1, t2, t3, t4}
	for _, i := range []int{2, 0, 3, 1} {
		storetest.Must(t, s.CreateTipoff(ctx, all[i]))
	}

	dup := tipoff(9, standards.TipoffReceived)
	dup.Receipt = t3.Receipt
	storetest.WantErr(t, s.CreateTipoff(ctx, dup), standards.ErrConflict, "receipt")
	dup = tipoff(9, standards.TipoffReceived)
	dup.ID = t3.ID
	storetest.WantErr(t, s.CreateTipoff(ctx, dup), standards.ErrConflict, "id")

	for _, want := range all {
		got, err := s.Tipoff(ctx, want.Receipt)
		storetest.Must(t, err)
		storetest.Equal(t, got, want)
	}
	got, err := s.Tipoff(ctx, t2.Receipt)
	storetest.Must(t, err)
	if !got.Deadline.IsZero() || !got.NotifyBy.IsZero() || got.Name != "" || got.Contact != "" {
		t.Fatalf("anonymous tip-off without deadlines: %+v", got)
	}
	_, err = s.Tipoff(ctx, "R-nope")
	storetest.WantErr(t, err, standards.ErrNotFound, "")
	_, err = s.Tipoff(ctx, t1.ID) // an ID is not a receipt
	storetest.WantErr(t, err, standards.ErrNotFound, "")

	list := func(status standards.TipoffStatus, p trace.Page) []standards.Tipoff {
		t.Helper()
		got, err := s.ListTipoffs(ctx, standards.TipoffFilter{Status: status}, p)
		storetest.Must(t, err)
		return got
	}
	storetest.Equal(t, list("", trace.Page{Limit: 10}), all)
	storetest.Equal(t, tipoffIDs(list("", trace.Page{Limit: 3})), []string{"t01", "t02", "t03"})
	storetest.Equal(t, tipoffIDs(list("", trace.Page{Limit: 3, After: "t03"})), []string{"t04"})
	storetest.Equal(t, tipoffIDs(list("", trace.Page{Limit: 3, After: "t04"})), []string{})
	storetest.Equal(t, tipoffIDs(list(standards.TipoffReceived, trace.Page{Limit: 10})), []string{"t02", "t03"})
	storetest.Equal(t, tipoffIDs(list(standards.TipoffReceived, trace.Page{Limit: 1, After: "t02"})), []string{"t03"})
	storetest.Equal(t, tipoffIDs(list(standards.TipoffCaseOpened, trace.Page{Limit: 10})), []string{})

	at := t0.Add(26*time.Hour + 5*time.Millisecond)
	up, err := s.UpdateTipoff(ctx, t2.Receipt, standards.TipoffChange{From: standards.TipoffReceived, Status: standards.TipoffCaseOpened,
		Note: "forwarded to the market regulator", By: "k9", At: at})
	storetest.Must(t, err)
	want := t2
	want.Status, want.Note, want.HandledBy, want.UpdatedAt = standards.TipoffCaseOpened, "forwarded to the market regulator", "k9", at
	storetest.Equal(t, up, want)
	got, err = s.Tipoff(ctx, t2.Receipt)
	storetest.Must(t, err)
	storetest.Equal(t, got, want)
	// Updating one tip-off leaves the others alone.
	got, err = s.Tipoff(ctx, t3.Receipt)
	storetest.Must(t, err)
	storetest.Equal(t, got, t3)
	storetest.Equal(t, tipoffIDs(list(standards.TipoffCaseOpened, trace.Page{Limit: 10})), []string{"t02"})
	storetest.Equal(t, tipoffIDs(list(standards.TipoffReceived, trace.Page{Limit: 10})), []string{"t03"})

	// The named tip-off keeps its confidential fields and deadlines.
	up, err = s.UpdateTipoff(ctx, t1.Receipt, standards.TipoffChange{From: standards.TipoffVerifying, Status: standards.TipoffClosed, By: "k1", At: at})
	storetest.Must(t, err)
	want = t1
	want.Status, want.Note, want.UpdatedAt = standards.TipoffClosed, "", at
	storetest.Equal(t, up, want)

	_, err = s.UpdateTipoff(ctx, "R-nope", standards.TipoffChange{From: standards.TipoffReceived, Status: standards.TipoffClosed, At: at})
	storetest.WantErr(t, err, standards.ErrNotFound, "")
	// The status moved since it was read: nothing changes.
	_, err = s.UpdateTipoff(ctx, t3.Receipt, standards.TipoffChange{From: standards.TipoffVerifying, Status: standards.TipoffCaseOpened, At: at})
	storetest.WantErr(t, err, standards.ErrConflict, "")
	got, err = s.Tipoff(ctx, t3.Receipt)
	storetest.Must(t, err)
	storetest.Equal(t, got, t3)

	// An extension and a notify-by deadline, then the tipster told.
	ext, notify := t0.Add(30*24*time.Hour), t0.Add(40*24*time.Hour)
	up, err = s.UpdateTipoff(ctx, t3.Receipt, standards.TipoffChange{From: standards.TipoffReceived, Status: standards.TipoffVerifying,
		By: "k2", At: at, Deadline: ext, Extended: true})
	storetest.Must(t, err)
	if !up.Extended || !up.Deadline.Equal(ext) || up.Notified {
		t.Fatalf("extended: %+v", up)
	}
	up, err = s.UpdateTipoff(ctx, t3.Receipt, standards.TipoffChange{From: standards.TipoffVerifying, Status: standards.TipoffRejected,
		By: "k2", At: at, NotifyBy: notify})
	storetest.Must(t, err)
	if !up.Extended || !up.Deadline.Equal(ext) || !up.NotifyBy.Equal(notify) || up.Notified {
		t.Fatalf("decided: %+v", up)
	}
	overdue := func(at time.Time) []string {
		t.Helper()
		got, err := s.ListTipoffs(ctx, standards.TipoffFilter{OverdueAt: at}, trace.Page{Limit: 10})
		storetest.Must(t, err)
		return tipoffIDs(got)
	}
	// Nothing is due yet; by notify, t1's tipster (due at 15 days) and
	// t3's are still waiting to be told.
	storetest.Equal(t, overdue(t0.Add(time.Hour)), []string{})
	storetest.Equal(t, overdue(notify), []string{"t01", "t03"})
	up, err = s.UpdateTipoff(ctx, t3.Receipt, standards.TipoffChange{From: standards.TipoffRejected, Status: standards.TipoffRejected,
		By: "k2", At: at, Notified: true})
	storetest.Must(t, err)
	if !up.Notified || !up.NotifyBy.Equal(notify) {
		t.Fatalf("notified: %+v", up)
	}
	storetest.Equal(t, overdue(notify), []string{"t01"})
	// A tip-off still being verified past its deadline is overdue.
	late := tipoff(5, standards.TipoffVerifying)
	late.Deadline = t0.Add(time.Hour)
	storetest.Must(t, s.CreateTipoff(ctx, late))
	storetest.Equal(t, overdue(t0.Add(2*time.Hour)), []string{"t05"}) // t4 is closed: its deadline no longer counts

	// A reward, kept with the rest.
	up, err = s.UpdateTipoff(ctx, t4.Receipt, standards.TipoffChange{From: standards.TipoffClosed, Status: standards.TipoffClosed,
		By: "k3", At: at, Reward: "500.00"})
	storetest.Must(t, err)
	got, err = s.Tipoff(ctx, t4.Receipt)
	storetest.Must(t, err)
	if up.Reward != "500.00" || got.Reward != "500.00" || !got.Deadline.Equal(t4.Deadline) {
		t.Fatalf("rewarded: %+v", got)
	}
}
