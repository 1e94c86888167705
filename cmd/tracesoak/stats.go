package main

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// classStats are the answers of one class of request.
type classStats struct {
	statuses   map[int]int
	latencies  []time.Duration
	transport  int // requests that got no answer
	unexpected int // answers with a status the request did not want
	wrong      int // answers with the right status but the wrong content (a verdict, a capture job)
	skipped    int // ticks with no request sent: too many in flight
}

// stats counts every request of a soak by class. Its methods are safe for
// concurrent use.
type stats struct {
	log      *slog.Logger // the first problems of each kind, as they happen
	mu       sync.Mutex
	classes  map[string]*classStats
	problems map[string]int // problems logged per class and kind
	verdicts map[string]int // verdicts of the JSON scans
}

func newStats(log *slog.Logger) *stats {
	return &stats{log: log, classes: map[string]*classStats{}, problems: map[string]int{}, verdicts: map[string]int{}}
}

// class returns the counts of name; s.mu is held.
func (s *stats) class(name string) *classStats {
	c := s.classes[name]
	if c == nil {
		c = &classStats{statuses: map[int]int{}}
		s.classes[name] = c
	}
	return c
}

// answered counts an answer of status that took d; ok says whether the
// request wanted that status.
func (s *stats) answered(class string, status int, d time.Duration, ok bool) {
	s.mu.Lock()
	c := s.class(class)
	c.statuses[status]++
	c.latencies = append(c.latencies, d)
	if !ok {
		c.unexpected++
	}
	s.mu.Unlock()
}

// failed counts a request that got no answer.
func (s *stats) failed(class string, err error) {
	s.mu.Lock()
	s.class(class).transport++
	s.mu.Unlock()
	s.problem(class, "transport", err)
}

// skipped counts a tick of class that sent nothing: the service was
// behind by as many requests as the class lets be in flight.
func (s *stats) skipped(class string) {
	s.mu.Lock()
	s.class(class).skipped++
	s.mu.Unlock()
}

// wrong counts an answer whose status was right and whose content was
// not (err says how).
func (s *stats) wrong(class string, err error) {
	s.mu.Lock()
	s.class(class).wrong++
	s.mu.Unlock()
	s.problem(class, "wrong", err)
}

// verdict counts a JSON scan's verdict.
func (s *stats) verdict(v string) {
	s.mu.Lock()
	s.verdicts[v]++
	s.mu.Unlock()
}

// verdictCounts are the verdicts counted so far.
func (s *stats) verdictCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.verdicts)
}

// problem logs the first few problems of each kind of each class.
func (s *stats) problem(class, kind string, err error) {
	s.mu.Lock()
	s.problems[class+"/"+kind]++
	n := s.problems[class+"/"+kind]
	s.mu.Unlock()
	if n <= 3 {
		s.log.Warn("soak problem", "class", class, "kind", kind, "err", err)
	}
}

// classRow is one class's line of the report.
type classRow struct {
	name                                  string
	requests                              int
	statuses                              map[int]int
	p50, p99, max                         time.Duration
	transport, unexpected, wrong, skipped int
}

// rows are every class's figures, in name order.
func (s *stats) rows() []classRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []classRow
	for _, name := range slices.Sorted(maps.Keys(s.classes)) {
		c := s.classes[name]
		lat := slices.Clone(c.latencies)
		slices.Sort(lat)
		r := classRow{name: name, requests: len(lat) + c.transport, statuses: maps.Clone(c.statuses),
			transport: c.transport, unexpected: c.unexpected, wrong: c.wrong, skipped: c.skipped}
		if len(lat) > 0 {
			r.p50, r.p99, r.max = quantile(lat, 0.50), quantile(lat, 0.99), lat[len(lat)-1]
		}
		out = append(out, r)
	}
	return out
}

// quantile is the q-quantile of sorted (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// result is what a soak measured.
type result struct {
	rows      []classRow
	samples   []sample // the memory curve, every -sample interval
	peakRSSKB int64    // the highest VmRSS of every sample (each second)
	sampled   bool     // whether memory was sampled at all
	verdicts  map[string]int
	elapsed   time.Duration
	metrics   map[string]float64 // service counters read from /metrics at the end
}

// total sums a counter over every class.
func (r result) total(f func(classRow) int) int {
	n := 0
	for _, c := range r.rows {
		n += f(c)
	}
	return n
}

// fiveXX counts the answers with a 5xx status.
func (r result) fiveXX() int {
	return r.total(func(c classRow) int {
		n := 0
		for st, k := range c.statuses {
			if st >= 500 {
				n += k
			}
		}
		return n
	})
}

// failures says why the soak failed; none when it passed.
func (r result) failures(cfg config) []string {
	var out []string
	if n := r.fiveXX(); n > 0 {
		out = append(out, fmt.Sprintf("%d answers were 5xx", n))
	}
	if n := r.total(func(c classRow) int { return c.transport }); n > 0 {
		out = append(out, fmt.Sprintf("%d requests failed in transport", n))
	}
	if n := r.total(func(c classRow) int { return c.unexpected }); n > 0 {
		out = append(out, fmt.Sprintf("%d answers had a status other than expected", n))
	}
	if n := r.total(func(c classRow) int { return c.wrong }); n > 0 {
		out = append(out, fmt.Sprintf("%d answers said something other than expected (a verdict, a capture not stored)", n))
	}
	if r.sampled && r.peakRSSKB >= int64(cfg.maxRSSMB)<<10 {
		out = append(out, fmt.Sprintf("peak RSS %d MB reached the limit of %d MB", r.peakRSSKB>>10, cfg.maxRSSMB))
	}
	return out
}

// print writes the report as Markdown tables.
func (r result) print(w io.Writer, cfg config) {
	fmt.Fprintf(w, "\nMixed soak of %s for %s: per second %g JSON scans, %g scan pages, %g unknown serials, %g capture documents, %g API reads; "+
		"%d codes per lot at set-up; recall at %.0f %%, %d codes issued at %.0f %% of the run.\n",
		cfg.base, cfg.duration, cfg.scanRate, cfg.pageRate, cfg.unknownRate, cfg.captureRate, cfg.readRate,
		cfg.codesPerLot, 100*cfg.recallAt, cfg.midIssue, 100*cfg.issueAt)
	if r.sampled {
		fmt.Fprintf(w, "\nMemory of pid %d every %s: VmRSS; the Go heap in use and all the Go runtime holds (from /metrics; "+
			"the rest of the RSS is mostly SQLite's own memory: page caches, statements); CPU is the process's user+system time over the interval, 100 %% = one core:\n\n",
			cfg.pid, cfg.sample)
		fmt.Fprintln(w, "| t | RSS | Go heap in use | Go runtime | CPU |")
		fmt.Fprintln(w, "|---|---|---|---|---|")
		for _, s := range r.samples {
			fmt.Fprintf(w, "| %s | %d MB | %d MB | %d MB | %.0f %% |\n", s.at.Round(time.Second), s.rssKB>>10,
				s.goMem.heapInUse>>20, s.goMem.sys>>20, s.cpu)
		}
	}
	fmt.Fprintf(w, "\nAnswers over %s (latency: until the whole body is read):\n\n", r.elapsed.Round(time.Second))
	fmt.Fprintln(w, "| class | requests | per second | statuses | p50 | p99 | max | skipped |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, c := range r.rows {
		var st []string
		for _, code := range slices.Sorted(maps.Keys(c.statuses)) {
			st = append(st, fmt.Sprintf("%d×%d", code, c.statuses[code]))
		}
		if c.transport > 0 {
			st = append(st, fmt.Sprintf("no answer×%d", c.transport))
		}
		if c.wrong > 0 {
			st = append(st, fmt.Sprintf("wrong content×%d", c.wrong))
		}
		fmt.Fprintf(w, "| %s | %d | %.1f | %s | %s | %s | %s | %d |\n", c.name, c.requests,
			float64(c.requests)/r.elapsed.Seconds(), strings.Join(st, " "), ms(c.p50), ms(c.p99), ms(c.max), c.skipped)
	}
	var vs []string
	for _, v := range slices.Sorted(maps.Keys(r.verdicts)) {
		vs = append(vs, fmt.Sprintf("%s %d", v, r.verdicts[v]))
	}
	fmt.Fprintf(w, "\nVerdicts of the JSON scans (issued and unknown codes): %s.\n", strings.Join(vs, ", "))
	if len(r.metrics) > 0 {
		fmt.Fprintln(w, "\nThe service's counters at the end (/metrics):")
		fmt.Fprintln(w)
		for _, k := range slices.Sorted(maps.Keys(r.metrics)) {
			fmt.Fprintf(w, "- `%s` %.0f\n", k, r.metrics[k])
		}
	}
	fmt.Fprintf(w, "\nrequests: %d; 5xx: %d; no answer: %d; unexpected status: %d; wrong content: %d",
		r.total(func(c classRow) int { return c.requests }), r.fiveXX(),
		r.total(func(c classRow) int { return c.transport }), r.total(func(c classRow) int { return c.unexpected }),
		r.total(func(c classRow) int { return c.wrong }))
	if r.sampled {
		fmt.Fprintf(w, "; peak RSS %d MB (limit %d MB)", r.peakRSSKB>>10, cfg.maxRSSMB)
	}
	fmt.Fprintln(w)
}

// ms formats d in milliseconds.
func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0f ms", float64(d)/1e6)
}
