package trace

import "context"

// Signal is an act the custody record refused that officials should hear
// of, such as an attempt to record events for a serial this service never
// issued under a registered GTIN.
type Signal struct {
	Kind   string // e.g. "forged_serial"
	GTIN   string
	Serial string
	Owner  string // entity owning the GTIN
	Actor  string // entity that attempted it
	Detail string
}

// Signals receives what the custody record refuses; trace/scan's Alerter
// turns signals into alerts. Raise must not fail the capture: it logs its
// own failures.
type Signals interface {
	Raise(ctx context.Context, s Signal)
}

// SignalForgedSerial is an event about a serial never issued here under a
// GTIN registered here.
const SignalForgedSerial = "forged_serial"

// SignalRecalledSale is an attempt to sell a recalled code.
const SignalRecalledSale = "recalled_sale"
