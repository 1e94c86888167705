package main

import (
	"context"
	"fmt"
	"log/slog"

	"tracesvc/cmd/wire"
	"tracesvc/recall/webhook"
	"tracesvc/trace/sqlitedb"
)

// database is the one opened database with every domain's stores on it.
type database struct {
	stores    wire.Stores
	secretKey []byte // seals webhook secrets at rest
	close     func() error
	source    string // for the start-up log
}

// openDatabase opens the backend the configuration names, once.
func openDatabase(ctx context.Context, cfg config, logger *slog.Logger) (database, error) {
	if cfg.mongoURI != "" {
		return openMongo(ctx, cfg, logger)
	}
	db, err := sqlitedb.Open(ctx, cfg.dataDir)
	if err != nil {
		return database{}, err
	}
	key, err := webhook.LoadOrCreateKey(cfg.secretKey, cfg.dataDir)
	if err != nil {
		db.Close()
		return database{}, err
	}
	st, err := wire.SQLite(ctx, db.W, db.R)
	if err != nil {
		db.Close()
		return database{}, fmt.Errorf("open stores in %s: %w", cfg.dataDir, err)
	}
	return database{stores: st, secretKey: key, close: db.Close, source: "sqlite:" + cfg.dataDir}, nil
}
