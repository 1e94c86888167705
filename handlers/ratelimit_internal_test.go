package handlers

import (
	"fmt"
	"testing"
	"time"
)

// TestLimiterBounded (issue 9, item 9): a million distinct clients leave
// the limiter at its bound, and a client that keeps coming keeps its
// bucket.
func TestLimiterBounded(t *testing.T) {
	l := newLimiter(RateLimit{PerSecond: 1, Burst: 2})
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	l.take("regular", now)
	l.take("regular", now)
	for i := range 1_000_000 {
		l.take(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)+fmt.Sprint(i>>24), now)
		if i%1000 == 0 {
			if ok, _ := l.take("regular", now); ok {
				t.Fatal("the regular client's bucket was forgotten and refilled")
			}
		}
	}
	if n := l.clients(); n > limiterShards*perShard {
		t.Fatalf("%d buckets held, bound %d", n, limiterShards*perShard)
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.9":          "203.0.113.9",
		"::ffff:203.0.113.9":   "203.0.113.9",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"not an address":       "not an address",
	} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkLimiterNewClients measures the limiter when every request comes
// from a client it has not seen: the flood a distributed client makes.
func BenchmarkLimiterNewClients(b *testing.B) {
	l := newLimiter(RateLimit{PerSecond: 20, Burst: 40})
	now := time.Now()
	keys := make([]string, 1<<20)
	for i := range keys {
		keys[i] = fmt.Sprintf("10.%d.%d.%d/%d", i>>16&255, i>>8&255, i&255, i>>24)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.take(keys[i&(1<<20-1)], now)
			i += 7919
		}
	})
}
