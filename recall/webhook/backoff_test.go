package webhook

import (
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

func TestNextDelayCeiling(t *testing.T) {
	one := func() float64 { return 1 }  // top of the jitter range
	zero := func() float64 { return 0 } // bottom
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{-3, time.Second}, {0, time.Second}, {1, time.Second}, {2, 2 * time.Second},
		{3, 4 * time.Second}, {12, 2048 * time.Second}, {13, time.Hour}, {1 << 30, time.Hour},
	}
	for _, tt := range tests {
		if got := NextDelay(tt.attempt, time.Second, time.Hour, 0, one); got != tt.want {
			t.Errorf("NextDelay(%d) top = %s, want %s", tt.attempt, got, tt.want)
		}
		if got := NextDelay(tt.attempt, time.Second, time.Hour, 0, zero); got != tt.want/2 {
			t.Errorf("NextDelay(%d) bottom = %s, want %s", tt.attempt, got, tt.want/2)
		}
	}
}

func TestNextDelayJitterBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for attempt := 1; attempt < 30; attempt++ {
		for range 50 {
			d := NextDelay(attempt, 100*time.Millisecond, time.Minute, 0, r.Float64)
			ceiling := min(100*time.Millisecond<<(attempt-1), time.Minute)
			if d < ceiling/2 || d > ceiling {
				t.Fatalf("attempt %d: %s outside [%s, %s]", attempt, d, ceiling/2, ceiling)
			}
		}
	}
	if d := NextDelay(5, time.Second, time.Minute, 0, nil); d < 8*time.Second || d > 16*time.Second {
		t.Fatalf("nil rnd: %s outside [8s, 16s]", d)
	}
}

func TestNextDelayRetryAfter(t *testing.T) {
	half := func() float64 { return 0.5 }
	tests := []struct {
		name       string
		retryAfter time.Duration
		want       time.Duration
	}{
		{"larger Retry-After wins", 7 * time.Second, 7 * time.Second},
		{"smaller Retry-After ignored", 100 * time.Millisecond, 750 * time.Millisecond},
		{"above max when asked", 2 * time.Hour, 2 * time.Hour},
		{"capped at a day", 48 * time.Hour, MaxRetryAfter},
	}
	for _, tt := range tests {
		if got := NextDelay(1, time.Second, time.Hour, tt.retryAfter, half); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestNextDelayOddArguments(t *testing.T) {
	one := func() float64 { return 1 }
	if got := NextDelay(1, 0, time.Hour, 0, one); got != time.Second {
		t.Errorf("zero base: %s, want 1s", got)
	}
	if got := NextDelay(4, 5*time.Second, time.Second, 0, one); got != 5*time.Second {
		t.Errorf("max below base: %s, want 5s", got)
	}
	if got := NextDelay(1, time.Second, time.Hour, 0, func() float64 { return 7 }); got != time.Second {
		t.Errorf("rnd out of range: %s, want 1s", got)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"99999999999999999999", 0, false},
		{"9999999999", MaxRetryAfter, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(72 * time.Hour).Format(http.TimeFormat), MaxRetryAfter, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		got, ok := retryAfter(h, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Retry-After %q = %s, %v; want %s, %v", tt.value, got, ok, tt.want, tt.wantOK)
		}
	}
}
