package handlers

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"tracesvc/trace"
)

// RateLimit is a token bucket: PerSecond tokens refill each second, up to
// Burst. A zero PerSecond turns the limit off.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// limiter keeps one token bucket per client fingerprint.
type limiter struct {
	limit RateLimit
	mu    sync.Mutex
	seen  map[string]*bucket
}

type bucket struct {
	l    *rate.Limiter
	last time.Time
}

func newLimiter(l RateLimit) *limiter { return &limiter{limit: l, seen: map[string]*bucket{}} }

// take spends one token of client's bucket, or says how long to wait.
func (l *limiter) take(client string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.seen[client]
	if !ok {
		if len(l.seen) > 100_000 {
			l.sweep(now)
		}
		b = &bucket{l: rate.NewLimiter(rate.Limit(l.limit.PerSecond), l.limit.Burst)}
		l.seen[client] = b
	}
	b.last = now
	r := b.l.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Minute
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets clients idle long enough for their bucket to be full.
func (l *limiter) sweep(now time.Time) {
	idle := time.Duration(float64(l.limit.Burst)/l.limit.PerSecond*float64(time.Second)) + time.Minute
	for k, b := range l.seen {
		if now.Sub(b.last) > idle {
			delete(l.seen, k)
		}
	}
}

// rateLimit limits anonymous callers by fingerprint; callers with a key
// are accountable and not limited here. Over the limit: 429 with
// Retry-After.
func (s *Server) rateLimit(l *limiter) gin.HandlerFunc {
	return func(c *gin.Context) {
		if l.limit.PerSecond <= 0 || principal(c).Role != trace.RolePublic {
			c.Next()
			return
		}
		ok, wait := l.take(s.fingerprint(c), s.now.Now())
		if ok {
			c.Next()
			return
		}
		secs := int(math.Ceil(wait.Seconds()))
		c.Header("Retry-After", strconv.Itoa(secs))
		err := fmt.Errorf("too many requests from this client; retry in %d s: %w", secs, errRateLimited)
		if !strings.HasPrefix(c.Request.URL.Path, "/api/") && c.NegotiateFormat(mediaHTML, mediaJSON) == mediaHTML {
			s.errorPage(c, err, secs) // a consumer's browser on the resolver
			return
		}
		writeError(c, s.logger, err)
	}
}
