package recallmongo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/recall"
	"tracesvc/trace"
	"tracesvc/trace/schemamongo"
)

var _ recall.CampaignStore = (*Store)(nil)

// The campaigns' collections: each campaign and notice a document (its
// JSON body beside the fields lists filter on), and one document per
// recall key and campaign.
const (
	colCampaigns = "recall_campaigns"
	colKeys      = "recall_keys"
	colNotices   = "recall_notices"
)

// insertChunk is how many documents one unordered insert carries at most,
// so that a scope of tens of thousands of keys or notices goes in batches
// well below the wire message limit.
const insertChunk = 1000

func campaignIndexes() schemamongo.Indexes {
	return schemamongo.Indexes{
		colCampaigns: {
			{Keys: bson.D{{Key: "status", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("status")},
			// makers is an array: a multikey index, one entry per maker.
			{Keys: bson.D{{Key: "makers", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("makers")},
			{Keys: bson.D{{Key: "kind", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("kind")},
		},
		colKeys: {
			// One document per key and campaign, however often it is added;
			// it also serves the lookup by key.
			{Keys: bson.D{{Key: "key", Value: 1}, {Key: "campaignId", Value: 1}}, Options: options.Index().SetUnique(true).SetName("key_campaign")},
		},
		colNotices: {
			{Keys: bson.D{{Key: "campaignId", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("campaign")},
			{Keys: bson.D{{Key: "entityId", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("entity")},
			// The notices not acknowledged by a deadline before a time.
			{Keys: bson.D{{Key: "acked", Value: 1}, {Key: "ackBy", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("unacked")},
			{Keys: bson.D{{Key: "ackBy", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("ack_by")},
		},
	}
}

// campaignDoc is a stored campaign version: its JSON body, and the fields
// lists filter on beside it. openedAt is absent until it opens.
type campaignDoc struct {
	ID       string     `bson:"_id"`
	Status   string     `bson:"status"`
	Kind     string     `bson:"kind"`
	Makers   []string   `bson:"makers"`
	OpenedAt *time.Time `bson:"openedAt,omitempty"`
	Version  int        `bson:"version"`
	Body     string     `bson:"body"`
}

func newCampaignDoc(c recall.Campaign, version int) (campaignDoc, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return campaignDoc{}, fmt.Errorf("recallmongo: campaign %s: %w", c.ID, err)
	}
	makers := slices.Clone(c.Makers)
	if makers == nil {
		makers = []string{}
	}
	return campaignDoc{ID: c.ID, Status: string(c.Status), Kind: string(c.Kind), Makers: makers,
		OpenedAt: timeOrNil(c.OpenedAt), Version: version, Body: string(body)}, nil
}

func (d campaignDoc) campaign() (recall.Campaign, error) {
	var c recall.Campaign
	if err := json.Unmarshal([]byte(d.Body), &c); err != nil {
		return recall.Campaign{}, fmt.Errorf("recallmongo: stored campaign %s does not read: %w", d.ID, err)
	}
	c.Version = d.Version
	return c, nil
}

// timeOrNil is t as an optional stored time: nil when t is zero.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// CreateCampaign implements [recall.CampaignStore].
func (s *Store) CreateCampaign(ctx context.Context, c recall.Campaign) error {
	doc, err := newCampaignDoc(c, 1)
	if err != nil {
		return err
	}
	if _, err := s.db.Collection(colCampaigns).InsertOne(ctx, doc); err != nil {
		return fmt.Errorf("create campaign %s: %w", c.ID, translate(err))
	}
	return nil
}

// Campaign implements [recall.CampaignStore].
func (s *Store) Campaign(ctx context.Context, id string) (recall.Campaign, error) {
	var d campaignDoc
	if err := s.db.Collection(colCampaigns).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return recall.Campaign{}, translate(err)
	}
	return d.campaign()
}

// ListCampaigns implements [recall.CampaignStore].
func (s *Store) ListCampaigns(ctx context.Context, f recall.CampaignFilter, p trace.Page) ([]recall.Campaign, error) {
	q := bson.D{}
	if f.Maker != "" {
		q = append(q, bson.E{Key: "makers", Value: f.Maker})
	}
	if len(f.Statuses) > 0 {
		in := bson.A{}
		for _, st := range f.Statuses {
			in = append(in, string(st))
		}
		q = append(q, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: in}}})
	}
	if f.Kind != "" {
		q = append(q, bson.E{Key: "kind", Value: string(f.Kind)})
	}
	q = append(q, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}})
	if rng := timeRange(f.OpenedFrom, f.OpenedTo); rng != nil {
		q = append(q, bson.E{Key: "openedAt", Value: rng})
	}
	return findPage(ctx, s.db.Collection(colCampaigns), q, p.Limit, campaignDoc.campaign)
}

// timeRange is the condition [from, to) on a stored time, each bound
// left out when zero; nil when both are.
func timeRange(from, to time.Time) bson.D {
	var rng bson.D
	if !from.IsZero() {
		rng = append(rng, bson.E{Key: "$gte", Value: from})
	}
	if !to.IsZero() {
		rng = append(rng, bson.E{Key: "$lt", Value: to})
	}
	return rng
}

// replaceVersion replaces the document id of col by doc if its stored
// version is version-1. When none matched it tells why: the document is
// gone ([recall.ErrNotFound]), or its version moved ([recall.ErrConflict]).
func (s *Store) replaceVersion(ctx context.Context, col, id string, version int, doc any) error {
	c := s.db.Collection(col)
	res, err := c.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "version", Value: version - 1}}, doc)
	if err != nil {
		return fmt.Errorf("replace %s %s: %w", col, id, translate(err))
	}
	if res.MatchedCount > 0 {
		return nil
	}
	var now struct {
		Version int `bson:"version"`
	}
	if err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&now); err != nil {
		return fmt.Errorf("replace %s %s: %w", col, id, translate(err))
	}
	return fmt.Errorf("%s %s is at version %d, not %d: %w", col, id, now.Version, version-1, recall.ErrConflict)
}

// UpdateCampaign implements [recall.CampaignStore]: one document replaced
// if its version is still c.Version-1.
func (s *Store) UpdateCampaign(ctx context.Context, c recall.Campaign) error {
	doc, err := newCampaignDoc(c, c.Version)
	if err != nil {
		return err
	}
	return s.replaceVersion(ctx, colCampaigns, c.ID, c.Version, doc)
}

// keyDoc records that a campaign covers a key. Its _id is left to the
// driver: the unique key_campaign index makes it idempotent.
type keyDoc struct {
	Key        string `bson:"key"`
	CampaignID string `bson:"campaignId"`
}

// AddRecallKeys implements [recall.CampaignStore], in unordered inserts
// of at most [insertChunk] keys; a key the campaign has already is a
// duplicate the insert skips.
func (s *Store) AddRecallKeys(ctx context.Context, campaignID string, keys []string) error {
	docs := make([]any, len(keys))
	for i, k := range keys {
		docs[i] = keyDoc{Key: k, CampaignID: campaignID}
	}
	if err := s.insertNew(ctx, colKeys, docs); err != nil {
		return fmt.Errorf("add recall keys of %s: %w", campaignID, err)
	}
	return nil
}

// insertNew inserts docs into col in unordered chunks, skipping those a
// unique index (or _id) already holds.
func (s *Store) insertNew(ctx context.Context, col string, docs []any) error {
	c := s.db.Collection(col)
	for start := 0; start < len(docs); start += insertChunk {
		if _, err := schemamongo.InsertIgnoring(ctx, c, docs[start:min(start+insertChunk, len(docs))]); err != nil {
			return translate(err)
		}
	}
	return nil
}

// CampaignsByKeys implements [recall.CampaignStore], in ID order.
func (s *Store) CampaignsByKeys(ctx context.Context, keys []string) ([]string, error) {
	seen := map[string]bool{}
	err := schemamongo.Chunks(keys, func(part []string) error {
		docs, err := schemamongo.FindAll[keyDoc](ctx, s.db.Collection(colKeys), bson.D{{Key: "key", Value: bson.D{{Key: "$in", Value: part}}}},
			options.Find().SetProjection(bson.D{{Key: "_id", Value: 0}, {Key: "campaignId", Value: 1}}))
		if err != nil {
			return translate(err)
		}
		for _, d := range docs {
			seen[d.CampaignID] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("campaigns by keys: %w", err)
	}
	if len(seen) == 0 {
		return nil, nil
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// noticeDoc is a stored notice version: its JSON body, and the fields
// lists filter on beside it. acked says whether it is acknowledged, so
// that one index serves the notices overdue for acknowledgement.
type noticeDoc struct {
	ID         string    `bson:"_id"`
	CampaignID string    `bson:"campaignId"`
	EntityID   string    `bson:"entityId"`
	AckBy      time.Time `bson:"ackBy"`
	Acked      bool      `bson:"acked"`
	Version    int       `bson:"version"`
	Body       string    `bson:"body"`
}

func newNoticeDoc(n recall.Notice, version int) (noticeDoc, error) {
	body, err := json.Marshal(n)
	if err != nil {
		return noticeDoc{}, fmt.Errorf("recallmongo: notice %s: %w", n.ID, err)
	}
	return noticeDoc{ID: n.ID, CampaignID: n.CampaignID, EntityID: n.EntityID, AckBy: n.AckBy, Acked: !n.AckedAt.IsZero(),
		Version: version, Body: string(body)}, nil
}

func (d noticeDoc) notice() (recall.Notice, error) {
	var n recall.Notice
	if err := json.Unmarshal([]byte(d.Body), &n); err != nil {
		return recall.Notice{}, fmt.Errorf("recallmongo: stored notice %s does not read: %w", d.ID, err)
	}
	n.Version = d.Version
	return n, nil
}

// PutNotices implements [recall.CampaignStore], in unordered inserts of
// at most [insertChunk] notices; a notice whose ID is stored already is a
// duplicate the insert skips, so it stays as it is.
func (s *Store) PutNotices(ctx context.Context, ns []recall.Notice) error {
	docs := make([]any, len(ns))
	for i, n := range ns {
		d, err := newNoticeDoc(n, 1)
		if err != nil {
			return err
		}
		docs[i] = d
	}
	if err := s.insertNew(ctx, colNotices, docs); err != nil {
		return fmt.Errorf("put notices: %w", err)
	}
	return nil
}

// Notice implements [recall.CampaignStore].
func (s *Store) Notice(ctx context.Context, id string) (recall.Notice, error) {
	var d noticeDoc
	if err := s.db.Collection(colNotices).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d); err != nil {
		return recall.Notice{}, translate(err)
	}
	return d.notice()
}

// ListNotices implements [recall.CampaignStore].
func (s *Store) ListNotices(ctx context.Context, f recall.NoticeFilter, p trace.Page) ([]recall.Notice, error) {
	q := bson.D{}
	if f.CampaignID != "" {
		q = append(q, bson.E{Key: "campaignId", Value: f.CampaignID})
	}
	if f.EntityID != "" {
		q = append(q, bson.E{Key: "entityId", Value: f.EntityID})
	}
	q = append(q, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: p.After}}})
	// The deadline's bounds: [AckByFrom, AckByTo), and before UnackedAt
	// for the notices overdue.
	to := f.AckByTo
	if !f.UnackedAt.IsZero() {
		q = append(q, bson.E{Key: "acked", Value: false})
		if to.IsZero() || f.UnackedAt.Before(to) {
			to = f.UnackedAt
		}
	}
	if rng := timeRange(f.AckByFrom, to); rng != nil {
		q = append(q, bson.E{Key: "ackBy", Value: rng})
	}
	return findPage(ctx, s.db.Collection(colNotices), q, p.Limit, noticeDoc.notice)
}

// UpdateNotice implements [recall.CampaignStore]: one document replaced
// if its version is still n.Version-1.
func (s *Store) UpdateNotice(ctx context.Context, n recall.Notice) error {
	doc, err := newNoticeDoc(n, n.Version)
	if err != nil {
		return err
	}
	return s.replaceVersion(ctx, colNotices, n.ID, n.Version, doc)
}

// findPage returns the documents of c that match q in _id order, at most
// limit, each converted by conv.
func findPage[D, T any](ctx context.Context, c *mongo.Collection, q bson.D, limit int, conv func(D) (T, error)) ([]T, error) {
	docs, err := schemamongo.FindAll[D](ctx, c, q, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", c.Name(), translate(err))
	}
	out := make([]T, len(docs))
	for i, d := range docs {
		if out[i], err = conv(d); err != nil {
			return nil, err
		}
	}
	return out, nil
}
