// Package deploy holds the tests of the deployment files beside them:
// the Kubernetes manifest, the compose file, the proxy's Caddyfile and the
// Dockerfile parsed and checked against each other and against the
// service itself (its flags, its environment, the paths its router
// answers), and the sharding plan in SCALING.md checked against the
// collections the MongoDB stores use and the documents the service
// writes. It has no code outside its tests.
package deploy

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"tracesvc/cmd/wire"
	"tracesvc/trace"
	"tracesvc/trace/mongotest"
	"tracesvc/trace/sqlitedb"
)

var mongoSrv *mongotest.Server

// TestMain starts one embedded MongoDB-wire server (FerretDB) for the
// document-size measurements.
func TestMain(m *testing.M) { os.Exit(mongotest.Run(m, &mongoSrv)) }

// repo is the repository root, from this package's folder.
const repo = ".."

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testOptions are the service options of the tests' services.
func testOptions() wire.Options {
	return wire.Options{BaseURL: "https://id.example.cn", SecretKey: bytes.Repeat([]byte{7}, 32),
		AuditKey: bytes.Repeat([]byte{9}, 32), FingerprintKey: []byte("deploy-test"), Instance: "deploy-test",
		GTINsWithoutPrefix: true, DeclarationGated: []trace.Category{}}
}

// statusOf answers GET path with the real router (cmd/wire's wiring) on a
// fresh embedded store: what a probe or a proxy's health check gets from
// a process whose store is up.
func statusOf(t *testing.T, paths ...string) map[string]int {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := wire.SQLite(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := wire.Build(st, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Resolver.Close(context.Background()) })
	out := map[string]int{}
	for _, p := range paths {
		rec := httptest.NewRecorder()
		svc.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		out[p] = rec.Code
	}
	return out
}

// commandFiles parses the command's non-test Go files.
func commandFiles(t testing.TB) []*ast.File {
	t.Helper()
	out := goFiles(t, filepath.Join(repo, "cmd", "tracesvc", "*.go"))
	if len(out) == 0 {
		t.Fatal("no Go files in cmd/tracesvc")
	}
	return out
}

// goFiles parses the non-test Go files that match pattern.
func goFiles(t testing.TB, pattern string) []*ast.File {
	t.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	var out []*ast.File
	fset := token.NewFileSet()
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// flagMethods are the flag.FlagSet methods that define a flag.
var flagMethods = []string{"String", "StringVar", "Int", "IntVar", "Int64", "Int64Var", "Uint", "UintVar",
	"Bool", "BoolVar", "Duration", "DurationVar", "Float64", "Float64Var", "Func", "BoolFunc", "Var", "TextVar"}

// commandFlags returns the names of the flags cmd/tracesvc defines, read
// from its source: every call of a flag-defining method whose first string
// argument names the flag.
func commandFlags(t testing.TB) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, f := range commandFiles(t) {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !slices.Contains(flagMethods, sel.Sel.Name) {
				return true
			}
			for _, a := range call.Args {
				if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if name, err := strconv.Unquote(lit.Value); err == nil {
						out[name] = true
					}
					break
				}
			}
			return true
		})
	}
	if !out["mongo-uri"] || !out["credit-rules"] {
		t.Fatalf("read the command's flags wrong: %v", out)
	}
	return out
}

var envName = regexp.MustCompile(`^(TRACESVC_[A-Z0-9_]+|MONGODB_URI)$`)

// commandEnv returns the environment variables cmd/tracesvc reads: the
// string constants of its source that look like one.
func commandEnv(t testing.TB) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, f := range commandFiles(t) {
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && envName.MatchString(s) {
					out[s] = true
				}
			}
			return true
		})
	}
	if !out["MONGODB_URI"] || !out["TRACESVC_AUDIT_KEY"] {
		t.Fatalf("read the command's environment wrong: %v", out)
	}
	return out
}

// TestCommandFlagsAndEnv checks the readers the manifest tests rely on
// against flags and variables the README documents.
func TestCommandFlagsAndEnv(t *testing.T) {
	flags, env := commandFlags(t), commandEnv(t)
	for _, f := range []string{"addr", "holidays", "notice-workers", "instance", "shutdown-grace"} {
		if !flags[f] {
			t.Errorf("flag -%s not found", f)
		}
	}
	for _, e := range []string{"TRACESVC_ADDR", "TRACESVC_SECRET_KEY", "TRACESVC_FINGERPRINT_KEY", "TRACESVC_INSTANCE"} {
		if !env[e] {
			t.Errorf("variable %s not found", e)
		}
	}
	if flags["no-such-flag"] || env["TRACESVC_NO_SUCH"] {
		t.Error("readers accept anything")
	}
}
