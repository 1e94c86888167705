package draw

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"tracesvc/recall"
	"tracesvc/trace"
	"tracesvc/trace/access"
)

// Register is what a draw reads of the register; *trace.Registry
// implements it.
type Register interface {
	// Entities returns one page of entities matching f, and the next
	// cursor ("" on the last page).
	Entities(ctx context.Context, f trace.EntityFilter, p trace.Page) ([]trace.Entity, string, error)
	// Products returns one page of products matching f that caller may
	// see, and the next cursor.
	Products(ctx context.Context, caller trace.Principal, f trace.ProductFilter, p trace.Page) ([]trace.Product, string, error)
}

// Keys is what a draw reads of the API keys, to know the inspectors;
// *access.Service implements it.
type Keys interface {
	// Key returns key id, or an error wrapping [trace.ErrNotFound].
	Key(ctx context.Context, p trace.Principal, id string) (access.Key, error)
	// Keys returns one page of keys matching f, and the next cursor.
	Keys(ctx context.Context, caller trace.Principal, f access.KeyFilter, p trace.Page) ([]access.Key, string, error)
}

// Config is what [New] needs. Store, Register, Keys and Classes are
// required.
type Config struct {
	Store    Store
	Register Register
	Keys     Keys
	Classes  Classes
	Now      trace.Clock    // nil is the wall clock
	Location *time.Location // the regulator's time zone, for the draw date; nil is UTC
}

// Service makes, publishes and verifies draws.
type Service struct {
	cfg Config
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	return &Service{cfg: cfg}
}

// attempts is how often Create recomputes a draw whose place in the
// sequence another draw took meanwhile.
const attempts = 5

// Create makes a draw as a regulator asks and stores it. Input errors are
// [recall.ErrInvalid] naming the field; too few candidates, or a pool too
// small to keep every drawn entity's previous inspectors out, are
// [recall.ErrConflict] and store nothing.
func (s *Service) Create(ctx context.Context, p trace.Principal, in NewDraw) (Draw, error) {
	if err := p.Require(trace.RoleRegulator); err != nil {
		return Draw{}, err
	}
	in, seed, source, err := s.check(in)
	if err != nil {
		return Draw{}, err
	}
	pool, err := s.pool(ctx, in.Inspectors)
	if err != nil {
		return Draw{}, err
	}
	if len(pool) < in.InspectorsPerEntity {
		field := "inspectors"
		if len(in.Inspectors) > 0 {
			return Draw{}, invalid(field, "the pool has %d inspectors, fewer than inspectorsPerEntity (%d)", len(pool), in.InspectorsPerEntity)
		}
		return Draw{}, &trace.FieldError{Field: field, Kind: recall.ErrConflict,
			Msg: fmt.Sprintf("there are %d active inspector keys, fewer than inspectorsPerEntity (%d)", len(pool), in.InspectorsPerEntity)}
	}
	now := s.cfg.Now.Now()
	candidates, excluded, err := s.candidates(ctx, in.Filters, now)
	if err != nil {
		return Draw{}, err
	}
	if len(candidates) < in.Entities {
		return Draw{}, &trace.FieldError{Field: "entities", Kind: recall.ErrConflict,
			Msg: fmt.Sprintf("%d entities are asked for, but only %d match the filters and are rated good (%d more match but are not good)",
				in.Entities, len(candidates), excluded)}
	}
	d := Draw{Algorithm: Algorithm, Date: now.In(s.cfg.Location).Format(time.DateOnly), CreatedAt: now,
		CreatedBy: p.String(), Filters: in.Filters, Seed: hex.EncodeToString(seed), SeedSource: source,
		Candidates: candidates, CandidatesHash: HashList(candidates), Excluded: excluded,
		Inspectors: pool, InspectorsHash: HashList(pool), Entities: in.Entities, InspectorsPerEntity: in.InspectorsPerEntity}
	for range attempts {
		head, err := s.cfg.Store.LastSeq(ctx)
		if err != nil {
			return Draw{}, fmt.Errorf("draw: last draw: %w", err)
		}
		d.ID, d.Seq = trace.NewID(now), head+1
		// The entities do not depend on previous assignments: draw them
		// first, then read the previous assignments of those drawn.
		drawn := Pick(NewStream(seed), candidates, in.Entities)
		if d.Previous, err = s.previous(ctx, drawn, head); err != nil {
			return Draw{}, err
		}
		if d.Result, err = Run(d.Input(seed)); err != nil {
			return Draw{}, err
		}
		err = s.cfg.Store.CreateDraw(ctx, d)
		if errors.Is(err, recall.ErrConflict) {
			continue // another draw took this place: read the previous assignments again
		}
		if err != nil {
			return Draw{}, fmt.Errorf("draw: store draw %s: %w", d.ID, err)
		}
		return d, nil
	}
	return Draw{}, fmt.Errorf("draw: other draws kept taking this one's place; try again: %w", recall.ErrUnavailable)
}

func invalid(field, format string, args ...any) error {
	return &trace.FieldError{Field: field, Msg: fmt.Sprintf(format, args...), Kind: recall.ErrInvalid}
}

// check validates in and returns it normalized, with the seed's bytes
// and where they came from.
func (s *Service) check(in NewDraw) (NewDraw, []byte, string, error) {
	var fe *trace.FieldError
	if err := trace.CheckText("region", in.Region, false, 100); errors.As(err, &fe) {
		return in, nil, "", invalid("region", "%s", fe.Msg)
	}
	in.Region = strings.TrimSpace(in.Region)
	if in.Category != "" && !slices.Contains(trace.Categories, in.Category) {
		return in, nil, "", invalid("category", "unknown category %q", in.Category)
	}
	for i, k := range in.Kinds {
		if !slices.Contains(trace.Kinds, k) {
			return in, nil, "", invalid("kinds", "item %d: unknown kind %q", i, k)
		}
		if slices.Index(in.Kinds, k) != i {
			return in, nil, "", invalid("kinds", "kind %q is listed twice", k)
		}
	}
	in.Kinds = slices.Clone(in.Kinds)
	slices.Sort(in.Kinds)
	if in.Entities < 1 || in.Entities > MaxEntities {
		return in, nil, "", invalid("entities", "must be between 1 and %d", MaxEntities)
	}
	if in.InspectorsPerEntity == 0 {
		in.InspectorsPerEntity = DefaultInspectorsPerEntity
	}
	if in.InspectorsPerEntity < 1 || in.InspectorsPerEntity > MaxInspectorsPerEntity {
		return in, nil, "", invalid("inspectorsPerEntity", "must be between 1 and %d", MaxInspectorsPerEntity)
	}
	if len(in.Inspectors) > MaxPool {
		return in, nil, "", invalid("inspectors", "at most %d inspectors", MaxPool)
	}
	for i, id := range in.Inspectors {
		if strings.TrimSpace(id) == "" {
			return in, nil, "", invalid("inspectors", "item %d is empty", i)
		}
		if slices.Index(in.Inspectors, id) != i {
			return in, nil, "", invalid("inspectors", "inspector %q is listed twice", id)
		}
	}
	if in.Seed == "" {
		seed := make([]byte, newSeedBytes)
		_, _ = rand.Read(seed) // crypto/rand.Read never fails on supported platforms
		return in, seed, SeedGenerated, nil
	}
	seed, err := hex.DecodeString(in.Seed)
	if err != nil || len(seed) < minSeedBytes || len(seed) > maxSeedBytes {
		return in, nil, "", invalid("seed", "must be the hex of %d to %d bytes", minSeedBytes, maxSeedBytes)
	}
	return in, seed, SeedGiven, nil
}

// pool returns the inspector pool, sorted: ids, each of which must be an
// active inspector key, or every active inspector key when ids is empty.
func (s *Service) pool(ctx context.Context, ids []string) ([]string, error) {
	var pool []string
	if len(ids) > 0 {
		for i, id := range ids {
			k, err := s.cfg.Keys.Key(ctx, trace.System, id)
			if errors.Is(err, trace.ErrNotFound) {
				return nil, invalid("inspectors", "item %d: there is no key %q", i, id)
			} else if err != nil {
				return nil, fmt.Errorf("draw: inspector key %s: %w", id, err)
			}
			if k.Role != trace.RoleInspector || k.RevokedAt != nil {
				return nil, invalid("inspectors", "item %d: key %q is not an active inspector key", i, id)
			}
			pool = append(pool, id)
		}
	} else {
		page := trace.Page{Limit: trace.MaxLimit}
		for {
			keys, next, err := s.cfg.Keys.Keys(ctx, trace.System, access.KeyFilter{Role: trace.RoleInspector}, page)
			if err != nil {
				return nil, fmt.Errorf("draw: list inspector keys: %w", err)
			}
			for _, k := range keys {
				if k.RevokedAt == nil {
					pool = append(pool, k.ID)
				}
			}
			if next == "" {
				break
			}
			page.After = next
		}
	}
	slices.Sort(pool)
	return pool, nil
}

// candidates returns the IDs of the entities matching f whose class is
// good (or unrated) at at, sorted, and how many matched but were not.
func (s *Service) candidates(ctx context.Context, f Filters, at time.Time) ([]string, int, error) {
	var makers map[string]bool
	if f.Category != "" {
		makers = map[string]bool{}
		page := trace.Page{Limit: trace.MaxLimit}
		for {
			products, next, err := s.cfg.Register.Products(ctx, trace.System, trace.ProductFilter{Category: f.Category}, page)
			if err != nil {
				return nil, 0, fmt.Errorf("draw: products of category %s: %w", f.Category, err)
			}
			for _, p := range products {
				makers[p.OwnerID] = true
			}
			if next == "" {
				break
			}
			page.After = next
		}
	}
	ef := trace.EntityFilter{Region: f.Region}
	if len(f.Kinds) == 1 {
		ef.Kind = f.Kinds[0]
	}
	var out []string
	excluded := 0
	page := trace.Page{Limit: trace.MaxLimit}
	for {
		entities, next, err := s.cfg.Register.Entities(ctx, ef, page)
		if err != nil {
			return nil, 0, fmt.Errorf("draw: list entities: %w", err)
		}
		for _, e := range entities {
			if makers != nil && !makers[e.ID] {
				continue
			}
			if len(f.Kinds) > 0 && !slices.ContainsFunc(f.Kinds, e.HasKind) {
				continue
			}
			class, err := s.cfg.Classes.ClassAt(ctx, e.ID, at)
			if err != nil {
				return nil, 0, fmt.Errorf("draw: credit class of %s: %w", e.ID, err)
			}
			switch class {
			case ClassGood, ClassNotRated:
				out = append(out, e.ID)
			case ClassWarning, ClassDishonest, ClassSeriouslyDishonest:
				excluded++
			default:
				return nil, 0, fmt.Errorf("draw: entity %s has an unknown credit class %q", e.ID, class)
			}
			if len(out) > MaxCandidates {
				return nil, 0, &trace.FieldError{Field: "region", Kind: recall.ErrConflict,
					Msg: fmt.Sprintf("more than %d entities match; narrow the filters", MaxCandidates)}
			}
		}
		if next == "" {
			break
		}
		page.After = next
	}
	slices.Sort(out)
	return out, excluded, nil
}

// previous returns the previous assignments of drawn, from the draws up
// to seq head, in the order drawn.
func (s *Service) previous(ctx context.Context, drawn []string, head int64) ([]Previous, error) {
	out := []Previous{}
	for _, e := range drawn {
		p, err := s.cfg.Store.LastAssignment(ctx, e, head)
		if errors.Is(err, recall.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("draw: previous assignment of %s: %w", e, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// Get returns the draw with id, to anyone.
func (s *Service) Get(ctx context.Context, id string) (Draw, error) {
	d, err := s.cfg.Store.Draw(ctx, id)
	if err != nil {
		return Draw{}, fmt.Errorf("draw %s: %w", id, err)
	}
	return d, nil
}

// List returns one page of draws in ID (creation) order, and the next
// cursor.
func (s *Service) List(ctx context.Context, p trace.Page) ([]Draw, string, error) {
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	list, err := s.cfg.Store.ListDraws(ctx, trace.Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list draws: %w", err)
	}
	return trace.PageOf(list, p.Limit, func(d Draw) string { return d.ID })
}

// Verify re-runs the stored draw id from its stored seed, candidates,
// pool and previous assignments, and tells whether it gives the stored
// result; it also checks the stored hashes, and each previous assignment
// against the draw it came from.
func (s *Service) Verify(ctx context.Context, id string) (Verification, error) {
	d, err := s.Get(ctx, id)
	if err != nil {
		return Verification{}, err
	}
	v := Verification{DrawID: d.ID, Recomputed: []Assignment{}}
	problem := func(format string, args ...any) { v.Problems = append(v.Problems, fmt.Sprintf(format, args...)) }

	v.CandidatesHash = HashList(d.Candidates) == d.CandidatesHash && slices.IsSorted(d.Candidates)
	if !v.CandidatesHash {
		problem("the candidate list does not hash to candidatesHash, or is not sorted")
	}
	v.InspectorsHash = HashList(d.Inspectors) == d.InspectorsHash && slices.IsSorted(d.Inspectors)
	if !v.InspectorsHash {
		problem("the inspector pool does not hash to inspectorsHash, or is not sorted")
	}
	v.Previous = true
	for _, p := range d.Previous {
		ok, err := s.previousHolds(ctx, d, p)
		if err != nil {
			return Verification{}, err
		}
		if !ok {
			v.Previous = false
			problem("draw %s did not assign %v to entity %s, or is not the entity's previous draw", p.DrawID, p.Inspectors, p.EntityID)
		}
	}
	// An entity drawn with no previous assignment must have had none.
	for _, a := range d.Result {
		if slices.ContainsFunc(d.Previous, func(p Previous) bool { return p.EntityID == a.EntityID }) {
			continue
		}
		if _, err := s.cfg.Store.LastAssignment(ctx, a.EntityID, d.Seq-1); err == nil {
			v.Previous = false
			problem("entity %s was drawn before, but the draw lists no previous assignment for it", a.EntityID)
		} else if !errors.Is(err, recall.ErrNotFound) {
			return Verification{}, fmt.Errorf("draw: previous assignment of %s: %w", a.EntityID, err)
		}
	}
	seed, err := hex.DecodeString(d.Seed)
	if err != nil {
		problem("the seed is not hex")
	} else if got, err := Run(d.Input(seed)); err != nil {
		problem("the draw cannot be re-run: %v", err)
	} else {
		v.Recomputed = got
		v.Result = slices.EqualFunc(got, d.Result, func(a, b Assignment) bool {
			return a.EntityID == b.EntityID && slices.Equal(a.Inspectors, b.Inspectors)
		})
		if !v.Result {
			problem("the re-run result differs from the stored result")
		}
	}
	v.Matches = v.CandidatesHash && v.InspectorsHash && v.Previous && v.Result
	return v, nil
}

// previousHolds reports whether p is what the draw it names assigned to
// its entity, and that draw is the entity's last before d.
func (s *Service) previousHolds(ctx context.Context, d Draw, p Previous) (bool, error) {
	last, err := s.cfg.Store.LastAssignment(ctx, p.EntityID, d.Seq-1)
	if errors.Is(err, recall.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("draw: previous assignment of %s: %w", p.EntityID, err)
	}
	return last.DrawID == p.DrawID && slices.Equal(last.Inspectors, p.Inspectors), nil
}
