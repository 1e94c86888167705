package handlers

import (
	"container/list"
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
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

// Bounds of the limiter's memory: at most limiterShards × perShard buckets
// (about 30 MB), whatever the number of distinct clients.
const (
	limiterShards = 64
	perShard      = 2048
)

// limiter keeps one token bucket per client address in sharded LRU lists:
// a new client costs O(1) under one shard's lock, and past the bound the
// least recently seen client of the shard is forgotten (it comes back
// with a full bucket, as a client idle that long would).
type limiter struct {
	limit  RateLimit
	seed   maphash.Seed
	shards [limiterShards]shard
}

type shard struct {
	mu    sync.Mutex
	seen  map[string]*list.Element // client → element of lru holding a *bucket
	lru   list.List                // most recent first
	limit int
}

type bucket struct {
	client string
	l      *rate.Limiter
}

func newLimiter(l RateLimit) *limiter {
	lim := &limiter{limit: l, seed: maphash.MakeSeed()}
	for i := range lim.shards {
		lim.shards[i].seen = map[string]*list.Element{}
		lim.shards[i].limit = perShard
	}
	return lim
}

// take spends one token of client's bucket, or says how long to wait.
func (l *limiter) take(client string, now time.Time) (bool, time.Duration) {
	sh := &l.shards[maphash.String(l.seed, client)%limiterShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var b *bucket
	if el, ok := sh.seen[client]; ok {
		sh.lru.MoveToFront(el)
		b = el.Value.(*bucket)
	} else {
		if sh.lru.Len() >= sh.limit {
			oldest := sh.lru.Back()
			sh.lru.Remove(oldest)
			delete(sh.seen, oldest.Value.(*bucket).client)
		}
		b = &bucket{client: client, l: rate.NewLimiter(rate.Limit(l.limit.PerSecond), l.limit.Burst)}
		sh.seen[client] = sh.lru.PushFront(b)
	}
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

// clients is how many buckets the limiter holds.
func (l *limiter) clients() int {
	n := 0
	for i := range l.shards {
		l.shards[i].mu.Lock()
		n += l.shards[i].lru.Len()
		l.shards[i].mu.Unlock()
	}
	return n
}

// clientKey is what a client is limited by: its address as gin resolves
// it behind the trusted proxies, never anything the client chooses (such
// as its User-Agent). IPv6 clients are keyed by their /64, which one
// subscriber usually holds whole.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// rateLimit limits anonymous callers by address; callers with a key are
// accountable and not limited here. Over the limit: 429 with Retry-After,
// as a page in the consumer's language on the resolver.
func (s *Server) rateLimit(l *limiter) gin.HandlerFunc {
	return func(c *gin.Context) {
		if l.limit.PerSecond <= 0 || principal(c).Role != trace.RolePublic {
			c.Next()
			return
		}
		ok, wait := l.take(clientKey(c.ClientIP()), s.now.Now())
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
