package recall

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"tracesvc/trace"
	"tracesvc/trace/gs1"
)

// NoticeView is a notice as its custodian and officials read it: the
// notice, what the recall is, and how far the webhook delivery got.
type NoticeView struct {
	Notice
	Recall   Public    `json:"recall"`
	Reason   string    `json:"reason,omitempty"`
	Delivery *Delivery `json:"delivery,omitempty"`
}

// NoticeQuery narrows a list of notices.
type NoticeQuery struct {
	CampaignID string
	EntityID   string
}

// mayRead lets officials read any notice and a custodian its own.
func mayRead(caller trace.Principal, n Notice) error {
	if caller.IsOfficial() || caller.IsEntity(n.EntityID) {
		return nil
	}
	if err := caller.Require(trace.RoleRegulator, trace.RoleInspector, trace.RoleEntity); err != nil {
		return err
	}
	return fmt.Errorf("notice %s is another entity's: %w", n.ID, trace.ErrForbidden)
}

// views adds each notice's recall and delivery, and marks the notices a
// custodian reads for the first time as read: a custodian without a
// webhook is notified when it reads them.
func (s *Campaigns) views(ctx context.Context, caller trace.Principal, ns []Notice) ([]NoticeView, error) {
	campaigns := map[string]Campaign{}
	ids := make([]string, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	deliveries, err := s.cfg.Sender.Lookup(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	byRef := map[string]Delivery{}
	for _, d := range deliveries {
		byRef[d.ID] = d
	}
	out := make([]NoticeView, len(ns))
	for i, n := range ns {
		c, ok := campaigns[n.CampaignID]
		if !ok {
			if c, err = s.cfg.Store.Campaign(ctx, n.CampaignID); err != nil {
				return nil, fmt.Errorf("recall %s: %w", n.CampaignID, err)
			}
			campaigns[c.ID] = c
		}
		if caller.IsEntity(n.EntityID) && n.ReadAt.IsZero() {
			if n, err = s.changeNotice(ctx, n.ID, func(n *Notice) error {
				if n.ReadAt.IsZero() {
					n.ReadAt = s.cfg.Now.Now()
				}
				return nil
			}); err != nil {
				return nil, err
			}
		}
		out[i] = NoticeView{Notice: n, Recall: PublicOf(c), Reason: c.Reason}
		if d, ok := byRef[n.ID]; ok {
			out[i].Delivery = &d
		}
	}
	return out, nil
}

// Notices returns one page of notices: a custodian's own, or for
// officials any, by campaign or entity.
func (s *Campaigns) Notices(ctx context.Context, caller trace.Principal, q NoticeQuery, p trace.Page) ([]NoticeView, string, error) {
	if err := caller.Require(trace.RoleRegulator, trace.RoleInspector, trace.RoleEntity); err != nil {
		return nil, "", err
	}
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	f := NoticeFilter{CampaignID: q.CampaignID, EntityID: q.EntityID}
	if scope := caller.Scope(); scope != "" {
		if f.EntityID != "" && f.EntityID != scope {
			return nil, "", &trace.FieldError{Field: "entity", Kind: trace.ErrForbidden, Msg: "an entity reads its own notices"}
		}
		f.EntityID = scope
	}
	list, err := s.cfg.Store.ListNotices(ctx, f, trace.Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list notices: %w", err)
	}
	page, next, err := trace.PageOf(list, p.Limit, func(n Notice) string { return n.ID })
	if err != nil {
		return nil, "", err
	}
	views, err := s.views(ctx, caller, page)
	return views, next, err
}

// Notice returns one notice to its custodian or an official.
func (s *Campaigns) Notice(ctx context.Context, caller trace.Principal, id string) (NoticeView, error) {
	n, err := s.cfg.Store.Notice(ctx, id)
	if err != nil {
		return NoticeView{}, fmt.Errorf("notice %s: %w", id, err)
	}
	if err := mayRead(caller, n); err != nil {
		return NoticeView{}, err
	}
	views, err := s.views(ctx, caller, []Notice{n})
	if err != nil {
		return NoticeView{}, err
	}
	return views[0], nil
}

// changeNotice applies change to the stored notice with id, retrying when
// another writer moved it meanwhile.
func (s *Campaigns) changeNotice(ctx context.Context, id string, change func(*Notice) error) (Notice, error) {
	for attempt := 0; ; attempt++ {
		n, err := s.cfg.Store.Notice(ctx, id)
		if err != nil {
			return Notice{}, fmt.Errorf("notice %s: %w", id, err)
		}
		if err := change(&n); err != nil {
			return Notice{}, err
		}
		n.Version++
		err = s.cfg.Store.UpdateNotice(ctx, n)
		if err == nil {
			return n, nil
		}
		if !isConflict(err) || attempt == 4 {
			return Notice{}, fmt.Errorf("notice %s: %w", id, err)
		}
	}
}

// own returns the notice with id and its campaign if caller is its
// custodian.
func (s *Campaigns) own(ctx context.Context, caller trace.Principal, id string) (Notice, Campaign, error) {
	if err := caller.Require(trace.RoleEntity); err != nil {
		return Notice{}, Campaign{}, err
	}
	n, err := s.cfg.Store.Notice(ctx, id)
	if err != nil {
		return Notice{}, Campaign{}, fmt.Errorf("notice %s: %w", id, err)
	}
	if !caller.IsEntity(n.EntityID) {
		return Notice{}, Campaign{}, fmt.Errorf("notice %s is another entity's: %w", id, trace.ErrForbidden)
	}
	c, err := s.cfg.Store.Campaign(ctx, n.CampaignID)
	if err != nil {
		return Notice{}, Campaign{}, fmt.Errorf("recall %s: %w", n.CampaignID, err)
	}
	return n, c, nil
}

// Ack records that the custodian received the notice and acts on it.
// Acknowledging again changes nothing.
func (s *Campaigns) Ack(ctx context.Context, caller trace.Principal, id string) (Notice, error) {
	if _, _, err := s.own(ctx, caller, id); err != nil {
		return Notice{}, err
	}
	return s.changeNotice(ctx, id, func(n *Notice) error {
		if n.AckedAt.IsZero() {
			n.AckedAt, n.AckedBy = s.cfg.Now.Now(), caller.KeyID
		}
		return nil
	})
}

// Return is a custodian's report of recovered stock: a quantity, or the
// codes of serialized units (Digital Links or EPC URIs), which are also
// recorded in the custody record as EPCIS events (disposition destroyed,
// or recalled for stock returned, repaired or replaced).
type Return struct {
	Recovery string   `json:"recovery"` // returned, destroyed, repaired, replaced
	Quantity int      `json:"quantity"`
	Codes    []string `json:"codes"`
}

// MaxReturnCodes caps the codes of one report.
const MaxReturnCodes = 1000

// RecoveryReport is the answer to a return: the notice as it stands, and
// the codes reported before, which are not counted twice.
type RecoveryReport struct {
	Notice          Notice   `json:"notice"`
	AlreadyReported []string `json:"alreadyReported,omitempty"`
}

// ReportRecovery records stock the custodian recovered. Codes outside the
// campaign's scope are refused, naming them; codes reported before count
// once.
func (s *Campaigns) ReportRecovery(ctx context.Context, caller trace.Principal, id string, in Return) (RecoveryReport, error) {
	n, c, err := s.own(ctx, caller, id)
	if err != nil {
		return RecoveryReport{}, err
	}
	if c.Status != Open {
		return RecoveryReport{}, statusConflict(c, "recovered stock is reported while a recall is open")
	}
	if !slices.Contains(Recoveries, in.Recovery) {
		return RecoveryReport{}, invalid("recovery", "must be one of returned, destroyed, repaired, replaced")
	}
	switch {
	case in.Quantity != 0 && len(in.Codes) > 0:
		return RecoveryReport{}, invalid("codes", "report a quantity or the codes, not both")
	case len(in.Codes) > MaxReturnCodes:
		return RecoveryReport{}, invalid("codes", "at most %d codes in one report", MaxReturnCodes)
	case len(in.Codes) > 0:
		return s.reportCodes(ctx, caller, n, c, in)
	case in.Quantity <= 0 || in.Quantity > 10_000_000:
		return RecoveryReport{}, invalid("quantity", "must be a whole number of units from 1, or give the codes")
	}
	up, err := s.changeNotice(ctx, id, func(n *Notice) error {
		if left := n.Units - n.recovered(); n.Units > 0 && in.Quantity > left {
			return invalid("quantity", "%d is more than the %d units still unaccounted for at this custodian (%d in scope, %d reported)",
				in.Quantity, max(left, 0), n.Units, n.recovered())
		}
		n.Recovery.add(in.Recovery, in.Quantity)
		return nil
	})
	return RecoveryReport{Notice: up}, err
}

// recovered is how many units the notice's custodian reported recovered.
func (n Notice) recovered() int {
	total := len(n.Recovery.Serials)
	for _, v := range n.Recovery.Counts {
		total += v
	}
	return total
}

// add counts q units recovered as how.
func (r *Recovery) add(how string, q int) {
	if r.Counts == nil {
		r.Counts = map[string]int{}
	}
	r.Counts[how] += q
}

// reportCodes checks that each code is in the campaign's scope, records
// the units in the custody record, and counts each once.
func (s *Campaigns) reportCodes(ctx context.Context, caller trace.Principal, n Notice, c Campaign, in Return) (RecoveryReport, error) {
	var keys, outside, bad []string
	for _, code := range in.Codes {
		key, kind, err := gs1.ParseEPC(strings.TrimSpace(code))
		if err != nil || kind != gs1.EPCItem {
			bad = append(bad, code)
			continue
		}
		ids, err := s.cfg.Store.CampaignsByKeys(ctx, []string{key})
		if err != nil {
			return RecoveryReport{}, fmt.Errorf("recall %s: %w", c.ID, err)
		}
		if !slices.Contains(ids, c.ID) {
			outside = append(outside, code)
			continue
		}
		keys = append(keys, key)
	}
	if len(bad) > 0 {
		return RecoveryReport{}, invalid("codes", "not codes of serialized units (a Digital Link with GTIN and serial, or an sgtin URN): %s", strings.Join(bad, ", "))
	}
	if len(outside) > 0 {
		return RecoveryReport{}, invalid("codes", "outside recall %s's scope: %s", c.ID, strings.Join(outside, ", "))
	}
	var fresh, already []string
	for _, k := range keys {
		if _, ok := n.Recovery.Serials[k]; ok || slices.Contains(fresh, k) {
			already = append(already, s.cfg.BaseURL+"/"+k)
			continue
		}
		fresh = append(fresh, k)
	}
	if len(fresh) > 0 {
		if err := s.record(ctx, caller, n, in.Recovery, fresh); err != nil {
			return RecoveryReport{}, err
		}
	}
	up, err := s.changeNotice(ctx, n.ID, func(n *Notice) error {
		if n.Recovery.Serials == nil {
			n.Recovery.Serials = map[string]string{}
		}
		for _, k := range fresh {
			if _, ok := n.Recovery.Serials[k]; !ok {
				n.Recovery.Serials[k] = in.Recovery
			}
		}
		return nil
	})
	return RecoveryReport{Notice: up, AlreadyReported: already}, err
}

// record captures the recovered units as one EPCIS event by the
// custodian: destroyed units as destroying, the others held as recalled.
func (s *Campaigns) record(ctx context.Context, caller trace.Principal, n Notice, how string, keys []string) error {
	step, disposition := "holding", "recalled"
	if how == Destroyed {
		step, disposition = "destroying", "destroyed"
	}
	ev := map[string]any{"type": "ObjectEvent", "action": "OBSERVE", "bizStep": step, "disposition": disposition,
		"eventTime": s.cfg.Now.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "eventTimeZoneOffset": "+00:00",
		"epcList": s.links(keys), "bizTransactionList": []map[string]string{{"type": "rma", "bizTransaction": s.cfg.BaseURL + "/api/v1/notices/" + n.ID}}}
	doc, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	job, err := s.cfg.Graph.Capture(ctx, caller, trace.CaptureRequest{Document: doc, SingleEvent: true})
	if err != nil {
		return fmt.Errorf("record the recovered units: %w", err)
	}
	if len(job.Errors) > 0 {
		msgs := make([]string, len(job.Errors))
		for i, e := range job.Errors {
			msgs[i] = e.Message
		}
		return &trace.FieldError{Field: "codes", Kind: ErrConflict, Msg: "the custody record refused them: " + strings.Join(msgs, "; ")}
	}
	return nil
}
