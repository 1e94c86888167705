package webhook

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// MaxRetryAfter caps how long a receiver's Retry-After can postpone the
// next attempt.
const MaxRetryAfter = 24 * time.Hour

// maxAttemptExponent keeps base·2^n far from overflowing a Duration.
const maxAttemptExponent = 40

// NextDelay returns how long to wait before the next attempt, after attempt
// failed attempts (1 after the first failure; smaller values count as 1).
// The ceiling grows exponentially, base·2^(attempt-1), capped at maxDelay,
// as retryablehttp.DefaultBackoff computes it; the delay is drawn with equal
// jitter between half the ceiling and the ceiling, using rnd (a number in
// [0, 1); nil means math/rand/v2.Float64). When retryAfter (from the
// receiver's Retry-After) is longer, it wins, capped at [MaxRetryAfter];
// otherwise the delay never exceeds maxDelay. A base of zero or less means
// one second; a maxDelay below base means base.
func NextDelay(attempt int, base, maxDelay time.Duration, retryAfter time.Duration, rnd func() float64) time.Duration {
	if base <= 0 {
		base = time.Second
	}
	if maxDelay < base {
		maxDelay = base
	}
	attempt = min(max(attempt, 1), maxAttemptExponent)
	ceiling := retryablehttp.DefaultBackoff(base, maxDelay, attempt-1, nil)
	if rnd == nil {
		rnd = rand.Float64
	}
	f := min(max(rnd(), 0), 1)
	half := ceiling / 2
	d := half + time.Duration(f*float64(ceiling-half))
	if retryAfter > d {
		return min(retryAfter, MaxRetryAfter)
	}
	return d
}

// retryAfter parses a Retry-After header, delay-seconds or an HTTP date
// (relative to now), capped at [MaxRetryAfter]. A date in the past means
// zero. ok is false when the header is absent or malformed.
func retryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		if secs > uint64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter), true
}
