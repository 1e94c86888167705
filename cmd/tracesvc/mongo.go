package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"tracesvc/trace/tracemongo"
)

// openMongo connects to cfg.mongoURI and opens the stores on cfg.mongoDB.
func openMongo(ctx context.Context, cfg config) (stores, error) {
	client, err := mongo.Connect(options.Client().ApplyURI(cfg.mongoURI).SetAppName("tracesvc"))
	if err != nil {
		return stores{}, fmt.Errorf("mongodb: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx, nil); err != nil {
		client.Disconnect(context.WithoutCancel(ctx))
		return stores{}, fmt.Errorf("mongodb: ping %s: %w", redact(cfg.mongoURI), err)
	}
	s, err := tracemongo.New(ctx, client.Database(cfg.mongoDB))
	if err != nil {
		client.Disconnect(context.WithoutCancel(ctx))
		return stores{}, err
	}
	closeFn := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return client.Disconnect(ctx)
	}
	return stores{trace: s, codes: s, events: s, scans: s, tipoffs: s, keys: s, audit: s, close: closeFn, source: "mongodb:" + cfg.mongoDB}, nil
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
