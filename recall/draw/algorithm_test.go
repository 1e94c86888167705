package draw_test

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"tracesvc/recall"
	"tracesvc/recall/draw"
)

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

func input(seed byte) draw.Input {
	return draw.Input{Seed: slices.Repeat([]byte{seed}, 32), Candidates: ids("e", 50), Entities: 10,
		Inspectors: ids("i", 8), InspectorsPerEntity: 2, Previous: map[string][]string{}}
}

// TestRunSameSeedSameResult: the same seed and candidates give the same
// result, every time; another seed gives another.
func TestRunSameSeedSameResult(t *testing.T) {
	a, err := draw.Run(input(1))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		b, err := draw.Run(input(1))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("got %v, then %v", a, b)
		}
	}
	c, err := draw.Run(input(2))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatalf("seeds 1 and 2 both drew %v", a)
	}
	if len(a) != 10 {
		t.Fatalf("drew %d entities, want 10", len(a))
	}
	seen := map[string]bool{}
	for _, x := range a {
		if seen[x.EntityID] {
			t.Fatalf("entity %s drawn twice: %v", x.EntityID, a)
		}
		seen[x.EntityID] = true
		if len(x.Inspectors) != 2 || x.Inspectors[0] == x.Inspectors[1] {
			t.Fatalf("entity %s got inspectors %v, want two different ones", x.EntityID, x.Inspectors)
		}
	}
}

// TestRunLeavesOutPrevious: over many seeds, no entity gets an inspector
// of its previous draw, and when the pool left is exactly big enough,
// the entity gets exactly those left.
func TestRunLeavesOutPrevious(t *testing.T) {
	for s := range 200 {
		in := input(byte(s))
		in.Seed = append(in.Seed, byte(s>>8))
		for _, e := range in.Candidates {
			in.Previous[e] = []string{in.Inspectors[s%8], in.Inspectors[(s+3)%8]}
		}
		got, err := draw.Run(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range got {
			for _, i := range a.Inspectors {
				if slices.Contains(in.Previous[a.EntityID], i) {
					t.Fatalf("seed %d: entity %s got %s again (previous %v)", s, a.EntityID, i, in.Previous[a.EntityID])
				}
			}
		}
	}
	in := input(7)
	in.Inspectors = []string{"i1", "i2", "i3", "i4"}
	for _, e := range in.Candidates {
		in.Previous[e] = []string{"i1", "i3"}
	}
	got, err := draw.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range got {
		s := slices.Sorted(slices.Values(a.Inspectors))
		if !slices.Equal(s, []string{"i2", "i4"}) {
			t.Fatalf("entity %s got %v, want i2 and i4", a.EntityID, a.Inspectors)
		}
	}
}

// TestRunPoolTooSmall: when the previous inspectors leave too few, the
// draw is refused as a conflict about the pool.
func TestRunPoolTooSmall(t *testing.T) {
	in := input(3)
	in.Inspectors = []string{"i1", "i2", "i3"}
	for _, e := range in.Candidates {
		in.Previous[e] = []string{"i1", "i2"}
	}
	_, err := draw.Run(in)
	if !errors.Is(err, recall.ErrConflict) {
		t.Fatalf("got %v, want a conflict", err)
	}
	in.Entities = 51
	in.Previous = nil
	if _, err := draw.Run(in); !errors.Is(err, recall.ErrConflict) {
		t.Fatalf("51 of 50: got %v, want a conflict", err)
	}
}

// TestStreamBlocks: the stream is SHA-256(seed ‖ counter) blocks read as
// big-endian words, four per block.
func TestStreamBlocks(t *testing.T) {
	seed := []byte("seed")
	s := draw.NewStream(seed)
	for ctr := range uint64(3) {
		block := sha256.Sum256(binary.BigEndian.AppendUint64(slices.Clone(seed), ctr))
		for w := range 4 {
			if got, want := s.Uint64(), binary.BigEndian.Uint64(block[8*w:]); got != want {
				t.Fatalf("block %d word %d: got %x, want %x", ctr, w, got, want)
			}
		}
	}
}

// TestUniformRejects: words at or above 2^64 − (2^64 mod n) are skipped,
// not folded onto small values.
func TestUniformRejects(t *testing.T) {
	const n = uint64(1)<<63 + 1 // 2^64 mod n = 2^63 - 1: nearly half the words are rejected
	limit := math.MaxUint64 - (uint64(1)<<63 - 1) + 1
	words := draw.NewStream([]byte("r"))
	s := draw.NewStream([]byte("r"))
	rejected := 0
	for range 100 {
		var want uint64
		for {
			x := words.Uint64()
			if x < limit {
				want = x % n
				break
			}
			rejected++
		}
		if got := s.Uniform(n); got != want {
			t.Fatalf("got %d, want %d", got, want)
		}
	}
	if rejected == 0 {
		t.Fatal("no word was rejected; the test does not test rejection")
	}
	if got := s.Uniform(1); got != 0 {
		t.Fatalf("Uniform(1) = %d", got)
	}
}

// TestPickIsAPermutation: picking every item returns each once.
func TestPickIsAPermutation(t *testing.T) {
	list := ids("x", 30)
	got := draw.Pick(draw.NewStream([]byte("p")), list, len(list))
	if slices.Equal(got, list) {
		t.Fatal("the shuffle left the list as it was")
	}
	slices.Sort(got)
	if !slices.Equal(got, list) {
		t.Fatalf("got %v, want a permutation of %v", got, list)
	}
}

func TestHashList(t *testing.T) {
	sum := sha256.Sum256([]byte("a\nb"))
	if got, want := draw.HashList([]string{"a", "b"}), fmt.Sprintf("%x", sum); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
