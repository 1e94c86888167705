package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"tracesvc/recall"
	"tracesvc/standards"
	"tracesvc/trace"
)

// TestWriteErrorNeverSendsDriverText checks the one error writer: every
// domain's sentinels map to one status and code, and store detail stays
// in the log.
func TestWriteErrorNeverSendsDriverText(t *testing.T) {
	gin.SetMode(gin.TestMode)
	driver := errors.New("constraint failed: UNIQUE constraint failed: api_keys.hash (2067)")
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("create key: %w: %w", trace.ErrConflict, driver), 409, "conflict"},
		{fmt.Errorf("save: %w: %w", standards.ErrUnavailable, driver), 503, "unavailable"},
		{fmt.Errorf("read: %w: %w", recall.ErrUnavailable, driver), 503, "unavailable"},
		{fmt.Errorf("tip-off R-1: %w", standards.ErrNotFound), 404, "not_found"},
		{fmt.Errorf("x: %w", recall.ErrInvalid), 400, "invalid"},
		{driver, 500, "internal"},
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(rec)
		c.Request = httptest.NewRequest("GET", "/x", nil)
		writeError(c, logger, tc.err)
		var body struct{ Error apiError }
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != tc.status || body.Error.Code != tc.code {
			t.Errorf("%v: %d %q, want %d %q", tc.err, rec.Code, body.Error.Code, tc.status, tc.code)
		}
		for _, leak := range []string{"constraint", "trace:", "standards:", "recall:"} {
			if strings.Contains(rec.Body.String(), leak) {
				t.Errorf("%v: body %s carries %q", tc.err, rec.Body, leak)
			}
		}
		if tc.status == 503 && rec.Header().Get("Retry-After") == "" {
			t.Errorf("%v: 503 without Retry-After", tc.err)
		}
	}
}

// driverError stands for a database driver's error that no adapter
// translated: a timeout, or one labelled worth retrying.
type driverError struct {
	timeout bool
	label   string
}

func (e driverError) Error() string               { return "driver trouble" }
func (e driverError) Timeout() bool               { return e.timeout }
func (e driverError) HasErrorLabel(l string) bool { return l == e.label }

// TestTransientDriverErrorsAre503: an untranslated timeout or retryable
// driver error is an outage (503), not a bug (500).
func TestTransientDriverErrorsAre503(t *testing.T) {
	for name, err := range map[string]error{
		"timeout":   fmt.Errorf("query: %w", driverError{timeout: true}),
		"network":   fmt.Errorf("query: %w", driverError{label: "NetworkError"}),
		"retryable": fmt.Errorf("insert: %w", driverError{label: "RetryableWriteError"}),
		"deadline":  fmt.Errorf("query: %w", context.DeadlineExceeded),
	} {
		if status, code := classify(err); status != 503 || code != "unavailable" {
			t.Errorf("%s: %d %s", name, status, code)
		}
	}
	if status, _ := classify(driverError{label: "Other"}); status != 500 {
		t.Errorf("a plain driver error: %d", status)
	}
}
