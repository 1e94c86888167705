package recall

import (
	"context"
	"time"

	"tracesvc/trace"
)

// Kind says who started a campaign.
type Kind string

// The campaign kinds.
const (
	Ordered   Kind = "ordered"   // by a regulator, of any entity's products
	Voluntary Kind = "voluntary" // by an entity, of its own products
)

// Status is where a campaign is in its life: draft → open → completed or
// terminated; a draft may be cancelled.
type Status string

// The campaign statuses.
const (
	Draft      Status = "draft"
	Open       Status = "open"
	Completed  Status = "completed"
	Terminated Status = "terminated"
	Cancelled  Status = "cancelled"
)

// Statuses lists every [Status].
var Statuses = []Status{Draft, Open, Completed, Terminated, Cancelled}

// Levels of the distribution chain, for depth, scope and effectiveness.
const (
	LevelMaker     = "maker"
	LevelWholesale = "wholesale"
	LevelRetail    = "retail"
	LevelConsumer  = "consumer" // units sold to consumers
)

// Levels lists the levels in chain order.
var Levels = []string{LevelMaker, LevelWholesale, LevelRetail, LevelConsumer}

// Remedies a campaign may offer, and what recovered stock may have become.
const (
	RemedyRepair  = "repair"
	RemedyReplace = "replace"
	RemedyRefund  = "refund"
	RemedyWarning = "warning" // a warning or label correction
)

// Remedies lists the remedies.
var Remedies = []string{RemedyRepair, RemedyReplace, RemedyRefund, RemedyWarning}

// Recovered stock, by what was done with it.
const (
	Returned  = "returned"
	Destroyed = "destroyed"
	Repaired  = "repaired"
	Replaced  = "replaced"
)

// Recoveries lists the ways stock is recovered.
var Recoveries = []string{Returned, Destroyed, Repaired, Replaced}

// LotRef names a batch.
type LotRef struct {
	GTIN string `json:"gtin"`
	Lot  string `json:"lot"`
}

// SerialRef names one serialized unit.
type SerialRef struct {
	GTIN   string `json:"gtin"`
	Serial string `json:"serial"`
}

// ScopeInput is what a campaign recalls, before the trace graph expands
// it: whole products, lots, serials, or the lots of Products produced
// between ProducedFrom and ProducedTo (YYYY-MM-DD, both included).
type ScopeInput struct {
	Products     []string    `json:"products,omitempty"`
	Lots         []LotRef    `json:"lots,omitempty"`
	Serials      []SerialRef `json:"serials,omitempty"`
	ProducedFrom string      `json:"producedFrom,omitempty"`
	ProducedTo   string      `json:"producedTo,omitempty"`
}

// LevelCount is a count per level of the chain.
type LevelCount map[string]int

// Custodian is one entity that holds or held affected stock, as the
// scope found it.
type Custodian struct {
	EntityID string `json:"entityId"`
	Name     string `json:"name,omitempty"`
	Level    string `json:"level"` // maker, wholesale or retail
	// Units are the affected serialized units it holds now (or, when it
	// holds none, those it held last), and Quantities the class-level
	// amounts by unit of measure.
	Units      int                `json:"units"`
	Quantities map[string]float64 `json:"quantities,omitempty"`
	Holding    bool               `json:"holdingNow"` // it holds affected stock now
	Notice     string             `json:"notice"`     // the notice it was sent
}

// Scope is a campaign's affected stock, computed from the trace graph
// when it opens and again when late events arrive.
type Scope struct {
	Version    int                `json:"version"`
	ComputedAt time.Time          `json:"computedAt"`
	Units      int                `json:"units"`   // affected serialized units
	Sold       int                `json:"sold"`    // of which sold to consumers
	ByLevel    LevelCount         `json:"byLevel"` // units by level now
	Quantities map[string]float64 `json:"quantities,omitempty"`
	Lots       []LotRef           `json:"lots"`
	GTINs      []string           `json:"gtins"`         // the products of the affected units and lots
	Logistic   int                `json:"logisticUnits"` // cases and pallets holding them
	Custodians []Custodian        `json:"custodians"`
	Truncated  bool               `json:"truncated,omitempty"` // the graph was larger than a scope may be
}

// ScopeChange is what a recomputation of the scope found.
type ScopeChange struct {
	Version       int       `json:"version"`
	At            time.Time `json:"at"`
	AddedUnits    int       `json:"addedUnits"`
	AddedKeys     int       `json:"addedKeys"`
	NewCustodians []string  `json:"newCustodians"`
}

// Campaign is a recall: who started it, why, what it recalls, and how far
// it has got. Every version of it is stored whole; Version counts them,
// for optimistic updates.
type Campaign struct {
	ID                    string        `json:"id"`
	Kind                  Kind          `json:"kind"`
	Makers                []string      `json:"makers"` // the entities whose products are recalled
	StartedBy             string        `json:"startedBy"`
	Class                 string        `json:"class"` // I, II or III
	Depth                 string        `json:"depth"` // wholesale, retail or consumer
	Hazard                string        `json:"hazard"`
	Reason                string        `json:"reason"`
	Remedy                string        `json:"remedy"`
	CustodianInstructions string        `json:"custodianInstructions"`
	ConsumerInstructions  string        `json:"consumerInstructions"`
	Contact               string        `json:"contact,omitempty"`
	Incidents             []string      `json:"incidents,omitempty"`
	Products              []ProductName `json:"products"`
	Input                 ScopeInput    `json:"input"`
	Status                Status        `json:"status"`
	Scope                 *Scope        `json:"scope,omitempty"`
	Changes               []ScopeChange `json:"scopeChanges,omitempty"`
	EndReason             string        `json:"endReason,omitempty"` // why it was terminated
	CreatedAt             time.Time     `json:"createdAt"`
	UpdatedAt             time.Time     `json:"updatedAt"`
	OpenedAt              time.Time     `json:"openedAt,omitzero"`
	EndedAt               time.Time     `json:"endedAt,omitzero"` // completed, terminated or cancelled
	Version               int           `json:"-"`
}

// ProductName names a recalled product for the public.
type ProductName struct {
	GTIN string `json:"gtin"`
	Name string `json:"name"`
}

// CampaignFilter narrows a list of campaigns; empty fields match all.
type CampaignFilter struct {
	Statuses []Status
	Maker    string // one of the campaign's makers
	Kind     Kind
	// OpenedFrom and OpenedTo bound OpenedAt: [from, to).
	OpenedFrom, OpenedTo time.Time
}

// Notice is one custodian's notice of a campaign: what it holds or held
// of the affected stock, what to do, and what it has done.
type Notice struct {
	ID           string    `json:"id"` // campaign ID + "." + entity ID
	CampaignID   string    `json:"campaignId"`
	EntityID     string    `json:"entityId"`
	Level        string    `json:"level"`
	Units        int       `json:"units"`
	Keys         []string  `json:"keys"` // affected codes, lots and logistic units at this custodian
	Instructions string    `json:"instructions"`
	CreatedAt    time.Time `json:"createdAt"`
	// AckBy is the deadline to acknowledge, in working days.
	AckBy    time.Time `json:"ackBy"`
	AckedAt  time.Time `json:"ackedAt,omitzero"`
	AckedBy  string    `json:"ackedBy,omitempty"`
	ReadAt   time.Time `json:"readAt,omitzero"` // first read at GET /api/v1/notices
	Recovery Recovery  `json:"recovery"`
	Version  int       `json:"-"`
}

// Recovery is the stock a custodian reports recovered: counts by how,
// and the serials reported one by one (each counted once).
type Recovery struct {
	Counts  map[string]int    `json:"counts"`            // returned, destroyed, repaired, replaced
	Serials map[string]string `json:"serials,omitempty"` // item key → how
}

// NoticeFilter narrows a list of notices; empty fields match all.
type NoticeFilter struct {
	CampaignID string
	EntityID   string
	// UnackedAt keeps the notices not acknowledged by their deadline,
	// when that deadline is before it.
	UnackedAt time.Time
	// AckByFrom and AckByTo bound AckBy: [from, to).
	AckByFrom, AckByTo time.Time
}

// CampaignStore keeps campaigns, the keys that find them from a scanned
// code, and their notices. recall/recallsql and recall/recallmongo
// implement it; recall/storetest holds them to it.
type CampaignStore interface {
	// CreateCampaign stores c (Version 1); [ErrConflict] when its ID exists.
	CreateCampaign(ctx context.Context, c Campaign) error
	// Campaign returns the campaign with id, or [ErrNotFound].
	Campaign(ctx context.Context, id string) (Campaign, error)
	// ListCampaigns returns campaigns in ID order after p.After.
	ListCampaigns(ctx context.Context, f CampaignFilter, p trace.Page) ([]Campaign, error)
	// UpdateCampaign replaces the campaign with c.ID by c if its stored
	// Version is c.Version-1; [ErrConflict] when it moved, [ErrNotFound]
	// when there is none.
	UpdateCampaign(ctx context.Context, c Campaign) error

	// AddRecallKeys records that the campaign covers keys (canonical
	// keys: "01/{gtin}", lot, item and SSCC keys); keys it has already are
	// not an error.
	AddRecallKeys(ctx context.Context, campaignID string, keys []string) error
	// CampaignsByKeys returns the IDs of the campaigns covering any of
	// keys, each once.
	CampaignsByKeys(ctx context.Context, keys []string) ([]string, error)

	// PutNotices stores notices (Version 1) whose IDs are not stored yet;
	// the others are left as they are.
	PutNotices(ctx context.Context, ns []Notice) error
	// Notice returns the notice with id, or [ErrNotFound].
	Notice(ctx context.Context, id string) (Notice, error)
	// ListNotices returns notices in ID order after p.After.
	ListNotices(ctx context.Context, f NoticeFilter, p trace.Page) ([]Notice, error)
	// UpdateNotice replaces the notice with n.ID by n if its stored
	// Version is n.Version-1; [ErrConflict] when it moved, [ErrNotFound]
	// when there is none.
	UpdateNotice(ctx context.Context, n Notice) error
}
