package trace

import (
	"context"
	"time"
)

// Verdict is what a scan tells a consumer about a code.
type Verdict string

// The verdicts, from the most to the least urgent.
const (
	VerdictRecalled       Verdict = "recalled"       // PRODUCT SAFETY RECALL
	VerdictUnknownCode    Verdict = "unknown_code"   // not issued here: possibly counterfeit
	VerdictDecommissioned Verdict = "decommissioned" // already sold, decommissioned or destroyed
	VerdictExpired        Verdict = "expired"
	VerdictGenuine        Verdict = "genuine"
)

// Scan is one resolve of a serialized code by a consumer.
type Scan struct {
	ID          string    `json:"id"`
	GTIN        string    `json:"gtin"`
	Serial      string    `json:"serial"`
	Lot         string    `json:"lot,omitempty"`
	At          time.Time `json:"at"`
	HasLocation bool      `json:"hasLocation"`
	Lat         float64   `json:"lat,omitempty"` // rounded to 0.01° (about 1 km)
	Lon         float64   `json:"lon,omitempty"`
	Client      string    `json:"client"`  // keyed hash of the client's address and agent; never the address
	Verdict     Verdict   `json:"verdict"` // what the consumer was told
	Owner       string    `json:"-"`       // owning entity of the GTIN, for alert visibility
}

// AlertKind is which counterfeit signal an alert is.
type AlertKind string

// The counterfeit signals.
const (
	AlertUnknownSerial    AlertKind = "unknown_serial"    // a serial never issued under a known GTIN
	AlertScannedAfterSale AlertKind = "scanned_after_end" // scanned after it was sold or decommissioned
	AlertImpossibleTravel AlertKind = "impossible_travel" // two scans too far apart for the time between
	AlertTooManyScans     AlertKind = "too_many_scans"    // scanned more than the configured number of times
)

// Alert is a counterfeit signal, with the scans that raised it.
type Alert struct {
	ID        string    `json:"id"`
	Kind      AlertKind `json:"kind"`
	GTIN      string    `json:"gtin"`
	Serial    string    `json:"serial"`
	Owner     string    `json:"ownerId"` // entity owning the GTIN
	Scans     []string  `json:"scans"`   // IDs of the scans that raised it
	Detail    string    `json:"detail"`
	CreatedAt time.Time `json:"createdAt"`
}

// AlertFilter selects alerts.
type AlertFilter struct {
	Owner string // "" for all (officials)
	Kind  AlertKind
}

// ScanStore keeps scans and the alerts they raise.
type ScanStore interface {
	// InsertScans stores scans; an already stored ID is skipped.
	InsertScans(ctx context.Context, scans []Scan) error
	// RecentScans returns the latest scans of one code, newest first, at most limit.
	RecentScans(ctx context.Context, gtin, serial string, limit int) ([]Scan, error)
	// CountScans returns how many times a code was scanned.
	CountScans(ctx context.Context, gtin, serial string) (int, error)
	// InsertAlert stores an alert; [ErrConflict] when its ID exists.
	InsertAlert(ctx context.Context, a Alert) error
	// ListAlerts returns alerts in ID (creation) order after p.After.
	ListAlerts(ctx context.Context, f AlertFilter, p Page) ([]Alert, error)
	// HasAlert reports whether an alert of kind exists for the code.
	HasAlert(ctx context.Context, kind AlertKind, gtin, serial string) (bool, error)
}

// TipoffStatus is where a tip-off is in its handling.
type TipoffStatus string

// The tip-off statuses.
const (
	TipoffReceived   TipoffStatus = "received"
	TipoffVerifying  TipoffStatus = "verifying"
	TipoffCaseOpened TipoffStatus = "case_opened"
	TipoffClosed     TipoffStatus = "closed"
	TipoffRejected   TipoffStatus = "rejected"
)

// Tipoff is a report from the public about a code, product or entity.
// Name and Contact are confidential: only regulators see them.
type Tipoff struct {
	ID          string       `json:"id"`                       // time-ordered: the list order
	Receipt     string       `json:"receipt"`                  // what the tipster keeps to ask for its status
	Subject     string       `json:"subject"`                  // "code", "product" or "entity"
	Code        string       `json:"code,omitempty"`           // Digital Link or element string
	GTIN        string       `json:"gtin,omitempty"`           // for a product
	EntityID    string       `json:"entityId,omitempty"`       // for an entity
	Category    string       `json:"category"`                 // counterfeit, quality, safety, labelling, other
	Description string       `json:"description"`              // what the tipster saw
	Anonymous   bool         `json:"anonymous"`                // no name or contact given
	Name        string       `json:"name,omitempty"`           // confidential
	Contact     string       `json:"contact,omitempty"`        // confidential
	Client      string       `json:"-"`                        // hashed client, for rate limits and abuse review
	Status      TipoffStatus `json:"status"`                   //
	Note        string       `json:"note,omitempty"`           // regulator's note, internal
	HandledBy   string       `json:"handledBy,omitempty"`      // regulator key ID of the last update
	CreatedAt   time.Time    `json:"createdAt"`                //
	UpdatedAt   time.Time    `json:"updatedAt"`                //
	Deadline    time.Time    `json:"verifyBy,omitzero"`        // verification deadline
	NotifyBy    time.Time    `json:"notifyTipsterBy,omitzero"` // when a named tipster must hear back
}

// TipoffStore keeps tip-offs.
type TipoffStore interface {
	// CreateTipoff stores t; [ErrConflict] when its ID or receipt exists.
	CreateTipoff(ctx context.Context, t Tipoff) error
	// Tipoff finds a tip-off by receipt, or [ErrNotFound].
	Tipoff(ctx context.Context, receipt string) (Tipoff, error)
	// ListTipoffs returns tip-offs in ID order after p.After, optionally
	// of one status.
	ListTipoffs(ctx context.Context, status TipoffStatus, p Page) ([]Tipoff, error)
	// UpdateTipoff sets status, note and handler and returns the tip-off.
	UpdateTipoff(ctx context.Context, receipt string, status TipoffStatus, note, by string, at time.Time) (Tipoff, error)
}
