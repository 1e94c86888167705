package gs1

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// wantError checks that err is an *Error for ai, of kind, whose message
// contains msg.
func wantError(t testing.TB, err error, kind error, ai, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v for AI (%s) containing %q", kind, ai, msg)
	}
	var ge *Error
	if !errors.As(err, &ge) {
		t.Fatalf("got error %v of type %T, want *Error", err, err)
	}
	if !errors.Is(err, kind) {
		t.Errorf("got error %q of kind %v, want %v", err, ge.Kind, kind)
	}
	if ge.AI != ai {
		t.Errorf("got error %q for AI (%s), want AI (%s)", err, ge.AI, ai)
	}
	if !strings.Contains(ge.Msg, msg) {
		t.Errorf("got error %q, want it to contain %q", err, msg)
	}
}

// sameElements reports whether a and b hold the same elements, in any order.
func sameElements(a, b Elements) bool {
	cmp := func(x, y Element) int { return strings.Compare(x.AI+"\x00"+x.Value, y.AI+"\x00"+y.Value) }
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, cmp)
	slices.SortFunc(b, cmp)
	return slices.Equal(a, b)
}
