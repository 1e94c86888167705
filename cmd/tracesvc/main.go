// Command tracesvc serves the traceability and recall API.
//
// With no MONGODB_URI it keeps everything in embedded SQLite in the -data
// folder; with MONGODB_URI set it uses that MongoDB deployment.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	_ "time/tzdata" // the regulator's time zone, also where the system has no zoneinfo (distroless)

	"github.com/gin-gonic/gin"

	"tracesvc/cmd/wire"
	"tracesvc/handlers"
	"tracesvc/recall"
	"tracesvc/recall/credit"
	"tracesvc/recall/webhook"
	"tracesvc/standards"
	"tracesvc/standards/workday"
	"tracesvc/trace"
	"tracesvc/trace/access"
	"tracesvc/trace/audit"
	"tracesvc/trace/sqlitedb"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tracesvc:", err)
		os.Exit(1)
	}
}

// config is everything run reads from flags and the environment.
type config struct {
	addr           string
	dataDir        string
	mongoURI       string
	mongoDB        string
	baseURL        string
	logLevel       slog.Level
	adminKey       string
	serialLen      int
	labelFont      string
	maxScans       int
	traceWalks     int
	maxSpeed       float64
	publicRPS      float64
	proxies        string
	fpKey          string
	secretKey      string
	auditKey       string
	mongoTimeout   time.Duration
	holidays       string
	timezone       string
	gated          []trace.Category
	webhookPrivate bool
	webhookHTTP    []string
	notices        recall.OutboxConfig
	gtinsNoPrefix  bool
	instance       string
	grace          time.Duration
	incidentDays   standards.DeadlineRules
	clusterReports int
	recallAckDays  int
	rescopeEvery   time.Duration
	creditRules    string
	credit         creditTerms
	memoryBudgetMB int
	pprofAddr      string
	// demo loads the demo dataset into a fresh embedded store (see
	// demo.go); demoTemp says the store is a temp folder removed at exit.
	demo, demoTemp bool
	version        bool // -version: print the build and exit
}

// creditTerms are the credit record's configurable periods.
type creditTerms struct {
	decideDays                        int
	repairWait, repairStrict, serious string
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	envOr := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var cfg config
	var level string
	fs := flag.NewFlagSet("tracesvc", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", envOr("TRACESVC_ADDR", "127.0.0.1:8080"), "listen address (TRACESVC_ADDR)")
	fs.StringVar(&cfg.dataDir, "data", envOr("TRACESVC_DATA", "./data"), "data folder of the embedded store (TRACESVC_DATA)")
	fs.StringVar(&cfg.mongoURI, "mongo-uri", getenv("MONGODB_URI"), "MongoDB connection string; empty means the embedded store (MONGODB_URI)")
	mongoTimeout, err := envDuration(getenv, "TRACESVC_MONGO_TIMEOUT", 10*time.Second)
	if err != nil {
		return config{}, err
	}
	fs.DurationVar(&cfg.mongoTimeout, "mongo-timeout", mongoTimeout,
		"longest a MongoDB operation may take before the request answers 503 (TRACESVC_MONGO_TIMEOUT)")
	fs.StringVar(&cfg.mongoDB, "mongo-db", envOr("TRACESVC_MONGO_DB", "tracesvc"), "MongoDB database name (TRACESVC_MONGO_DB)")
	fs.StringVar(&cfg.baseURL, "base-url", getenv("TRACESVC_BASE_URL"), "public origin used in Digital Link URIs; default http://<addr> (TRACESVC_BASE_URL)")
	fs.IntVar(&cfg.serialLen, "serial-length", envInt(getenv, "TRACESVC_SERIAL_LENGTH", trace.DefaultSerialLength),
		"length of issued serials, 8-20 (TRACESVC_SERIAL_LENGTH)")
	fs.StringVar(&cfg.labelFont, "label-font", getenv("TRACESVC_LABEL_FONT"),
		"TrueType font for non-Latin label text, e.g. Chinese product names (TRACESVC_LABEL_FONT)")
	fs.IntVar(&cfg.traceWalks, "trace-walks", handlers.DefaultTraceWalks,
		"trace walks (GET /api/v1/trace/…) that run at once; more wait their turn. Each wide walk keeps a core busy and holds tens of MB")
	fs.IntVar(&cfg.maxScans, "max-scans", envInt(getenv, "TRACESVC_MAX_SCANS", 50),
		"scans of one serial above which a counterfeit alert is raised (TRACESVC_MAX_SCANS)")
	fs.Float64Var(&cfg.maxSpeed, "max-speed-kmh", 900, "travel speed between two scans of a serial above which an alert is raised")
	fs.Float64Var(&cfg.publicRPS, "public-rate", 20, "requests per second per anonymous client (burst twice that); 0 turns limits off")
	fs.StringVar(&cfg.proxies, "trusted-proxies", getenv("TRACESVC_TRUSTED_PROXIES"),
		"comma-separated proxy addresses or CIDRs whose X-Forwarded-For is believed (TRACESVC_TRUSTED_PROXIES)")
	cfg.fpKey = getenv("TRACESVC_FINGERPRINT_KEY")
	cfg.secretKey = getenv("TRACESVC_SECRET_KEY")
	cfg.auditKey = getenv("TRACESVC_AUDIT_KEY")
	fs.BoolVar(&cfg.webhookPrivate, "webhook-allow-private", false,
		"let entities register webhook URLs on loopback and private addresses (tests, on-premise installs)")
	httpHosts := fs.String("webhook-http-hosts", getenv("TRACESVC_WEBHOOK_HTTP_HOSTS"),
		"comma-separated webhook hosts that may be reached over plain http rather than https (on-premise receivers, tests) (TRACESVC_WEBHOOK_HTTP_HOSTS)")
	fs.IntVar(&cfg.notices.MaxAttempts, "notice-attempts", envInt(getenv, "TRACESVC_NOTICE_ATTEMPTS", recall.DefaultNoticeAttempts),
		"attempts a notice delivery gets before it is dead-lettered for regulators to re-drive (TRACESVC_NOTICE_ATTEMPTS)")
	fs.IntVar(&cfg.notices.Workers, "notice-workers", envInt(getenv, "TRACESVC_NOTICE_WORKERS", recall.DefaultNoticeWorkers),
		"notice delivery attempts made at once by this process (TRACESVC_NOTICE_WORKERS)")
	fs.DurationVar(&cfg.notices.AttemptTimeout, "notice-timeout", webhook.DefaultTimeout,
		"longest one webhook attempt may take; a claimed delivery's lease lasts twice that and 10 s more")
	fs.DurationVar(&cfg.notices.RetryBase, "notice-retry-base", recall.DefaultRetryBase,
		"wait after a notice's first failed attempt; it doubles with each failure (with jitter), up to -notice-retry-max")
	fs.DurationVar(&cfg.notices.RetryMax, "notice-retry-max", recall.DefaultRetryMax, "longest wait between two attempts of a notice")
	fs.DurationVar(&cfg.notices.Poll, "notice-poll", recall.DefaultOutboxPoll,
		"how often the outbox looks for due notices when nothing wakes it (retries, notices other processes enqueued)")
	fs.IntVar(&cfg.recallAckDays, "recall-ack-days", envInt(getenv, "TRACESVC_RECALL_ACK_DAYS", recall.DefaultAckDays),
		"working days a custodian has to acknowledge a recall notice (TRACESVC_RECALL_ACK_DAYS)")
	fs.IntVar(&cfg.memoryBudgetMB, "memory-budget", envInt(getenv, "TRACESVC_MEMORY_BUDGET", sqlitedb.DefaultBudget>>20),
		"megabytes of memory the process aims to stay within: the embedded store's page caches take half (a quarter the writer's, a quarter the readers'), "+
			"the Go heap is held to the rest, or to all of it on MongoDB (TRACESVC_MEMORY_BUDGET)")
	fs.StringVar(&cfg.creditRules, "credit-rules", getenv("TRACESVC_CREDIT_RULES"),
		"JSON file of the credit classification rules; default: the embedded Tianjin 2017 thresholds (TRACESVC_CREDIT_RULES)")
	fs.IntVar(&cfg.credit.decideDays, "credit-decide-days", 15, "working days a regulator has to decide a credit objection or repair application")
	fs.StringVar(&cfg.credit.repairWait, "credit-repair-wait", "6m", "time after a credit event before its repair may be applied for (e.g. 6m, 1y, 180d)")
	fs.StringVar(&cfg.credit.repairStrict, "credit-repair-wait-strict", "1y", "the same for entities making food, drugs or special equipment")
	fs.StringVar(&cfg.credit.serious, "credit-serious-after", "3y", "time on the abnormal-operations list after which an entity is proposed for the serious-violation list")
	fs.DurationVar(&cfg.rescopeEvery, "recall-rescope", time.Minute,
		"how often open recalls' scopes are recomputed, for custody events that arrive late")
	fs.BoolVar(&cfg.gtinsNoPrefix, "allow-gtins-without-prefix", false,
		"let entities with no GS1 company prefix registered here register GTINs under no one's prefix (otherwise a regulator registers them)")
	fs.StringVar(&cfg.instance, "instance", getenv("TRACESVC_INSTANCE"),
		"name of this process among those sharing the store, the same across its restarts; default: the data folder "+
			"on SQLite, host name and process ID on MongoDB (TRACESVC_INSTANCE)")
	grace, err := envDuration(getenv, "TRACESVC_SHUTDOWN_GRACE", 30*time.Second)
	if err != nil {
		return config{}, err
	}
	fs.DurationVar(&cfg.grace, "shutdown-grace", grace,
		"time from SIGINT/SIGTERM to exit; requests still running near its end are cancelled (TRACESVC_SHUTDOWN_GRACE)")
	fs.StringVar(&cfg.holidays, "holidays", getenv("TRACESVC_HOLIDAYS"),
		"holiday file for working-day deadlines (format in standards/workday/cn.txt); default: the embedded Chinese schedule (TRACESVC_HOLIDAYS)")
	fs.StringVar(&cfg.timezone, "timezone", envOr("TRACESVC_TIMEZONE", "Asia/Shanghai"),
		"the regulator's time zone, in which working-day deadlines are counted (TRACESVC_TIMEZONE)")
	gated := fs.String("declaration-categories", envOr("TRACESVC_DECLARATION_CATEGORIES", categoryList(standards.GatedCategories)),
		"comma-separated product categories whose batches need a published standards declaration; \"none\" for none (TRACESVC_DECLARATION_CATEGORIES)")
	var incidentDays string
	fs.StringVar(&incidentDays, "incident-deadlines", getenv("TRACESVC_INCIDENT_DEADLINES"),
		"working days an incident report has, over the defaults ("+standards.DefaultDeadlineRules().String()+
			"): comma-separated key=days, key being *, a category, category/severity or */severity (TRACESVC_INCIDENT_DEADLINES)")
	fs.IntVar(&cfg.clusterReports, "incident-cluster", envInt(getenv, "TRACESVC_INCIDENT_CLUSTER", 3),
		"incident reports on one product within 30 days that raise a risk alert (TRACESVC_INCIDENT_CLUSTER)")
	fs.StringVar(&cfg.pprofAddr, "pprof", "",
		"serve Go's profiles (net/http/pprof, /debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060; empty serves none")
	fs.BoolVar(&cfg.demo, "demo", false,
		"load the demo dataset into a fresh embedded store (a temp folder unless -data names one) and print the links to try")
	fs.StringVar(&level, "log-level", envOr("TRACESVC_LOG_LEVEL", "info"), "debug, info, warn or error (TRACESVC_LOG_LEVEL)")
	fs.BoolVar(&cfg.version, "version", false, "print the version (module version, commit, build time, Go version) and exit")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if cfg.version {
		return cfg, nil
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if cfg.demo {
		if err := demoConfig(fs, &cfg, getenv); err != nil {
			return config{}, err
		}
	}
	for _, h := range strings.Split(*httpHosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			cfg.webhookHTTP = append(cfg.webhookHTTP, h)
		}
	}
	switch n := cfg.notices; {
	case n.MaxAttempts < 1:
		return config{}, fmt.Errorf("-notice-attempts: %d; give 1 or more", n.MaxAttempts)
	case n.Workers < 1 || n.Workers > 256:
		return config{}, fmt.Errorf("-notice-workers: %d; give 1 to 256", n.Workers)
	case n.AttemptTimeout <= 0 || n.RetryBase <= 0 || n.RetryMax < n.RetryBase || n.Poll <= 0:
		return config{}, errors.New("-notice-timeout, -notice-retry-base and -notice-poll must be positive, and -notice-retry-max at least -notice-retry-base")
	}
	if cfg.incidentDays, err = standards.ParseDeadlineRules(incidentDays); err != nil {
		return config{}, fmt.Errorf("-incident-deadlines: %w", err)
	}
	if cfg.clusterReports < 2 {
		return config{}, fmt.Errorf("-incident-cluster: %d reports are no cluster; give 2 or more", cfg.clusterReports)
	}
	if err := cfg.logLevel.UnmarshalText([]byte(level)); err != nil {
		return config{}, fmt.Errorf("-log-level: %w", err)
	}
	if cfg.grace <= 0 {
		return config{}, fmt.Errorf("-shutdown-grace: %s is not a positive duration", cfg.grace)
	}
	if _, err := time.LoadLocation(cfg.timezone); err != nil {
		return config{}, fmt.Errorf("-timezone: %w", err)
	}
	if cfg.gated, err = parseCategories(*gated); err != nil {
		return config{}, fmt.Errorf("-declaration-categories: %w", err)
	}
	if cfg.recallAckDays < 1 || cfg.recallAckDays > 60 {
		return config{}, fmt.Errorf("-recall-ack-days: %d is not between 1 and 60", cfg.recallAckDays)
	}
	if cfg.traceWalks < 1 || cfg.traceWalks > 64 {
		return config{}, fmt.Errorf("-trace-walks: %d is not between 1 and 64", cfg.traceWalks)
	}
	if cfg.memoryBudgetMB < 16 || cfg.memoryBudgetMB > 65536 {
		return config{}, fmt.Errorf("-memory-budget: %d MB is not between 16 and 65536", cfg.memoryBudgetMB)
	}
	if cfg.credit.decideDays < 1 || cfg.credit.decideDays > 120 {
		return config{}, fmt.Errorf("-credit-decide-days: %d is not between 1 and 120", cfg.credit.decideDays)
	}
	if cfg.rescopeEvery < time.Second {
		return config{}, fmt.Errorf("-recall-rescope: %s is shorter than a second", cfg.rescopeEvery)
	}
	if cfg.pprofAddr != "" {
		if err := loopbackOnly(cfg.pprofAddr); err != nil {
			return config{}, fmt.Errorf("-pprof: %w", err)
		}
	}
	if cfg.mongoTimeout <= 0 {
		return config{}, fmt.Errorf("-mongo-timeout: %s is not a positive duration", cfg.mongoTimeout)
	}
	if cfg.instance == "" {
		var err error
		if cfg.instance, err = defaultInstance(cfg); err != nil {
			return config{}, err
		}
	}
	cfg.adminKey = getenv("TRACESVC_ADMIN_KEY")
	if cfg.adminKey != "" {
		// Refused even when the store is bootstrapped already and the key
		// would be ignored: a weak value in the environment is a mistake
		// the operator should hear about at once.
		if err := access.CheckChosenSecret(cfg.adminKey); err != nil {
			return config{}, fmt.Errorf("TRACESVC_ADMIN_KEY %w", err)
		}
	}
	cfg.baseURL = strings.TrimRight(cfg.baseURL, "/")
	if err := needBaseURL(cfg.addr, cfg.baseURL); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// defaultInstance names the process to the issuances it streams. A SQLite
// data folder serves one process at a time, so its path names every
// process that ran on it: issuances an earlier one left running are
// interrupted at start. Processes sharing MongoDB are told apart by host
// and process ID, which stay the same across restarts of a container (its
// service is process 1); elsewhere what a process left running is taken
// over once its lease ends.
func defaultInstance(cfg config) (string, error) {
	if cfg.mongoURI == "" {
		dir, err := filepath.Abs(cfg.dataDir)
		if err != nil {
			return "", fmt.Errorf("-data: %w", err)
		}
		return "sqlite:" + dir, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("host name for -instance: %w", err)
	}
	return host + ":" + strconv.Itoa(os.Getpid()), nil
}

// envInt reads an integer environment variable, or def when unset or bad
// (a bad value is then reported by flag parsing of the default).
func envInt(getenv func(string) string, name string, def int) int {
	if v := getenv(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// categoryList writes categories as the -declaration-categories flag
// takes them.
func categoryList(cs []trace.Category) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return strings.Join(out, ",")
}

// parseCategories reads a comma-separated list of product categories, or
// "none".
func parseCategories(s string) ([]trace.Category, error) {
	out := []trace.Category{}
	if strings.TrimSpace(s) == "none" {
		return out, nil
	}
	for _, c := range strings.Split(s, ",") {
		c := trace.Category(strings.TrimSpace(c))
		if !slices.Contains(trace.Categories, c) {
			return nil, fmt.Errorf("%q is not a product category (use %s, or none)", c, categoryList(trace.Categories))
		}
		out = append(out, c)
	}
	return out, nil
}

// workingDays is the calendar of -holidays (or the embedded schedule) in
// -timezone.
func workingDays(cfg config) (*workday.Calendar, error) {
	loc, err := time.LoadLocation(cfg.timezone)
	if err != nil {
		return nil, fmt.Errorf("-timezone: %w", err)
	}
	if cfg.holidays == "" {
		return workday.Default(loc)
	}
	return workday.Load(cfg.holidays, loc)
}

// captureStale is the age past which a capture intent that no process
// finished counts as abandoned: a live capture's writes take seconds, a
// very large one a minute.
const captureStale = 2 * time.Minute

// recoverCaptures finishes, every minute until ctx ends, the captures
// processes left half written (see trace.EventStore.RecoverCaptures). On
// SQLite there are none.
func recoverCaptures(ctx context.Context, events trace.EventStore, logger *slog.Logger) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		recoverOnce(ctx, events, "", logger)
	}
}

// sweepRecalls recomputes open recalls' scopes every interval until ctx
// ends (see recall.Campaigns.Sweep): late events reach them, and notices a
// crash left unsent go out.
func sweepRecalls(ctx context.Context, recalls *recall.Campaigns, every time.Duration, logger *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := recalls.Sweep(ctx); err != nil && ctx.Err() == nil {
			logger.ErrorContext(ctx, "recomputing open recalls failed", "err", err)
		}
	}
}

// recoverOnce runs one recovery pass (also of writer's own intents, when
// named) and logs what it did.
func recoverOnce(ctx context.Context, events trace.EventStore, writer string, logger *slog.Logger) {
	n, err := events.RecoverCaptures(ctx, time.Now().Add(-captureStale), writer)
	switch {
	case err != nil && ctx.Err() == nil:
		logger.ErrorContext(ctx, "recovering half-written captures failed", "err", err)
	case n > 0:
		logger.WarnContext(ctx, "undid captures a process left half written", "count", n)
	}
}

// envDuration reads a duration environment variable, or def when unset.
func envDuration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

// run starts the service and blocks until ctx ends or SIGINT/SIGTERM
// arrives, then shuts down gracefully within the grace period: in-flight
// requests finish, but those still running near its end (a slow client
// reading a streamed issuance) are cancelled and their connections closed.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 && args[0] == "keys" {
		return runKeys(ctx, args[1:], getenv, stdout, stderr)
	}

	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if cfg.version {
		fmt.Fprintln(stdout, versionLine())
		return nil
	}
	// One process per data folder and instance: the lock is taken before
	// anything is opened, and the listener before the store is, so that a
	// refused start (the folder in use, the port taken) leaves an empty
	// store empty, and its first regulator key still to be made.
	if cfg.mongoURI == "" {
		release, err := lockDataDir(cfg.dataDir, cfg.instance)
		if err != nil {
			return err
		}
		defer release()
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer ln.Close() // a no-op once the server has closed it
	var clk *demoClock
	var now trace.Clock
	if cfg.demo {
		clk = &demoClock{}
		now = clk.now
		if cfg.demoTemp {
			defer os.Remove(auditKeyPath(cfg.dataDir))
			defer os.RemoveAll(cfg.dataDir)
		}
	}
	logger := slog.New(handlers.LogRequestIDs(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.logLevel})))
	gin.SetMode(gin.ReleaseMode)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(heapLimit(cfg)))
	if getenv("GOGC") == "" { // an operator's GOGC stands
		defer debug.SetGCPercent(debug.SetGCPercent(gcPercent))
	}

	// The profiles' listener comes first: a -pprof address that cannot be
	// had stops the start before anything is opened.
	if cfg.pprofAddr != "" {
		stopPprof, err := servePprof(cfg.pprofAddr, logger)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	metrics := wire.NewRegistry()
	db, err := openDatabase(ctx, cfg, logger, metrics)
	if err != nil {
		return err
	}
	defer func() {
		if err := db.close(); err != nil {
			logger.ErrorContext(ctx, "closing the store", "err", err)
		}
	}()

	if cfg.baseURL == "" {
		cfg.baseURL = "http://" + ln.Addr().String()
	}
	fpKey := []byte(cfg.fpKey)
	if len(fpKey) == 0 {
		fpKey = make([]byte, 32)
		_, _ = rand.Read(fpKey)
	}
	var proxies []string
	if cfg.proxies != "" {
		proxies = strings.Split(cfg.proxies, ",")
	}
	days, err := workingDays(cfg)
	if err != nil {
		return err
	}
	var rules *credit.Rules
	if cfg.creditRules != "" {
		if rules, err = credit.LoadRules(cfg.creditRules); err != nil {
			return fmt.Errorf("-credit-rules: %w", err)
		}
	}
	svc, err := wire.Build(db.stores, wire.Options{CreditRules: rules, CreditDecideDays: cfg.credit.decideDays,
		CreditRepairWait: cfg.credit.repairWait, CreditRepairWaitStrict: cfg.credit.repairStrict, CreditSeriousAfter: cfg.credit.serious, BaseURL: cfg.baseURL, SerialLength: cfg.serialLen, WorkingDays: days, DeclarationGated: cfg.gated,
		LabelFont: cfg.labelFont, MaxScans: cfg.maxScans, TraceWalks: cfg.traceWalks, MaxSpeedKmh: cfg.maxSpeed, SecretKey: db.keys.secret, AuditKey: db.keys.audit,
		WebhookPolicy: webhook.Policy{AllowPrivate: cfg.webhookPrivate, AllowHTTPHosts: cfg.webhookHTTP}, Notices: cfg.notices, RecallAckDays: cfg.recallAckDays, GTINsWithoutPrefix: cfg.gtinsNoPrefix, FingerprintKey: fpKey,
		TrustedProxies: proxies, Logger: logger, Metrics: metrics, Now: now, Instance: cfg.instance, RecordTimeSettle: db.recordTimeSettle,
		IncidentDeadlines: cfg.incidentDays, IncidentCluster: cfg.clusterReports,
		PublicLimit: handlers.RateLimit{PerSecond: cfg.publicRPS, Burst: int(2 * cfg.publicRPS)},
		TipoffLimit: handlers.RateLimit{PerSecond: 1.0 / 60, Burst: 5}})
	if err != nil {
		return err
	}
	if err := svc.Audit.CheckKey(ctx); err != nil {
		svc.Resolver.Close(ctx)
		return fmt.Errorf("%w: start with the TRACESVC_AUDIT_KEY the other processes on this store use, "+
			"or restore the key file %s; records appended with another key would break the audit chain", err, auditKeyPath(cfg.dataDir))
	}
	// What this instance's previous run left half written is undone before
	// it serves, so that no capture of this run is taken for it.
	recoverOnce(ctx, db.stores.Events, cfg.instance, logger)
	go recoverCaptures(ctx, db.stores.Events, logger)
	go sweepRecalls(ctx, svc.Recalls, cfg.rescopeEvery, logger)
	// The shutdown's deadline, once it begins. Requests get most of the
	// grace period; the reserve is for cancelling those still running,
	// storing the queued scans and closing the store.
	var stopBy time.Time
	reserve := min(cfg.grace/4, 10*time.Second)
	// Runs after the server has stopped and before the store closes: every
	// queued scan is stored, within the grace period.
	defer func() {
		if stopBy.IsZero() {
			stopBy = time.Now().Add(cfg.grace)
		}
		closeCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), stopBy.Add(-reserve/4))
		defer cancel()
		if err := svc.Resolver.Close(closeCtx); err != nil {
			logger.ErrorContext(ctx, "scan recorder", "err", err)
		}
	}()
	adminSecret, err := bootstrap(ctx, svc.Access, svc.Audit, cfg.adminKey, !cfg.demo, logger, stderr)
	if err != nil {
		return err
	}
	// Issuances a crash left running are marked before anyone can ask to
	// resume them.
	if n, err := svc.Codes.InterruptAbandoned(ctx); err != nil {
		return err
	} else if n > 0 {
		logger.WarnContext(ctx, "issuances left running by an earlier process are interrupted; "+
			"repeating their requests with the same Idempotency-Key resumes them", "count", n)
	}
	// The outbox delivers notices in the background. At shutdown it stops
	// claiming at once; the attempts under way may finish within the grace
	// period, and are cancelled near its end. Their results are stored
	// before the store closes; what is left is delivered after a restart.
	attemptCtx, cancelAttempts := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelAttempts()
	outboxCtx, stopOutbox := context.WithCancel(ctx)
	outboxDone := make(chan struct{})
	go func() {
		defer close(outboxDone)
		svc.Outbox.Run(outboxCtx, attemptCtx)
	}()
	defer func() {
		stopOutbox()
		if stopBy.IsZero() {
			stopBy = time.Now().Add(cfg.grace)
		}
		select {
		case <-outboxDone:
			return
		case <-time.After(time.Until(stopBy.Add(-reserve / 2))):
		}
		logger.WarnContext(ctx, "grace period ending: cancelling notice attempts still running")
		cancelAttempts()
		<-outboxDone
	}()
	if cfg.demo {
		if err := startDemo(ctx, svc.Handler, clk, cfg, adminSecret, days.Location(), stderr); err != nil {
			ln.Close()
			return err
		}
	}
	// Requests run on a context of their own, which shutdown cancels only
	// when the grace period runs out; active counts them, as the server
	// stops waiting for them once it closes their connections.
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	var active atomic.Int64
	h := svc.Handler
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			active.Add(1)
			defer active.Add(-1)
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // a 20 MB capture from a slow link, not a slowloris

		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return reqCtx },
	}
	logger.InfoContext(ctx, "listening", "addr", ln.Addr().String(), "base_url", cfg.baseURL, "store", db.source,
		"instance", cfg.instance)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(handlers.Listener(ln)) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stopBy = time.Now().Add(cfg.grace)
	logger.InfoContext(ctx, "shutting down", "grace", cfg.grace.String())
	drainCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), stopBy.Add(-reserve))
	defer cancel()
	err = srv.Shutdown(drainCtx)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err != nil {
		// Closing the connections makes writes to clients that read slowly
		// fail, rather than wait; a streamed issuance cut off this way is
		// interrupted, and its request resumes it when repeated.
		logger.WarnContext(ctx, "grace period ending: cancelling requests still running", "requests", active.Load())
		cancelRequests()
		srv.Close()
		for active.Load() > 0 && time.Now().Before(stopBy.Add(-reserve/2)) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := active.Load(); n > 0 {
			logger.ErrorContext(ctx, "requests still running at exit", "requests", n)
		}
	}
	logger.InfoContext(ctx, "stopped")
	return nil
}

// bootstrap gives an empty store its first regulator key, once, and
// returns its secret ("" when the store had one already). A generated
// key is printed when show is set.
func bootstrap(ctx context.Context, keys *access.Service, log *audit.Log, adminKey string, show bool, logger *slog.Logger, stderr io.Writer) (string, error) {
	k, secret, created, err := keys.Bootstrap(ctx, adminKey)
	if err != nil {
		return "", err
	}
	if !created {
		if adminKey != "" {
			logger.InfoContext(ctx, "store already bootstrapped; TRACESVC_ADMIN_KEY is ignored")
		}
		return "", nil
	}
	if _, err := log.Append(ctx, audit.Entry{Actor: "bootstrap", Role: string(trace.RoleRegulator),
		Action: "bootstrap regulator key", Target: "key:" + k.ID, Status: http.StatusCreated}); err != nil {
		return "", err
	}
	if adminKey != "" {
		logger.InfoContext(ctx, "bootstrap regulator key stored from TRACESVC_ADMIN_KEY")
		return adminKey, nil
	}
	if show {
		fmt.Fprintf(stderr, "\n  First start: regulator API key (shown once, store it now):\n\n    %s\n\n", secret)
	}
	return secret, nil
}
