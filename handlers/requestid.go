package handlers

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/gin-gonic/gin"
)

// requestIDHeader carries a request's id in and out.
const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds the request ids taken from clients.
const maxRequestIDLen = 64

// requestIDKey keys a request's id in its context.
type requestIDKey struct{}

// requestContext is a request's context with its id. It is
// context.WithValue in one allocation rather than two (the value ctx,
// and the id boxed in an interface), and its lookups allocate nothing.
type requestContext struct {
	context.Context
	id string
}

// Value implements [context.Context].
func (c *requestContext) Value(key any) any {
	if key == (requestIDKey{}) {
		return c
	}
	return c.Context.Value(key)
}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if c, ok := ctx.Value(requestIDKey{}).(*requestContext); ok {
		return c.id
	}
	return ""
}

// saneRequestID reports whether a client's X-Request-Id may be used as
// it is: 1 to 64 letters, digits and "-_.:", which covers UUIDs and
// the ids proxies make, and cannot break a log line.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// newRequestID makes a request id: 16 hex digits from the runtime's
// random source (no system call, and no secret: ids only tell requests
// apart).
func newRequestID() string {
	const hex = "0123456789abcdef"
	var b [16]byte
	n := rand.Uint64()
	for i := range b {
		b[i] = hex[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

// observeRequests runs first for every request: it gives the request its
// id (the client's X-Request-Id when sane, else a new one), echoes it in
// the response and puts it in the request's context, so that every log
// line written with that context carries it (see [LogRequestIDs]); after
// the handlers, it counts and times the request by route and writes the
// one access line, at info (error for a 5xx).
func (s *Server) observeRequests(c *gin.Context) {
	start := time.Now()
	id := c.Request.Header.Get(requestIDHeader)
	if !saneRequestID(id) {
		id = newRequestID()
	}
	c.Writer.Header()[requestIDHeader] = []string{id}
	ctx := &requestContext{Context: c.Request.Context(), id: id}
	c.Request = c.Request.WithContext(ctx)

	c.Next()

	d := time.Since(start)
	status := c.Writer.Status()
	r := s.metrics.route(c.Request.Method, c.FullPath())
	r.observe(status, d)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	if !s.logger.Enabled(ctx, level) {
		return
	}
	// Four attributes and the id the handler adds stay within the
	// record's inline room: the line allocates nothing more.
	s.logger.LogAttrs(ctx, level, "request", slog.String("method", c.Request.Method), slog.String("route", r.route),
		slog.Int("status", status), slog.Float64("duration_ms", float64(d.Microseconds())/1000))
}

// LogRequestIDs wraps h so that every record logged with a request's
// context (logger.InfoContext(ctx, …)) carries the request's id as
// request_id. cmd wraps the service's log handler with it.
func LogRequestIDs(h slog.Handler) slog.Handler { return requestIDHandler{h} }

// requestIDHandler adds the context's request id to each record.
type requestIDHandler struct{ slog.Handler }

// Handle implements [slog.Handler].
func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements [slog.Handler].
func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

// WithGroup implements [slog.Handler].
func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
