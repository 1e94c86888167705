package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"tracesvc/trace/gs1"
)

// WithheldField is the member an event read by an entity gains when
// identifiers of other entities' goods were taken out of it: how many.
// It is a full IRI, so it needs no @context.
const WithheldField = "urn:tracesvc:withheld"

// withhold returns events as entity p may read them. An event p captured,
// or names p as its source or destination, is p's to read whole. Another
// event is visible to p because it names goods p makes or holds (see
// [StoredEvent.Visible]); from that one, the identifiers of goods p
// neither makes nor holds now — a customer's serials in the
// transformation that consumed p's lot, another's pallet — are taken out,
// and WithheldField says how many. Identifiers of goods not registered
// here stay. Officials read every event whole.
func (c *Chain) withhold(ctx context.Context, p Principal, events []StoredEvent) ([]StoredEvent, error) {
	reader := p.Scope()
	if reader == "" {
		return events, nil
	}
	allowed := map[string]bool{}
	owners := map[string]string{} // GTIN → owner, "" when not registered here
	var pending []string
	var partial []int
	for i, e := range events {
		if e.CapturedBy == reader || slices.Contains(e.Parties, "source:"+reader) || slices.Contains(e.Parties, "destination:"+reader) {
			continue
		}
		partial = append(partial, i)
		for _, r := range e.Refs {
			if _, seen := allowed[r.Key]; seen {
				continue
			}
			allowed[r.Key] = true // until shown otherwise
			switch {
			case strings.HasPrefix(r.Key, "00/") || strings.Contains(r.Key, "/21/"):
				pending = append(pending, r.Key)
			case strings.HasPrefix(r.Key, "01/") && len(r.Key) >= 17:
				gtin := r.Key[3:17]
				owner, ok := owners[gtin]
				if !ok {
					prod, err := c.register.Product(ctx, gtin)
					if err == nil {
						owner = prod.OwnerID
					} else if !errors.Is(err, ErrNotFound) {
						return nil, fmt.Errorf("owner of %s: %w", gtin, err)
					}
					owners[gtin] = owner
				}
				allowed[r.Key] = owner == "" || owner == reader
			}
		}
	}
	if len(partial) == 0 {
		return events, nil
	}
	for start := 0; start < len(pending); start += 1000 {
		states, err := c.store.Custody(ctx, pending[start:min(start+1000, len(pending))])
		if err != nil {
			return nil, fmt.Errorf("custody of the events' codes: %w", err)
		}
		for k, s := range states {
			allowed[k] = s.Owner == reader || s.Possessor == reader || s.PendingTo == reader
		}
	}
	out := slices.Clone(events)
	for _, i := range partial {
		e := &out[i]
		if !slices.ContainsFunc(e.Refs, func(r EventRef) bool { return !allowed[r.Key] }) {
			continue
		}
		e.Raw = withholdRaw(e.Raw, func(id string) bool {
			key, _, err := gs1.ParseEPC(id)
			return err == nil && !allowed[key]
		})
		e.Refs = slices.DeleteFunc(slices.Clone(e.Refs), func(r EventRef) bool { return !allowed[r.Key] })
	}
	return out, nil
}

// withholdRaw takes the identifiers hide says to hide out of an event's
// EPC lists, quantity lists and parentID, and records how many it took in
// WithheldField.
func withholdRaw(raw json.RawMessage, hide func(string) bool) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return raw
	}
	n := 0
	for _, list := range []string{"epcList", "childEPCs", "inputEPCList", "outputEPCList"} {
		items, ok := m[list].([]any)
		if !ok {
			continue
		}
		kept := items[:0:0]
		for _, it := range items {
			if s, ok := it.(string); ok && hide(s) {
				n++
				continue
			}
			kept = append(kept, it)
		}
		m[list] = kept
	}
	for _, list := range []string{"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"} {
		items, ok := m[list].([]any)
		if !ok {
			continue
		}
		kept := items[:0:0]
		for _, it := range items {
			if q, ok := it.(map[string]any); ok {
				if s, ok := q["epcClass"].(string); ok && hide(s) {
					n++
					continue
				}
			}
			kept = append(kept, it)
		}
		m[list] = kept
	}
	if s, ok := m["parentID"].(string); ok && hide(s) {
		delete(m, "parentID")
		n++
	}
	if n == 0 {
		return raw
	}
	m[WithheldField] = n
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(m) != nil {
		return raw
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}
