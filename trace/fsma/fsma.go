// Package fsma writes the US FSMA 204 sortable spreadsheet of a lot: one
// row per critical tracking event, with the key data elements as columns.
package fsma

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/safecsv"
)

// FSMA 204 critical tracking events.
const (
	CTEHarvesting     = "Harvesting"
	CTECooling        = "Cooling"
	CTEInitialPacking = "Initial packing"
	CTEFirstReceiving = "First land-based receiving"
	CTEShipping       = "Shipping"
	CTEReceiving      = "Receiving"
	CTETransformation = "Transformation"
)

// Header is the header row of the FSMA 204 sortable spreadsheet.
var Header = []string{
	"Critical Tracking Event", "Event Date", "Event Time", "Traceability Lot Code", "Product Description",
	"Quantity", "Unit of Measure", "Location GLN", "Location Name", "Ship From", "Ship To",
	"Reference Document Type", "Reference Document Number", "TLC Source", "Event ID", "Missing KDEs",
}

// cte names the FSMA 204 critical tracking event an event is, or "".
// CBV has no harvesting or cooling step: custom bizStep URIs whose last
// segment names them (e.g. "https://example.org/fsma/harvesting") count.
func cte(ev trace.StoredEvent, capturerIsFarm bool) string {
	if ev.Type == "TransformationEvent" {
		return CTETransformation
	}
	step := ev.BizStep
	if i := strings.LastIndexAny(step, "/:-"); i >= 0 {
		step = step[i+1:]
	}
	switch strings.ToLower(step) {
	case "harvesting":
		return CTEHarvesting
	case "cooling":
		return CTECooling
	case "initial_packing", "packing":
		return CTEInitialPacking
	case "commissioning":
		if capturerIsFarm {
			return CTEHarvesting
		}
		return CTEInitialPacking
	case "first_receiving":
		return CTEFirstReceiving
	case "shipping":
		return CTEShipping
	case "receiving":
		return CTEReceiving
	}
	return ""
}

// Events is what the export reads of custody events; trace.EventStore
// implements it.
type Events interface {
	WalkEvents(ctx context.Context, keys, seqs []string, merge bool, limit int) ([]trace.WalkEvent, error)
	EventRaws(ctx context.Context, ids []string) (map[string]json.RawMessage, error)
}

// Codes is what the export reads of the code register; trace.CodeStore
// implements it.
type Codes interface {
	ListCodes(ctx context.Context, f trace.CodeFilter, p trace.Page) ([]trace.Code, error)
}

// Exporter writes FSMA 204 spreadsheets.
type Exporter struct {
	register trace.Register
	codes    Codes
	events   Events
}

// New returns an Exporter.
func New(register trace.Register, codes Codes, events Events) *Exporter {
	return &Exporter{register: register, codes: codes, events: events}
}

// How much the export reads at once: codes of the lot per page, keys whose
// events are read together, and the most events those keys may name.
const (
	codePage  = 10_000
	keyChunk  = 4096
	maxEvents = 1_000_000
	rawChunk  = 500
)

// cteEvent is an event that is a critical tracking event of the lot, with
// the quantity of the lot it moved.
type cteEvent struct {
	trace.StoredEvent
	kind string
	qty  float64
	uom  string
}

// Export writes the FSMA 204 sortable spreadsheet (CSV) of a lot: one row
// per critical tracking event the lot or its items took part in, ordered
// by event time, with the key data elements as columns. A required key
// data element that is blank is named in the last column, never dropped
// silently. Officials may export any lot, an entity its own.
//
// Only the lot's codes that some custody event named are read, so a lot
// of a million codes still on the shelf costs nothing; the events are
// found from their references and only those that are tracking events are
// kept, then read whole in order as the rows are written. Nothing is
// written before the rows are known, so an error that comes before the
// first row can still be answered with its own status.
func (x *Exporter) Export(ctx context.Context, p trace.Principal, gtin, lot string, w io.Writer) error {
	if err := p.Require(trace.RoleRegulator, trace.RoleInspector, trace.RoleEntity); err != nil {
		return err
	}
	b, err := x.register.Batch(ctx, gtin, lot)
	if err != nil {
		return err
	}
	if scope := p.Scope(); scope != "" && b.OwnerID != scope {
		return fmt.Errorf("lot %s/%s belongs to another entity: %w", b.GTIN, b.Lot, trace.ErrForbidden)
	}
	prod, err := x.register.Product(ctx, b.GTIN)
	if err != nil {
		return err
	}
	owner, err := x.register.Entity(ctx, b.OwnerID)
	if err != nil {
		return err
	}
	lotKey := trace.LotKey(b.GTIN, b.Lot)
	names := map[string]trace.Entity{}
	entity := func(id string) trace.Entity {
		if e, ok := names[id]; ok {
			return e
		}
		e, _ := x.register.Entity(ctx, id)
		names[id] = e
		return e
	}
	found := map[string]*cteEvent{}
	other := map[string]bool{} // events that are no tracking event
	collect := func(keys, seqs []string) error {
		events, err := x.events.WalkEvents(ctx, keys, seqs, false, maxEvents)
		if err != nil {
			return fmt.Errorf("events of lot %s: %w", lotKey, err)
		}
		if len(events) >= maxEvents {
			return fmt.Errorf("more than %d events name %d keys of lot %s: too many to export", maxEvents, len(keys), lotKey)
		}
		for _, ev := range events {
			if other[ev.ID] {
				continue
			}
			c := found[ev.ID]
			if c == nil {
				kind := cte(ev.StoredEvent, entity(ev.CapturedBy).HasKind(trace.KindFarm))
				if kind == "" {
					other[ev.ID] = true
					continue
				}
				c = &cteEvent{StoredEvent: ev.StoredEvent, kind: kind}
				c.Refs = nil
				found[ev.ID] = c
			}
			for _, r := range ev.Touched {
				switch {
				case r.Key == lotKey && r.Quantity > 0:
					c.qty, c.uom = c.qty+r.Quantity, r.UOM
				case r.Key != lotKey:
					c.qty, c.uom = c.qty+1, "EA"
				}
			}
		}
		return nil
	}
	if err := collect([]string{lotKey}, nil); err != nil {
		return err
	}
	keys, seqs := make([]string, 0, keyChunk), make([]string, 0, keyChunk)
	for after := ""; ; {
		codes, err := x.codes.ListCodes(ctx, trace.CodeFilter{GTIN: b.GTIN, Lot: b.Lot, Moved: true}, trace.Page{Limit: codePage, After: after})
		if err != nil {
			return err
		}
		for _, cd := range codes {
			keys, seqs = append(keys, trace.ItemKey(cd.GTIN, cd.Serial)), append(seqs, cd.Seq)
			if len(keys) == keyChunk {
				if err := collect(keys, seqs); err != nil {
					return err
				}
				keys, seqs = keys[:0], seqs[:0]
			}
		}
		if len(codes) < codePage {
			break
		}
		after = codes[len(codes)-1].Seq
	}
	if err := collect(keys, seqs); err != nil {
		return err
	}
	list := make([]*cteEvent, 0, len(found))
	for _, e := range found {
		list = append(list, e)
	}
	slices.SortFunc(list, func(a, b *cteEvent) int {
		if d := a.EventTime.Compare(b.EventTime); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})

	cw := safecsv.NewWriter(w)
	if err := cw.Write(Header); err != nil {
		return err
	}
	tlc := fmt.Sprintf("(01)%s(10)%s", b.GTIN, b.Lot)
	tlcSource := strings.TrimSpace(owner.Name + " " + owner.GLN)
	for start := 0; start < len(list); start += rawChunk {
		part := list[start:min(start+rawChunk, len(list))]
		ids := make([]string, len(part))
		for i, e := range part {
			ids[i] = e.ID
		}
		raw, err := x.events.EventRaws(ctx, ids)
		if err != nil {
			return fmt.Errorf("events of lot %s: %w", lotKey, err)
		}
		for _, ev := range part {
			if err := cw.Write(row(ev, raw[ev.ID], entity, tlc, prod.Name, tlcSource)); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// row is the spreadsheet row of one tracking event.
func row(ev *cteEvent, raw []byte, entity func(string) trace.Entity, tlc, product, tlcSource string) []string {
	capturer := entity(ev.CapturedBy)
	locGLN, locName := "", ""
	if gln, ok := strings.CutPrefix(ev.BizLocation, "414/"); ok {
		locGLN, _, _ = strings.Cut(gln, "/")
	}
	if locGLN == "" {
		locGLN = capturer.GLN
	}
	locName = capturer.Name
	var from, to []string
	for _, id := range ev.Sources() {
		from = append(from, entity(id).Name)
	}
	for _, id := range ev.Destinations() {
		to = append(to, entity(id).Name)
	}
	docType, docNum := bizTransaction(raw)
	qtyText := ""
	if ev.qty > 0 {
		qtyText = strconv.FormatFloat(ev.qty, 'f', -1, 64)
	}
	out := []string{ev.kind, ev.EventTime.Format(time.DateOnly), ev.EventTime.Format(time.RFC3339), tlc, product,
		qtyText, ev.uom, locGLN, locName, strings.Join(from, "; "), strings.Join(to, "; "), docType, docNum, tlcSource, ev.ID}
	var missing []string
	need := map[string]int{"Quantity": 5, "Unit of Measure": 6, "Location GLN": 7}
	if ev.kind == CTEShipping {
		need["Ship To"] = 10
		need["Reference Document Number"] = 12
	}
	if ev.kind == CTEShipping || ev.kind == CTEReceiving {
		need["Ship From"] = 9
		need["Reference Document Type"] = 11
	}
	for name, col := range need {
		if out[col] == "" {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	return append(out, strings.Join(missing, "; "))
}

// bizTransaction returns the first business transaction of an event: its
// type (CBV short name when it is one) and its identifier.
func bizTransaction(raw json.RawMessage) (string, string) {
	var ev struct {
		List []struct {
			Type string `json:"type"`
			ID   string `json:"bizTransaction"`
		} `json:"bizTransactionList"`
	}
	if json.Unmarshal(raw, &ev) != nil || len(ev.List) == 0 {
		return "", ""
	}
	t := ev.List[0].Type
	if i := strings.LastIndexAny(t, ":-"); i >= 0 && strings.Contains(t, "cbv") {
		t = t[i+1:]
	}
	return t, ev.List[0].ID
}
