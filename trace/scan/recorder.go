package scan

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"tracesvc/trace"
)

// Scans answered but not yet stored are what a kill -9 loses; these bound
// them. The recorder writes a batch when it holds batchSize scans or when
// its first scan has waited batchWait. At most queueSize more wait in the
// queue; a request whose scan finds the queue full waits up to fullWait
// for room (slowing the callers down to the store's pace) before the scan
// is dropped and counted.
const (
	batchSize = 512
	batchWait = 100 * time.Millisecond
	queueSize = 2048
	fullWait  = time.Second
)

// lateWrite bounds storing a scan in line after Close.
const lateWrite = 2 * time.Second

// checkQueue is how many stored batches may wait for their counterfeit
// checks. Checks may write alerts one by one, far slower than scans are
// stored in batches, so they run on their own: a burst of alerts never
// holds up storing scans. When the checks fall this far behind, a batch
// goes unchecked (logged and counted); the code's next scan checks again.
const checkQueue = 256

// recorder stores scans in the background, in batches, and checks them
// for counterfeit signals. Retries are bounded and never hold a lock, so
// a store that is down delays nothing but the recorder itself.
type recorder struct {
	r      *Resolver
	queue  chan Scan
	checks chan []Scan  // stored batches waiting for their checks
	mu     sync.RWMutex // guards closed against sends on a closed queue
	closed bool
	done   chan struct{}   // closed once every scan is stored and checked
	ctx    context.Context // cancelled when Close runs out of time
	cancel context.CancelFunc
	once   sync.Once

	stored, dropped, unchecked atomic.Int64

	sigMu   sync.Mutex      // guards alerted: the recorder and late in-line writers share it
	alerted map[string]bool // "kind code" pairs known to have their alert
}

func newRecorder(r *Resolver) *recorder {
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{r: r, queue: make(chan Scan, queueSize), checks: make(chan []Scan, checkQueue), done: make(chan struct{}),
		ctx: ctx, cancel: cancel, alerted: map[string]bool{}}
	checked := make(chan struct{})
	go func() {
		defer close(checked)
		for scans := range rec.checks {
			rec.check(rec.ctx, scans)
		}
	}()
	go func() {
		defer close(rec.done)
		rec.run()
		close(rec.checks)
		<-checked
	}()
	return rec
}

// Stats are the scan recorder's counters.
type Stats struct {
	Queued    int   // scans waiting to be stored
	Stored    int64 // scans stored since start
	Dropped   int64 // scans given up: the queue was full, or the store failed every attempt
	Unchecked int64 // stored scans not checked for counterfeit signals: the checks were too far behind
}

// Stats returns the scan recorder's counters.
func (r *Resolver) Stats() Stats {
	return Stats{Queued: len(r.rec.queue), Stored: r.rec.stored.Load(), Dropped: r.rec.dropped.Load(), Unchecked: r.rec.unchecked.Load()}
}

// Close stops queueing scans and waits until every queued scan is stored,
// or until ctx ends: then the recorder stops retrying, the scans still
// queued are dropped (and counted), and Close returns an error saying how
// many. Scans logged after Close are stored in line, each within a short
// time limit. Closing twice is harmless.
func (r *Resolver) Close(ctx context.Context) error {
	rec := r.rec
	rec.once.Do(func() {
		rec.mu.Lock()
		rec.closed = true
		close(rec.queue)
		rec.mu.Unlock()
	})
	before := rec.dropped.Load()
	select {
	case <-rec.done:
		return nil
	case <-ctx.Done():
	}
	rec.cancel()
	<-rec.done
	return fmt.Errorf("scan recorder stopped before storing every scan (%d dropped): %w",
		rec.dropped.Load()-before, ctx.Err())
}

// log queues a scan for recording: of a serial, or of a product or lot
// link (serial "").
func (r *Resolver) log(res Resolution, owner string, c Client) error {
	s := Scan{ID: trace.NewID(res.ScannedAt), GTIN: res.GTIN, Serial: res.Serial, Lot: res.Lot, At: res.ScannedAt,
		Client: c.Fingerprint, Verdict: res.Verdict, Owner: owner}
	if c.Lat != nil && c.Lon != nil {
		s.HasLocation, s.Lat, s.Lon = true, math.Round(*c.Lat*100)/100, math.Round(*c.Lon*100)/100
	}
	rec := r.rec
	rec.mu.RLock()
	closed, queued := rec.closed, false
	if !closed {
		select {
		case rec.queue <- s:
			queued = true
		default:
			t := time.NewTimer(fullWait)
			select {
			case rec.queue <- s:
				queued = true
			case <-t.C:
			}
			t.Stop()
		}
	}
	rec.mu.RUnlock()
	switch {
	case queued:
	case closed:
		// A request that outlived the shutdown: store its scan in line.
		ctx, cancel := context.WithTimeout(context.Background(), lateWrite)
		defer cancel()
		if rec.flush(ctx, []Scan{s}) {
			rec.check(ctx, []Scan{s})
		}
	default:
		rec.dropped.Add(1)
		r.cfg.Logger.Warn("scan queue is full; scan dropped", "gtin", s.GTIN, "serial", s.Serial)
	}
	return nil
}

// run writes queued scans in batches and hands them to the checks, until
// the queue is closed and drained.
func (rec *recorder) run() {
	wait := time.NewTimer(batchWait)
	for s := range rec.queue {
		batch := make([]Scan, 0, batchSize)
		batch = append(batch, s)
		wait.Reset(batchWait)
	fill:
		for len(batch) < cap(batch) {
			select {
			case s, ok := <-rec.queue:
				if !ok {
					break fill
				}
				batch = append(batch, s)
			case <-wait.C:
				break fill
			}
		}
		if !rec.flush(rec.ctx, batch) {
			continue
		}
		select {
		case rec.checks <- batch:
		default:
			rec.unchecked.Add(int64(len(batch)))
			rec.r.cfg.Logger.Warn("counterfeit checks are behind; a batch of scans goes unchecked", "scans", len(batch))
		}
	}
}

// flush stores scans, trying a bounded number of times with growing
// waits, and reports whether it did. Scans it cannot store are dropped,
// counted and logged.
func (rec *recorder) flush(ctx context.Context, scans []Scan) bool {
	cfg := rec.r.cfg
	wait := cfg.RetryWait
	var err error
	for attempt := 1; ; attempt++ {
		if err = rec.r.scans.InsertScans(ctx, scans); err == nil {
			break
		}
		if attempt == cfg.StoreAttempts || ctx.Err() != nil {
			rec.dropped.Add(int64(len(scans)))
			cfg.Logger.ErrorContext(ctx, "recording scans failed; scans dropped", "scans", len(scans), "attempts", attempt, "err", err)
			return false
		}
		cfg.Logger.WarnContext(ctx, "recording scans failed; retrying", "scans", len(scans), "attempt", attempt, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait *= 2
	}
	rec.stored.Add(int64(len(scans)))
	return true
}

// check raises the counterfeit alerts stored scans call for.
func (rec *recorder) check(ctx context.Context, scans []Scan) {
	cfg := rec.r.cfg
	rec.sigMu.Lock()
	defer rec.sigMu.Unlock()
	// The counts are the store's, which holds every replica's scans: a
	// count kept per process would see only its own share of them. They
	// are read once for the batch, after it was stored; a code already
	// alerted needs none. The batch's own scans of a code, newest first,
	// are what an alert for too many scans cites.
	var codes []CodeKey
	batch := map[CodeKey][]string{}
	for i := len(scans) - 1; i >= 0; i-- {
		s := scans[i]
		c := CodeKey{GTIN: s.GTIN, Serial: s.Serial}
		if s.Serial == "" || rec.alerted[string(AlertTooManyScans)+" "+s.GTIN+"/"+s.Serial] {
			continue
		}
		if _, seen := batch[c]; !seen {
			codes = append(codes, c)
		}
		if len(batch[c]) < citedScans {
			batch[c] = append(batch[c], s.ID)
		}
	}
	counts, err := rec.r.scans.CountScansOf(ctx, codes)
	if err != nil {
		// The next batch with these codes checks again.
		cfg.Logger.WarnContext(ctx, "counting scans failed; too-many-scans checks skipped", "codes", len(codes), "err", err)
		counts = nil
	}
	for _, s := range scans {
		if err := rec.signals(ctx, s, counts, batch); err != nil {
			// The next scan of the code checks again.
			cfg.Logger.WarnContext(ctx, "checking counterfeit signals failed", "gtin", s.GTIN, "serial", s.Serial, "err", err)
		}
	}
}

// citedScans is how many of its scans an alert for too many scans cites.
const citedScans = 10

// signals raises the counterfeit alerts a scan calls for; counts are the
// store's scan counts of the batch's codes (nil: unknown), batch the IDs
// of each code's scans in the batch, newest first.
func (rec *recorder) signals(ctx context.Context, s Scan, counts map[CodeKey]int, batch map[CodeKey][]string) error {
	if s.Serial == "" {
		return nil // a product or lot link: no single item to protect
	}
	r := rec.r
	alerted := func(kind AlertKind) bool { return rec.alerted[string(kind)+" "+s.GTIN+"/"+s.Serial] }
	raise := func(kind AlertKind, scans []string, detail string) error {
		if s.Owner == "" && kind != AlertImpossibleTravel {
			return nil // a GTIN nobody here owns: nobody to alert but officials, and no code to protect
		}
		if alerted(kind) {
			return nil
		}
		seen, err := r.scans.HasAlert(ctx, kind, s.GTIN, s.Serial)
		if err != nil {
			return err
		}
		if len(rec.alerted) > 1_000_000 {
			clear(rec.alerted)
		}
		rec.alerted[string(kind)+" "+s.GTIN+"/"+s.Serial] = true
		if seen {
			return nil
		}
		err = r.scans.InsertAlert(ctx, Alert{ID: trace.NewID(s.At), Kind: kind, GTIN: s.GTIN, Serial: s.Serial, Owner: s.Owner,
			Scans: scans, Detail: detail, CreatedAt: s.At})
		if errors.Is(err, trace.ErrConflict) {
			return nil
		}
		return err
	}
	switch s.Verdict {
	case VerdictUnknownCode:
		if err := raise(AlertUnknownSerial, []string{s.ID}, "serial "+s.Serial+" was never issued under this GTIN"); err != nil {
			return err
		}
	case VerdictDecommissioned:
		// A sale is not an end: a buyer scans what they bought. Only
		// codes taken out of use otherwise raise this alert.
		if err := raise(AlertScannedAfterSale, []string{s.ID}, "scanned after it was decommissioned or destroyed"); err != nil {
			return err
		}
	}
	code := CodeKey{GTIN: s.GTIN, Serial: s.Serial}
	if n := counts[code]; n > r.cfg.MaxScans && !alerted(AlertTooManyScans) {
		if err := raise(AlertTooManyScans, batch[code], fmt.Sprintf("scanned %d times (more than %d)", n, r.cfg.MaxScans)); err != nil {
			return err
		}
	}
	if !s.HasLocation {
		return nil
	}
	prev, ok, err := r.scans.LocatedBefore(ctx, s.GTIN, s.Serial, s.ID)
	if err != nil || !ok {
		return err
	}
	km := distanceKm(prev.Lat, prev.Lon, s.Lat, s.Lon)
	hours := math.Abs(s.At.Sub(prev.At).Hours())
	// Locations are rounded to ~1 km; allow for that before judging speed.
	if km > 5 && km/math.Max(hours, 1.0/3600) > r.cfg.MaxSpeedKmh {
		return raise(AlertImpossibleTravel, []string{prev.ID, s.ID},
			fmt.Sprintf("scanned %.0f km apart within %s", km, s.At.Sub(prev.At).Abs().Round(time.Second)))
	}
	return nil
}
