package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names set on every delivery.
const (
	// HeaderTimestamp carries the signing time in Unix seconds.
	HeaderTimestamp = "Tracesvc-Timestamp"
	// HeaderSignature carries one or more comma-separated "v1=<hex>" values.
	HeaderSignature = "Tracesvc-Signature"
	// HeaderIdempotencyKey is the same on every retry of one notice.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// DefaultTolerance is the largest clock difference [Verify] accepts when
// called with a tolerance of zero.
const DefaultTolerance = 5 * time.Minute

// signatureScheme prefixes each signature in HeaderSignature.
const signatureScheme = "v1="

// Errors returned by [Verify]; test them with errors.Is.
var (
	// ErrNoSignature means the request carries no v1 signature.
	ErrNoSignature = errors.New("webhook: no v1 signature in " + HeaderSignature)
	// ErrBadTimestamp means the timestamp header is missing or not Unix seconds.
	ErrBadTimestamp = errors.New("webhook: missing or malformed " + HeaderTimestamp)
	// ErrStale means the timestamp is further from now than the tolerance.
	ErrStale = errors.New("webhook: timestamp outside tolerance")
	// ErrBadSignature means no signature matches any of the secrets.
	ErrBadSignature = errors.New("webhook: signature does not match")
)

// Sign returns the signature of body at time ts under secret, in the form
// "v1=<hex HMAC-SHA256>", computed over "<unix seconds>.<body>".
// Join several with "," for [HeaderSignature] during secret rotation.
func Sign(secret []byte, ts time.Time, body []byte) string {
	return signatureScheme + hex.EncodeToString(mac(secret, strconv.FormatInt(ts.Unix(), 10), body))
}

// mac computes HMAC-SHA256 over "<ts>.<body>".
func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a received webhook: the signature header must hold a v1
// signature of body that matches one of secrets (compared in constant time),
// and the timestamp header must be within tolerance of now, in either
// direction. A tolerance of zero or less means [DefaultTolerance].
// Errors wrap [ErrNoSignature], [ErrBadTimestamp], [ErrBadSignature] or
// [ErrStale]; a stale error is returned only for an authentic signature.
func Verify(body []byte, header http.Header, secrets [][]byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var given [][]byte
	for _, v := range header.Values(HeaderSignature) {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			hexSig, ok := strings.CutPrefix(part, signatureScheme)
			if !ok {
				continue // another scheme, for a future version
			}
			sig, err := hex.DecodeString(hexSig)
			if err != nil || len(sig) != sha256.Size {
				continue
			}
			given = append(given, sig)
		}
	}
	if len(given) == 0 {
		return ErrNoSignature
	}
	tsText := strings.TrimSpace(header.Get(HeaderTimestamp))
	unix, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrBadTimestamp, tsText)
	}
	if len(secrets) == 0 {
		return fmt.Errorf("%w: no secrets to check against", ErrBadSignature)
	}
	matched := false
	for _, secret := range secrets {
		want := mac(secret, tsText, body)
		for _, sig := range given {
			if hmac.Equal(sig, want) {
				matched = true
			}
		}
	}
	if !matched {
		return ErrBadSignature
	}
	sent := time.Unix(unix, 0)
	if skew := now.Sub(sent); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now (tolerance %s)",
			ErrStale, sent.UTC().Format(time.RFC3339), skew.Round(time.Second), tolerance)
	}
	return nil
}
