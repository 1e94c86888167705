package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"tracesvc/cmd/wire"
	"tracesvc/trace/schemamongo"
)

// mongoRecordTimeSettle covers the clock skew between processes sharing a
// MongoDB database and the time an insert takes to show (see
// trace.ChainConfig.RecordTimeSettle).
const mongoRecordTimeSettle = 2 * time.Second

// openMongo connects to cfg.mongoURI and opens the stores on cfg.mongoDB.
func openMongo(ctx context.Context, cfg config, logger *slog.Logger, metrics *prometheus.Registry) (database, error) {
	// Set in code, whatever the URI says: every operation is bounded by
	// -mongo-timeout; reads go to the primary, since custody is read and
	// then written on it; a write counts once a majority has it, so a
	// failover cannot undo an answered 2xx.
	client, err := mongo.Connect(options.Client().ApplyURI(cfg.mongoURI).SetAppName("tracesvc").
		SetTimeout(cfg.mongoTimeout).SetServerSelectionTimeout(cfg.mongoTimeout).
		SetReadPreference(readpref.Primary()).SetWriteConcern(writeconcern.Majority()).SetRetryWrites(true).
		SetMonitor(schemamongo.CommandMonitor(wire.StoreTimer(metrics, "mongodb", schemamongo.Commands))))
	if err != nil {
		return database{}, fmt.Errorf("mongodb: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx, nil); err != nil {
		client.Disconnect(context.WithoutCancel(ctx))
		return database{}, fmt.Errorf("mongodb: ping %s: %w", redact(cfg.mongoURI), err)
	}
	// Every process on one database must share the keys; without the
	// variables each would make its own beside its data folder.
	if cfg.secretKey == "" {
		logger.WarnContext(ctx, "TRACESVC_SECRET_KEY is not set: webhook secrets are sealed with the key in the data folder, "+
			"which other processes on this database do not have")
	}
	if cfg.auditKey == "" {
		logger.WarnContext(ctx, "TRACESVC_AUDIT_KEY is not set: the audit chain is keyed with "+auditKeyPath(cfg.dataDir)+
			", which other processes on this database do not have; their records would not verify")
	}
	k, err := loadKeys(cfg)
	if err != nil {
		client.Disconnect(context.WithoutCancel(ctx))
		return database{}, err
	}
	st, err := wire.Mongo(ctx, client.Database(cfg.mongoDB))
	if err != nil {
		client.Disconnect(context.WithoutCancel(ctx))
		return database{}, fmt.Errorf("open stores in %s: %w", cfg.mongoDB, err)
	}
	closeFn := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return client.Disconnect(ctx)
	}
	return database{stores: st, keys: k, close: closeFn, source: "mongodb:" + cfg.mongoDB, recordTimeSettle: mongoRecordTimeSettle}, nil
}

// redact drops the credentials from a connection string for error messages.
func redact(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return "(connection string)"
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = "…@" + rest[at+1:]
	}
	return scheme + "://" + rest
}
