package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tracesvc/cmd/wire"
	"tracesvc/recall/webhook"
	"tracesvc/trace/keyfile"
	"tracesvc/trace/sqlitedb"
)

// database is the one opened database with every domain's stores on it.
type database struct {
	stores wire.Stores
	keys   keys
	// recordTimeSettle is how long queries in recordTime order hold back
	// the newest events: 0 on SQLite, whose one writer stamps record times
	// under its lock; a few seconds on MongoDB, where several processes
	// write with their own clocks.
	recordTimeSettle time.Duration
	close            func() error
	source           string // for the start-up log
}

// keys are the secret keys kept outside the database.
type keys struct {
	secret []byte // seals webhook secrets at rest
	audit  []byte // keys the audit chain
}

// auditKeyPath is the audit chain's key file: beside the data folder, not
// in it, so that a copy of the data folder does not carry the key that
// vouches for its audit log.
func auditKeyPath(dataDir string) string { return filepath.Clean(dataDir) + ".audit.key" }

// loadKeys reads TRACESVC_SECRET_KEY and TRACESVC_AUDIT_KEY, or the key
// files (created at random on first start) when they are not set.
func loadKeys(cfg config) (keys, error) {
	secret, err := webhook.LoadOrCreateKey(cfg.secretKey, cfg.dataDir)
	if err != nil {
		return keys{}, err
	}
	auditKey, err := keyfile.LoadOrCreate(cfg.auditKey, auditKeyPath(cfg.dataDir))
	if err != nil {
		return keys{}, fmt.Errorf("audit key (TRACESVC_AUDIT_KEY or %s): %w", auditKeyPath(cfg.dataDir), err)
	}
	return keys{secret: secret, audit: auditKey}, nil
}

// openDatabase opens the backend the configuration names, once, with its
// operations timed into metrics.
func openDatabase(ctx context.Context, cfg config, logger *slog.Logger, metrics *prometheus.Registry) (database, error) {
	if cfg.mongoURI != "" {
		return openMongo(ctx, cfg, logger, metrics)
	}
	db, err := sqlitedb.OpenConfig(ctx, cfg.dataDir, sqlitedb.Config{Budget: int64(cfg.memoryBudgetMB) << 20,
		Observe: wire.StoreTimer(metrics, "sqlite", sqlitedb.Ops)})
	if err != nil {
		return database{}, err
	}
	k, err := loadKeys(cfg)
	if err != nil {
		db.Close()
		return database{}, err
	}
	st, err := wire.SQLite(ctx, db)
	if err != nil {
		db.Close()
		return database{}, fmt.Errorf("open stores in %s: %w", cfg.dataDir, err)
	}
	return database{stores: st, keys: k, close: db.Close, source: "sqlite:" + cfg.dataDir}, nil
}

// gcPercent is the Go heap's growth between collections (GOGC) unless the
// environment sets GOGC: four times the live heap rather than the
// default once, since the soft limit (heapLimit) bounds it anyway. A
// resolve costs about a sixth less CPU (BenchmarkResolve, GOGC 100
// against 400: 112–121 against 94–100 µs).
const gcPercent = 400

// heapLimit is the soft limit of the Go heap: what the memory budget leaves
// beside the embedded store's page caches (half of it), or all of it when
// the store is MongoDB. Near it the runtime collects garbage harder; it
// never fails an allocation for it.
func heapLimit(cfg config) int64 {
	budget := int64(cfg.memoryBudgetMB) << 20
	if cfg.mongoURI != "" {
		return budget
	}
	return budget / 2
}
