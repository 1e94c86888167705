// Tracesoak is the mixed soak of issue 15: it sets up a small supply chain
// through a running tracesvc's API, then drives it for a while with a
// steady mix of what the service does all day, all at once:
//
//   - consumer scans of issued codes as JSON and as the scan page, and of
//     serials never issued;
//   - EPCIS captures: codes issued and commissioned, shipped by the maker,
//     received, packed on a pallet and shipped by a distributor, received
//     and partly sold by retailers; every capture's job is read back and
//     must say it stored every event;
//   - API reads: event queries, the forward trace of a lot as JSON and as
//     NDJSON, product and batch lists, recalls and incidents, a credit
//     standing, the regulator dashboard (signed in with a cookie) and
//     /metrics;
//   - changes of state mid-run: a recall of one lot opened (its codes must
//     scan as recalled from then on) and a streamed issuance of 10,000 more
//     codes, commissioned and scanned in turn.
//
// Each kind of load runs at its own steady rate (open loop: a request is
// started on every tick whether or not the last one has answered, up to a
// bound of requests in flight; ticks past the bound are counted as
// skipped). Every answer is counted by class and status. When given the
// service's process id it samples the process's resident memory (VmRSS)
// and CPU time every second and prints them every -sample interval. At
// the end it prints the memory curve, the answers per class with their
// latency p50 and p99, the 5xx count and the peak RSS, and exits 1 if any
// answer was a 5xx, any request failed in transport, any answer had a
// status or content other than expected, or the peak RSS reached -max-rss.
//
// deploy/bench/soak.sh builds and starts the service and runs this against
// it; see docs/BENCHMARKS.md, "Mixed soak (issue 15)".
//
// Usage:
//
//	TRACESVC_ADMIN_KEY=… tracesoak -base http://127.0.0.1:18090 -pid PID [-duration 10m] [flags]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is what a soak runs with.
type config struct {
	base     string        // where the service answers, e.g. http://127.0.0.1:18090
	key      string        // a regulator key of the service
	pid      int           // the service's process id; 0 samples no memory
	duration time.Duration // how long the mixed load runs, after the set-up
	sample   time.Duration // interval of the printed memory curve
	maxRSSMB int           // the peak RSS that fails the soak, in MB

	// Rates per second of each kind of load.
	scanRate, pageRate, unknownRate, captureRate, readRate float64

	codesPerLot int     // codes issued per lot at set-up (3 products × 2 lots)
	recallAt    float64 // fraction of the duration after which a lot is recalled
	issueAt     float64 // fraction of the duration after which 10,000 more codes are issued
	midIssue    int     // codes of that issuance
}

// defaults are the rates deploy/bench/soak.sh runs with: they keep the
// service at about half of one core of two (see docs/BENCHMARKS.md).
func defaults() config {
	return config{base: "http://127.0.0.1:18090", duration: 10 * time.Minute, sample: 10 * time.Second, maxRSSMB: 300,
		scanRate: 400, pageRate: 100, unknownRate: 2, captureRate: 10, readRate: 20,
		codesPerLot: 2000, recallAt: 0.4, issueAt: 0.6, midIssue: 10_000}
}

// parseFlags reads the command line; the regulator key comes from the
// environment (TRACESVC_ADMIN_KEY, as given to the service), never argv.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	c := defaults()
	fs := flag.NewFlagSet("tracesoak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.base, "base", c.base, "the service's origin (scheme, host and port)")
	fs.IntVar(&c.pid, "pid", c.pid, "the service's process id, whose VmRSS and CPU time are sampled (0: none)")
	fs.DurationVar(&c.duration, "duration", c.duration, "how long the mixed load runs")
	fs.DurationVar(&c.sample, "sample", c.sample, "interval of the printed memory curve")
	fs.IntVar(&c.maxRSSMB, "max-rss", c.maxRSSMB, "peak RSS in MB that fails the soak")
	fs.Float64Var(&c.scanRate, "scan-rate", c.scanRate, "scans of issued codes as JSON per second")
	fs.Float64Var(&c.pageRate, "page-rate", c.pageRate, "scans of issued codes as the HTML page per second")
	fs.Float64Var(&c.unknownRate, "unknown-rate", c.unknownRate, "scans of serials never issued per second")
	fs.Float64Var(&c.captureRate, "capture-rate", c.captureRate, "EPCIS capture documents per second")
	fs.Float64Var(&c.readRate, "read-rate", c.readRate, "API reads per second (in turn: events, traces, lists, credit, dashboard, metrics)")
	fs.IntVar(&c.codesPerLot, "codes-per-lot", c.codesPerLot, "codes issued and commissioned per lot at set-up (6 lots)")
	fs.Float64Var(&c.recallAt, "recall-at", c.recallAt, "fraction of the run after which one lot is recalled")
	fs.Float64Var(&c.issueAt, "issue-at", c.issueAt, "fraction of the run after which more codes are issued")
	fs.IntVar(&c.midIssue, "mid-issue", c.midIssue, "codes issued (streamed as NDJSON) and commissioned mid-run")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.key = getenv("TRACESVC_ADMIN_KEY")
	switch {
	case c.key == "":
		return c, errors.New("set TRACESVC_ADMIN_KEY to a regulator key of the service")
	case c.duration <= 0 || c.sample <= 0:
		return c, errors.New("-duration and -sample must be positive")
	case c.codesPerLot < 50 || c.midIssue < 1 || c.midIssue > 20_000:
		return c, errors.New("-codes-per-lot must be at least 50 and -mid-issue between 1 and 20,000 (one commissioning event)")
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracesoak:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracesoak:", err)
		os.Exit(1)
	}
	if failed := res.failures(cfg); len(failed) > 0 {
		for _, f := range failed {
			fmt.Fprintln(os.Stderr, "tracesoak: FAILED:", f)
		}
		os.Exit(1)
	}
}
