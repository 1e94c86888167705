package trace

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"tracesvc/trace/epcis"
	"tracesvc/trace/gs1"
)

// Chain records the chain of custody: it captures EPCIS events, applies the
// custody rules to the codes this service issued, answers event queries,
// and walks the trace graph.
type Chain struct {
	store     EventStore
	codes     CodeStore
	register  Register
	now       Clock
	entityURI string
	signals   Signals
	settle    time.Duration
	instance  string
}

// ChainConfig configures [NewChain].
type ChainConfig struct {
	// EntityURIPrefix is how parties without a GLN are named in events: the
	// prefix of an entity's URI, to which its ID is appended (for example
	// https://id.example.cn/api/v1/entities/).
	EntityURIPrefix string
	Now             Clock
	// Signals hears of refused captures officials should know of; nil
	// discards them.
	Signals Signals
	// RecordTimeSettle holds back, from queries in recordTime order, the
	// events recorded less than this long ago: with several processes
	// writing (MongoDB), one may store an event with an earlier recordTime
	// than another's already read, and a reader paging by recordTime would
	// miss it. 0 (one writer, SQLite) holds nothing back.
	RecordTimeSettle time.Duration
	// Instance names this process to the store's capture recovery (see
	// EventStore.RecoverCaptures).
	Instance string
}

// NewChain returns the custody service.
func NewChain(store EventStore, codes CodeStore, register Register, cfg ChainConfig) *Chain {
	return &Chain{store: store, codes: codes, register: register, now: cfg.Now, entityURI: cfg.EntityURIPrefix,
		signals: cfg.Signals, settle: cfg.RecordTimeSettle, instance: cfg.Instance}
}

// Capture limits advertised by the EPCIS REST binding headers.
const (
	MaxCaptureEvents = 10_000
	MaxCaptureBytes  = 20 << 20
	// MaxEventBytes bounds one event's JSON: it is stored whole in one
	// document, beside its identifiers (see epcis.MaxIdentifiers), and a
	// MongoDB document is at most 16 MiB.
	MaxEventBytes = 4 << 20
	// MaxJobErrors is the most errors a capture job lists; the last entry
	// then says how many more there were.
	MaxJobErrors = 1000
)

// Error behaviours of a capture (GS1-Capture-Error-Behaviour).
const (
	Rollback = "rollback" // store nothing unless every event passes
	Proceed  = "proceed"  // store the events that pass
)

// CaptureRequest is one EPCIS document, or one event, to capture.
type CaptureRequest struct {
	Document       []byte // an EPCISDocument (JSON-LD)
	SingleEvent    bool   // Document is one event, not a document
	ErrorBehaviour string // Rollback (default) or Proceed
}

// Capture validates and stores the events of a document and returns its
// capture job, which is stored too. The job lists every event refused and
// why. A document that cannot be read at all (not JSON, no @context, too
// many events) is an [ErrInvalid] error instead.
//
// Events already stored (same eventID, given or derived) are no-ops. With
// [Rollback] nothing is stored unless every event passes; with [Proceed]
// the events that pass are stored.
func (c *Chain) Capture(ctx context.Context, p Principal, req CaptureRequest) (CaptureJob, error) {
	if err := p.Require(RoleEntity); err != nil {
		return CaptureJob{}, err
	}
	switch req.ErrorBehaviour {
	case "":
		req.ErrorBehaviour = Rollback
	case Rollback, Proceed:
	default:
		return CaptureJob{}, Invalid("errorBehaviour", "must be rollback or proceed, got %q", req.ErrorBehaviour)
	}
	var doc epcis.Document
	prefix := "/epcisBody/eventList/"
	if req.SingleEvent {
		if !json.Valid(req.Document) {
			return CaptureJob{}, Invalid("", "the event is not valid JSON")
		}
		doc, prefix = epcis.Document{Events: []json.RawMessage{req.Document}}, ""
	} else {
		var err error
		if doc, err = epcis.DecodeDocument(req.Document); err != nil {
			return CaptureJob{}, epcisInvalid(err)
		}
	}
	raws := doc.Events
	if len(raws) > MaxCaptureEvents {
		return CaptureJob{}, Invalid("/epcisBody/eventList", "holds %d events; the capture limit is %d", len(raws), MaxCaptureEvents)
	}
	now := c.now.Now()
	job := CaptureJob{ID: NewID(now), OwnerID: p.EntityID, ErrorBehaviour: req.ErrorBehaviour, Events: len(raws),
		CreatedAt: now, Errors: []CaptureError{}}
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = c.capture(ctx, &job, doc, prefix, now); !errors.Is(err, ErrConflict) {
			break
		}
		// A code changed under us: read the new custody states and decide again.
		job.Errors, job.Captured, job.Duplicates = []CaptureError{}, 0, 0
	}
	if err != nil {
		return CaptureJob{}, err
	}
	job.Success = len(job.Errors) == 0
	for i := range job.Errors {
		// Messages quote what was sent, which may be long; the job is kept.
		e := &job.Errors[i]
		e.Message, e.Pointer, e.EventID = clip(e.Message, maxErrorText), clip(e.Pointer, maxErrorText), clip(e.EventID, maxErrorText)
	}
	if n := len(job.Errors); n > MaxJobErrors {
		first := job.Errors[MaxJobErrors-1]
		job.Errors = append(job.Errors[:MaxJobErrors-1], CaptureError{Index: first.Index, Rule: "capture.moreErrors",
			Message: fmt.Sprintf("and %d more errors, from event %d on, not listed: fix these and capture again", n-MaxJobErrors+1, first.Index)})
	}
	job.FinishedAt = c.now.Now()
	if err := c.store.SaveCaptureJob(context.WithoutCancel(ctx), job); err != nil {
		return CaptureJob{}, fmt.Errorf("save capture job: %w", err)
	}
	return job, nil
}

// maxErrorText bounds each text of a capture error, in bytes.
const maxErrorText = 1000

// clip cuts s to at most n bytes, at a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// epcisInvalid turns an epcis decoding error into the domain's invalid
// error, naming the JSON pointer of the fault.
func epcisInvalid(err error) error {
	var e *epcis.Error
	if errors.As(err, &e) {
		return Invalid(e.Pointer, "%s", e.Message)
	}
	return Invalid("", "%v", err)
}

// capture runs the rules over raws and writes what passes.
func (c *Chain) capture(ctx context.Context, job *CaptureJob, doc epcis.Document, prefix string, now time.Time) error {
	raws := doc.Events
	run := &captureRun{chain: c, actor: job.OwnerID, states: map[string]*Custody{}, changed: map[string]bool{},
		parties: map[string]string{}, owners: map[string]string{}, holds: map[string]bool{}}
	events := make([]*epcis.Event, len(raws))
	given := make([]bool, len(raws)) // the event carried its eventID
	var ids []string
	for i := range raws {
		// Through the document, so that a derived eventID expands the
		// extension prefixes its @context declares.
		ev, err := doc.ParseEvent(i)
		given[i] = hasEventID(raws[i])
		if err != nil {
			job.Errors = append(job.Errors, eventErrors(i, prefix, shownID(ev.ID, given[i]), err)...)
			continue
		}
		if len(ev.Raw) > MaxEventBytes {
			job.Errors = append(job.Errors, CaptureError{Index: i, EventID: shownID(ev.ID, given[i]), Pointer: pointer(prefix, i, ""),
				Rule: "event.size", Message: fmt.Sprintf("the event is %d bytes; this service takes events of at most %d bytes: split it", len(ev.Raw), MaxEventBytes)})
			continue
		}
		events[i] = &ev
		ids = append(ids, ev.ID)
	}
	stored, err := c.store.StoredEventIDs(ctx, ids)
	if err != nil {
		return fmt.Errorf("look up event IDs: %w", err)
	}
	if err := run.load(ctx, events); err != nil {
		return err
	}
	var out []StoredEvent
	seen := map[string]bool{}
	for i, ev := range events {
		if ev == nil {
			continue
		}
		if by, ok := stored[ev.ID]; ok && by != run.actor {
			// Another entity's event is not a duplicate of this one.
			if given[i] {
				job.Errors = append(job.Errors, CaptureError{Index: i, EventID: ev.ID, Pointer: pointer(prefix, i, "/eventID"),
					Rule: "eventID.taken", Message: "this eventID is already used by an event another entity recorded; give the event its own eventID"})
				continue
			}
			// The same observation by two entities hashes alike: this one
			// gets its own ID.
			ev.Raw = bytes.Replace(ev.Raw, []byte(strconv.Quote(ev.ID)), []byte(strconv.Quote(newEventUUID())), 1)
			ev.ID = eventIDOf(ev.Raw)
		} else if ok || seen[ev.ID] {
			job.Duplicates++
			continue
		}
		seen[ev.ID] = true
		se, violations, err := run.apply(ctx, ev, now)
		if err != nil {
			return err
		}
		if len(violations) > 0 {
			for _, v := range violations {
				v.Index, v.EventID = i, shownID(ev.ID, given[i])
				v.Pointer = pointer(prefix, i, v.Pointer)
				job.Errors = append(job.Errors, v)
			}
			continue
		}
		out = append(out, se)
	}
	if len(job.Errors) > 0 && job.ErrorBehaviour == Rollback {
		return nil
	}
	w := CaptureWrite{Events: out, RecordTime: c.now.Now, Writer: c.instance}
	for k := range run.changed {
		w.Custody = append(w.Custody, *run.states[k])
	}
	slices.SortFunc(w.Custody, func(a, b Custody) int { return strings.Compare(a.Key, b.Key) })
	if err := c.store.ApplyCapture(ctx, w); err != nil {
		return fmt.Errorf("store capture: %w", err)
	}
	job.Captured = len(out)
	return nil
}

// shownID is the eventID a refusal names: the one the client gave, never
// one derived for an event that was not stored.
func shownID(id string, given bool) string {
	if given {
		return id
	}
	return ""
}

// newEventUUID returns a random urn:uuid eventID (RFC 9562 version 4).
func newEventUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return "urn:uuid:" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// eventIDOf reads the eventID member of a raw event.
func eventIDOf(raw json.RawMessage) string {
	var m struct {
		ID string `json:"eventID"`
	}
	_ = json.Unmarshal(raw, &m)
	return m.ID
}

// hasEventID reports whether a raw event carries an eventID member.
func hasEventID(raw json.RawMessage) bool {
	var m struct {
		ID *json.RawMessage `json:"eventID"`
	}
	return json.Unmarshal(raw, &m) == nil && m.ID != nil
}

func pointer(prefix string, i int, p string) string {
	if prefix == "" {
		return p
	}
	return fmt.Sprintf("%s%d%s", prefix, i, p)
}

// eventErrors lists the validation errors of event i.
func eventErrors(i int, prefix, id string, err error) []CaptureError {
	var list epcis.Errors
	var one *epcis.Error
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = epcis.Errors{one}
	default:
		return []CaptureError{{Index: i, EventID: id, Pointer: pointer(prefix, i, ""), Rule: "event.invalid", Message: err.Error()}}
	}
	out := make([]CaptureError, len(list))
	for j, e := range list {
		out[j] = CaptureError{Index: i, EventID: id, Pointer: pointer(prefix, i, e.Pointer), Rule: e.Rule, Message: e.Message}
	}
	return out
}

// captureRun is the state of one capture: the custody of every issued code
// the document touches, as the events change it in document order.
type captureRun struct {
	chain   *Chain
	actor   string
	states  map[string]*Custody
	changed map[string]bool
	parties map[string]string // party or location key → entity ID ("" when unknown)
	owners  map[string]string // GTIN → owning entity ID ("" when not registered)
	holds   map[string]bool   // lot key → whether it was shipped to the actor
}

// load reads the custody state of every code the events name, and of
// everything packed in those codes.
func (r *captureRun) load(ctx context.Context, events []*epcis.Event) error {
	var keys []string
	for _, ev := range events {
		if ev != nil {
			keys = append(keys, instanceKeys(ev)...)
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	// Items of products not registered here cannot be codes issued here.
	issuable := keys[:0]
	for _, k := range keys {
		if strings.HasPrefix(k, "01/") {
			owner, err := r.owner(ctx, k)
			if err != nil {
				return err
			}
			if owner == "" {
				continue
			}
		}
		issuable = append(issuable, k)
	}
	states, err := r.chain.store.Custody(ctx, issuable)
	if err != nil {
		return fmt.Errorf("read custody: %w", err)
	}
	for k, s := range states {
		r.states[k] = &s
	}
	return nil
}

// contents returns the codes packed in container, reading them once.
func (r *captureRun) contents(ctx context.Context, container string) ([]*Custody, error) {
	inside, err := r.chain.store.Contents(ctx, container)
	if err != nil {
		return nil, err
	}
	var out []*Custody
	for _, s := range inside {
		if cur, ok := r.states[s.Key]; ok {
			if cur.Container == container {
				out = append(out, cur)
			}
			continue
		}
		r.states[s.Key] = &s
		out = append(out, &s)
	}
	// Codes packed in this document are not stored yet.
	for _, s := range r.states {
		if s.Container == container && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// instanceKeys returns the instance-level identifiers of an event.
func instanceKeys(ev *epcis.Event) []string {
	keys := slices.Concat(ev.EPCs, ev.ChildEPCs, ev.InputEPCs, ev.OutputEPCs)
	if ev.ParentID != "" {
		keys = append(keys, ev.ParentID)
	}
	return keys
}

// violation is a broken custody rule.
func violation(ptr, rule, custodian, format string, args ...any) CaptureError {
	return CaptureError{Pointer: ptr, Rule: rule, Custodian: custodian, Message: fmt.Sprintf(format, args...)}
}

// apply checks ev against the custody rules, updates the states it
// changes, and returns the event as it will be stored.
func (r *captureRun) apply(ctx context.Context, ev *epcis.Event, now time.Time) (StoredEvent, []CaptureError, error) {
	se := StoredEvent{ID: ev.ID, Type: ev.Type, Action: ev.Action, BizStep: ev.BizStep, Disposition: ev.Disposition,
		ReadPoint: ev.ReadPoint, BizLocation: ev.BizLocation, EventTime: ev.EventTime.UTC().Truncate(time.Millisecond),
		RecordTime: now, CapturedBy: r.actor, Raw: ev.Raw}
	add := func(role string, keys ...string) {
		for _, k := range keys {
			if k != "" {
				se.Refs = append(se.Refs, EventRef{Key: k, Role: role})
			}
		}
	}
	add(RoleEPC, ev.EPCs...)
	add(RoleParent, ev.ParentID)
	add(RoleChild, ev.ChildEPCs...)
	add(RoleInput, ev.InputEPCs...)
	add(RoleOutput, ev.OutputEPCs...)
	for _, q := range ev.Quantities {
		if q.EPCClass == "" {
			continue
		}
		role := map[string]string{"": RoleClass, "child": RoleChildClass, "input": RoleInputClass, "output": RoleOutputClass}[q.Role]
		se.Refs = append(se.Refs, EventRef{Key: q.EPCClass, Role: role, Quantity: q.Quantity, UOM: q.UOM})
	}

	readers := map[string]bool{r.actor: true}
	var dest string
	for _, lists := range []struct {
		list  []epcis.Party
		isDst bool
	}{{ev.Sources, false}, {ev.Destinations, true}} {
		for _, p := range lists.list {
			id, err := r.party(ctx, p.ID)
			if err != nil {
				return se, nil, err
			}
			if id == "" {
				continue
			}
			readers[id] = true
			if lists.isDst {
				se.Parties = append(se.Parties, "destination:"+id)
			} else {
				se.Parties = append(se.Parties, "source:"+id)
			}
			if lists.isDst && (dest == "" || p.Type == "possessing_party") {
				dest = id
			}
		}
	}
	for _, ref := range se.Refs {
		owner, err := r.owner(ctx, ref.Key)
		if err != nil {
			return se, nil, err
		}
		if owner != "" {
			readers[owner] = true
		}
	}

	violations, err := r.lots(ctx, ev)
	if err != nil || len(violations) > 0 {
		return se, violations, err
	}
	if violations, err = r.custody(ctx, ev, dest); err != nil || len(violations) > 0 {
		return se, violations, err
	}
	for _, k := range instanceKeys(ev) {
		if s, ok := r.states[k]; ok {
			readers[s.Owner] = true
			if s.Possessor != "" {
				readers[s.Possessor] = true
			}
		}
	}
	for id := range readers {
		if id != "" {
			se.Visible = append(se.Visible, id)
		}
	}
	slices.Sort(se.Visible)
	slices.Sort(se.Parties)
	se.Parties = slices.Compact(se.Parties)
	return se, nil, nil
}

// party resolves a party or location key to a registered entity: by GLN
// (417/… parties, 414/… locations) or by the entity's URI on this service
// (see [ChainConfig.EntityURIPrefix]). It returns "" for anyone else.
func (r *captureRun) party(ctx context.Context, key string) (string, error) {
	if id, ok := r.parties[key]; ok {
		return id, nil
	}
	id := ""
	switch {
	case strings.HasPrefix(key, "417/"), strings.HasPrefix(key, "414/"):
		gln, _, _ := strings.Cut(key[4:], "/")
		e, err := r.chain.register.EntityByGLN(ctx, gln)
		switch {
		case err == nil:
			id = e.ID
		case !errors.Is(err, ErrNotFound):
			return "", fmt.Errorf("resolve party %s: %w", key, err)
		}
	default:
		if rest, ok := r.chain.entityID(key); ok {
			if _, err := r.chain.register.Entity(ctx, rest); err == nil {
				id = rest
			} else if !errors.Is(err, ErrNotFound) {
				return "", err
			}
		}
	}
	r.parties[key] = id
	return id, nil
}

// entityID returns the entity ID an entity URI names: the configured
// prefix on any host (events may be written with another host name than
// this service's) followed by the ID.
func (c *Chain) entityID(uri string) (string, bool) {
	if c.entityURI == "" {
		return "", false
	}
	prefix, err := url.Parse(c.entityURI)
	if err != nil {
		return "", false
	}
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", false
	}
	rest, ok := strings.CutPrefix(u.Path, prefix.Path)
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	return rest, true
}

// owner returns the entity owning the product of an item or class key.
func (r *captureRun) owner(ctx context.Context, key string) (string, error) {
	rest, ok := strings.CutPrefix(key, "01/")
	if !ok || len(rest) < 14 {
		return "", nil
	}
	gtin := rest[:14]
	if id, ok := r.owners[gtin]; ok {
		return id, nil
	}
	p, err := r.chain.register.Product(ctx, gtin)
	switch {
	case errors.Is(err, ErrNotFound):
		r.owners[gtin] = "" // not registered here: remember that too
	case err != nil:
		return "", err
	default:
		r.owners[gtin] = p.OwnerID
	}
	return r.owners[gtin], nil
}

// lateArriving reports whether the event flags itself as late-arriving
// data, with a boolean extension field whose local name is lateArriving
// (e.g. "tracesvc:lateArriving": true).
func lateArriving(raw json.RawMessage) bool {
	if !bytes.Contains(raw, []byte("lateArriving")) {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for k, v := range m {
		if (k == "lateArriving" || strings.HasSuffix(k, ":lateArriving")) && string(v) == "true" {
			return true
		}
	}
	return false
}

// custody applies the custody rules for codes this service issued. Codes
// it did not issue pass unchecked, as EPCIS allows.
func (r *captureRun) custody(ctx context.Context, ev *epcis.Event, dest string) ([]CaptureError, error) {
	var out []CaptureError
	late := lateArriving(ev.Raw)
	at := ev.EventTime.UTC().Truncate(time.Millisecond)
	type touch struct {
		key, ptr, role string
	}
	var touched []touch
	list := func(ptr, role string, keys []string) {
		for i, k := range keys {
			touched = append(touched, touch{k, fmt.Sprintf("%s/%d", ptr, i), role})
		}
	}
	list("/epcList", RoleEPC, ev.EPCs)
	if ev.ParentID != "" {
		touched = append(touched, touch{ev.ParentID, "/parentID", RoleParent})
	}
	list("/childEPCs", RoleChild, ev.ChildEPCs)
	list("/inputEPCList", RoleInput, ev.InputEPCs)
	list("/outputEPCList", RoleOutput, ev.OutputEPCs)

	next := map[string]Custody{}
	for _, t := range touched {
		cur, ok := r.states[t.key]
		if !ok {
			v, err := r.neverIssued(ctx, ev, t.key)
			if err != nil {
				return nil, err
			}
			if v != nil {
				v.Pointer = t.ptr
				out = append(out, *v)
			}
			continue // not issued here
		}
		s := *cur
		if p, ok := next[t.key]; ok {
			s = p
		}
		if !late && !s.LastEventAt.IsZero() && at.Before(s.LastEventAt) {
			out = append(out, violation("/eventTime", "custody.timeOrder", s.Possessor,
				"eventTime %s is before the last event of %s (%s); flag the event \"tracesvc:lateArriving\": true if it is late data",
				at.Format(time.RFC3339), t.key, s.LastEventAt.Format(time.RFC3339)))
			continue
		}
		v := r.transition(ctx, &s, ev, t.role, t.key, dest)
		if v != nil {
			v.Pointer = t.ptr
			out = append(out, *v)
			continue
		}
		if at.After(s.LastEventAt) {
			s.LastEventAt = at
		}
		next[t.key] = s
	}
	if len(out) > 0 {
		return out, nil
	}
	// Goods packed in a logistic unit travel with it.
	if ev.BizStep == "shipping" || ev.BizStep == "receiving" {
		for _, t := range touched {
			s, ok := next[t.key]
			if !ok || !strings.HasPrefix(t.key, "00/") {
				continue
			}
			inside, err := r.contents(ctx, t.key)
			if err != nil {
				return nil, err
			}
			for _, child := range inside {
				c := *child
				if p, ok := next[c.Key]; ok {
					c = p
				}
				c.Possessor, c.PendingTo = s.Possessor, s.PendingTo
				if s.State == StateInCustody && c.State != StateRecalled {
					c.State = StateInCustody
				}
				if at.After(c.LastEventAt) {
					c.LastEventAt = at
				}
				next[c.Key] = c
			}
		}
	}
	for k, s := range next {
		s.Version = r.states[k].Version
		if !r.changed[k] {
			s.Version++ // one bump per capture: the store checks the version it read
		}
		*r.states[k] = s
		r.changed[k] = true
	}
	return nil, nil
}

// neverIssued refuses an event naming a serial under a GTIN registered
// here that this service never issued: nobody, not even the GTIN's owner,
// may bring such a code into the record, and officials are told.
func (r *captureRun) neverIssued(ctx context.Context, ev *epcis.Event, key string) (*CaptureError, error) {
	gtin, serial, ok := itemParts(key)
	if !ok {
		return nil, nil
	}
	owner, err := r.owner(ctx, key)
	if err != nil || owner == "" {
		return nil, err
	}
	v := violation("", "custody.notIssued", owner,
		"%s was never issued by this service, though its GTIN is registered here: it cannot be recorded", key)
	if r.chain.signals != nil {
		r.chain.signals.Raise(ctx, Signal{Kind: SignalForgedSerial, GTIN: gtin, Serial: serial, Owner: owner,
			Actor: r.actor, Detail: fmt.Sprintf("entity %s tried to record %s for a serial never issued", r.actor, stepName(ev))})
	}
	return &v, nil
}

// itemParts splits an item key 01/{gtin}/21/{serial}.
func itemParts(key string) (gtin, serial string, ok bool) {
	rest, ok := strings.CutPrefix(key, "01/")
	if !ok || len(rest) < 14 {
		return "", "", false
	}
	serial, ok = strings.CutPrefix(rest[14:], "/21/")
	if !ok || serial == "" {
		return "", "", false
	}
	return rest[:14], serial, true
}

// isLotKey reports whether key is a lot: 01/{gtin}/10/{lot}, without a
// serial.
func isLotKey(key string) bool {
	rest, ok := strings.CutPrefix(key, "01/")
	return ok && len(rest) > 18 && rest[14:18] == "/10/" && !strings.Contains(rest[18:], "/21/")
}

// lots applies the ownership rule to the lots an event names at class
// level, in its quantity lists (a lot as parentID is refused by the EPCIS
// rules already): a lot of a product
// registered here may be written about only by its maker or by an entity
// it was shipped to, as for serialized codes.
func (r *captureRun) lots(ctx context.Context, ev *epcis.Event) ([]CaptureError, error) {
	type ref struct{ key, ptr string }
	var refs []ref
	lists := map[string]string{"": "/quantityList", "child": "/childQuantityList", "input": "/inputQuantityList",
		"output": "/outputQuantityList"}
	index := map[string]int{}
	for _, q := range ev.Quantities {
		i := index[q.Role]
		index[q.Role]++
		if isLotKey(q.EPCClass) {
			refs = append(refs, ref{q.EPCClass, fmt.Sprintf("%s/%d/epcClass", lists[q.Role], i)})
		}
	}
	var out []CaptureError
	for _, rf := range refs {
		owner, err := r.owner(ctx, rf.key)
		if err != nil {
			return nil, err
		}
		if owner == "" || owner == r.actor {
			continue
		}
		held, err := r.shippedTo(ctx, rf.key)
		if err != nil {
			return nil, err
		}
		if !held {
			v := violation(rf.ptr, "custody.lotNotHeld", owner,
				"%s is a lot of entity %s's product: only its maker, or an entity it was shipped to, may record %s for it",
				rf.key, owner, stepName(ev))
			out = append(out, v)
		}
	}
	return out, nil
}

// maxLotEvents bounds the events read to decide whether a lot was shipped
// to the actor.
const maxLotEvents = 10_000

// shippedTo reports whether a stored event about lot, recorded by another
// entity, names the actor as its destination.
func (r *captureRun) shippedTo(ctx context.Context, lot string) (bool, error) {
	if held, ok := r.holds[lot]; ok {
		return held, nil
	}
	events, err := r.chain.store.EventsByKeys(ctx, []string{lot}, maxLotEvents)
	if err != nil {
		return false, fmt.Errorf("read events of %s: %w", lot, err)
	}
	held := slices.ContainsFunc(events, func(e StoredEvent) bool {
		return e.CapturedBy != r.actor && slices.Contains(e.Parties, "destination:"+r.actor)
	})
	r.holds[lot] = held
	return held, nil
}

// transition moves one code's state for event ev, or says which rule the
// actor broke.
func (r *captureRun) transition(ctx context.Context, s *Custody, ev *epcis.Event, role, key, dest string) *CaptureError {
	actor := r.actor
	mustHold := func() *CaptureError {
		if s.State == StateIssued {
			if s.Owner != actor {
				v := violation("", "custody.notCommissioned", s.Owner,
					"%s is not commissioned yet; only its owner may record events for it", key)
				return &v
			}
			return nil
		}
		if s.Possessor != actor {
			v := violation("", "custody.notPossessor", s.Possessor,
				"%s is held by entity %s, not by you: only the current custodian may record %s", key, s.Possessor, stepName(ev))
			return &v
		}
		return nil
	}
	commission := func() *CaptureError {
		if s.Owner != actor {
			v := violation("", "custody.commissionOwner", s.Owner,
				"%s belongs to entity %s: only the batch owner may commission its codes", key, s.Owner)
			return &v
		}
		if s.State != StateIssued {
			v := violation("", "custody.alreadyCommissioned", s.Possessor, "%s was already commissioned (state %s)", key, s.State)
			return &v
		}
		s.State, s.Possessor = StateCommissioned, actor
		return nil
	}
	switch {
	case role == RoleOutput:
		return commission()
	case ev.BizStep == "commissioning":
		return commission()
	case ev.Type == "AggregationEvent" && role == RoleParent && s.State == StateIssued && ev.Action == "ADD":
		// A new case or pallet comes into use when it is first packed.
		if s.Owner != actor {
			v := violation("", "custody.commissionOwner", s.Owner, "%s belongs to entity %s: only its owner may pack into it", key, s.Owner)
			return &v
		}
		s.State, s.Possessor = StateCommissioned, actor
		return nil
	case ev.BizStep == "receiving":
		if s.PendingTo == "" {
			v := violation("", "custody.notShipped", s.Possessor,
				"%s was not shipped to you: it is held by entity %s and no shipment is pending", key, s.Possessor)
			return &v
		}
		if s.PendingTo != actor {
			v := violation("", "custody.wrongReceiver", s.PendingTo,
				"%s was shipped to entity %s: only that party may receive it", key, s.PendingTo)
			return &v
		}
		s.Possessor, s.PendingTo = actor, ""
		if s.State != StateRecalled { // a recall hold travels with the goods
			s.State = StateInCustody
		}
		return nil
	}
	if actor == s.Owner && s.Possessor != actor && holdOnly(ev) {
		// The maker sets or lifts a recall hold wherever its goods are.
		recallHold(s, ev)
		return nil
	}
	if v := mustHold(); v != nil {
		return v
	}
	if slices.Contains(ev.PersistentDisposition.Unset, "recalled") && s.State == StateRecalled && s.Owner != actor {
		v := violation("/persistentDisposition/unset", "custody.recallUnset", s.Owner,
			"%s is held as recalled: only its maker (entity %s) or the recall's close may lift the hold", key, s.Owner)
		return &v
	}
	switch {
	case role == RoleInput:
		s.State = StateDecommissioned // consumed by the transformation
	case ev.BizStep == "shipping":
		if dest == "" {
			v := violation("/destinationList", "custody.shipDestination", s.Possessor,
				"shipping %s, a code issued here, must name the receiving party in destinationList (possessing_party or owning_party) by GLN or by %s{id}",
				key, r.chain.entityURI)
			return &v
		}
		s.PendingTo = dest
	case ev.BizStep == "retail_selling":
		if s.State == StateRecalled && !slices.Contains(ev.PersistentDisposition.Unset, "recalled") {
			if r.chain.signals != nil {
				gtin, serial, _ := itemParts(key)
				r.chain.signals.Raise(ctx, Signal{Kind: SignalRecalledSale, GTIN: gtin, Serial: serial,
					Owner: s.Owner, Actor: actor, Detail: fmt.Sprintf("entity %s tried to sell %s, which is recalled", actor, key)})
			}
			v := violation("", "custody.recalled", s.Owner,
				"%s is recalled: it must not be sold; return it to its maker (entity %s)", key, s.Owner)
			return &v
		}
		s.State = StateSold
	case ev.BizStep == "decommissioning":
		s.State = StateDecommissioned
	case ev.BizStep == "destroying":
		s.State = StateDestroyed
	case ev.Type == "AggregationEvent" && role == RoleChild && ev.Action == "ADD":
		s.Container = ev.ParentID
	case ev.Type == "AggregationEvent" && role == RoleChild && ev.Action == "DELETE":
		s.Container = ""
	}
	recallHold(s, ev)
	return nil
}

// holdOnly reports whether ev does nothing to its codes but set or lift a
// recall hold: an observation outside the custody steps.
func holdOnly(ev *epcis.Event) bool {
	touchesHold := ev.Disposition == "recalled" || slices.Contains(ev.PersistentDisposition.Set, "recalled") ||
		slices.Contains(ev.PersistentDisposition.Unset, "recalled")
	switch ev.BizStep {
	case "commissioning", "shipping", "receiving", "retail_selling", "decommissioning", "destroying":
		return false
	}
	return touchesHold && ev.Type == "ObjectEvent" && ev.Action == "OBSERVE"
}

// recallHold marks a code recalled when an event holds it as recalled
// (CBV disposition recalled, or persistentDisposition set recalled), and
// lifts the mark when persistentDisposition unsets it.
func recallHold(s *Custody, ev *epcis.Event) {
	switch {
	case ev.Disposition == "recalled" || slices.Contains(ev.PersistentDisposition.Set, "recalled"):
		s.State = StateRecalled
	case s.State == StateRecalled && slices.Contains(ev.PersistentDisposition.Unset, "recalled"):
		s.State = StateInCustody
		if s.Possessor == s.Owner {
			s.State = StateCommissioned
		}
	}
}

func stepName(ev *epcis.Event) string {
	if ev.BizStep != "" {
		return ev.BizStep + " events"
	}
	return "events"
}

// ItemKey is the canonical key of a serialized item.
func ItemKey(gtin, serial string) string {
	k, _ := gs1.Key(gs1.Elements{{AI: "01", Value: gtin}, {AI: "21", Value: serial}})
	return k
}

// CaptureJob returns capture job id to an official or to the entity that
// captured it; another entity is told it does not exist.
func (c *Chain) CaptureJob(ctx context.Context, p Principal, id string) (CaptureJob, error) {
	if err := p.Require(RoleRegulator, RoleInspector, RoleEntity); err != nil {
		return CaptureJob{}, err
	}
	j, err := c.store.CaptureJob(ctx, id)
	if err != nil {
		return CaptureJob{}, fmt.Errorf("capture job %s: %w", id, err)
	}
	if scope := p.Scope(); scope != "" && j.OwnerID != scope {
		return CaptureJob{}, fmt.Errorf("capture job %s: %w", id, ErrNotFound)
	}
	return j, nil
}

// Event returns the event with id, if p may read it; an event p may not
// read is [ErrNotFound] to it.
func (c *Chain) Event(ctx context.Context, p Principal, id string) (StoredEvent, error) {
	// In eventTime order, which holds nothing back (see RecordTimeSettle).
	events, _, err := c.Query(ctx, p, EventFilter{EventIDs: []string{id}}, ByEventTime, nil, 1)
	if err != nil {
		return StoredEvent{}, err
	}
	if len(events) == 0 {
		return StoredEvent{}, fmt.Errorf("event %s: %w", id, ErrNotFound)
	}
	return events[0], nil
}

// Query returns up to limit events matching f in order, after the cursor,
// and the cursor of the next page (nil on the last). An entity sees only
// the events it may read (see [StoredEvent.Visible]), without the
// identifiers of others' goods in events it did not capture or take part
// in (see withhold); officials see all.
func (c *Chain) Query(ctx context.Context, p Principal, f EventFilter, order EventOrder, after *EventCursor, limit int) ([]StoredEvent, *EventCursor, error) {
	if err := p.Require(RoleRegulator, RoleInspector, RoleEntity); err != nil {
		return nil, nil, err
	}
	f.VisibleTo = p.Scope()
	if c.settle > 0 && order == ByRecordTime {
		if cutoff := c.now.Now().Add(-c.settle); f.RecordTimeTo.IsZero() || f.RecordTimeTo.After(cutoff) {
			f.RecordTimeTo = cutoff
		}
	}
	events, err := c.store.QueryEvents(ctx, f, order, after, limit+1)
	if err != nil {
		return nil, nil, fmt.Errorf("query events: %w", err)
	}
	var next *EventCursor
	if len(events) > limit {
		events = events[:limit]
		last := events[limit-1]
		t := last.RecordTime
		if order == ByEventTime {
			t = last.EventTime
		}
		next = &EventCursor{Time: t, ID: last.ID}
	}
	if events, err = c.withhold(ctx, p, events); err != nil {
		return nil, nil, err
	}
	return events, next, nil
}
