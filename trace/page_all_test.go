package trace

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// TestAll reads a list of 1,234 items through pages of MaxLimit, and
// stops at the first error.
func TestAll(t *testing.T) {
	var items []string
	for i := range 1234 {
		items = append(items, fmt.Sprintf("k%05d", i))
	}
	calls := 0
	fetch := func(p Page) ([]string, error) {
		calls++
		i, _ := slices.BinarySearch(items, p.After)
		if i < len(items) && items[i] == p.After {
			i++
		}
		return items[i:min(i+p.Limit, len(items))], nil
	}
	got, err := All(fetch, func(s string) string { return s })
	if err != nil || !slices.Equal(got, items) || calls != 3 {
		t.Fatalf("%d items in %d calls, %v", len(got), calls, err)
	}
	boom := errors.New("boom")
	if _, err := All(func(Page) ([]string, error) { return nil, boom }, func(s string) string { return s }); !errors.Is(err, boom) {
		t.Fatalf("error: %v", err)
	}
}
