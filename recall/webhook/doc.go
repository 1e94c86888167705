// Package webhook delivers one attempt of a recall notice to a custodian's
// webhook: signed, to a checked target, with a classified result.
//
// The durable outbox (elsewhere) stores notices, claims them with leases,
// calls [Deliverer.Deliver] once per attempt and schedules the next attempt
// with [NextDelay]. This package keeps no state between attempts.
//
// Every request carries these headers:
//
//	Tracesvc-Timestamp: 1767225600
//	Tracesvc-Signature: v1=<hex HMAC-SHA256>[,v1=<hex>...]
//	Idempotency-Key:    <same value on every retry of one notice>
//	Content-Type:       application/json
//	User-Agent:         tracesvc-webhook/1
//
// The signature is HMAC-SHA256, keyed with the custodian's secret (the
// bytes of the secret string exactly as shown to the custodian, "whsec_"
// prefix included), over the string
//
//	<Tracesvc-Timestamp value> "." <request body bytes>
//
// During secret rotation the signature header holds one v1= value per active
// secret; a receiver accepts the request when any of them matches. Receivers
// check it with [Verify].
//
// Targets are checked twice against server-side request forgery: the URL by
// [CheckURL] when it is registered (and its syntax again before each
// attempt), and every address by the dialer at connection time, so DNS
// rebinding cannot reach a private address. Redirects are never followed.
//
// Webhook secrets are stored sealed with [Sealer] under a key from
// [LoadOrCreateKey].
package webhook
