// Package credit keeps market entities' credit records: an append-only
// ledger of credit events — recorded by regulators, or derived from the
// facts of recalls, incident reports, spot checks and recall notices —
// the class a deterministic, explained function of the ledger at a date
// gives, objections, credit repair, the abnormal-operations and
// serious-violation lists, and the restrictions a class brings. It reads
// facts from recall and standards; trace asks it questions (the scan
// page's credit class, "may this entity do X?") through interfaces cmd
// wires.
package credit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"tracesvc/trace"
)

// Sentinel errors of the credit record. ErrRestricted is an act a
// seriously dishonest entity may not do: HTTP 403 "credit_restricted".
var (
	ErrNotFound   = errors.New("credit: not found")
	ErrConflict   = errors.New("credit: conflict")
	ErrInvalid    = errors.New("credit: invalid")
	ErrRestricted = errors.New("credit: restricted")
	// ErrUnavailable is a store that does not answer in time.
	ErrUnavailable = errors.New("credit: unavailable")
)

func invalid(field, format string, args ...any) error {
	return &trace.FieldError{Field: field, Msg: fmt.Sprintf(format, args...), Kind: ErrInvalid}
}

// checkText validates a text field as [trace.CheckText] does, as this
// domain's invalid error.
func checkText(field, s string, required bool, max int) error {
	return trace.CheckTextAs(ErrInvalid, field, s, required, max)
}

// Class is an entity's credit class.
type Class string

// The classes, from best to worst.
const (
	Good               Class = "good"
	Warning            Class = "warning"
	Dishonest          Class = "dishonest"
	SeriouslyDishonest Class = "seriously_dishonest"
)

// Colour is the colour a class is shown in.
func (c Class) Colour() string {
	switch c {
	case Good:
		return "green"
	case Warning:
		return "yellow"
	case Dishonest:
		return "red"
	case SeriouslyDishonest:
		return "black"
	}
	return ""
}

// EventType is what a credit event records.
type EventType string

// The event types. The first five are recorded by regulators; the others
// are derived from facts the service holds.
const (
	Penalty           EventType = "penalty" // an administrative penalty, with its fine
	InspectionRefused EventType = "inspection_refused"
	MajorAccident     EventType = "major_accident"
	LicenceRevoked    EventType = "licence_revoked"
	DishonestDebtor   EventType = "dishonest_debtor" // a court's dishonest-debtor listing

	OrderedRecall      EventType = "ordered_recall"
	VoluntaryRecall    EventType = "voluntary_recall" // mitigating
	LateIncident       EventType = "late_incident_report"
	SpotCheckFailed    EventType = "spot_check_nonconformity"
	UnackedNotice      EventType = "unacknowledged_notice"
	ListEntry          EventType = "list_entry"   // entered on a list
	ListRemoval        EventType = "list_removal" // removed from a list
	RepairedAnnotation EventType = "credit_repair"
)

// Recorded are the event types regulators record.
var Recorded = []EventType{Penalty, InspectionRefused, MajorAccident, LicenceRevoked, DishonestDebtor}

// The lists.
const (
	AbnormalList = "abnormal_operations"
	SeriousList  = "serious_violation"
)

// Event statuses: counted, or no longer counted since a date because an
// objection was upheld (voided) or a repair approved (repaired). Events
// are never deleted.
const (
	Counted  = "counted"
	Voided   = "voided"
	Repaired = "repaired"
)

// Event is one credit event of an entity's ledger.
type Event struct {
	ID       string    `json:"id"`
	EntityID string    `json:"entityId"`
	Type     EventType `json:"type"`
	Date     string    `json:"date"` // YYYY-MM-DD
	// Source is what the event comes from: "recall:…", "incident:…",
	// "spotcheck:…", "notice:…", "list:…", or a regulator's decision
	// number for recorded events.
	Source string `json:"source"`
	Fine   string `json:"fine,omitempty"`  // yuan, "12000.00"
	Minor  bool   `json:"minor,omitempty"` // a minor penalty: published three months
	List   string `json:"list,omitempty"`  // for list entries and removals
	Reason string `json:"reason,omitempty"`
	// RecordedBy is the official's key ID; "" for derived events.
	RecordedBy string `json:"recordedBy,omitempty"`
	Derived    bool   `json:"derived"`
	// PublishedUntil is the first day the event is no longer published
	// (and no longer counts).
	PublishedUntil string    `json:"publishedUntil"`
	Status         string    `json:"status"`                // counted, voided or repaired
	StatusSince    string    `json:"statusSince,omitempty"` // the day it stopped counting
	CreatedAt      time.Time `json:"createdAt,omitzero"`
}

// countsAt reports whether e counts on day (YYYY-MM-DD): it happened, is
// still published, and was neither voided nor repaired by then.
func (e Event) countsAt(day string) bool {
	if e.Date > day || e.PublishedUntil != "" && day >= e.PublishedUntil {
		return false
	}
	return e.Status == Counted || e.Status == "" || e.StatusSince == "" || day < e.StatusSince
}

// fen parses an amount in yuan ("12000", "12000.5", "12000.50") into
// fen.
func fen(yuan string) (int64, error) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(yuan), ".")
	if whole == "" || len(whole) > 12 || strings.Trim(whole, "0123456789") != "" || len(frac) > 2 || strings.Trim(frac, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not an amount in yuan such as 12000 or 12000.50", yuan)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt(frac, 10, 64)
	return w*100 + f, nil
}

// yuan writes fen as yuan with two decimals.
func yuan(f int64) string { return fmt.Sprintf("%d.%02d", f/100, f%100) }

// addPeriod adds a period written "3y", "6m" or "90d" to a day.
func addPeriod(day, period string) (string, error) {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return "", err
	}
	if len(period) < 2 {
		return "", fmt.Errorf("period %q: want a number and y, m or d", period)
	}
	n, err := strconv.Atoi(period[:len(period)-1])
	if err != nil || n < 0 {
		return "", fmt.Errorf("period %q: want a number and y, m or d", period)
	}
	switch period[len(period)-1] {
	case 'y':
		t = t.AddDate(n, 0, 0)
	case 'm':
		t = t.AddDate(0, n, 0)
	case 'd':
		t = t.AddDate(0, 0, n)
	default:
		return "", fmt.Errorf("period %q: want a number and y, m or d", period)
	}
	return t.Format(time.DateOnly), nil
}
