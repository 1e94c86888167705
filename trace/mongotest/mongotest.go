package mongotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// EnvURI is the environment variable that, when set to a MongoDB
// connection string, makes [Start] connect to that server instead of
// starting an embedded FerretDB.
const EnvURI = "MONGODB_URI"

// Timeouts used by the helper itself (not by the caller's operations).
const (
	connectTimeout = 15 * time.Second // server selection + first ping
	dropTimeout    = 30 * time.Second // dropping a test database in t.Cleanup
	closeTimeout   = 10 * time.Second // disconnect / server shutdown
)

// maxDBNameLen is the longest database name accepted by both MongoDB
// (64 bytes including the terminating NUL) and FerretDB
// (^[a-zA-Z0-9_-]{1,63}$).
const maxDBNameLen = 63

// Server is a MongoDB-wire server for tests: either an embedded FerretDB
// (SQLite handler) owned by this value, or an external server named by
// MONGODB_URI. Create it once per test binary with [Start] (or [Run]) and
// share it between tests; all methods are safe for concurrent use.
type Server struct {
	// URI is the connection string of the server.
	URI string

	client   *mongo.Client
	ferret   bool          // server identifies itself as FerretDB (buildInfo)
	embedded bool          // we started it and must stop it
	cancel   func()        // stops the embedded FerretDB
	done     chan struct{} // closed when the embedded FerretDB has stopped
	dir      string        // temporary SQLite data directory ("" if external)
	prefix   string        // random per-Server token used in database names
	seq      atomic.Uint64 // database name counter
	closed   atomic.Bool
}

// Start starts an embedded FerretDB (SQLite handler, fresh temporary data
// directory, listening on 127.0.0.1 on a free port, error-level logging to
// stderr) and connects a client to it. When the MONGODB_URI environment
// variable is set, Start instead connects to that server and starts
// nothing.
//
// Call it once per test binary, from TestMain, and call [Server.Close]
// after m.Run returns; [Run] does both.
func Start() (*Server, error) {
	prefix, err := randomToken()
	if err != nil {
		return nil, err
	}

	s := &Server{prefix: prefix}

	if uri := os.Getenv(EnvURI); uri != "" {
		s.URI = uri
	} else if err := s.startFerretDB(); err != nil {
		return nil, err
	}

	if err := s.connect(); err != nil {
		s.Close()
		return nil, err
	}

	return s, nil
}

// startFerretDB starts the embedded server and fills s.URI.
func (s *Server) startFerretDB() error {
	dir, err := os.MkdirTemp("", "mongotest-ferretdb-")
	if err != nil {
		return fmt.Errorf("mongotest: create data dir: %w", err)
	}

	// FerretDB wants a "file:" URI naming an existing directory, with a
	// trailing slash; build it with net/url so unusual TMPDIRs survive.
	sqliteURL := (&url.URL{Scheme: "file", Opaque: dir + "/"}).String()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{
			Level: slog.LevelError,
		})),
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("mongotest: start FerretDB: %w", err)
	}

	// In v1.24.2 New already binds the TCP listener, so the port accepts
	// connections (queued by the kernel) before Run is called and
	// MongoDBURI does not block.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})

	go func() {
		defer close(done)
		_ = f.Run(ctx) // always nil in v1.24.2
	}()

	s.URI = f.MongoDBURI()
	s.embedded = true
	s.ferret = true
	s.cancel = cancel
	s.done = done
	s.dir = dir

	return nil
}

// connect creates the shared client, pings the server and detects FerretDB.
func (s *Server) connect() error {
	client, err := mongo.Connect(options.Client().
		ApplyURI(s.URI).
		SetAppName("mongotest").
		SetServerSelectionTimeout(connectTimeout))
	if err != nil {
		return fmt.Errorf("mongotest: connect to %s: %w", redact(s.URI), err)
	}

	s.client = client

	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()

	var info bson.M
	if err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return fmt.Errorf("mongotest: buildInfo on %s: %w", redact(s.URI), err)
	}

	for k := range info {
		// FerretDB v1 reports "ferretdbVersion"/"ferretdbFeatures",
		// v2 a "ferretdb" document.
		if strings.HasPrefix(k, "ferretdb") {
			s.ferret = true
		}
	}

	return nil
}

// Close disconnects the shared client and, for an embedded FerretDB, stops
// the server and removes its data directory. It is idempotent.
func (s *Server) Close() {
	if s == nil || !s.closed.CompareAndSwap(false, true) {
		return
	}

	if s.client != nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		_ = s.client.Disconnect(ctx)
		cancel()
	}

	if s.embedded {
		s.cancel()

		select {
		case <-s.done:
		case <-time.After(closeTimeout):
		}

		_ = os.RemoveAll(s.dir)
	}
}

// Client returns the connected *mongo.Client shared by the whole test
// binary. Do not disconnect it; [Server.Close] does.
func (s *Server) Client() *mongo.Client {
	return s.client
}

// IsFerretDB reports whether the server is FerretDB (the embedded one, or
// an external server that identifies itself as FerretDB in buildInfo).
// Tests of behavior FerretDB does not provide (multi-document
// transactions, atomic read-modify-write updates, partial indexes, ...)
// should t.Skip when it is true; see the package documentation.
func (s *Server) IsFerretDB() bool {
	return s.ferret
}

// Name reports "ferretdb" or "mongodb", e.g. for skip messages.
func (s *Server) Name() string {
	if s.ferret {
		return "ferretdb"
	}

	return "mongodb"
}

// Database returns a new, empty database for t, named after t.Name()
// (reduced to [A-Za-z0-9_-], truncated) plus a suffix unique to this Server
// and test binary, so parallel tests and parallel test binaries sharing one
// MONGODB_URI server do not collide. The database is dropped in t.Cleanup.
//
// It fails the test if s is nil, which happens when TestMain did not start
// the server.
func (s *Server) Database(t testing.TB) *mongo.Database {
	t.Helper()

	if s == nil || s.client == nil {
		t.Fatal("mongotest: server not started; call mongotest.Run (or Start) from TestMain")
	}

	name := s.dbName(t.Name())
	db := s.client.Database(name)

	t.Cleanup(func() {
		// t.Context() is already canceled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
		defer cancel()

		if err := db.Drop(ctx); err != nil {
			t.Errorf("mongotest: drop database %q: %v", name, err)
		}
	})

	return db
}

// dbName builds a valid, unique database name from a test name.
func (s *Server) dbName(testName string) string {
	suffix := "_" + s.prefix + "_" + strconv.FormatUint(s.seq.Add(1), 10)

	base := sanitize(testName)
	if room := maxDBNameLen - len(suffix); len(base) > room {
		base = base[:room]
	}

	return base + suffix
}

// sanitize maps every byte outside [A-Za-z0-9_-] to '_', collapsing runs,
// so the result is a valid database name on both MongoDB and FerretDB.
func sanitize(s string) string {
	var b strings.Builder

	lastUnderscore := false

	for i := 0; i < len(s); i++ {
		c := s[i]

		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
		if !ok {
			if lastUnderscore {
				continue
			}

			c = '_'
		}

		lastUnderscore = c == '_'
		b.WriteByte(c)
	}

	if b.Len() == 0 {
		return "test"
	}

	return b.String()
}

// randomToken returns 8 random lowercase hex characters.
func randomToken() (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("mongotest: random: %w", err)
	}

	return hex.EncodeToString(b[:]), nil
}

// redact hides the password of a connection string for error messages.
func redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "<unparsable URI>"
	}

	return u.Redacted()
}

// Run is the whole TestMain body: it starts the server with [Start], stores
// it in *srv, runs the tests, closes the server and returns the exit code
// for os.Exit. If the server cannot be started it prints the error and
// returns 1 without running any test.
//
//	var srv *mongotest.Server
//
//	func TestMain(m *testing.M) { os.Exit(mongotest.Run(m, &srv)) }
func Run(m *testing.M, srv **Server) int {
	if srv == nil {
		fmt.Fprintln(os.Stderr, "mongotest: Run: nil *Server pointer")
		return 1
	}

	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	*srv = s
	defer s.Close()

	return m.Run()
}
