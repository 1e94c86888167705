package recall

import (
	"context"
	"fmt"
	"time"

	"tracesvc/trace"
)

// Facts the credit record reads: the recalls of a maker's products, and
// the notices a custodian did not acknowledge in time. They are read from
// the campaigns and notices themselves, so they never drift from them.

// RecallsOf returns the campaigns opened on maker's products in [from,
// to), ordered and voluntary alike (a campaign's Kind tells which).
func (s *Campaigns) RecallsOf(ctx context.Context, maker string, from, to time.Time) ([]Campaign, error) {
	f := CampaignFilter{Maker: maker, Statuses: []Status{Open, Completed, Terminated}, OpenedFrom: from, OpenedTo: to}
	out, err := trace.All(func(p trace.Page) ([]Campaign, error) { return s.cfg.Store.ListCampaigns(ctx, f, p) },
		func(c Campaign) string { return c.ID })
	if err != nil {
		return nil, fmt.Errorf("recalls of %s: %w", maker, err)
	}
	return out, nil
}

// Unacknowledged returns the notices entity did not acknowledge by their
// deadline — never, or late — of deadlines in [from, to) that had passed
// at at.
func (s *Campaigns) Unacknowledged(ctx context.Context, entity string, from, to, at time.Time) ([]Notice, error) {
	if at.Before(to) {
		to = at
	}
	f := NoticeFilter{EntityID: entity, AckByFrom: from, AckByTo: to}
	all, err := trace.All(func(p trace.Page) ([]Notice, error) { return s.cfg.Store.ListNotices(ctx, f, p) },
		func(n Notice) string { return n.ID })
	if err != nil {
		return nil, fmt.Errorf("unacknowledged notices of %s: %w", entity, err)
	}
	var out []Notice
	for _, n := range all {
		if n.AckedAt.IsZero() || !n.AckedAt.Before(n.AckBy) {
			out = append(out, n)
		}
	}
	return out, nil
}
