package scan

import (
	"context"
	"time"

	"tracesvc/trace"
)

// Verdict is what a scan tells a consumer about a code.
type Verdict string

// The verdicts, from the most to the least urgent.
const (
	VerdictRecalled       Verdict = "recalled"       // PRODUCT SAFETY RECALL
	VerdictUnknownCode    Verdict = "unknown_code"   // not issued here: possibly counterfeit
	VerdictDecommissioned Verdict = "decommissioned" // taken out of use or destroyed (a sale is not an end)
	VerdictExpired        Verdict = "expired"
	// VerdictMismatch is a real code whose link carries data that
	// disagrees with the record (another lot, a changed expiry date).
	VerdictMismatch Verdict = "mismatch"
	VerdictGenuine  Verdict = "genuine"
	// VerdictProductInfo is a link without a serial: it names a product
	// or a lot, not one item, so it cannot vouch for the item in hand.
	VerdictProductInfo Verdict = "product_info"
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
	// AlertForgedSerial is an attempt to record custody events for a
	// serial never issued under a GTIN registered here (trace.SignalForgedSerial).
	AlertForgedSerial AlertKind = "forged_serial"
	// AlertRecalledSale is an attempt to sell a recalled code
	// (trace.SignalRecalledSale).
	AlertRecalledSale AlertKind = "recalled_sale"
	// AlertDataMismatch is a scanned link whose lot or dates disagree
	// with the record: a relabelled or tampered code.
	AlertDataMismatch AlertKind = "data_mismatch"
	// AlertIncidentCluster is a risk alert, not a counterfeit signal:
	// several incident reports on one product within a few weeks (the
	// standards domain raises it). Its Serial is "incidents:" and the
	// event date of the cluster's first report, so a cluster months later
	// is an alert of its own.
	AlertIncidentCluster AlertKind = "incident_cluster"
)

// AlertKinds lists every [AlertKind].
var AlertKinds = []AlertKind{AlertUnknownSerial, AlertScannedAfterSale, AlertImpossibleTravel, AlertTooManyScans,
	AlertForgedSerial, AlertRecalledSale, AlertDataMismatch, AlertIncidentCluster}

// Alert is a counterfeit signal, with the scans that raised it.
type Alert struct {
	ID        string    `json:"id"`
	Kind      AlertKind `json:"kind"`
	GTIN      string    `json:"gtin"`
	Serial    string    `json:"serial"`
	Owner     string    `json:"ownerId"` // entity owning the GTIN
	Scans     []string  `json:"scans"`   // IDs of the scans that raised it (none for custody signals)
	Detail    string    `json:"detail"`
	CreatedAt time.Time `json:"createdAt"`
}

// CodeKey names one serialized item.
type CodeKey struct{ GTIN, Serial string }

// AlertFilter selects alerts.
type AlertFilter struct {
	Owner string // "" for all (officials)
	Kind  AlertKind
}

// Store keeps scans and the alerts they raise. trace/tracesql and
// trace/tracemongo implement it; trace/storetest holds them to it.
type Store interface {
	// InsertScans stores scans; an already stored ID is skipped.
	InsertScans(ctx context.Context, scans []Scan) error
	// LocatedBefore returns the code's latest scan (by time, then ID) that
	// has a location and an ID before before, and whether there is one:
	// the scan an impossible-travel check compares a new one with.
	LocatedBefore(ctx context.Context, gtin, serial, before string) (Scan, bool, error)
	// CountScans returns how many times a code was scanned.
	CountScans(ctx context.Context, gtin, serial string) (int, error)
	// CountScansOf returns how many times each of codes was scanned, in
	// one go; codes never scanned are left out.
	CountScansOf(ctx context.Context, codes []CodeKey) (map[CodeKey]int, error)
	// CountRecalledScans returns, for the scans of gtin answered
	// [VerdictRecalled] at or after since, the number of scans per serial:
	// of the serials in ascending order, at most limit. Scans without a
	// serial are not counted. Recall effectiveness reads it: consumer scans
	// of recalled units since the recall opened.
	CountRecalledScans(ctx context.Context, gtin string, since time.Time, limit int) (map[string]int, error)
	// InsertAlert stores an alert; [trace.ErrConflict] when its ID exists
	// or an alert of its kind and code does (one per kind and code).
	InsertAlert(ctx context.Context, a Alert) error
	// ListAlerts returns alerts in ID (creation) order after p.After.
	ListAlerts(ctx context.Context, f AlertFilter, p trace.Page) ([]Alert, error)
	// HasAlert reports whether an alert of kind exists for the code.
	HasAlert(ctx context.Context, kind AlertKind, gtin, serial string) (bool, error)
}

// RecallNotice is an open recall as a consumer must see it.
type RecallNotice struct {
	ID           string `json:"id"`
	Class        string `json:"class,omitempty"` // I, II or III
	Hazard       string `json:"hazard"`          // what can go wrong, plainly
	Instructions string `json:"instructions"`    // e.g. "Stop using this product."
	Remedy       string `json:"remedy"`          // refund, repair, replace, …
	Contact      string `json:"contact,omitempty"`
}

// RecallLookup tells whether a product, lot or item is under recall. The
// recall domain implements it; cmd wires it in.
type RecallLookup interface {
	// RecallFor returns the open recall covering the item (gtin, lot,
	// serial; lot or serial may be empty), or nil and no error when none
	// does. An error means the answer is unknown, and the scan fails
	// rather than show a possibly recalled unit as fine.
	RecallFor(ctx context.Context, gtin, lot, serial string) (*RecallNotice, error)
	// RecallForUnit returns the open recall covering the logistic unit
	// (a case or pallet, by SSCC) holding recalled goods, or nil.
	RecallForUnit(ctx context.Context, sscc string) (*RecallNotice, error)
}

// DeclaredStandard is one standard a product is declared to follow.
type DeclaredStandard struct {
	Type   string `json:"type"`   // GB, GB/T, QB/T, DB.., T/.., Q/..
	Number string `json:"number"` // e.g. GB 2760-2014
	Name   string `json:"name"`
	// BelowNational is set when one of the product's declared indicators
	// is weaker than the national standard it is compared with.
	BelowNational bool `json:"belowNationalStandard,omitempty"`
}

// StandardsLookup lists the published standard declarations of a product.
// The standards domain implements it; cmd wires it in.
type StandardsLookup interface {
	// DeclaredStandards returns the standards the product's published
	// declarations name, or an empty list (and no error) when it has none.
	DeclaredStandards(ctx context.Context, gtin string) ([]DeclaredStandard, error)
}

// CreditClass is an entity's published credit class.
type CreditClass struct {
	Class  string `json:"class"`  // good, warning, dishonest, seriously_dishonest
	Colour string `json:"colour"` // green, yellow, red, black
	Basis  string `json:"basis,omitempty"`
}

// CreditLookup gives an entity's credit class. The recall domain's credit
// record implements it; cmd wires it in.
type CreditLookup interface {
	// CreditClass returns the entity's current class. An entity with no
	// credit record yet gets Class "" (shown as "not rated yet"), not an
	// error.
	CreditClass(ctx context.Context, entityID string) (CreditClass, error)
}

// Maker is the product's owner as a consumer sees it.
type Maker struct {
	ID     string       `json:"id"`
	Name   string       `json:"name"`
	Region string       `json:"region"`
	Credit *CreditClass `json:"credit,omitempty"` // absent until a credit record is wired in
}

// ProductFacts is what a scan shows of a product.
type ProductFacts struct {
	GTIN     string         `json:"gtin"`
	Name     string         `json:"name"`
	Brand    string         `json:"brand,omitempty"`
	Model    string         `json:"model,omitempty"`
	Category trace.Category `json:"category"`
	Maker    Maker          `json:"maker"`
}

// BatchFacts is what a scan shows of a batch.
type BatchFacts struct {
	Lot            string `json:"lot"`
	ProductionDate string `json:"productionDate"`
	ExpiryDate     string `json:"expiryDate,omitempty"`
	Expired        bool   `json:"expired"`
}

// Stage is one step of the custody timeline a consumer sees: never prices,
// order numbers or personal data, and places only to city level.
type Stage struct {
	Stage     string    `json:"stage"` // farm_lab, processing, distribution, retail
	Step      string    `json:"step"`  // the CBV business step, e.g. shipping
	Date      string    `json:"date"`  // YYYY-MM-DD
	Time      time.Time `json:"time"`
	Place     string    `json:"place,omitempty"`     // the custodian's region
	Custodian string    `json:"custodian,omitempty"` // the custodian's name
}

// Resolution is what resolving a Digital Link tells the consumer.
type Resolution struct {
	Verdict    Verdict            `json:"verdict"`
	URI        string             `json:"uri"`
	GTIN       string             `json:"gtin,omitempty"`
	Lot        string             `json:"lot,omitempty"`
	Serial     string             `json:"serial,omitempty"`
	State      trace.CodeState    `json:"codeState,omitempty"`
	Product    *ProductFacts      `json:"product"`
	Batch      *BatchFacts        `json:"batch"`
	Provenance []Stage            `json:"provenance"`
	Recall     *RecallNotice      `json:"recall,omitempty"`
	Standards  []DeclaredStandard `json:"standards,omitempty"`
	ScannedAt  time.Time          `json:"scannedAt"`
	ScanID     string             `json:"scanId,omitempty"`
	// Sale is when and where a sold item was sold: a buyer's own scans
	// after a retail sale are the normal case.
	Sale *Sale `json:"sale,omitempty"`
	// Mismatches say what in the link disagrees with the record (with
	// VerdictMismatch).
	Mismatches []Mismatch `json:"mismatches,omitempty"`
	// Unit is the logistic unit an SSCC link names (then GTIN is empty).
	Unit *UnitFacts `json:"unit,omitempty"`
	// Checks is how many times this item's code has been checked, this
	// time included; Caution is set once that passes the alert threshold.
	Checks  int  `json:"checks,omitempty"`
	Caution bool `json:"caution,omitempty"`
}

// Mismatch is a data attribute of a scanned link that disagrees with the
// record.
type Mismatch struct {
	Field  string `json:"field"`  // lot, expiryDate or productionDate
	Link   string `json:"link"`   // what the link says
	Record string `json:"record"` // what the record says; "" when it has none
}

// UnitFacts is what a scan shows of a logistic unit (a case or pallet).
type UnitFacts struct {
	SSCC   string          `json:"sscc"`
	Issuer Maker           `json:"issuer"` // the entity that issued the SSCC
	State  trace.CodeState `json:"state"`
}

// Sale is an item's retail sale as a consumer sees it.
type Sale struct {
	Date string `json:"date"`           // YYYY-MM-DD
	Shop string `json:"shop,omitempty"` // the seller's name
}

// Client is who scanned and where, as far as the service may know.
type Client struct {
	Fingerprint string // keyed hash of address and agent
	Lat, Lon    *float64
}
