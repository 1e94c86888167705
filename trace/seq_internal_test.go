package trace

import (
	"fmt"
	"testing"
)

// TestSeqs: the list keys cut from one string are those "%s.%07d" gives,
// across the boundaries of the zero padding and beyond seven digits, and
// [position] reads each back.
func TestSeqs(t *testing.T) {
	const id = "01KBCDEFGHJKMNPQRSTVWXYZ00"
	for _, r := range [][2]int{{0, 12}, {95, 10}, {999_990, 20}, {9_999_995, 10}, {123_456, 1}} {
		got := seqs(id, r[0], r[1])
		if len(got) != r[1] {
			t.Fatalf("seqs(%d, %d): %d keys", r[0], r[1], len(got))
		}
		for i, k := range got {
			if want := fmt.Sprintf("%s.%07d", id, r[0]+i); k != want {
				t.Fatalf("key of position %d: %q, want %q", r[0]+i, k, want)
			}
			if p, ok := position(id, k); !ok || p != r[0]+i {
				t.Fatalf("position(%q) = %d, %v", k, p, ok)
			}
		}
	}
	if got := seqs(id, 7, 0); len(got) != 0 {
		t.Fatalf("no keys: %q", got)
	}
}
