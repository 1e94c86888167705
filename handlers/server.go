// Package handlers is the HTTP face of tracesvc: the Gin router, key
// authentication and role checks, JSON in and out, and the one place where
// domain errors become HTTP statuses (errors.go).
package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"tracesvc/recall"
	"tracesvc/recall/credit"
	"tracesvc/recall/draw"
	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/access"
	"tracesvc/trace/audit"
	"tracesvc/trace/fsma"
	"tracesvc/trace/label"
	"tracesvc/trace/scan"
)

// Config is what [New] wires together. Every field is required.
type Config struct {
	// TraceWalks is how many trace walks run at once; more wait their
	// turn. 0 means DefaultTraceWalks.
	TraceWalks int

	Registry *trace.Registry
	Access   *access.Service
	Audit    *audit.Log
	Codes    *trace.Codes
	Chain    *trace.Chain
	FSMA     *fsma.Exporter
	Resolver *scan.Resolver
	Tipoffs  *standards.Tipoffs
	// Declarations are the standard self-declarations.
	Declarations *standards.Declarations
	Incidents    *standards.Incidents
	SpotChecks   *standards.SpotChecks
	Endpoints    *recall.Endpoints
	// Recalls are the recall campaigns and their notices.
	Recalls *recall.Campaigns
	// Credit is the credit record.
	Credit *credit.Service
	// Outbox is the outbox of notices to custodians' webhooks, whose
	// deliveries regulators list and re-drive.
	Outbox *recall.Outbox
	// Draws are the "two randoms" inspection draws.
	Draws   *draw.Service
	Logger  *slog.Logger
	BaseURL string // public origin, e.g. https://id.example.cn

	// LabelFont is an optional TrueType font for label text beyond
	// Western European characters (see label.Layout.FontPath).
	LabelFont string

	// FingerprintKey keys the hash that stands for a client (address and
	// user agent) in scan logs and rate limits. It must be secret.
	FingerprintKey []byte
	// TrustedProxies are the proxies whose X-Forwarded-For is believed;
	// none by default, so the client is the TCP peer.
	TrustedProxies []string
	// PublicLimit limits anonymous callers of the API and the resolver;
	// TipoffLimit, anonymous tip-offs. Zero values turn limits off.
	PublicLimit, TipoffLimit RateLimit
	// Now is the clock of the rate limits; nil is the wall clock.
	Now trace.Clock
	// Metrics is the registry the HTTP series are registered on and
	// GET /metrics serves (with whatever else is registered on it); nil
	// is a registry of their own.
	Metrics *prometheus.Registry
}

// Server serves the API. It is an [http.Handler].
type Server struct {
	walks        chan struct{} // a slot per trace walk running
	registry     *trace.Registry
	access       *access.Service
	audit        *audit.Log
	codes        *trace.Codes
	chain        *trace.Chain
	fsma         *fsma.Exporter
	resolver     *scan.Resolver
	tipoffs      *standards.Tipoffs
	declarations *standards.Declarations
	incidents    *standards.Incidents
	spotChecks   *standards.SpotChecks
	endpoints    *recall.Endpoints
	recalls      *recall.Campaigns
	credit       *credit.Service
	outbox       *recall.Outbox
	draws        *draw.Service
	pages        *pages
	dash         *dashboard
	fpKey        []byte
	metrics      *httpMetrics
	scrape       http.Handler // GET /metrics
	public       *limiter
	tipLimit     *limiter
	logger       *slog.Logger
	baseURL      string
	labelFont    string
	labels       label.Renderer
	engine       *gin.Engine
	now          trace.Clock
}

// New builds the router. Call gin.SetMode before it.
// DefaultTraceWalks is how many trace walks run at once when not set: a
// wide walk keeps a core busy and holds tens of MB, so on a small machine
// more at once only share the cores and add up their memory.
const DefaultTraceWalks = 2

func New(cfg Config) *Server {
	if cfg.TraceWalks <= 0 {
		cfg.TraceWalks = DefaultTraceWalks
	}
	s := &Server{registry: cfg.Registry, access: cfg.Access, audit: cfg.Audit, codes: cfg.Codes, chain: cfg.Chain, logger: cfg.Logger,
		baseURL: cfg.BaseURL, labelFont: cfg.LabelFont, resolver: cfg.Resolver, tipoffs: cfg.Tipoffs, declarations: cfg.Declarations, incidents: cfg.Incidents, spotChecks: cfg.SpotChecks, recalls: cfg.Recalls, credit: cfg.Credit, draws: cfg.Draws, outbox: cfg.Outbox, pages: loadPages(cfg.Logger), fsma: cfg.FSMA, endpoints: cfg.Endpoints, now: cfg.Now,
		fpKey: cfg.FingerprintKey, public: newLimiter(cfg.PublicLimit), tipLimit: newLimiter(cfg.TipoffLimit),
		walks: make(chan struct{}, cfg.TraceWalks)}
	reg := cfg.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics, s.scrape = newHTTPMetrics(reg), scrapeHandler(reg, cfg.Logger)
	e := gin.New()
	// Lots and serials may hold "/" (GS1 set 82): match on the escaped path
	// so that %2F stays inside one segment, then unescape the values.
	e.UseRawPath = true
	e.UnescapePathValues = true
	e.RemoveExtraSlash = false
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		cfg.Logger.Error("bad trusted proxies; trusting none", "err", err)
		_ = e.SetTrustedProxies(nil)
	}
	e.NoRoute(func(c *gin.Context) {
		writeError(c, s.logger, fmt.Errorf("no such endpoint: %s: %w", c.Request.URL.Path, errNoRoute))
	})
	e.NoMethod(func(c *gin.Context) {
		writeError(c, s.logger, fmt.Errorf("%s is not allowed here: %w", c.Request.Method, errMethod))
	})
	// observeRequests comes first: the request id is in the context of
	// everything after it, and a request whose handler panicked is
	// counted and logged with the 500 recover answered.
	e.Use(s.observeRequests, securityHeaders, s.recover)
	s.engine = e
	s.dash = newDashboard(cfg.Logger, cfg.FingerprintKey)
	s.routes()
	s.dashboardRoutes()
	s.metrics.addRoutes(e.Routes())
	return s
}

// ServeHTTP implements [http.Handler].
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

func (s *Server) routes() {
	e := s.engine
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", s.authenticate, s.allow(officials...), s.serveMetrics)

	resolver := e.Group("/", s.authenticate, s.rateLimit(s.public))
	// The keys the resolver answers, and their Digital Link 1.0 names.
	for _, key := range []string{"01", "00", "gtin", "sscc"} {
		resolver.GET("/"+key+"/*rest", s.resolve)
	}
	resolver.GET("/.well-known/gs1resolver", s.wellKnown)
	resolver.Any(malformedURIPath, s.malformedURI)

	api := e.Group("/api/v1", s.authenticate, s.rateLimit(s.public), s.auditWrites)
	// The landing page and the API description (home.go).
	resolver.GET("", s.home)
	api.GET("/openapi.json", s.openAPIDoc)
	api.POST("/tipoffs", s.rateLimit(s.tipLimit), s.handle(s.fileTipoff))
	api.GET("/tipoffs/:receipt", s.handle(s.tipoffStatus))
	api.GET("/tipoffs", s.allow(regulator...), s.handle(s.listTipoffs))
	api.PATCH("/tipoffs/:receipt", s.allow(regulator...), s.handle(s.updateTipoff))
	api.GET("/alerts", s.allow(anyKey...), s.handle(s.listAlerts))

	decl := api.Group("/declarations", compliance)
	decl.POST("", s.allow(entityOnly...), s.handle(s.declare))
	decl.GET("", s.handle(s.listDeclarations))
	decl.GET("/:id", s.handle(s.getDeclaration))
	decl.PUT("/:id", s.allow(entityOnly...), s.handle(s.replaceDeclaration))
	decl.GET("/:id/history", s.handle(s.declarationHistory))
	decl.POST("/:id/publish", s.allow(entityOnly...), s.handle(s.publishDeclaration))
	decl.POST("/:id/revise", s.allow(entityOnly...), s.handle(s.reviseDeclaration))
	decl.POST("/:id/withdraw", s.allow(entityOrRegulator...), s.handle(s.withdrawDeclaration))
	decl.PUT("/:id/standards/:n/text", s.allow(entityOnly...), s.handle(s.putStandardText))
	decl.GET("/:id/standards/:n/text", s.handle(s.standardText))

	cr := api.Group("", compliance)
	cr.GET("/credit/rules", s.handle(s.creditRules))
	cr.GET("/entities/:id/credit", s.handle(s.creditStanding))
	cr.GET("/entities/:id/credit/history", s.handle(s.creditHistory))
	cr.GET("/entities/:id/credit/report", s.handle(s.creditReport))
	cr.GET("/entities/:id/credit/report.pdf", s.handle(s.creditReportPDF))
	cr.GET("/entities/:id/credit/events", s.allow(anyKey...), s.handle(s.creditLedger))
	cr.POST("/entities/:id/credit/events", s.allow(regulator...), s.handle(s.recordCreditEvent))
	cr.POST("/entities/:id/credit/events/:event/objections", s.allow(entityOnly...), s.handle(s.fileCreditRequest(credit.KindObjection)))
	cr.POST("/entities/:id/credit/events/:event/repairs", s.allow(entityOnly...), s.handle(s.fileCreditRequest(credit.KindRepair)))
	for _, kind := range []string{credit.KindObjection, credit.KindRepair} {
		cr.GET("/credit/"+kind+"s", s.allow(anyKey...), s.handle(s.listCreditRequests(kind)))
		cr.GET("/credit/"+kind+"s/:rid", s.allow(anyKey...), s.handle(s.getCreditRequest(kind)))
		cr.POST("/credit/"+kind+"s/:rid/decision", s.allow(regulator...), s.handle(s.decideCreditRequest(kind)))
	}
	cr.GET("/credit/objections/:rid/attachments/:n", s.allow(anyKey...), s.handle(s.creditAttachment))
	cr.GET("/credit/lists/:list", s.handle(s.creditList))
	cr.POST("/credit/lists/:list/entries", s.allow(regulator...), s.handle(s.enterList))
	cr.POST("/credit/lists/:list/entries/:lid/removal", s.allow(regulator...), s.handle(s.removeFromList))
	cr.GET("/credit/proposals", s.allow(regulator...), s.handle(s.listProposals))
	cr.POST("/credit/proposals/:lid/confirm", s.allow(regulator...), s.handle(s.confirmProposal))

	rc := api.Group("/recalls", compliance)
	rc.POST("", s.allow(entityOrRegulator...), s.handle(s.createRecall))
	rc.GET("", s.handle(s.listRecalls))
	rc.GET("/:id", s.handle(s.getRecall))
	rc.GET("/:id/report.csv", s.allow(anyKey...), s.handle(s.recallReport))
	rc.POST("/:id/:action", s.allow(entityOrRegulator...), s.handle(s.recallAction))
	notices := api.Group("/notices", compliance)
	notices.GET("", s.allow(anyKey...), s.handle(s.listNotices))
	notices.GET("/:id", s.allow(anyKey...), s.handle(s.getNotice))
	notices.POST("/:id/ack", s.allow(entityOnly...), s.handle(s.ackNotice))
	notices.POST("/:id/returns", s.allow(entityOnly...), s.handle(s.reportRecovery))

	// Draws are public once made: anyone may read and verify them.
	draws := api.Group("/inspections/draws", compliance)
	draws.POST("", s.allow(regulator...), s.handle(s.createDraw))
	draws.GET("", s.handle(s.listDraws))
	draws.GET("/:id", s.handle(s.getDraw))
	draws.GET("/:id/verify", s.handle(s.verifyDraw))

	spot := api.Group("/spotchecks", compliance)
	spot.POST("", s.allow(officials...), s.handle(s.recordSpotCheck))
	spot.GET("", s.allow(anyKey...), s.handle(s.listSpotChecks))
	spot.GET("/:id", s.allow(anyKey...), s.handle(s.getSpotCheck))

	inc := api.Group("/incidents", compliance)
	inc.POST("", s.allow(entityOrRegulator...), s.handle(s.fileIncident))
	inc.GET("", s.allow(anyKey...), s.handle(s.listIncidents))
	inc.GET("/stats", s.handle(s.incidentStats))
	inc.POST("/awareness", s.allow(regulator...), s.handle(s.recordAwareness))
	inc.GET("/overdue", s.allow(regulator...), s.handle(s.overdueIncidents))
	inc.GET("/:id", s.allow(anyKey...), s.handle(s.getIncident))
	inc.PATCH("/:id", s.allow(regulator...), s.handle(s.updateIncident))
	api.GET("/me", s.me)

	api.POST("/keys", s.allow(trace.RoleRegulator, trace.RoleEntity), s.handle(s.createKey))
	api.GET("/keys", s.allow(trace.RoleRegulator, trace.RoleEntity), s.handle(s.listKeys))
	api.GET("/keys/:id", s.allow(trace.RoleRegulator, trace.RoleEntity), s.handle(s.getKey))
	api.DELETE("/keys/:id", s.allow(trace.RoleRegulator, trace.RoleEntity), s.handle(s.revokeKey))

	api.POST("/entities", s.allow(regulator...), s.handle(s.createEntity))
	api.GET("/entities", s.handle(s.listEntities))
	api.GET("/entities/:id", s.handle(s.getEntity))
	api.PATCH("/entities/:id", s.allow(trace.RoleRegulator, trace.RoleEntity), s.handle(s.updateEntity))

	api.POST("/products", s.allow(entityOrRegulator...), s.handle(s.createProduct))
	api.GET("/products", s.handle(s.listProducts))
	api.GET("/products/:gtin", s.handle(s.getProduct))
	api.PATCH("/products/:gtin", s.allow(entityOnly...), s.handle(s.updateProduct))
	api.POST("/products/:gtin/batches", s.allow(entityOnly...), s.handle(s.createBatch))
	api.GET("/products/:gtin/batches", s.handle(s.listBatches))
	api.GET("/products/:gtin/batches/:lot", s.handle(s.getBatch))

	api.POST("/products/:gtin/batches/:lot/codes", s.allow(entityOnly...), s.handle(s.issueCodes))
	api.GET("/products/:gtin/batches/:lot/codes", s.allow(anyKey...), s.handle(s.listCodes))
	api.GET("/issuances/:id", s.allow(anyKey...), s.handle(s.getIssuance))
	api.POST("/sscc", s.allow(entityOnly...), s.handle(s.issueSSCCs))
	api.GET("/sscc", s.allow(anyKey...), s.handle(s.listSSCCs))

	api.GET("/labels", s.allow(anyKey...), s.handle(s.renderLabel))
	api.GET("/products/:gtin/batches/:lot/labels.pdf", s.allow(anyKey...), s.handle(s.labelSheet))

	api.GET("/trace/forward", s.allow(anyKey...), s.handle(s.traceWalk(trace.Forward)))
	api.GET("/trace/backward", s.allow(anyKey...), s.handle(s.traceWalk(trace.Backward)))
	api.GET("/trace/lots/:gtin/:lot/fsma204.csv", s.allow(anyKey...), s.handle(s.fsma204))

	ep := e.Group("/epcis", epcisHeaders, s.authenticate, s.auditWrites)
	ep.POST("/capture", s.allow(entityOnly...), s.handle(s.capture))
	ep.GET("/capture/:id", s.allow(anyKey...), s.handle(s.captureJob))
	ep.POST("/events", s.allow(entityOnly...), s.handle(s.captureEvent))
	ep.GET("/events", s.allow(anyKey...), s.handle(s.queryEvents))
	ep.GET("/events/:id", s.allow(anyKey...), s.handle(s.getEvent))
	ep.GET("/epcs/:epc/events", s.allow(anyKey...), s.handle(s.queryEvents))

	api.GET("/deliveries", s.allow(regulator...), s.handle(s.listDeliveries))
	api.POST("/deliveries/:id/redrive", s.allow(regulator...), s.handle(s.redriveDelivery))

	api.GET("/audit", s.allow(regulator...), s.handle(s.listAudit))
	api.GET("/audit/verify", s.allow(regulator...), s.handle(s.verifyAudit))
	api.GET("/audit/checkpoint", s.allow(officials...), s.handle(s.auditCheckpoint))
	api.POST("/audit/verify", s.allow(officials...), s.handle(s.verifyAuditCheckpoint))
}

func (s *Server) healthz(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) }

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.registry.Ping(ctx); err != nil {
		s.logger.WarnContext(ctx, "store not ready", "err", err)
		writeError(c, s.logger, fmt.Errorf("the store does not answer: %w", trace.ErrUnavailable))
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

func (s *Server) me(c *gin.Context) { c.JSON(http.StatusOK, principal(c)) }

// recover turns a panic into a logged 500 with the JSON error body.
func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.logger.ErrorContext(c.Request.Context(), "panic", "method", c.Request.Method, "path", c.Request.URL.Path, "panic", v)
			if !c.Writer.Written() {
				writeError(c, s.logger, errPanic)
			}
		}
	}()
	c.Next()
}

// securityHeaders go on every response: no content sniffing, no referrer
// (a scanned link names an item), no framing. HTML pages add their
// Content-Security-Policy (see pages.render).
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	c.Next()
}
