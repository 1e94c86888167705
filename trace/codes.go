package trace

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"tracesvc/trace/gs1"
)

// CodeState is where an item code or SSCC is in its life. Codes start
// issued; custody events move them on.
type CodeState string

// The code states.
const (
	StateIssued         CodeState = "issued"         // minted, not yet on goods
	StateCommissioned   CodeState = "commissioned"   // applied to goods by the owner
	StateInCustody      CodeState = "in_custody"     // held by a custodian (see Possessor)
	StateSold           CodeState = "sold"           // sold to a consumer at retail
	StateDecommissioned CodeState = "decommissioned" // taken out of use
	StateRecalled       CodeState = "recalled"
	StateDestroyed      CodeState = "destroyed"
)

// Code is one serialized item code: a GTIN and a serial, issued for a batch.
type Code struct {
	GTIN      string    `json:"gtin"`
	Serial    string    `json:"serial"`
	Lot       string    `json:"lot"`
	Issuance  string    `json:"issuance"` // the issuance that minted it
	Seq       string    `json:"-"`        // list position; see [CodeStore]
	State     CodeState `json:"state"`
	Possessor string    `json:"possessor,omitempty"` // entity ID of the current custodian
	Container string    `json:"container,omitempty"` // key of the case or pallet it is packed in
	IssuedAt  time.Time `json:"issuedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// SSCC is an issued Serial Shipping Container Code for a logistic unit (a
// case or a pallet), held on the entity that issued it.
type SSCC struct {
	SSCC      string    `json:"sscc"`
	OwnerID   string    `json:"ownerId"`
	Issuance  string    `json:"issuance"`
	Seq       string    `json:"-"`
	State     CodeState `json:"state"`
	Possessor string    `json:"possessor,omitempty"`
	IssuedAt  time.Time `json:"issuedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// seqs returns the list keys of the codes at positions from to from+n-1
// of an issuance: the issuance ID, a dot and the position in at least seven
// digits ("%s.%07d"). Issuance IDs are fixed-length and time-ordered, so
// seqs sort by issuance, then position. The keys are cut from one string.
func seqs(issuance string, from, n int) []string {
	buf, ends := make([]byte, 0, n*(len(issuance)+8)), make([]int, n)
	for i := range ends {
		p := from + i
		buf = append(append(buf, issuance...), '.')
		for d := 1_000_000; d > 1 && p < d; d /= 10 {
			buf = append(buf, '0')
		}
		buf = strconv.AppendInt(buf, int64(p), 10)
		ends[i] = len(buf)
	}
	all, out, start := string(buf), make([]string, n), 0
	for i, end := range ends {
		out[i], start = all[start:end], end
	}
	return out
}

// SeqRange returns the bounds [from, to) of the seqs of one issuance.
func SeqRange(issuance string) (from, to string) { return issuance + ".", issuance + "/" }

// IssuanceKind says what an issuance minted.
type IssuanceKind string

// The issuance kinds.
const (
	IssuanceItems IssuanceKind = "sgtin" // serialized item codes of a batch
	IssuanceSSCC  IssuanceKind = "sscc"  // logistic unit codes of an entity
)

// IssuanceState is how far an issuance got.
type IssuanceState string

// The issuance states.
const (
	IssuanceRunning  IssuanceState = "running" // a request is storing and sending its codes, under a [Lease]
	IssuanceComplete IssuanceState = "complete"
	// IssuanceInterrupted is an issuance that stopped before all its codes
	// were stored: the client went away, the service stopped, or its
	// process died (marked at the next start, see
	// [Codes.InterruptAbandoned]). The codes stored so far stay stored.
	IssuanceInterrupted IssuanceState = "interrupted"
)

// Issuance records one request to mint codes: how many were asked for and
// how many are stored. An interrupted issuance is completed by repeating
// the request with the same Idempotency-Key.
//
// Issued is recorded after each stored chunk, so after a crash it may lag
// what is stored by the chunk that was in flight; a resumed issuance counts
// its stored codes again before it goes on.
type Issuance struct {
	ID             string        `json:"id"`
	Kind           IssuanceKind  `json:"kind"`
	OwnerID        string        `json:"ownerId"`
	GTIN           string        `json:"gtin,omitempty"`
	Lot            string        `json:"lot,omitempty"`
	Requested      int           `json:"requested"`
	Issued         int           `json:"issued"`
	State          IssuanceState `json:"state"`
	IdempotencyKey string        `json:"idempotencyKey,omitempty"`
	Lease          Lease         `json:"lease,omitzero"` // set while running
	CreatedAt      time.Time     `json:"createdAt"`
	UpdatedAt      time.Time     `json:"updatedAt"`
}

// Lease says which request streams a running issuance, and until when.
// The request renews it while it runs. A running issuance whose lease has
// ended was abandoned (its process died or hung), and a repeat of the
// request may take it over.
type Lease struct {
	Instance string    `json:"-"`     // the process holding it (see [CodesConfig.Instance])
	Holder   string    `json:"-"`     // the request holding it: unique to each claim
	Until    time.Time `json:"until"` // when it ends unless renewed
}

// Live reports whether the lease is held at t.
func (l Lease) Live(t time.Time) bool { return l.Holder != "" && t.Before(l.Until) }

// IssuanceUpdate is what the holder of a running issuance records with
// [CodeStore.UpdateIssuance].
type IssuanceUpdate struct {
	Issued     int           // codes stored so far
	State      IssuanceState // running while it goes on; complete or interrupted at the end
	LeaseUntil time.Time     // the renewed lease while running; ignored otherwise, as the lease ends
	At         time.Time
}

// InProgressError is the answer to a repeated request whose issuance
// another request is streaming under a live lease. It wraps [ErrConflict].
type InProgressError struct {
	Issuance   string        // the issuance ID
	RetryAfter time.Duration // until the lease ends, unless its holder renews it
}

// Error implements error.
func (e *InProgressError) Error() string {
	return fmt.Sprintf("issuance %s is in progress in another request; repeat this request with the same "+
		"Idempotency-Key once that one has ended, to resume it", e.Issuance)
}

// Unwrap returns [ErrConflict].
func (e *InProgressError) Unwrap() error { return ErrConflict }

// CodeFilter selects the codes of a batch, optionally of one issuance.
type CodeFilter struct {
	GTIN     string
	Lot      string
	Issuance string
	// Moved keeps only the codes some custody event named (their custody
	// version is above 0); Unmoved only those no event named yet, which
	// are still issued. Neither: all.
	Moved, Unmoved bool
}

// SSCCFilter selects an entity's SSCCs, optionally of one issuance.
type SSCCFilter struct {
	OwnerID  string
	Issuance string
}

// CodeStore is the storage [Codes] needs.
//
// On insert, Seq holds the code's position key: its issuance ID and its
// position in the issuance (see [SeqRange]). List methods return codes in
// that order or in insertion order (the same order, since the service
// inserts an issuance's codes in position order, but for the rare code
// whose random serial clashed and was drawn again), and fill Seq with the
// store's own cursor, after which [Page.After] resumes.
type CodeStore interface {
	// CreateIssuance stores a new issuance, with its lease; [ErrConflict]
	// when the owner already used its non-empty IdempotencyKey.
	CreateIssuance(ctx context.Context, is Issuance) error
	// Issuance returns issuance id, or [ErrNotFound].
	Issuance(ctx context.Context, id string) (Issuance, error)
	// IssuanceByKey finds an owner's issuance by idempotency key, or [ErrNotFound].
	IssuanceByKey(ctx context.Context, ownerID, key string) (Issuance, error)
	// ClaimIssuance gives lease l on issuance id and sets it running, if
	// it is interrupted, or running under a lease that ended by at. It
	// returns the issuance as stored afterwards. A complete issuance is
	// returned as stored, unclaimed, with no error; one whose lease is live
	// at at is returned as stored with an error wrapping [ErrConflict].
	// [ErrNotFound] when there is no such issuance.
	ClaimIssuance(ctx context.Context, id string, l Lease, at time.Time) (Issuance, error)
	// UpdateIssuance records the progress of a running issuance that
	// holder holds, renewing its lease while it stays running and ending
	// it otherwise. [ErrConflict] when holder no longer holds it (another
	// request took it over, or it was interrupted at a start);
	// [ErrNotFound] when there is no such issuance.
	UpdateIssuance(ctx context.Context, id, holder string, u IssuanceUpdate) error
	// RenewLease extends the lease that holder holds on running issuance
	// id to until; errors as UpdateIssuance.
	RenewLease(ctx context.Context, id, holder string, until time.Time) error
	// InterruptIssuances marks interrupted, ending their leases, the running
	// issuances whose lease ended by at, and those whose lease instance
	// holds: an earlier process of that instance, as the current one has
	// claimed none yet. It returns how many it marked.
	InterruptIssuances(ctx context.Context, instance string, at time.Time) (int, error)
	// CountIssued counts the codes stored for issuance is (item codes of
	// its batch, or SSCCs of its owner, by its Kind) and returns the
	// greatest of their position keys (see [SeqRange]), "" when none.
	CountIssued(ctx context.Context, is Issuance) (n int, last string, err error)

	// InsertCodes stores codes and returns the positions (in codes) of
	// those whose serial is already taken under their GTIN; those are not
	// stored. The rest are stored durably when it returns, and codes is
	// the caller's again (the service reuses it for its next chunk).
	InsertCodes(ctx context.Context, codes []Code) (taken []int, err error)
	Code(ctx context.Context, gtin, serial string) (Code, error)
	ListCodes(ctx context.Context, f CodeFilter, p Page) ([]Code, error)
	// CountCodes counts the codes of batch (gtin, lot): all of them, and
	// those some custody event named (see [CodeFilter].Moved).
	CountCodes(ctx context.Context, gtin, lot string) (all, moved int, err error)

	// InsertSSCCs is InsertCodes for SSCCs, which are unique service-wide.
	InsertSSCCs(ctx context.Context, s []SSCC) (taken []int, err error)
	SSCC(ctx context.Context, sscc string) (SSCC, error)
	ListSSCCs(ctx context.Context, f SSCCFilter, p Page) ([]SSCC, error)
}

// Issued is one freshly minted code as a client receives it.
type Issued struct {
	Serial string // the serial, or the SSCC
	URI    string // its GS1 Digital Link URI on the service's base URL
}

// Emit receives each chunk of codes once it is stored, with the issuance
// it belongs to. An error from it stops the issuance.
type Emit func(is Issuance, codes []Issued) error

// MaxIssue is the most codes one request may mint.
const MaxIssue = 1_000_000

// Codes mints serialized item codes and SSCCs and reads them back.
type Codes struct {
	store     CodeStore
	register  Register
	now       Clock
	gates     gates
	baseURL   string
	serialLen int
	chunk     int
	instance  string
	lease     time.Duration
}

// CodesConfig configures [NewCodes].
type CodesConfig struct {
	BaseURL      string // public origin of Digital Link URIs
	SerialLength int    // 0 means DefaultSerialLength
	Chunk        int    // codes stored per write; 0 means 100,000
	Now          Clock
	Gates        []Gate // rule on issuing codes (see [ActIssueCodes])
	// Instance names this process among those sharing the store, the same
	// across its restarts where it can be (its data folder, its pod): at
	// start, [Codes.InterruptAbandoned] marks the issuances an earlier
	// process of the same instance left running at once, rather than when
	// their leases end. Two live processes must not share a name. Empty
	// means a name of its own.
	Instance string
	// Lease is how long a running issuance stays held by its request
	// without a renewal; 0 means 30 seconds. The request renews it three
	// times per period while it runs.
	Lease time.Duration
}

// DefaultLease is the lease of a running issuance unless configured.
const DefaultLease = 30 * time.Second

// NewCodes returns the code service.
func NewCodes(store CodeStore, register Register, cfg CodesConfig) (*Codes, error) {
	if cfg.SerialLength == 0 {
		cfg.SerialLength = DefaultSerialLength
	}
	if _, err := NewSerialSource(cfg.SerialLength); err != nil {
		return nil, err
	}
	if cfg.Chunk <= 0 {
		cfg.Chunk = 100_000
	}
	if cfg.Instance == "" {
		cfg.Instance = "process-" + NewID(cfg.Now.Now())
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	return &Codes{store: store, register: register, now: cfg.Now, gates: cfg.Gates,
		baseURL: strings.TrimRight(cfg.BaseURL, "/"), serialLen: cfg.SerialLength, chunk: cfg.Chunk,
		instance: cfg.Instance, lease: cfg.Lease}, nil
}

// InterruptAbandoned marks interrupted the running issuances that no live
// request streams: those whose lease has ended, and those an earlier
// process of this instance held (see [CodesConfig.Instance]). A process
// calls it at start, before it serves; it returns how many it marked.
func (c *Codes) InterruptAbandoned(ctx context.Context) (int, error) {
	n, err := c.store.InterruptIssuances(ctx, c.instance, c.now.Now())
	if err != nil {
		return 0, fmt.Errorf("interrupt abandoned issuances: %w", err)
	}
	return n, nil
}

// IssueRequest asks for Count item codes for the batch (GTIN, Lot).
type IssueRequest struct {
	GTIN, Lot      string
	Count          int
	IdempotencyKey string
}

func checkCount(n int) error {
	if n < 1 || n > MaxIssue {
		return Invalid("count", "must be between 1 and %d", MaxIssue)
	}
	return nil
}

func checkIdempotencyKey(k string) error {
	if len(k) > 200 {
		return Invalid("idempotencyKey", "must be at most 200 characters")
	}
	return CheckText("idempotencyKey", k, false, 200)
}

// Issue mints req.Count serialized codes for a batch the actor owns. Codes
// are stored chunk by chunk; after each chunk is durable, its count is
// recorded and emit receives its codes. If emit fails or ctx ends (the
// client went away), the codes stored so far stay stored and listable, and
// the issuance is marked interrupted; if the process dies, its lease ends
// and it is marked at the next start. Repeating the request with the same
// idempotency key resumes an interrupted (or abandoned) issuance: it emits
// the stored codes again and mints the rest, up to exactly req.Count. A
// repeat while another request streams it is an [*InProgressError]. A
// repeat of a completed issuance emits its codes again and mints none.
func (c *Codes) Issue(ctx context.Context, p Principal, req IssueRequest, emit Emit) (Issuance, error) {
	if err := p.Require(RoleEntity); err != nil {
		return Issuance{}, err
	}
	if err := checkCount(req.Count); err != nil {
		return Issuance{}, err
	}
	if err := checkIdempotencyKey(req.IdempotencyKey); err != nil {
		return Issuance{}, err
	}
	b, err := c.register.Batch(ctx, req.GTIN, req.Lot)
	if err != nil {
		return Issuance{}, err
	}
	if b.OwnerID != p.EntityID {
		return Issuance{}, fmt.Errorf("batch %s/%s belongs to another entity: %w", b.GTIN, b.Lot, ErrForbidden)
	}
	if err := c.gates.allow(ctx, p.EntityID, ActIssueCodes, nil); err != nil {
		return Issuance{}, err
	}
	items := linkElements{of: ItemElements(b, ""), vary: 2} // (21) is the third, see ItemElements
	is := Issuance{Kind: IssuanceItems, OwnerID: b.OwnerID, GTIN: b.GTIN, Lot: b.Lot, Requested: req.Count,
		IdempotencyKey: req.IdempotencyKey}
	// The rows handed to the store are made when a chunk is stored, in
	// one list that every chunk reuses (one chunk is stored at a time):
	// a drawn chunk waiting for its turn holds only its serials, list
	// keys and links.
	var rows []Code
	return c.run(ctx, is, emit, mintFuncs{
		replay: func(ctx context.Context, id string, p Page) ([]Issued, string, error) {
			codes, err := c.store.ListCodes(ctx, CodeFilter{GTIN: b.GTIN, Lot: b.Lot, Issuance: id}, p)
			if err != nil {
				return nil, "", err
			}
			out := make([]Issued, len(codes))
			for i, cd := range codes {
				out[i].Serial = cd.Serial
			}
			if err := c.linkAll(out, items); err != nil || len(codes) == 0 {
				return out, "", err
			}
			return out, codes[len(codes)-1].Seq, nil
		},
		draw: func(id string, from, n int, now time.Time, src *SerialSource) storeFunc {
			// Serials are sorted before they get positions: the store's
			// uniqueness index then takes them in order, page by page.
			serials := make([]string, n)
			src.Fill(serials)
			slices.Sort(serials)
			out, pos := make([]Issued, n), seqs(id, from, n)
			for i, sn := range serials {
				out[i].Serial = sn
			}
			linkErr := c.linkAll(out, items)
			return func(ctx context.Context, redraw *SerialSource) ([]Issued, error) {
				if linkErr != nil {
					return nil, linkErr
				}
				rows = slices.Grow(rows[:0], n)[:n]
				codes := rows
				for i := range codes {
					codes[i] = Code{GTIN: b.GTIN, Serial: out[i].Serial, Lot: b.Lot, Issuance: id, Seq: pos[i],
						State: StateIssued, IssuedAt: now, UpdatedAt: now}
				}
				return out, insertRedrawing(codes, func(cs []Code) ([]int, error) { return c.store.InsertCodes(ctx, cs) },
					func(i int) error {
						codes[i].Serial = redraw.Next()
						out[i].Serial = codes[i].Serial
						return c.linkAll(out[i:i+1], items)
					})
			}
		},
	})
}

// linkAll sets the URI of each code in out from its serial, which is the
// value of element e.vary of its link (e.of holds the others). The links
// are made from one template and cut from one string.
func (c *Codes) linkAll(out []Issued, e linkElements) error {
	if len(out) == 0 {
		return nil
	}
	of := slices.Clone(e.of)
	of[e.vary].Value = out[0].Serial
	t, err := gs1.NewLinkTemplate(c.baseURL, of, e.vary)
	if err != nil {
		return err
	}
	var buf []byte
	ends := make([]int, len(out))
	for i := range out {
		if buf, err = t.Append(buf, out[i].Serial); err != nil {
			return err
		}
		if i == 0 {
			buf = slices.Grow(buf, len(buf)*(len(out)-1)) // the others are about as long
		}
		ends[i] = len(buf)
	}
	all, start := string(buf), 0
	for i, end := range ends {
		out[i].URI, start = all[start:end], end
	}
	return nil
}

// linkElements are the GS1 elements of the links of a kind of code: the
// serial (or SSCC) is the value of of[vary].
type linkElements struct {
	of   gs1.Elements
	vary int
}

// insertRedrawing stores items with insert, which reports the positions
// whose key is already taken. Those get a fresh random key from redraw
// (given their position in items) and are inserted again, until none clash.
func insertRedrawing[T any](items []T, insert func([]T) ([]int, error), redraw func(i int) error) error {
	todo := make([]int, len(items)) // positions in items of batch
	for i := range todo {
		todo[i] = i
	}
	batch := items
	for round := 0; ; round++ {
		taken, err := insert(batch)
		if err != nil {
			return err
		}
		if len(taken) == 0 {
			return nil
		}
		if round == 100 {
			return fmt.Errorf("%d serials still clash after %d draws: the serial space is exhausted", len(taken), round)
		}
		nextTodo, nextBatch := make([]int, len(taken)), make([]T, len(taken))
		for j, k := range taken {
			i := todo[k]
			if err := redraw(i); err != nil {
				return err
			}
			nextTodo[j], nextBatch[j] = i, items[i]
		}
		todo, batch = nextTodo, nextBatch
	}
}

// mintFuncs is what differs between item codes and SSCCs.
type mintFuncs struct {
	// replay lists one page of the codes an issuance already stored.
	replay func(ctx context.Context, id string, p Page) ([]Issued, string, error)
	// draw makes n new codes for positions from.. of issuance id, and
	// their links, not yet stored: it runs while the chunk before is
	// being stored and sent.
	draw func(id string, from, n int, now time.Time, src *SerialSource) storeFunc
}

// storeFunc stores the codes a draw made, redrawing from redraw the
// serials already taken, and returns them as the client receives them.
type storeFunc func(ctx context.Context, redraw *SerialSource) ([]Issued, error)

// errLeaseLost stops a request whose issuance another request took over
// (it stalled past its lease).
var errLeaseLost = fmt.Errorf("the issuance was taken over by another request: %w", ErrConflict)

// run drives an issuance: create it, or claim it to resume it, then hold
// it to the end.
func (c *Codes) run(ctx context.Context, is Issuance, emit Emit, f mintFuncs) (Issuance, error) {
	now := c.now.Now()
	lease := Lease{Instance: c.instance, Holder: c.instance + "#" + NewID(now), Until: now.Add(c.lease)}
	if is.IdempotencyKey != "" {
		prev, err := c.store.IssuanceByKey(ctx, is.OwnerID, is.IdempotencyKey)
		switch {
		case err == nil:
			if prev.Kind != is.Kind || prev.GTIN != is.GTIN || prev.Lot != is.Lot || prev.Requested != is.Requested {
				return Issuance{}, Conflict("idempotencyKey", "was already used for a different request (issuance %s)", prev.ID)
			}
			claimed, err := c.store.ClaimIssuance(ctx, prev.ID, lease, now)
			switch {
			case errors.Is(err, ErrConflict):
				claimed.ID = prev.ID
				return Issuance{}, c.inProgress(claimed, now)
			case err != nil:
				return Issuance{}, fmt.Errorf("claim issuance %s: %w", prev.ID, err)
			case claimed.State == IssuanceComplete:
				// Nothing is minted, so no lease is needed to send it again.
				_, err := c.replay(ctx, claimed, emit, f.replay)
				return claimed, err
			}
			return c.hold(ctx, claimed, true, emit, f)
		case !errors.Is(err, ErrNotFound):
			return Issuance{}, fmt.Errorf("find issuance by Idempotency-Key: %w", err)
		}
	}
	is.ID, is.State, is.Lease, is.CreatedAt, is.UpdatedAt = NewID(now), IssuanceRunning, lease, now, now
	if err := c.store.CreateIssuance(ctx, is); err != nil {
		if !errors.Is(err, ErrConflict) {
			return Issuance{}, fmt.Errorf("create issuance: %w", err)
		}
		// A concurrent request with the same key created it first.
		won, err := c.store.IssuanceByKey(ctx, is.OwnerID, is.IdempotencyKey)
		if err != nil {
			return Issuance{}, Conflict("idempotencyKey", "a request with this key is already running")
		}
		return Issuance{}, c.inProgress(won, now)
	}
	return c.hold(ctx, is, false, emit, f)
}

// inProgress is the answer to a request for issuance is, which another
// request holds.
func (c *Codes) inProgress(is Issuance, now time.Time) error {
	wait := is.Lease.Until.Sub(now)
	if wait < time.Second {
		wait = time.Second
	}
	return &InProgressError{Issuance: is.ID, RetryAfter: wait}
}

// hold streams issuance is, whose lease it holds, to the end: it emits
// again what a resumed issuance stored, mints the rest chunk by chunk, and
// records the count after each stored chunk, renewing the lease meanwhile.
func (c *Codes) hold(ctx context.Context, is Issuance, resumed bool, emit Emit, f mintFuncs) (Issuance, error) {
	holder := is.Lease.Holder
	ctx, stop := c.keepLease(ctx, is.ID, holder)
	issued, next := 0, 0 // codes stored, and the position of the next one
	finish := func(state IssuanceState, cause error) (Issuance, error) {
		stop()
		at := c.now.Now()
		err := c.store.UpdateIssuance(context.WithoutCancel(ctx), is.ID, holder,
			IssuanceUpdate{Issued: issued, State: state, At: at})
		is.Issued, is.State, is.Lease, is.UpdatedAt = issued, state, Lease{}, at
		if err != nil {
			return is, errors.Join(cause, fmt.Errorf("record issuance %s: %w", is.ID, err))
		}
		return is, cause
	}
	progress := func() error {
		at := c.now.Now()
		u := IssuanceUpdate{Issued: issued, State: IssuanceRunning, LeaseUntil: at.Add(c.lease), At: at}
		if err := c.store.UpdateIssuance(ctx, is.ID, holder, u); err != nil {
			return fmt.Errorf("record progress of issuance %s: %w", is.ID, err)
		}
		is.Issued, is.Lease.Until, is.UpdatedAt = issued, u.LeaseUntil, at
		return nil
	}
	if resumed {
		// The recorded count may lag what is stored by the chunk that was
		// in flight when the process died; the stored codes say.
		n, last, err := c.store.CountIssued(ctx, is)
		if err != nil {
			return finish(IssuanceInterrupted, fmt.Errorf("count the stored codes of issuance %s: %w", is.ID, err))
		}
		issued, next = n, n
		if p, ok := position(is.ID, last); ok {
			next = max(next, p+1) // a chunk stored in part leaves gaps (MongoDB)
		}
		if err := progress(); err != nil {
			return finish(IssuanceInterrupted, err)
		}
		if _, err := c.replay(ctx, is, emit, f.replay); err != nil {
			return finish(IssuanceInterrupted, err)
		}
	}
	// The next chunk is drawn (random serials, sorted, and their links:
	// no store write) while this one is stored and sent; it is stored
	// only once this one is sent, so a client that stops reading stops
	// the minting. Serials clashing with stored ones are drawn again from
	// a source of their own, as src is in use by the next draw meanwhile.
	src, _ := NewSerialSource(c.serialLen) // length checked in NewCodes
	redraw, _ := NewSerialSource(c.serialLen)
	drawn := make(chan storeFunc, 1)
	// Chunks start at a tenth of the full size and double up to it, so
	// that the first codes (and the answer's headers, with the issuance's
	// id) go out soon and issued counts up early; a million codes take
	// three more writes for it.
	size, n := max(c.chunk/10, 1), 0 // the next chunk's size, and the drawn one's
	drawNext := func(from, left int) {
		n = min(size, left)
		size = min(2*size, c.chunk)
		go func(n int) { drawn <- f.draw(is.ID, from, n, c.now.Now(), src) }(n)
	}
	drawNext(next, is.Requested-issued)
	pending := true
	defer func() {
		if pending {
			<-drawn // the source is not left to a draw still running
		}
	}()
	for first := true; issued < is.Requested; first = false {
		if ctx.Err() != nil {
			return finish(IssuanceInterrupted, context.Cause(ctx))
		}
		// Renewing the lease before each chunk also checks it is still
		// held: a request that stalled past it stores no more codes.
		if !first {
			if err := progress(); err != nil {
				return finish(IssuanceInterrupted, err)
			}
		}
		store, count := <-drawn, n
		pending = false
		if left := is.Requested - issued - count; left > 0 {
			drawNext(next+count, left)
			pending = true
		}
		out, err := store(ctx, redraw)
		if err != nil {
			return finish(IssuanceInterrupted, err)
		}
		issued, next = issued+count, next+count
		if err := progress(); err != nil {
			return finish(IssuanceInterrupted, err)
		}
		if err := emit(is, out); err != nil {
			return finish(IssuanceInterrupted, err)
		}
	}
	return finish(IssuanceComplete, nil)
}

// keepLease renews holder's lease on issuance id three times per lease
// period, until stop is called. The context it returns ends when the lease
// is lost, so that the request stops minting.
func (c *Codes) keepLease(ctx context.Context, id, holder string) (_ context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(max(c.lease/3, time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			err := c.store.RenewLease(ctx, id, holder, c.now.Now().Add(c.lease))
			if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
				cancel(fmt.Errorf("issuance %s: %w", id, errLeaseLost))
				return
			}
			// Any other error (a store that does not answer) is tried
			// again at the next tick: the lease outlasts two misses.
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			close(quit)
			<-done
			cancel(nil)
		})
	}
}

// replay emits the codes issuance is stored, in order, page by page, and
// returns how many it sent.
func (c *Codes) replay(ctx context.Context, is Issuance, emit Emit, list func(context.Context, string, Page) ([]Issued, string, error)) (int, error) {
	n, after := 0, ""
	for {
		page, next, err := list(ctx, is.ID, Page{Limit: c.chunk, After: after})
		if err != nil {
			return n, fmt.Errorf("list the stored codes of issuance %s: %w", is.ID, err)
		}
		if len(page) > 0 {
			if err := emit(is, page); err != nil {
				return n, err
			}
		}
		n += len(page)
		if len(page) < c.chunk {
			return n, nil
		}
		after = next
	}
}

// position parses the position of seq, a position key of issuance id.
func position(id, seq string) (int, bool) {
	rest, ok := strings.CutPrefix(seq, id+".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil && n >= 0
}

// SSCCRequest asks for Count SSCCs for the caller's logistic units.
type SSCCRequest struct {
	Count          int
	Extension      int // the SSCC extension digit, 0–9, chosen by the issuer
	IdempotencyKey string
}

// IssueSSCCs mints SSCCs under the actor's GS1 company prefix, with random
// serial references. It streams and resumes like [Codes.Issue].
func (c *Codes) IssueSSCCs(ctx context.Context, p Principal, req SSCCRequest, emit Emit) (Issuance, error) {
	if err := p.Require(RoleEntity); err != nil {
		return Issuance{}, err
	}
	if err := checkCount(req.Count); err != nil {
		return Issuance{}, err
	}
	if err := checkIdempotencyKey(req.IdempotencyKey); err != nil {
		return Issuance{}, err
	}
	if req.Extension < 0 || req.Extension > 9 {
		return Issuance{}, Invalid("extension", "must be a digit 0–9")
	}
	owner, err := c.register.Entity(ctx, p.EntityID)
	if err != nil {
		return Issuance{}, err
	}
	if err := c.gates.allow(ctx, owner.ID, ActIssueCodes, nil); err != nil {
		return Issuance{}, err
	}
	gcp := owner.CompanyPrefix
	if gcp == "" {
		return Issuance{}, Invalid("companyPrefix", "the entity has no GS1 company prefix; a regulator must record it before SSCCs can be issued")
	}
	refDigits := 16 - len(gcp)
	if space := pow10(refDigits); req.Count > space/10 {
		return Issuance{}, Invalid("count", "a %d-digit company prefix leaves room for %d SSCCs per extension digit; ask for at most %d at once",
			len(gcp), space, space/10)
	}
	ext := byte('0' + req.Extension)
	ssccs := linkElements{of: gs1.Elements{{AI: "00"}}}
	is := Issuance{Kind: IssuanceSSCC, OwnerID: owner.ID, Requested: req.Count, IdempotencyKey: req.IdempotencyKey}
	return c.run(ctx, is, emit, mintFuncs{
		replay: func(ctx context.Context, id string, p Page) ([]Issued, string, error) {
			list, err := c.store.ListSSCCs(ctx, SSCCFilter{OwnerID: owner.ID, Issuance: id}, p)
			if err != nil || len(list) == 0 {
				return nil, "", err
			}
			out := make([]Issued, len(list))
			for i, s := range list {
				out[i].Serial = s.SSCC
			}
			return out, list[len(list)-1].Seq, c.linkAll(out, ssccs)
		},
		draw: func(id string, from, n int, now time.Time, _ *SerialSource) storeFunc {
			draw := func(s *SSCC) {
				s.SSCC, _ = gs1.NewSSCC(ext, gcp, randomDigits(refDigits)) // inputs are valid by construction
			}
			list := make([]SSCC, n)
			for i := range list {
				draw(&list[i])
			}
			slices.SortFunc(list, func(a, b SSCC) int { return strings.Compare(a.SSCC, b.SSCC) })
			out, pos := make([]Issued, n), seqs(id, from, n)
			for i := range list {
				list[i].OwnerID, list[i].Issuance, list[i].Seq = owner.ID, id, pos[i]
				list[i].State, list[i].IssuedAt, list[i].UpdatedAt = StateIssued, now, now
				out[i].Serial = list[i].SSCC
			}
			linkErr := c.linkAll(out, ssccs)
			return func(ctx context.Context, _ *SerialSource) ([]Issued, error) {
				if linkErr != nil {
					return nil, linkErr
				}
				return out, insertRedrawing(list, func(l []SSCC) ([]int, error) { return c.store.InsertSSCCs(ctx, l) },
					func(i int) error {
						draw(&list[i])
						out[i].Serial = list[i].SSCC
						return c.linkAll(out[i:i+1], ssccs)
					})
			}
		},
	})
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

// ItemElements returns the GS1 elements of a serialized item of batch b:
// (01), (10), (21), and (17) when the batch has an expiry date.
func ItemElements(b Batch, serial string) gs1.Elements {
	e := gs1.Elements{{AI: "01", Value: b.GTIN}, {AI: "10", Value: b.Lot}, {AI: "21", Value: serial}}
	if b.ExpiryDate != "" { // YYYY-MM-DD → YYMMDD
		e = append(e, gs1.Element{AI: "17", Value: b.ExpiryDate[2:4] + b.ExpiryDate[5:7] + b.ExpiryDate[8:10]})
	}
	return e
}

func (c *Codes) itemLink(b Batch, serial string) (string, error) {
	return gs1.BuildDigitalLink(c.baseURL, ItemElements(b, serial))
}

// randomDigits draws n uniform random decimal digits from crypto/rand.
func randomDigits(n int) string {
	var b [1]byte
	out := make([]byte, n)
	for i := 0; i < n; {
		_, _ = rand.Read(b[:])
		if b[0] < 250 { // 250 = 25*10: reject the rest to keep digits uniform
			out[i] = '0' + b[0]%10
			i++
		}
	}
	return string(out)
}

// Issuance returns issuance id to an official or to the entity that owns
// it. Another entity is told it does not exist: its issuances are not that
// entity's business. A running issuance whose lease has ended is reported
// interrupted.
func (c *Codes) Issuance(ctx context.Context, p Principal, id string) (Issuance, error) {
	if err := p.Require(RoleRegulator, RoleInspector, RoleEntity); err != nil {
		return Issuance{}, err
	}
	is, err := c.store.Issuance(ctx, id)
	if err != nil {
		return Issuance{}, fmt.Errorf("issuance %s: %w", id, err)
	}
	if scope := p.Scope(); scope != "" && is.OwnerID != scope {
		return Issuance{}, fmt.Errorf("issuance %s: %w", id, ErrNotFound)
	}
	if is.State == IssuanceRunning && !is.Lease.Live(c.now.Now()) {
		// Nothing streams it any more: its process died or hung, and the
		// next start or a repeated request will say so in the store too.
		is.State, is.Lease = IssuanceInterrupted, Lease{}
	}
	return is, nil
}

// CodeView is a listed code with its Digital Link URI.
type CodeView struct {
	Code
	URI string `json:"uri"`
}

// BatchCodes returns one page of the codes of a batch (of one issuance when
// issuance is set): any batch's to officials, an entity's own only.
func (c *Codes) BatchCodes(ctx context.Context, caller Principal, gtin, lot, issuance string, p Page) ([]CodeView, string, error) {
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	return c.batchCodes(ctx, caller, gtin, lot, issuance, p)
}

// AllBatchCodes is BatchCodes without the page size limit, for streaming
// exports: it returns up to limit codes.
func (c *Codes) AllBatchCodes(ctx context.Context, caller Principal, gtin, lot, issuance string, limit int, after string) ([]CodeView, string, error) {
	return c.batchCodes(ctx, caller, gtin, lot, issuance, Page{Limit: limit, After: after})
}

func (c *Codes) batchCodes(ctx context.Context, caller Principal, gtin, lot, issuance string, p Page) ([]CodeView, string, error) {
	if err := caller.Require(RoleRegulator, RoleInspector, RoleEntity); err != nil {
		return nil, "", err
	}
	b, err := c.register.Batch(ctx, gtin, lot)
	if err != nil {
		return nil, "", err
	}
	if scope := caller.Scope(); scope != "" && b.OwnerID != scope {
		return nil, "", fmt.Errorf("batch %s/%s belongs to another entity: %w", b.GTIN, b.Lot, ErrForbidden)
	}
	f := CodeFilter{GTIN: b.GTIN, Lot: b.Lot, Issuance: issuance}
	codes, err := c.store.ListCodes(ctx, f, Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list codes of %s/%s: %w", b.GTIN, b.Lot, err)
	}
	codes, next, _ := PageOf(codes, p.Limit, func(c Code) string { return c.Seq })
	out := make([]CodeView, len(codes))
	for i, cd := range codes {
		uri, err := c.itemLink(b, cd.Serial)
		if err != nil {
			return nil, "", err
		}
		out[i] = CodeView{Code: cd, URI: uri}
	}
	return out, next, nil
}

// SSCCView is a listed SSCC with its Digital Link URI.
type SSCCView struct {
	SSCC
	URI string `json:"uri"`
}

// SSCCs returns one page of an entity's SSCCs, of one issuance when set.
// An entity lists its own; an official names the owner.
func (c *Codes) SSCCs(ctx context.Context, caller Principal, ownerID, issuance string, p Page) ([]SSCCView, string, error) {
	if err := caller.Require(RoleRegulator, RoleInspector, RoleEntity); err != nil {
		return nil, "", err
	}
	if caller.Role == RoleEntity {
		ownerID = caller.EntityID
	} else if ownerID == "" {
		return nil, "", Invalid("ownerId", "is required for officials")
	}
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	list, err := c.store.ListSSCCs(ctx, SSCCFilter{OwnerID: ownerID, Issuance: issuance}, Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list SSCCs of %s: %w", ownerID, err)
	}
	list, next, _ := PageOf(list, p.Limit, func(s SSCC) string { return s.Seq })
	out := make([]SSCCView, len(list))
	for i, s := range list {
		uri, err := gs1.BuildDigitalLink(c.baseURL, gs1.Elements{{AI: "00", Value: s.SSCC}})
		if err != nil {
			return nil, "", err
		}
		out[i] = SSCCView{SSCC: s, URI: uri}
	}
	return out, next, nil
}
