package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// DefaultTimeout bounds one attempt when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// DefaultUserAgent is sent when Config.UserAgent is empty.
const DefaultUserAgent = "tracesvc-webhook/1"

// maxResponseBytes is how much of a response body is read (and discarded).
const maxResponseBytes = 64 << 10

// Config configures a [Deliverer].
type Config struct {
	// Policy says which targets may be reached.
	Policy Policy
	// Timeout bounds one attempt, from dialing to reading the response;
	// zero means DefaultTimeout.
	Timeout time.Duration
	// Logger receives the attempt outcomes and retryablehttp's messages;
	// nil discards them.
	Logger *slog.Logger
	// UserAgent is sent in User-Agent; empty means DefaultUserAgent.
	UserAgent string
	// RootCAs verifies receivers' certificates; nil means the system pool.
	// Set it for on-premise receivers with a private CA, and in tests.
	RootCAs *x509.CertPool
}

// Deliverer sends single webhook attempts. It is safe for concurrent use;
// build it once with [New] and share it.
type Deliverer struct {
	client    *retryablehttp.Client
	policy    Policy
	timeout   time.Duration
	userAgent string
	log       *slog.Logger
}

// New returns a Deliverer for cfg. Its HTTP client ignores proxy
// environment variables, never follows redirects, makes no retries of its
// own (the outbox schedules them) and, unless cfg.Policy.AllowPrivate,
// refuses to connect to any non-public address.
func New(cfg Config) *Deliverer {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if !cfg.Policy.AllowPrivate {
		dialer.Control = dialControl
	}
	if r, ok := cfg.Policy.Resolver.(*net.Resolver); ok {
		dialer.Resolver = r
	}
	transport := &http.Transport{
		Proxy:             nil, // a proxy would hide the target's address from dialControl
		DialContext:       dialer.DialContext,
		TLSClientConfig:   &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: cfg.RootCAs},
		ForceAttemptHTTP2: true,
		MaxIdleConns:      100,
		// Many custodians may share one receiving host (an ERP provider's),
		// and the outbox's workers reach it at once.
		MaxIdleConnsPerHost:    32,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    cfg.Timeout,
		MaxResponseHeaderBytes: maxResponseBytes,
	}
	return &Deliverer{
		client: &retryablehttp.Client{
			HTTPClient: &http.Client{
				Transport: transport,
				CheckRedirect: func(*http.Request, []*http.Request) error {
					return http.ErrUseLastResponse
				},
			},
			Logger:       slogLeveled{cfg.Logger},
			RetryMax:     0,
			CheckRetry:   noRetry,
			Backoff:      retryablehttp.DefaultBackoff,
			ErrorHandler: retryablehttp.PassthroughErrorHandler,
		},
		policy:    cfg.Policy,
		timeout:   cfg.Timeout,
		userAgent: cfg.UserAgent,
		log:       cfg.Logger,
	}
}

// noRetry is the retryablehttp CheckRetry of a single attempt: the outbox,
// not the client, decides about retries.
func noRetry(context.Context, *http.Response, error) (bool, error) { return false, nil }

// Attempt is one delivery attempt of one notice.
type Attempt struct {
	// URL is the custodian's webhook URL.
	URL string
	// Body is the JSON notice, sent and signed as is.
	Body []byte
	// Secrets are the custodian's active webhook secrets (one, or two during
	// rotation); each signs the request.
	Secrets [][]byte
	// IdempotencyKey identifies the notice, the same on every attempt.
	IdempotencyKey string
	// Now is the signing time; zero means time.Now().
	Now time.Time
}

// Outcome classifies an attempt.
type Outcome int

// Outcomes of an attempt. Retry is the zero value.
const (
	// Retry means the attempt failed and a later one may succeed: a network
	// error, a timeout, a 3xx, 408, 429, 5xx or any other non-2xx status
	// that is not Permanent.
	Retry Outcome = iota
	// Delivered means the receiver answered 2xx.
	Delivered
	// Permanent means retrying cannot help: a 4xx other than 408 and 429,
	// a refused target, or an invalid attempt.
	Permanent
)

// String returns "retry", "delivered" or "permanent".
func (o Outcome) String() string {
	switch o {
	case Retry:
		return "retry"
	case Delivered:
		return "delivered"
	case Permanent:
		return "permanent"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Result describes one attempt.
type Result struct {
	// Outcome says whether the notice was delivered and whether to retry.
	Outcome Outcome
	// StatusCode is the HTTP status, or 0 when there was no response.
	StatusCode int
	// Reason says briefly why, for logs and the outbox record.
	Reason string
	// RetryAfter is the receiver's Retry-After (seconds or HTTP date,
	// capped at MaxRetryAfter), or 0 when absent; pass it to NextDelay.
	RetryAfter time.Duration
	// Err is the error behind a failure without a usable response, if any;
	// refusals wrap ErrRefused.
	Err error
}

// Deliver makes one signed POST of a.Body to a.URL and classifies the
// result. It checks the URL's syntax (see [CheckURL]) first; the dialer
// checks the addresses. Only the first 64 KiB of the response body are
// read, and discarded.
func (d *Deliverer) Deliver(ctx context.Context, a Attempt) Result {
	res := d.deliver(ctx, a)
	host := ""
	if u, err := url.Parse(a.URL); err == nil {
		host = u.Host // not the whole URL: its path or query may hold a token
	}
	d.log.LogAttrs(ctx, slog.LevelInfo, "webhook attempt",
		slog.String("host", host),
		slog.String("idempotency_key", a.IdempotencyKey),
		slog.String("outcome", res.Outcome.String()),
		slog.Int("status", res.StatusCode),
		slog.String("reason", res.Reason),
		slog.Duration("retry_after", res.RetryAfter))
	return res
}

// deliver does the work of Deliver.
func (d *Deliverer) deliver(ctx context.Context, a Attempt) Result {
	if err := checkAttempt(a); err != nil {
		return Result{Outcome: Permanent, Reason: err.Error(), Err: err}
	}
	if _, err := parseTarget(a.URL, d.policy); err != nil {
		return Result{Outcome: Permanent, Reason: err.Error(), Err: err}
	}
	now := a.Now
	if now.IsZero() {
		now = time.Now()
	}
	sigs := make([]string, len(a.Secrets))
	for i, s := range a.Secrets {
		sigs[i] = Sign(s, now, a.Body)
	}

	actx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := retryablehttp.NewRequestWithContext(actx, http.MethodPost, a.URL, a.Body)
	if err != nil {
		err = fmt.Errorf("webhook: building request: %w", err)
		return Result{Outcome: Permanent, Reason: err.Error(), Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", d.userAgent)
	req.Header.Set(HeaderTimestamp, fmt.Sprint(now.Unix()))
	req.Header.Set(HeaderSignature, strings.Join(sigs, ","))
	req.Header.Set(HeaderIdempotencyKey, a.IdempotencyKey)

	resp, err := d.client.Do(req)
	if err != nil {
		return d.failure(ctx, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	_ = resp.Body.Close()
	return classify(resp, now)
}

// checkAttempt rejects attempts that cannot be sent correctly.
func checkAttempt(a Attempt) error {
	if a.IdempotencyKey == "" {
		return errors.New("webhook: attempt has no idempotency key")
	}
	if strings.ContainsFunc(a.IdempotencyKey, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return errors.New("webhook: idempotency key contains control characters")
	}
	if len(a.Secrets) == 0 {
		return errors.New("webhook: attempt has no signing secret")
	}
	for _, s := range a.Secrets {
		if len(s) == 0 {
			return errors.New("webhook: attempt has an empty signing secret")
		}
	}
	return nil
}

// failure classifies an attempt that got no response.
func (d *Deliverer) failure(parent context.Context, err error) Result {
	cause := err
	if ue, ok := errors.AsType[*url.Error](err); ok {
		cause = ue.Err // the message without the URL, which may hold a token
	}
	switch {
	case errors.Is(err, ErrRefused):
		return Result{Outcome: Permanent, Reason: cause.Error(), Err: err}
	case parent.Err() != nil:
		return Result{Outcome: Retry, Reason: "attempt canceled: " + parent.Err().Error(), Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return Result{Outcome: Retry, Reason: fmt.Sprintf("no response within %s", d.timeout), Err: err}
	}
	return Result{Outcome: Retry, Reason: cause.Error(), Err: err}
}

// classify turns a response into a Result.
func classify(resp *http.Response, now time.Time) Result {
	code := resp.StatusCode
	res := Result{StatusCode: code, Reason: fmt.Sprintf("HTTP %d %s", code, http.StatusText(code))}
	if ra, ok := retryAfter(resp.Header, now); ok {
		res.RetryAfter = ra
	}
	switch {
	case code >= 200 && code <= 299:
		res.Outcome, res.RetryAfter = Delivered, 0
	case code >= 300 && code <= 399:
		res.Outcome = Retry
		loc := resp.Header.Get("Location")
		if len(loc) > 200 {
			loc = loc[:200] + "..."
		}
		res.Reason += fmt.Sprintf(": redirect to %q not followed", loc)
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		res.Outcome = Retry
	case code >= 400 && code <= 499:
		res.Outcome = Permanent
	default:
		res.Outcome = Retry
	}
	return res
}

// slogLeveled adapts a *slog.Logger to retryablehttp.LeveledLogger.
// retryablehttp reports every failed request as an error; a failed webhook
// attempt is routine, so those become warnings. URLs are cut down to their
// host, since a webhook URL's path or query may hold a token.
type slogLeveled struct{ l *slog.Logger }

// Error logs msg at warning level (see slogLeveled).
func (s slogLeveled) Error(msg string, kv ...any) { s.l.Warn(msg, redact(kv)...) }

// Info logs msg at info level.
func (s slogLeveled) Info(msg string, kv ...any) { s.l.Info(msg, redact(kv)...) }

// Debug logs msg at debug level.
func (s slogLeveled) Debug(msg string, kv ...any) { s.l.Debug(msg, redact(kv)...) }

// Warn logs msg at warning level.
func (s slogLeveled) Warn(msg string, kv ...any) { s.l.Warn(msg, redact(kv)...) }

// redact returns retryablehttp's key-value pairs with the "url" value
// replaced by its host and *url.Error values by their inner error.
func redact(kv []any) []any {
	out := make([]any, len(kv))
	copy(out, kv)
	for i := 0; i+1 < len(out); i += 2 {
		if out[i] == "url" {
			if s, ok := out[i+1].(string); ok {
				out[i] = "host"
				if u, err := url.Parse(s); err == nil {
					out[i+1] = u.Host
				} else {
					out[i+1] = "?"
				}
			}
		}
		if ue, ok := out[i+1].(error); ok {
			if inner, ok := errors.AsType[*url.Error](ue); ok {
				out[i+1] = inner.Err
			}
		}
	}
	return out
}
