// Package draw runs the "two randoms" random inspection draw: market
// entities drawn at random, from those whose credit class is good on the
// draw date only, and inspectors drawn at random for each of them, never
// one who inspected the same entity in its previous draw. The draw is
// seeded and its algorithm ([Run]) is published, so that anyone holding a
// draw's seed, candidate list, inspector pool and previous assignments
// can re-run it; [Service.Verify] does so for a stored draw.
//
// It reads the register through trace and the inspectors' keys through
// trace/access, and asks for classes through [Classes], which cmd wires to
// the credit record. Its errors wrap the recall domain's sentinels.
package draw

import (
	"context"
	"time"

	"tracesvc/trace"
)

// The credit classes [Classes] answers. Only entities rated [ClassGood],
// or not rated at all ([ClassNotRated]), are drawn.
const (
	ClassNotRated           = ""
	ClassGood               = "good"
	ClassWarning            = "warning"
	ClassDishonest          = "dishonest"
	ClassSeriouslyDishonest = "seriously_dishonest"
)

// Classes answers an entity's credit class on a date. The credit record
// (recall/credit) implements it; cmd wires it.
type Classes interface {
	// ClassAt returns the class of entityID at at: one of "good",
	// "warning", "dishonest", "seriously_dishonest", or "" when the entity
	// is not rated, which counts as good.
	ClassAt(ctx context.Context, entityID string, at time.Time) (string, error)
}

// Filters choose the entities a draw may draw: all of them hold. Empty
// fields match every entity.
type Filters struct {
	// Region is an entity's exact region.
	Region string `json:"region,omitempty"`
	// Category keeps entities that own at least one registered product
	// of it.
	Category trace.Category `json:"category,omitempty"`
	// Kinds keeps entities having any of them.
	Kinds []trace.Kind `json:"kinds,omitempty"`
}

// NewDraw is the input to [Service.Create].
type NewDraw struct {
	Filters
	// Entities is how many entities to draw.
	Entities int `json:"entities"`
	// Inspectors is the pool: key IDs of active inspector keys. Empty
	// means every active inspector key.
	Inspectors []string `json:"inspectors,omitempty"`
	// InspectorsPerEntity is how many inspectors each drawn entity gets;
	// 0 means [DefaultInspectorsPerEntity].
	InspectorsPerEntity int `json:"inspectorsPerEntity,omitempty"`
	// Seed is the hex of 16 to 64 bytes; empty means 32 random bytes.
	Seed string `json:"seed,omitempty"`
}

// Limits of a draw's input.
const (
	DefaultInspectorsPerEntity = 2
	MaxInspectorsPerEntity     = 10
	MaxEntities                = 1000
	MaxPool                    = 1000
	// MaxCandidates bounds the published candidate list, which is stored
	// in the draw's one document.
	MaxCandidates = 100_000
	minSeedBytes  = 16
	maxSeedBytes  = 64
	newSeedBytes  = 32
)

// Seed sources.
const (
	SeedGenerated = "generated" // 32 random bytes from crypto/rand
	SeedGiven     = "given"     // the regulator's
)

// Previous is a drawn entity's previous assignment, which the draw kept
// out of its inspectors.
type Previous struct {
	EntityID   string   `json:"entityId"`
	DrawID     string   `json:"drawId"`
	Inspectors []string `json:"inspectors"`
}

// Draw is a published inspection draw: what it was drawn from, how, and
// what it drew. Everything in it is public.
type Draw struct {
	ID string `json:"id"`
	// Seq is the draw's place in the sequence of all draws (1, 2, …):
	// previous assignments are read from the draws before it.
	Seq       int64     `json:"seq"`
	Algorithm string    `json:"algorithm"`
	Date      string    `json:"date"` // YYYY-MM-DD in the regulator's time zone
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
	Filters   Filters   `json:"filters"`

	Seed       string `json:"seed"` // hex
	SeedSource string `json:"seedSource"`

	// Candidates are the entities matching the filters whose class was
	// good (or unrated) at CreatedAt, sorted; Excluded counts those
	// matching the filters that were left out for their class.
	Candidates     []string `json:"candidates"`
	CandidatesHash string   `json:"candidatesHash"`
	Excluded       int      `json:"excludedNotGood"`
	// Inspectors is the pool, sorted.
	Inspectors     []string `json:"inspectors"`
	InspectorsHash string   `json:"inspectorsHash"`

	Entities            int `json:"entities"`
	InspectorsPerEntity int `json:"inspectorsPerEntity"`
	// Previous are the previous assignments of the drawn entities that
	// had one, in the order drawn.
	Previous []Previous   `json:"previous"`
	Result   []Assignment `json:"result"`
}

// Input returns the published input of d's algorithm.
func (d Draw) Input(seed []byte) Input {
	prev := make(map[string][]string, len(d.Previous))
	for _, p := range d.Previous {
		prev[p.EntityID] = p.Inspectors
	}
	return Input{Seed: seed, Candidates: d.Candidates, Entities: d.Entities, Inspectors: d.Inspectors,
		InspectorsPerEntity: d.InspectorsPerEntity, Previous: prev}
}

// Store keeps draws. recall/recallsql and recall/recallmongo implement
// it; recall/storetest holds them to it.
type Store interface {
	// CreateDraw stores d; [recall.ErrConflict] when its ID or its Seq is
	// taken (another draw was stored meanwhile).
	CreateDraw(ctx context.Context, d Draw) error
	// Draw returns the draw with id, or [recall.ErrNotFound].
	Draw(ctx context.Context, id string) (Draw, error)
	// ListDraws returns draws in ID order after p.After, at most p.Limit.
	ListDraws(ctx context.Context, p trace.Page) ([]Draw, error)
	// LastSeq returns the highest Seq stored, 0 when there is no draw.
	LastSeq(ctx context.Context) (int64, error)
	// LastAssignment returns the assignment of entityID in the draw with
	// the highest Seq at most maxSeq that drew it, and that draw's ID;
	// [recall.ErrNotFound] when no such draw drew it.
	LastAssignment(ctx context.Context, entityID string, maxSeq int64) (Previous, error)
}

// Verification is what [Service.Verify] found by re-running a draw.
type Verification struct {
	DrawID string `json:"drawId"`
	// Matches holds when every check below does.
	Matches bool `json:"matches"`
	// CandidatesHash and InspectorsHash: the stored hashes are those of
	// the stored lists.
	CandidatesHash bool `json:"candidatesHashMatches"`
	InspectorsHash bool `json:"inspectorsHashMatches"`
	// Previous: each previous assignment used is what the draw it names
	// stored for the entity.
	Previous bool `json:"previousMatches"`
	// Result: the algorithm re-run on the stored seed and lists gives the
	// stored result.
	Result     bool         `json:"resultMatches"`
	Recomputed []Assignment `json:"recomputed"`
	Problems   []string     `json:"problems,omitempty"`
}

// PreviousFor returns entityID's assignment in d as the previous
// assignment of a later draw; false when d did not draw it.
func (d Draw) PreviousFor(entityID string) (Previous, bool) {
	for _, a := range d.Result {
		if a.EntityID == entityID {
			return Previous{EntityID: entityID, DrawID: d.ID, Inspectors: a.Inspectors}, true
		}
	}
	return Previous{}, false
}
