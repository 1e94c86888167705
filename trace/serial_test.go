package trace_test

import (
	"strings"
	"testing"

	"tracesvc/trace"
)

// TestSerialSourceFill: serials drawn a chunk at a time have the length
// asked for, use only the alphabet, are independent of each other (no
// repeats in a draw far too small to repeat by chance) and spread over
// every symbol.
func TestSerialSourceFill(t *testing.T) {
	for _, length := range []int{trace.MinSerialLength, trace.DefaultSerialLength, trace.MaxSerialLength} {
		src, err := trace.NewSerialSource(length)
		if err != nil {
			t.Fatal(err)
		}
		serials := make([]string, 5000)
		src.Fill(serials)
		seen, symbols := map[string]bool{}, map[rune]int{}
		for _, s := range serials {
			if len(s) != length || strings.Trim(s, trace.SerialAlphabet) != "" {
				t.Fatalf("serial %q: want %d symbols of %s", s, length, trace.SerialAlphabet)
			}
			if seen[s] {
				t.Fatalf("serial %q drawn twice", s)
			}
			seen[s] = true
			for _, r := range s {
				symbols[r]++
			}
		}
		if len(symbols) != len(trace.SerialAlphabet) {
			t.Fatalf("length %d: %d of %d symbols drawn", length, len(symbols), len(trace.SerialAlphabet))
		}
		if next := src.Next(); len(next) != length || seen[next] {
			t.Fatalf("Next after Fill: %q", next)
		}
	}
}
