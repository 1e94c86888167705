package draw

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"

	"tracesvc/recall"
	"tracesvc/trace"
)

// Algorithm names the algorithm a draw was made with, stored with every
// draw so that a later version can be told apart. It is written out in
// the README ("Inspection draws") and below.
const Algorithm = "two-randoms-v1"

// Stream is the draw's deterministic random stream: the concatenation
// of the blocks SHA-256(seed ‖ counter), the counter an 8-byte big-endian
// integer from 0, read as 8-byte big-endian words (four per block).
// Anyone holding the seed gets the same words.
type Stream struct {
	seed    []byte
	counter uint64
	block   [sha256.Size]byte
	used    int // bytes of block already read
}

// NewStream returns the stream of seed.
func NewStream(seed []byte) *Stream {
	return &Stream{seed: slices.Clone(seed), used: sha256.Size}
}

// Uint64 returns the stream's next word.
func (s *Stream) Uint64() uint64 {
	if s.used+8 > len(s.block) {
		var ctr [8]byte
		binary.BigEndian.PutUint64(ctr[:], s.counter)
		h := sha256.New()
		h.Write(s.seed)
		h.Write(ctr[:])
		h.Sum(s.block[:0])
		s.counter++
		s.used = 0
	}
	v := binary.BigEndian.Uint64(s.block[s.used:])
	s.used += 8
	return v
}

// Uniform returns a number in [0, n) with every value equally likely,
// n ≥ 1: it takes words x until x < 2^64 − (2^64 mod n) and answers
// x mod n. Rejecting the top of the range removes the bias a bare
// x mod n would have towards small values.
func (s *Stream) Uniform(n uint64) uint64 {
	if n == 0 {
		panic("draw: Uniform(0)")
	}
	rem := (math.MaxUint64%n + 1) % n // 2^64 mod n
	for {
		x := s.Uint64()
		if rem == 0 || x <= math.MaxUint64-rem {
			return x % n
		}
	}
}

// Pick returns k items of list chosen with s, in the order drawn, by the
// first k steps of a Fisher–Yates shuffle of a copy of list: for i from
// 0 to k−1, j = i + Uniform(len−i), swap items i and j. list is left as
// it is; k must be at most len(list).
func Pick(s *Stream, list []string, k int) []string {
	a := slices.Clone(list)
	for i := range k {
		j := i + int(s.Uniform(uint64(len(a)-i)))
		a[i], a[j] = a[j], a[i]
	}
	return a[:k:k]
}

// HashList returns the hex SHA-256 of ids joined by "\n" (no newline at
// the end): the published hash of a candidate list or inspector pool.
func HashList(ids []string) string {
	sum := sha256.Sum256([]byte(strings.Join(ids, "\n")))
	return hex.EncodeToString(sum[:])
}

// Assignment is one drawn entity and the inspectors drawn for it, both
// in the order drawn.
type Assignment struct {
	EntityID   string   `json:"entityId"`
	Inspectors []string `json:"inspectors"`
}

// Input is everything a draw's result follows from, as published.
type Input struct {
	Seed []byte
	// Candidates are the entity IDs drawn from, sorted and unique.
	Candidates []string
	// Entities is how many entities to draw, at most len(Candidates).
	Entities int
	// Inspectors is the pool of inspector key IDs, sorted and unique.
	Inspectors          []string
	InspectorsPerEntity int
	// Previous are, by entity ID, the inspectors of the entity's previous
	// draw: none of them is drawn for it again. Entities not in it were
	// never drawn before.
	Previous map[string][]string
}

// Run computes a draw's result from in, with one [Stream] of in.Seed:
//
//  1. entities = Pick(stream, Candidates, Entities);
//  2. then, for each drawn entity in the order drawn, with the same
//     stream continuing: eligible = Inspectors without those of
//     Previous[entity] (still sorted), and its inspectors =
//     Pick(stream, eligible, InspectorsPerEntity).
//
// An inspector may be drawn for several entities of one draw, never
// twice for one. When an entity has fewer eligible inspectors than
// InspectorsPerEntity, Run returns a [recall.ErrConflict] error about the
// field "inspectors" and no result.
func Run(in Input) ([]Assignment, error) {
	if in.Entities < 0 || in.Entities > len(in.Candidates) {
		return nil, &trace.FieldError{Field: "entities", Kind: recall.ErrConflict,
			Msg: fmt.Sprintf("%d entities are asked for, but only %d are candidates", in.Entities, len(in.Candidates))}
	}
	s := NewStream(in.Seed)
	drawn := Pick(s, in.Candidates, in.Entities)
	out := make([]Assignment, len(drawn))
	for i, e := range drawn {
		prev := in.Previous[e]
		eligible := slices.DeleteFunc(slices.Clone(in.Inspectors), func(id string) bool { return slices.Contains(prev, id) })
		if len(eligible) < in.InspectorsPerEntity {
			return nil, &trace.FieldError{Field: "inspectors", Kind: recall.ErrConflict,
				Msg: fmt.Sprintf("entity %s may get %d inspectors of the pool (its previous draw's %d are left out), fewer than the %d each entity gets; widen the pool",
					e, len(eligible), len(prev), in.InspectorsPerEntity)}
		}
		out[i] = Assignment{EntityID: e, Inspectors: Pick(s, eligible, in.InspectorsPerEntity)}
	}
	return out, nil
}
