package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"tracesvc/cmd/wire"
	"tracesvc/trace"
	"tracesvc/trace/access"
	"tracesvc/trace/audit"
	"tracesvc/trace/sqlitedb"
)

// keysUsage is the help of the keys command.
const keysUsage = `usage: tracesvc keys new-regulator [-data folder | -mongo-uri uri [-mongo-db name]] [-label text]

new-regulator issues a regulator key on the host, without a key: the way to
replace a lost one. It prints the key once, on stdout, and records who made
it in the audit log. It may run while the service serves the same store.
`

// runKeys is "tracesvc keys …": key administration from the host's
// command line.
func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "new-regulator" {
		fmt.Fprint(stderr, keysUsage)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return nil
		}
		return errors.New("keys: give the subcommand new-regulator")
	}
	fs := flag.NewFlagSet("tracesvc keys new-regulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, keysUsage) }
	data := fs.String("data", envOr(getenv, "TRACESVC_DATA", "./data"), "data folder of the embedded store (TRACESVC_DATA)")
	mongoURI := fs.String("mongo-uri", getenv("MONGODB_URI"), "MongoDB connection string (MONGODB_URI)")
	mongoDB := fs.String("mongo-db", envOr(getenv, "TRACESVC_MONGO_DB", "tracesvc"), "MongoDB database name (TRACESVC_MONGO_DB)")
	label := fs.String("label", "regulator key made on the host", "label of the new key")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("keys new-regulator: unexpected arguments: %q", fs.Args())
	}
	if *mongoURI == "" {
		// A mistyped folder would otherwise become a new, empty store.
		if _, err := os.Stat(filepath.Join(*data, sqlitedb.FileName)); err != nil {
			return fmt.Errorf("keys new-regulator: no store in %s (%w): give the -data folder the service runs on", *data, err)
		}
	}
	// The service's own configuration, on a loopback address: nothing
	// listens, and the store opens as the service opens it.
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:0", "-data", *data, "-mongo-uri", *mongoURI, "-mongo-db", *mongoDB},
		func(k string) string {
			if k == "TRACESVC_ADMIN_KEY" {
				return "" // not used here; a weak one is the service's business
			}
			return getenv(k)
		}, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := openDatabase(ctx, cfg, logger, wire.NewRegistry())
	if err != nil {
		return err
	}
	defer db.close()
	log, err := audit.NewLog(db.stores.Audit, nil, db.keys.audit)
	if err != nil {
		return err
	}
	// A record under another key would break the chain: the same check
	// the service makes at start.
	if err := log.CheckKey(ctx); err != nil {
		return fmt.Errorf("%w: run with the TRACESVC_AUDIT_KEY the service uses, or beside its key file %s", err, auditKeyPath(cfg.dataDir))
	}
	operator := hostOperator(getenv)
	k, secret, err := access.NewService(db.stores.Keys, nil).CreateRegulatorOnHost(ctx, operator, *label)
	if err != nil {
		return err
	}
	if _, err := log.Append(ctx, audit.Entry{Actor: "host:" + operator, Role: string(trace.RoleRegulator),
		Action: "tracesvc keys new-regulator", Target: "key:" + k.ID, Status: http.StatusCreated}); err != nil {
		return fmt.Errorf("the key %s was stored but its audit record was not; revoke it and try again: %w", k.ID, err)
	}
	fmt.Fprintf(stderr, "New regulator key %s (%q), shown once; revoke the lost one with DELETE /api/v1/keys/{id}:\n", k.ID, k.Label)
	fmt.Fprintln(stdout, secret)
	return nil
}

// hostOperator names whoever runs a host command: the login user (the one
// behind sudo when there is one) and the host.
func hostOperator(getenv func(string) string) string {
	name := getenv("SUDO_USER")
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		} else {
			name = "uid " + strconv.Itoa(os.Getuid())
		}
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown host"
	}
	return name + "@" + host
}

// envOr reads an environment variable, or def when it is unset.
func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
