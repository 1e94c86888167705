package wire_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "tracesvc"

// pkg is what the layering rules look at of one package.
type pkg struct {
	ImportPath string
	Imports    []string // direct imports
	Deps       []string // every package it depends on
}

// isAdapter reports whether p (module-relative) is a store adapter or a
// helper only adapters may use: …sql, …mongo, trace/sqlitedb.
func isAdapter(p string) bool {
	base := p[strings.LastIndex(p, "/")+1:]
	return p != "trace/mongotest" && (strings.HasSuffix(base, "sql") || strings.HasSuffix(base, "mongo") || base == "sqlitedb")
}

// isSharedAdapterHelper is an adapter helper every domain's adapters may
// import: the embedded database's pools and MongoDB's index and error
// helpers.
func isSharedAdapterHelper(p string) bool { return p == "trace/sqlitedb" || p == "trace/schemamongo" }

// domainOf is the top-level domain of p: trace, standards or recall ("" for
// handlers and cmd).
func domainOf(p string) string {
	top, _, _ := strings.Cut(p, "/")
	switch top {
	case "trace", "standards", "recall":
		return top
	}
	return ""
}

func under(p, root string) bool { return p == root || strings.HasPrefix(p, root+"/") }

// violations checks the import rules of docs/ARCHITECTURE.md over pkgs
// and returns one line per broken rule.
func violations(pkgs []pkg) []string {
	var out []string
	bad := func(p, dep, rule string) { out = append(out, fmt.Sprintf("%s imports %s: %s", p, dep, rule)) }
	rel := func(path string) (string, bool) {
		if path == module {
			return "", true
		}
		r, ok := strings.CutPrefix(path, module+"/")
		return r, ok
	}
	for _, pk := range pkgs {
		p, ok := rel(pk.ImportPath)
		if !ok {
			continue
		}
		for _, d := range pk.Deps {
			dep, ours := rel(d)
			if !ours {
				continue
			}
			switch {
			case under(p, "trace") && (under(dep, "standards") || under(dep, "recall") || under(dep, "handlers")):
				bad(p, dep, "trace depends on no higher domain and not on handlers")
			case under(p, "standards") && (under(dep, "recall") || under(dep, "handlers")):
				bad(p, dep, "standards depends on neither recall nor handlers")
			case under(p, "recall") && under(dep, "handlers"):
				bad(p, dep, "recall does not depend on handlers")
			case under(p, "handlers") && isAdapter(dep):
				bad(p, dep, "handlers reach stores only through the domains")
			}
		}
		for _, d := range pk.Imports {
			dep, ours := rel(d)
			switch {
			case strings.HasPrefix(d, "github.com/gin-gonic/") && !under(p, "handlers") && !under(p, "cmd"):
				bad(p, d, "Gin is used only in handlers and cmd")
			case strings.HasPrefix(d, "go.mongodb.org/mongo-driver") && !(isAdapter(p) && !strings.HasSuffix(p, "sql")) &&
				p != "trace/mongotest" && !under(p, "cmd"):
				bad(p, d, "the MongoDB driver is used only in …mongo adapters, trace/mongotest and cmd")
			case !ours:
			case domainOf(p) != "" && !isAdapter(p) && !strings.HasSuffix(p, "storetest") && p != "trace/mongotest" && isAdapter(dep):
				bad(p, dep, "a domain never imports store adapters; cmd hands it their stores")
			case isAdapter(p) && !isSharedAdapterHelper(p) && isAdapter(dep) && !isSharedAdapterHelper(dep):
				bad(p, dep, "adapters never import each other")
			}
		}
	}
	slices.Sort(out)
	return out
}

// goList lists the module's packages with their imports (tests excluded).
func goList(t *testing.T) []pkg {
	t.Helper()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			t.Fatal("the go command is needed to list imports")
		}
	}
	cmd := exec.Command(gobin, "list", "-deps=false", "-json=ImportPath,Imports,Deps", module+"/...")
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestLayering holds the real import graph to the rules.
func TestLayering(t *testing.T) {
	pkgs := goList(t)
	if len(pkgs) < 20 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	for _, v := range violations(pkgs) {
		t.Error(v)
	}
}

// TestLayeringRules shows that each rule fails when broken.
func TestLayeringRules(t *testing.T) {
	m := func(s string) string { return module + "/" + s }
	cases := map[string]pkg{
		"trace imports standards":   {ImportPath: m("trace/scan"), Deps: []string{m("standards")}},
		"trace imports recall":      {ImportPath: m("trace"), Deps: []string{m("recall/webhook")}},
		"trace imports handlers":    {ImportPath: m("trace/fsma"), Deps: []string{m("handlers")}},
		"standards imports recall":  {ImportPath: m("standards"), Deps: []string{m("recall")}},
		"standards imports handler": {ImportPath: m("standards/standardssql"), Deps: []string{m("handlers")}},
		"domain imports adapter":    {ImportPath: m("recall"), Imports: []string{m("recall/recallsql")}},
		"domain imports sqlitedb":   {ImportPath: m("trace/scan"), Imports: []string{m("trace/sqlitedb")}},
		"adapters share":            {ImportPath: m("recall/recallsql"), Imports: []string{m("trace/tracesql")}},
		"handlers import adapter":   {ImportPath: m("handlers"), Deps: []string{m("trace/tracemongo")}},
		"gin in a domain":           {ImportPath: m("trace/scan"), Imports: []string{"github.com/gin-gonic/gin"}},
		"mongo driver in sql":       {ImportPath: m("trace/tracesql"), Imports: []string{"go.mongodb.org/mongo-driver/v2/bson"}},
		"mongo driver in domain":    {ImportPath: m("standards"), Imports: []string{"go.mongodb.org/mongo-driver/v2/mongo"}},
	}
	for name, p := range cases {
		if v := violations([]pkg{p}); len(v) != 1 {
			t.Errorf("%s: got %q, want one violation", name, v)
		}
	}
	allowed := []pkg{
		{ImportPath: m("recall/recallsql"), Imports: []string{m("trace/sqlitedb"), m("recall"), m("trace")}},
		{ImportPath: m("standards/standardsmongo"), Imports: []string{m("trace/schemamongo"), "go.mongodb.org/mongo-driver/v2/mongo"}},
		{ImportPath: m("cmd/wire"), Imports: []string{m("trace/tracesql"), "go.mongodb.org/mongo-driver/v2/mongo"}},
		{ImportPath: m("handlers"), Imports: []string{"github.com/gin-gonic/gin"}, Deps: []string{m("recall"), m("standards")}},
		{ImportPath: m("recall"), Deps: []string{m("trace"), m("standards")}},
		{ImportPath: m("trace/mongotest"), Imports: []string{"go.mongodb.org/mongo-driver/v2/mongo"}},
	}
	if v := violations(allowed); len(v) != 0 {
		t.Errorf("allowed imports reported: %q", v)
	}
}

// TestArchitectureDoc checks that docs/ARCHITECTURE.md lists exactly the
// module's packages, so that the document cannot drift from the code.
func TestArchitectureDoc(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Package lines look like: | `trace/scan` | what it does |
	row := regexp.MustCompile("^\\| `([a-z0-9/]+)` \\|")
	var documented []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := row.FindStringSubmatch(sc.Text()); m != nil {
			documented = append(documented, m[1])
		}
	}
	var actual []string
	for _, p := range goList(t) {
		if r, ok := strings.CutPrefix(p.ImportPath, module+"/"); ok {
			actual = append(actual, r)
		}
	}
	slices.Sort(documented)
	slices.Sort(actual)
	for _, p := range actual {
		if !slices.Contains(documented, p) {
			t.Errorf("package %s is not in docs/ARCHITECTURE.md", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(actual, p) {
			t.Errorf("docs/ARCHITECTURE.md lists %s, which does not exist", p)
		}
	}
}
