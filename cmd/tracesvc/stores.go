package main

import (
	"context"

	"tracesvc/trace/tracesql"
)

// openStores opens the backend the configuration names.
func openStores(ctx context.Context, cfg config) (stores, error) {
	if cfg.mongoURI != "" {
		return openMongo(ctx, cfg)
	}
	db, err := tracesql.Open(ctx, cfg.dataDir)
	if err != nil {
		return stores{}, err
	}
	s, err := tracesql.New(ctx, db)
	if err != nil {
		db.Close()
		return stores{}, err
	}
	return stores{trace: s, codes: s, events: s, scans: s, tipoffs: s, keys: s, audit: s, close: db.Close, source: "sqlite:" + cfg.dataDir}, nil
}
