package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tracesvc/trace/testtool"
)

// walkthroughScript is the README's walk-through as one bash script: the
// ```sh blocks of the sections whose heading starts "## Walk-through", in
// the README's order, each under a comment naming it.
func walkthroughScript(readme string) (script string, blocks int) {
	var b strings.Builder
	section, in := "", false
	for i, line := range strings.Split(readme, "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			section = strings.TrimPrefix(line, "## ")
		case !strings.HasPrefix(section, "Walk-through"):
		case line == "```sh":
			in = true
			blocks++
			fmt.Fprintf(&b, "\n# README.md line %d (%s)\n", i+1, section)
		case in && line == "```":
			in = false
		case in:
			b.WriteString(line + "\n")
		}
	}
	return b.String(), blocks
}

// readmeExpected are the answers ≥ 400 the walk-through shows on purpose:
// method, route and status ("POST /api/v1/recalls/:id/:action 409"); none today.
var readmeExpected = map[string]bool{}

// TestReadmeWalkthrough runs the README's walk-throughs as written, in
// order, with bash and curl, against the service built from this tree on
// a fresh data folder: "go run ./cmd/tracesvc" runs the built binary, and
// the README's port 8080 becomes a free one. The script stops at the first
// failing command (set -euo pipefail: a value it cannot capture fails),
// and every request the service logs must have succeeded, bar those the
// README shows failing on purpose.
func TestReadmeWalkthrough(t *testing.T) {
	bash := testtool.Program(t, "bash", "bash")
	testtool.Program(t, "curl", "curl")
	testtool.Program(t, "openssl", "openssl")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	script, blocks := walkthroughScript(string(readme))
	if blocks < 10 {
		t.Fatalf("only %d sh blocks in the walk-throughs", blocks)
	}
	bin := buildBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	prelude := `set -euo pipefail
go() { if [ "$1" = run ]; then shift 2; exec ` + bin + ` "$@"; else command go "$@"; fi; }
trap 'kill $(jobs -p) 2>/dev/null; wait' EXIT
`
	full := prelude + strings.ReplaceAll(script, "127.0.0.1:8080", addr)
	if err := os.WriteFile(filepath.Join(dir, "walkthrough.sh"), []byte(full), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, "walkthrough.sh")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TRACESVC_ADDR=" + addr, "LANG=C.UTF-8"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	runErr := cmd.Run()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // anything the script left behind
	var failed []string
	requests := 0
	// The service's log lines share stdout with curl's answers, which end
	// without a newline: each line is read from where it begins.
	out := stdout.String()
	for i := strings.Index(out, `{"time":"`); i >= 0; {
		var line struct {
			Msg, Method, Route string
			Status             int
		}
		if json.NewDecoder(strings.NewReader(out[i:])).Decode(&line) == nil && line.Msg == "request" {
			requests++
			if line.Status >= 400 && !readmeExpected[fmt.Sprintf("%s %s %d", line.Method, line.Route, line.Status)] {
				end := strings.IndexByte(out[i:], '\n')
				if end < 0 {
					end = len(out) - i
				}
				failed = append(failed, out[i:i+end])
			}
		}
		next := strings.Index(out[i+1:], `{"time":"`)
		if next < 0 {
			break
		}
		i += 1 + next
	}
	if runErr != nil || len(failed) > 0 || requests < 40 {
		t.Fatalf("the walk-through: %v; %d requests, failed: %s\nstderr:\n%s\nstdout (last 4000 bytes):\n%s",
			runErr, requests, strings.Join(failed, "\n"), stderr.String(), tail(stdout.String(), 4000))
	}
	t.Logf("%d sh blocks, %d requests, all as the README says", blocks, requests)
	if os.Getenv("README_WALKTHROUGH_OUT") != "" {
		_ = os.WriteFile(os.Getenv("README_WALKTHROUGH_OUT"), []byte(out), 0o600)
	}
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
