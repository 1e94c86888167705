package recall

import (
	"context"
	"errors"
	"sync"
	"time"

	"tracesvc/recall/webhook"
)

// completeBatch is the most attempt results stored in one write.
const completeBatch = 256

// Run delivers due deliveries until ctx ends. It first makes what this
// owner's earlier run left leased due again (a crash or kill leaves
// leases behind; the owner name is the same across restarts). Then it
// claims due deliveries in batches, a queue's worth ahead of the workers,
// and makes one attempt of each on attemptCtx.
//
// When ctx ends, Run stops claiming, puts the claimed deliveries no
// worker has started back as they were, lets the attempts under way end
// (cancel attemptCtx to cut them short) and returns once their results
// are stored.
func (o *Outbox) Run(ctx, attemptCtx context.Context) {
	if n, err := o.store.ReleaseDeliveries(ctx, o.cfg.Owner, o.cfg.Now.Now()); err != nil {
		o.log.ErrorContext(ctx, "releasing deliveries an earlier run left leased failed; they are retried when their leases end",
			"owner", o.cfg.Owner, "err", err)
	} else if n > 0 {
		o.log.WarnContext(ctx, "deliveries an earlier run of this instance left leased are due again", "count", n)
	}

	workers := o.cfg.Workers
	jobs := make(chan Delivery, workers)
	taken := make(chan struct{}, 1)
	results := make(chan Delivery, workers)
	recorded := make(chan struct{})
	go func() {
		o.record(results)
		close(recorded)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for d := range jobs {
				select {
				case taken <- struct{}{}:
				default:
				}
				if ctx.Err() != nil {
					results <- o.release(d)
					continue
				}
				results <- o.attempt(attemptCtx, d)
			}
		})
	}

	poll := time.NewTimer(0)
	defer poll.Stop()
	for ctx.Err() == nil {
		// Claim when at least half the queue is free, so that claims come
		// in batches; a claimed delivery waits at most about one attempt
		// in the queue, well within its lease.
		space := cap(jobs) - len(jobs)
		if space < max(1, workers/2) {
			select {
			case <-ctx.Done():
			case <-taken:
			}
			continue
		}
		now := o.cfg.Now.Now()
		claimed, err := o.store.ClaimDeliveries(ctx, o.cfg.Owner, now, now.Add(o.lease), space)
		if err != nil && ctx.Err() == nil {
			o.log.ErrorContext(ctx, "claiming due deliveries failed", "err", err)
		}
		for _, d := range claimed {
			jobs <- d // never blocks: only this loop sends, and space was free
		}
		if err == nil && len(claimed) == space {
			continue // there may be more due
		}
		poll.Reset(o.cfg.Poll)
		select {
		case <-ctx.Done():
		case <-o.wake:
		case <-poll.C:
		}
	}

	close(jobs)
	wg.Wait()
	close(results)
	<-recorded
}

// release returns a claimed delivery whose attempt never started, due now
// and without the attempt its claim counted.
func (o *Outbox) release(d Delivery) Delivery {
	now := o.cfg.Now.Now()
	d.Attempts--
	d.NextAt, d.UpdatedAt = now, now
	return d
}

// attempt makes one attempt of d and returns d as it should be stored,
// counting how it ended (see [Outbox.Stats]).
func (o *Outbox) attempt(ctx context.Context, d Delivery) Delivery {
	d = o.try(ctx, d)
	o.stats.count(d.State)
	return d
}

// try makes one attempt of d and returns d as it should be stored.
func (o *Outbox) try(ctx context.Context, d Delivery) Delivery {
	url, secrets, err := o.endpoints.Signing(ctx, d.EntityID)
	var res webhook.Result
	switch {
	case errors.Is(err, ErrNotFound):
		now := o.cfg.Now.Now()
		d.State, d.NextAt, d.UpdatedAt = DeliveryNoEndpoint, now, now
		d.LastStatus, d.LastError = 0, "the custodian has no webhook: it reads its notices from the API"
		return d
	case err != nil:
		res = webhook.Result{Outcome: webhook.Retry, Reason: "reading the custodian's endpoint: " + err.Error(), Err: err}
	default:
		res = o.deliverer.Deliver(ctx, webhook.Attempt{URL: url, Body: d.Body, Secrets: secrets, IdempotencyKey: d.ID})
	}
	now := o.cfg.Now.Now()
	d.UpdatedAt, d.LastStatus, d.NextAt = now, res.StatusCode, now
	switch {
	case res.Outcome == webhook.Delivered:
		d.State, d.DeliveredAt, d.LastError = DeliveryDelivered, now, ""
	case res.Outcome == webhook.Permanent:
		d.State, d.LastError = DeliveryDead, res.Reason
		o.log.WarnContext(ctx, "delivery dead-lettered: the receiver refused it for good", "delivery", d.ID,
			"entity", d.EntityID, "attempts", d.Attempts, "status", res.StatusCode, "reason", res.Reason)
	case d.Attempts >= o.cfg.MaxAttempts:
		d.State, d.LastError = DeliveryDead, res.Reason
		o.log.WarnContext(ctx, "delivery dead-lettered: out of attempts", "delivery", d.ID,
			"entity", d.EntityID, "attempts", d.Attempts, "status", res.StatusCode, "reason", res.Reason)
	default:
		d.State, d.LastError = DeliveryPending, res.Reason
		d.NextAt = now.Add(webhook.NextDelay(d.Attempts, o.cfg.RetryBase, o.cfg.RetryMax, res.RetryAfter, o.cfg.Rand)).
			Truncate(time.Millisecond)
	}
	return d
}

// record stores attempt results as they come, several per write, until
// results is closed.
func (o *Outbox) record(results <-chan Delivery) {
	for d := range results {
		batch := []Delivery{d}
	more:
		for len(batch) < completeBatch {
			select {
			case d, ok := <-results:
				if !ok {
					break more
				}
				batch = append(batch, d)
			default:
				break more
			}
		}
		// The results are stored even while the process stops: that is
		// what lets a restart go on where this run ended.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		refused, err := o.store.CompleteDeliveries(ctx, batch)
		cancel()
		if err != nil {
			o.log.ErrorContext(ctx, "storing attempt results failed; those deliveries are attempted again when their leases end",
				"count", len(batch), "err", err)
			continue
		}
		for _, id := range refused {
			o.log.WarnContext(ctx, "attempt result refused: the lease had ended and another claim took the delivery over",
				"delivery", id, "owner", o.cfg.Owner)
		}
	}
}
