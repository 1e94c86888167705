package handlers_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"tracesvc/cmd/wire"
)

// BenchmarkMiddleware measures what every request pays for the router's
// middleware (security headers, panic recovery, request id, metrics and
// the access log) on the cheapest route, GET /healthz, from 2 goroutines.
// "discard" drops log records before they are formatted; "json" formats
// the access line as the service does, into io.Discard (no write call).
func BenchmarkMiddleware(b *testing.B) {
	for name, logger := range map[string]*slog.Logger{
		"discard": slog.New(slog.DiscardHandler),
		"json":    slog.New(slog.NewJSONHandler(io.Discard, nil)),
	} {
		b.Run(name, func(b *testing.B) {
			e := newEnvWith(b, "sqlite", func(o *wire.Options) { o.Logger = logger })
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				req := httptest.NewRequest("GET", "/healthz", nil)
				for pb.Next() {
					w := httptest.NewRecorder()
					e.h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		})
	}
}
