package standards

import (
	"context"
	"time"

	"tracesvc/trace"
)

// Severity is how bad the outcome of an incident was.
type Severity string

// The severities of an incident report.
const (
	SeverityDeath          Severity = "death"
	SeveritySeriousInjury  Severity = "serious_injury"
	SeverityMinorInjury    Severity = "minor_injury"
	SeverityPropertyLoss   Severity = "property_loss"
	SeverityNearMiss       Severity = "near_miss"
	SeverityRecalledAbroad Severity = "recalled_abroad"
)

// Severities lists every [Severity].
var Severities = []Severity{SeverityDeath, SeveritySeriousInjury, SeverityMinorInjury, SeverityPropertyLoss,
	SeverityNearMiss, SeverityRecalledAbroad}

// IncidentStatus is where a report is in the regulator's follow-up.
type IncidentStatus string

// The incident statuses: received → under_assessment → closed, or →
// recall_linked (→ closed once the recall is done).
const (
	IncidentReceived     IncidentStatus = "received"
	IncidentAssessing    IncidentStatus = "under_assessment"
	IncidentClosed       IncidentStatus = "closed"
	IncidentRecallLinked IncidentStatus = "recall_linked"
)

// IncidentStatuses lists every [IncidentStatus].
var IncidentStatuses = []IncidentStatus{IncidentReceived, IncidentAssessing, IncidentClosed, IncidentRecallLinked}

// Contact is how the regulator reaches the person who filed a report. It
// is personal data: only regulators and the reporting entity see it.
type Contact struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

// Incident is a mandatory product-safety incident report, as stored.
// Dates are YYYY-MM-DD in the regulator's time zone.
type Incident struct {
	ID              string         `json:"id"`       // time-ordered: the list order
	EntityID        string         `json:"entityId"` // the reporting entity
	FiledBy         string         `json:"filedBy"`  // key ID that filed it (a regulator's when filed on the entity's behalf)
	OwnerID         string         `json:"ownerId"`  // the product's owner
	GTIN            string         `json:"gtin"`
	Lot             string         `json:"lot,omitempty"`
	Category        trace.Category `json:"category"` // the product's, when filed
	Codes           []string       `json:"codes"`
	EventDate       string         `json:"eventDate"`
	AwareDate       string         `json:"awareDate"` // as the reporter declares it
	Severity        Severity       `json:"severity"`
	PersonsAffected int            `json:"personsAffected"`
	Description     string         `json:"description"`
	Location        string         `json:"location"`
	Distribution    string         `json:"distribution"`
	RemedialAction  string         `json:"remedialAction"`
	Contact         *Contact       `json:"contact,omitempty"` // nil in views without it
	// DeadlineDate is the last working day to report, YYYY-MM-DD in the
	// calendar's time zone; Deadline the first instant after it.
	DeadlineDate string    `json:"deadline"`
	Deadline     time.Time `json:"deadlineAt"`
	// DeadlineFrom is the aware date the deadline ran from: AwareDate, or
	// the earlier aware date of a regulator's awareness record.
	DeadlineFrom string `json:"deadlineFrom"`
	Provisional  bool   `json:"deadlineProvisional,omitempty"`
	// Late is set when the report was filed at Deadline or later: a fact
	// the credit record reads.
	Late        bool           `json:"late"`
	AwarenessID string         `json:"awarenessId,omitempty"` // the regulator's awareness record it answers
	Status      IncidentStatus `json:"status"`
	RecallID    string         `json:"recallId,omitempty"` // with recall_linked
	Note        string         `json:"note,omitempty"`     // regulator's note, internal
	HandledBy   string         `json:"handledBy,omitempty"`
	CreatedAt   time.Time      `json:"createdAt"`
	UpdatedAt   time.Time      `json:"updatedAt"`
}

// IncidentFilter narrows a list of incident reports. Empty fields match
// everything.
type IncidentFilter struct {
	// Party keeps the reports an entity filed or whose product it owns.
	Party    string
	EntityID string // the reporting entity
	GTIN     string
	Status   IncidentStatus
	Severity Severity
	Late     *bool
	// FiledFrom and FiledTo bound the filing instant: [from, to).
	FiledFrom, FiledTo time.Time
}

// IncidentChange is a regulator's move of a report, as the store applies
// it.
type IncidentChange struct {
	From     IncidentStatus // the status it must have now, or [ErrConflict]
	Status   IncidentStatus
	RecallID string // "" keeps it
	Note     string
	By       string
	At       time.Time
}

// IncidentCount is one cell of the public statistics.
type IncidentCount struct {
	Category trace.Category `json:"category"`
	Month    string         `json:"month"` // YYYY-MM of the event date
	Reports  int            `json:"reports"`
}

// Awareness is a regulator's record that an entity became aware of an
// incident (from a tip-off, a spot check, a hospital's report…): the
// entity's reporting deadline runs from AwareDate, and the record stays
// open until the entity reports on the product.
type Awareness struct {
	ID           string    `json:"id"`
	EntityID     string    `json:"entityId"`
	GTIN         string    `json:"gtin"`
	Lot          string    `json:"lot,omitempty"`
	Source       string    `json:"source"`    // tipoff, spot_check, hospital_report, other
	Reference    string    `json:"reference"` // e.g. the tip-off receipt
	AwareDate    string    `json:"awareDate"`
	DeadlineDate string    `json:"deadline"`
	Deadline     time.Time `json:"deadlineAt"`
	Severity     Severity  `json:"severity,omitempty"`   // when known: it picks the deadline rule
	IncidentID   string    `json:"incidentId,omitempty"` // the report that answered it
	RecordedBy   string    `json:"recordedBy"`
	CreatedAt    time.Time `json:"createdAt"`
}

// AwarenessSources lists the sources of an [Awareness].
var AwarenessSources = []string{"tipoff", "spot_check", "hospital_report", "other"}

// IncidentStore keeps incident reports and awareness records.
// standards/standardssql and standards/standardsmongo implement it;
// standards/storetest holds them to it.
type IncidentStore interface {
	// CreateIncident stores r; [ErrConflict] when its ID exists.
	CreateIncident(ctx context.Context, r Incident) error
	// Incident finds a report by ID, or [ErrNotFound].
	Incident(ctx context.Context, id string) (Incident, error)
	// ListIncidents returns reports in ID order after p.After, filtered.
	// With EntityID, Late and FiledFrom/FiledTo it is the credit
	// record's question: the late reports of an entity in a period.
	ListIncidents(ctx context.Context, f IncidentFilter, p trace.Page) ([]Incident, error)
	// UpdateIncident applies c if the report's status is still c.From
	// and returns it; [ErrNotFound] when there is none, [ErrConflict]
	// when its status moved.
	UpdateIncident(ctx context.Context, id string, c IncidentChange) (Incident, error)
	// IncidentDates returns the event dates of the reports on gtin whose
	// event date is in [from, to] (YYYY-MM-DD), in order, at most limit.
	IncidentDates(ctx context.Context, gtin, from, to string, limit int) ([]string, error)
	// IncidentStats counts reports by product category and event month,
	// for event months in [fromMonth, toMonth] (YYYY-MM), ordered by
	// month then category.
	IncidentStats(ctx context.Context, fromMonth, toMonth string) ([]IncidentCount, error)

	// CreateAwareness stores a; [ErrConflict] when its ID exists.
	CreateAwareness(ctx context.Context, a Awareness) error
	// OpenAwareness returns the awareness records of entity on gtin that
	// no report answered yet, oldest aware date first.
	OpenAwareness(ctx context.Context, entityID, gtin string) ([]Awareness, error)
	// LinkAwareness records that report incidentID answered awareness
	// record id, if none did yet; [ErrNotFound] when there is no such
	// record, [ErrConflict] when another report answered it.
	LinkAwareness(ctx context.Context, id, incidentID string) error
	// ListAwareness returns awareness records in ID order after p.After;
	// with overdueAt set, only those no report answered whose deadline is
	// at or before it.
	ListAwareness(ctx context.Context, overdueAt time.Time, p trace.Page) ([]Awareness, error)
}
