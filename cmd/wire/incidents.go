package wire

import (
	"context"
	"errors"
	"fmt"

	"tracesvc/standards"
	"tracesvc/trace"
	"tracesvc/trace/scan"
)

// custody answers the incident service's "did this entity hold these
// goods?" from the trace graph: a forward walk, as the system, from the
// lot (or every lot of the product) lists the custodians.
type custody struct {
	chain    *trace.Chain
	registry *trace.Registry
}

var _ standards.Holders = custody{}

// maxHeldLots bounds the lots of one product walked to answer Held
// without a lot.
const maxHeldLots = 1000

// Held implements [standards.Holders].
func (c custody) Held(ctx context.Context, entityID, gtin, lot string) (bool, error) {
	var start []string
	if lot != "" {
		start = []string{trace.LotKey(gtin, lot)}
	}
	for p := (trace.Page{Limit: trace.MaxLimit}); lot == "" && len(start) < maxHeldLots; {
		batches, next, err := c.registry.Batches(ctx, gtin, p)
		if err != nil {
			return false, fmt.Errorf("lots of %s: %w", gtin, err)
		}
		for _, b := range batches {
			start = append(start, trace.LotKey(b.GTIN, b.Lot))
		}
		if next == "" {
			break
		}
		p.After = next
	}
	if len(start) == 0 {
		return false, nil
	}
	g, err := c.chain.Trace(ctx, trace.System, start, trace.Forward, trace.TraceOptions{})
	if err != nil {
		return false, fmt.Errorf("trace %s: %w", gtin, err)
	}
	for _, h := range g.Custodians {
		if h.EntityID == entityID {
			return true, nil
		}
	}
	return false, nil
}

// clusterAlerts keeps incident clusters with the alerts officials list,
// one per product and cluster key (see [scan.AlertIncidentCluster]).
type clusterAlerts struct {
	scans scan.Store
	now   trace.Clock
}

var _ standards.RiskAlerts = clusterAlerts{}

func clusterSerial(key string) string { return "incidents:" + key }

// HasCluster implements [standards.RiskAlerts].
func (a clusterAlerts) HasCluster(ctx context.Context, gtin, key string) (bool, error) {
	return a.scans.HasAlert(ctx, scan.AlertIncidentCluster, gtin, clusterSerial(key))
}

// RaiseCluster implements [standards.RiskAlerts]. The detail counts
// reports; it names no reporter.
func (a clusterAlerts) RaiseCluster(ctx context.Context, c standards.Cluster) error {
	now := a.now.Now()
	err := a.scans.InsertAlert(ctx, scan.Alert{ID: trace.NewID(now), Kind: scan.AlertIncidentCluster, GTIN: c.GTIN,
		Serial: clusterSerial(c.Key), Owner: c.OwnerID, Scans: []string{}, CreatedAt: now,
		Detail: fmt.Sprintf("%d incident reports on this %s product with event dates within %d days (%s to %s): assess the risk",
			c.Reports, c.Category, c.Days, c.From, c.To)})
	if errors.Is(err, trace.ErrConflict) {
		return nil // raised by another report meanwhile
	}
	return err
}
