// Package wire builds the service: it opens every domain's stores on one
// database handle, then the domain services from trace up through
// standards and recall, passing the higher domains' answers into the
// lower ones' interfaces, and finally the HTTP handlers. cmd/tracesvc uses
// it on both backends, and the handler tests use it too, so there is one
// wiring to read and to test.
package wire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"tracesvc/handlers"
	"tracesvc/recall"
	"tracesvc/recall/credit"
	"tracesvc/recall/draw"
	"tracesvc/recall/recallmongo"
	"tracesvc/recall/recallsql"
	"tracesvc/recall/webhook"
	"tracesvc/standards"
	"tracesvc/standards/standardsmongo"
	"tracesvc/standards/standardssql"
	"tracesvc/standards/workday"
	"tracesvc/trace"
	"tracesvc/trace/access"
	"tracesvc/trace/audit"
	"tracesvc/trace/fsma"
	"tracesvc/trace/scan"
	"tracesvc/trace/sqlitedb"
	"tracesvc/trace/tracemongo"
	"tracesvc/trace/tracesql"
)

// Stores is every domain's stores on one database.
type Stores struct {
	Trace  trace.Store
	Codes  trace.CodeStore
	Events trace.EventStore
	Scans  scan.Store
	// Captures tells the resolver what each capture touched, on the
	// embedded database; nil on MongoDB.
	Captures     scan.Captures
	Keys         access.Store
	Audit        audit.Store
	Tipoffs      standards.TipoffStore
	Declarations standards.DeclarationStore
	SpotChecks   standards.SpotCheckStore
	Incidents    standards.IncidentStore
	Endpoints    recall.EndpointStore
	Outbox       recall.OutboxStore
	Campaigns    recall.CampaignStore
	Credit       credit.Store
	Draws        draw.Store
}

// SQLite opens every domain's stores on the embedded database's writer
// and reader pools, creating their tables if needed. Where the database
// has a counter shared by the processes on its folder, the resolver keeps
// scanned items in memory between captures (see [scan.Captures]).
func SQLite(ctx context.Context, db *sqlitedb.DB) (Stores, error) {
	w, r := db.W, db.R
	t, err := tracesql.New(ctx, w, r)
	if err != nil {
		return Stores{}, err
	}
	var captures scan.Captures
	if db.Counter != nil {
		t.ShareCaptures(db.Counter)
		captures = t
	}
	s, err := standardssql.New(ctx, w, r)
	if err != nil {
		return Stores{}, err
	}
	rc, err := recallsql.New(ctx, w, r)
	if err != nil {
		return Stores{}, err
	}
	return Stores{Trace: t, Codes: t, Events: t, Scans: t, Captures: captures, Keys: t, Audit: t, Tipoffs: s, Declarations: s, SpotChecks: s,
		Incidents: s, Endpoints: rc, Outbox: rc, Campaigns: rc, Credit: rc, Draws: rc}, nil
}

// Mongo opens every domain's stores on db, creating their indexes if
// needed.
func Mongo(ctx context.Context, db *mongo.Database) (Stores, error) {
	t, err := tracemongo.New(ctx, db)
	if err != nil {
		return Stores{}, err
	}
	s, err := standardsmongo.New(ctx, db)
	if err != nil {
		return Stores{}, err
	}
	rc, err := recallmongo.New(ctx, db)
	if err != nil {
		return Stores{}, err
	}
	return Stores{Trace: t, Codes: t, Events: t, Scans: t, Keys: t, Audit: t, Tipoffs: s, Declarations: s, SpotChecks: s, Incidents: s, Endpoints: rc, Outbox: rc, Campaigns: rc, Credit: rc, Draws: rc}, nil
}

// Options are the settings of the services.
type Options struct {
	BaseURL      string // public origin of Digital Link URIs, without a trailing slash
	SerialLength int    // 0 means trace.DefaultSerialLength
	LabelFont    string // optional TrueType font for label text
	MaxScans     int    // scans of one serial that raise an alert; 0 means the default
	TraceWalks   int    // trace walks run at once; 0 means handlers.DefaultTraceWalks
	MaxSpeedKmh  float64
	// SecretKey is the 32-byte key that seals webhook secrets at rest
	// (see webhook.LoadOrCreateKey).
	SecretKey []byte
	// AuditKey is the 32-byte key of the audit chain (see audit.NewLog),
	// kept outside the database.
	AuditKey []byte
	// WebhookPolicy says which webhook URLs entities may register.
	WebhookPolicy webhook.Policy
	// GTINsWithoutPrefix: see trace.RegistryConfig.
	GTINsWithoutPrefix bool
	FingerprintKey     []byte
	TrustedProxies     []string
	PublicLimit        handlers.RateLimit
	TipoffLimit        handlers.RateLimit
	Logger             *slog.Logger // nil discards
	Now                trace.Clock  // nil is the wall clock
	// Instance names this process to the issuances it streams (see
	// trace.CodesConfig.Instance); empty means a name of its own.
	Instance string
	// WorkingDays counts deadlines in working days; nil is the embedded
	// Chinese schedule in Asia/Shanghai.
	WorkingDays *workday.Calendar
	// DeclarationGated are the product categories whose batches need a
	// published standards declaration: nil is standards.GatedCategories,
	// an empty list none.
	DeclarationGated []trace.Category
	// IncidentDeadlines are the working days incident reports have, by
	// product category and severity; nil is standards.DefaultDeadlineRules.
	IncidentDeadlines standards.DeadlineRules
	// IncidentCluster is how many reports on one product within 30 days
	// raise a risk alert; 0 means 3.
	IncidentCluster int
	// RecordTimeSettle: see trace.ChainConfig.
	RecordTimeSettle time.Duration
	// IssuanceLease is how long a running issuance stays held without a
	// renewal; 0 means trace.DefaultLease.
	IssuanceLease time.Duration
	// CreditRules classify credit ledgers; nil is credit.DefaultRules.
	CreditRules *credit.Rules
	// The credit record's periods (see credit.Config); zero values are
	// its defaults.
	CreditDecideDays                                             int
	CreditRepairWait, CreditRepairWaitStrict, CreditSeriousAfter string
	// RecallAckDays are the working days a custodian has to acknowledge
	// a recall notice; 0 means recall.DefaultAckDays.
	RecallAckDays int
	// Notices configures the outbox of notices to custodians' webhooks;
	// its Owner is Instance, its Logger and Now the ones above.
	Notices recall.OutboxConfig
	// Classes answers entities' credit classes to inspection draws; nil
	// is the credit record.
	Classes draw.Classes
	// Metrics is the registry of the service's metrics, which GET
	// /metrics serves; nil is a new one from [NewRegistry]. Time the
	// store's operations into it with [StoreTimer].
	Metrics *prometheus.Registry
}

// Service is the built service.
type Service struct {
	Handler  *handlers.Server
	Access   *access.Service
	Audit    *audit.Log
	Registry *trace.Registry
	Codes    *trace.Codes   // call InterruptAbandoned at start, before serving
	Resolver *scan.Resolver // Close it after the server stops, before the database closes
	// Outbox delivers notices to custodians' webhooks: Run it in the
	// background, and let it end before the database closes.
	Outbox *recall.Outbox
	// Recalls are the recall campaigns: Sweep them from time to time.
	Recalls *recall.Campaigns
	// Credit is the credit record.
	Credit *credit.Service
	// Metrics is the registry GET /metrics serves.
	Metrics *prometheus.Registry
}

// Build builds the services over st and the handlers over them. It starts
// the resolver's scan recorder: call Close when done.
func Build(st Stores, o Options) (*Service, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewRegistry()
	}
	// Alerts and issued codes are counted where every path to them ends:
	// the stores' inserts.
	alerts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracesvc_alerts_raised_total",
		Help: "Alerts raised (counterfeit signals, custody mismatches, recalled sales, incident clusters), by kind."}, []string{"kind"})
	for _, k := range alertKinds {
		alerts.WithLabelValues(string(k))
	}
	issued := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tracesvc_codes_issued_total",
		Help: "Codes newly minted and stored, by kind: item (serialized GTINs) or sscc."}, []string{"kind"})
	issued.WithLabelValues("item")
	issued.WithLabelValues("sscc")
	st.Scans = countedAlerts{Store: st.Scans, raised: alerts}
	st.Codes = countedCodes{CodeStore: st.Codes, issued: issued}
	if o.BaseURL == "" {
		return nil, errors.New("wire: BaseURL is required")
	}
	sealer, err := webhook.NewSealer(o.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}

	days := o.WorkingDays
	if days == nil {
		shanghai, err := time.LoadLocation("Asia/Shanghai")
		if err != nil {
			return nil, fmt.Errorf("the regulator's time zone: %w", err)
		}
		if days, err = workday.Default(shanghai); err != nil {
			return nil, err
		}
	}
	if o.DeclarationGated == nil {
		o.DeclarationGated = standards.GatedCategories
	}
	// The declarations read products from the register's store, and rule
	// on its batches as a gate.
	declarations := standards.NewDeclarations(st.Declarations, st.Trace, standards.DeclarationsConfig{
		Now: o.Now, Location: days.Location(), Gated: o.DeclarationGated})

	// trace, the register and custody record. The credit record's
	// restrictions rule on it too, but the credit record reads services
	// built on the register: its gate is filled in below.
	creditGate := &laterGate{}
	registry := trace.NewRegistry(st.Trace, trace.RegistryConfig{Now: o.Now, GTINsWithoutPrefix: o.GTINsWithoutPrefix,
		Gates: []trace.Gate{declarations, creditGate}})
	codes, err := trace.NewCodes(st.Codes, registry, trace.CodesConfig{BaseURL: o.BaseURL,
		SerialLength: o.SerialLength, Now: o.Now, Instance: o.Instance, Lease: o.IssuanceLease, Gates: []trace.Gate{creditGate}})
	if err != nil {
		return nil, fmt.Errorf("serial length: %w", err)
	}
	chain := trace.NewChain(st.Events, st.Codes, registry, trace.ChainConfig{
		EntityURIPrefix: o.BaseURL + "/api/v1/entities/", Now: o.Now, RecordTimeSettle: o.RecordTimeSettle, Instance: o.Instance,
		Signals: scan.NewAlerter(st.Scans, o.Now, o.Logger)})
	keys := access.NewService(st.Keys, o.Now)
	auditLog, err := audit.NewLog(st.Audit, o.Now, o.AuditKey)
	if err != nil {
		return nil, err
	}

	// standards and recall, built on the register.
	tipoffs := standards.NewTipoffs(st.Tipoffs, registry, o.Now, days)
	incidents := standards.NewIncidents(st.Incidents, registry, custody{chain: chain, registry: registry},
		clusterAlerts{scans: st.Scans, now: o.Now}, o.Now, days,
		standards.IncidentConfig{Deadlines: o.IncidentDeadlines, ClusterReports: o.IncidentCluster, Logger: o.Logger})
	endpoints := recall.NewEndpoints(st.Endpoints, sealer, o.WebhookPolicy, o.Now)
	notices := o.Notices
	notices.Owner, notices.Logger, notices.Now = o.Instance, o.Logger, o.Now
	if notices.Owner == "" {
		notices.Owner = "tracesvc"
	}
	outbox, err := recall.NewOutbox(st.Outbox, endpoints, webhook.New(webhook.Config{Policy: o.WebhookPolicy,
		Timeout: notices.AttemptTimeout, Logger: o.Logger}), notices)
	if err != nil {
		return nil, err
	}

	recalls := recall.NewCampaigns(recall.CampaignsConfig{Store: st.Campaigns, Register: registry, Graph: chain,
		Custodies: st.Events, Codes: st.Codes, Scans: st.Scans, Incidents: incidents, Sender: outbox, Days: days,
		Now: o.Now, Logger: o.Logger, BaseURL: o.BaseURL, AckDays: o.RecallAckDays})

	spotChecks := standards.NewSpotChecks(st.SpotChecks, registry, declarations, o.Now, days.Location())
	rules := o.CreditRules
	if rules == nil {
		if rules, err = credit.DefaultRules(); err != nil {
			return nil, err
		}
	}
	ledger, err := credit.New(credit.Config{Store: st.Credit, Rules: rules, Register: registry, Recalls: recalls,
		Incidents: incidents, SpotChecks: spotChecks, Days: days, Now: o.Now, DecideDays: o.CreditDecideDays,
		RepairWait: o.CreditRepairWait, RepairWaitStrict: o.CreditRepairWaitStrict, SeriousAfter: o.CreditSeriousAfter})
	if err != nil {
		return nil, err
	}
	creditGate.Gate = ledger
	classes := o.Classes
	if classes == nil {
		classes = ledger
	}
	draws := draw.New(draw.Config{Store: st.Draws, Register: registry, Keys: keys, Classes: classes, Now: o.Now, Location: days.Location()})

	// The consumer-facing resolver reads the higher domains' answers
	// through its lookups: the declared standards, the recalls and the
	// maker's credit class.
	resolver := scan.New(registry, st.Codes, st.Events, chain, st.Scans, scan.Config{
		MaxScans: o.MaxScans, MaxSpeedKmh: o.MaxSpeedKmh, Logger: o.Logger, Now: o.Now, Standards: declarations, Recalls: recalls,
		Credit: ledger, Captures: st.Captures})

	h := handlers.New(handlers.Config{Registry: registry, Access: keys, Audit: auditLog, Codes: codes, Chain: chain,
		FSMA: fsma.New(registry, st.Codes, st.Events), Resolver: resolver, Tipoffs: tipoffs, Declarations: declarations, Incidents: incidents,
		SpotChecks: spotChecks, Credit: ledger,
		Endpoints: endpoints, Outbox: outbox, Recalls: recalls, Draws: draws, Logger: o.Logger, BaseURL: o.BaseURL, LabelFont: o.LabelFont, FingerprintKey: o.FingerprintKey,
		TrustedProxies: o.TrustedProxies, PublicLimit: o.PublicLimit, TipoffLimit: o.TipoffLimit, Now: o.Now, Metrics: o.Metrics,
		TraceWalks: o.TraceWalks})
	registerDomainMetrics(o.Metrics, resolver, alerts, issued, outbox, o.Logger)
	return &Service{Handler: h, Access: keys, Audit: auditLog, Registry: registry, Codes: codes, Resolver: resolver, Outbox: outbox,
		Recalls: recalls, Credit: ledger, Metrics: o.Metrics}, nil
}

// laterGate is a gate whose ruler is built after the services it rules
// on; Build sets Gate before the service answers anything.
type laterGate struct{ trace.Gate }
