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
	QueryEvents(ctx context.Context, f trace.EventFilter, order trace.EventOrder, after *trace.EventCursor, limit int) ([]trace.StoredEvent, error)
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

// Export writes the FSMA 204 sortable spreadsheet (CSV) of a lot: one row
// per critical tracking event the lot or its items took part in, ordered
// by event time, with the key data elements as columns. A required key
// data element that is blank is named in the last column, never dropped
// silently. Officials may export any lot, an entity its own.
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
	items := map[string]bool{}
	var itemKeys []string
	for after := ""; ; {
		codes, err := x.codes.ListCodes(ctx, trace.CodeFilter{GTIN: b.GTIN, Lot: b.Lot}, trace.Page{Limit: 10_000, After: after})
		if err != nil {
			return err
		}
		for _, cd := range codes {
			k := trace.ItemKey(cd.GTIN, cd.Serial)
			items[k] = true
			itemKeys = append(itemKeys, k)
		}
		if len(codes) < 10_000 {
			break
		}
		after = codes[len(codes)-1].Seq
	}
	events := map[string]trace.StoredEvent{}
	collect := func(f trace.EventFilter) error {
		var cur *trace.EventCursor
		for {
			page, err := x.events.QueryEvents(ctx, f, trace.ByEventTime, cur, 1000)
			if err != nil {
				return err
			}
			for _, e := range page {
				events[e.ID] = e
			}
			if len(page) < 1000 {
				return nil
			}
			last := page[len(page)-1]
			cur = &trace.EventCursor{Time: last.EventTime, ID: last.ID}
		}
	}
	if err := collect(trace.EventFilter{Classes: []string{lotKey}}); err != nil {
		return err
	}
	for start := 0; start < len(itemKeys); start += 500 {
		if err := collect(trace.EventFilter{AnyEPCs: itemKeys[start:min(start+500, len(itemKeys))]}); err != nil {
			return err
		}
	}
	list := make([]trace.StoredEvent, 0, len(events))
	for _, e := range events {
		list = append(list, e)
	}
	slices.SortFunc(list, func(a, b trace.StoredEvent) int {
		if d := a.EventTime.Compare(b.EventTime); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})

	names := map[string]trace.Entity{}
	entity := func(id string) trace.Entity {
		if e, ok := names[id]; ok {
			return e
		}
		e, _ := x.register.Entity(ctx, id)
		names[id] = e
		return e
	}
	cw := safecsv.NewWriter(w)
	if err := cw.Write(Header); err != nil {
		return err
	}
	tlc := fmt.Sprintf("(01)%s(10)%s", b.GTIN, b.Lot)
	tlcSource := strings.TrimSpace(owner.Name + " " + owner.GLN)
	for _, ev := range list {
		capturer := entity(ev.CapturedBy)
		kind := cte(ev, capturer.HasKind(trace.KindFarm))
		if kind == "" {
			continue
		}
		qty, uom := 0.0, ""
		for _, r := range ev.Refs {
			switch {
			case r.Key == lotKey && r.Quantity > 0:
				qty, uom = qty+r.Quantity, r.UOM
			case items[r.Key]:
				qty, uom = qty+1, "EA"
			}
		}
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
		docType, docNum := bizTransaction(ev.Raw)
		qtyText := ""
		if qty > 0 {
			qtyText = strconv.FormatFloat(qty, 'f', -1, 64)
		}
		row := []string{kind, ev.EventTime.Format(time.DateOnly), ev.EventTime.Format(time.RFC3339), tlc, prod.Name,
			qtyText, uom, locGLN, locName, strings.Join(from, "; "), strings.Join(to, "; "), docType, docNum, tlcSource, ev.ID}
		var missing []string
		need := map[string]int{"Quantity": 5, "Unit of Measure": 6, "Location GLN": 7}
		if kind == CTEShipping {
			need["Ship To"] = 10
			need["Reference Document Number"] = 12
		}
		if kind == CTEShipping || kind == CTEReceiving {
			need["Ship From"] = 9
			need["Reference Document Type"] = 11
		}
		for name, col := range need {
			if row[col] == "" {
				missing = append(missing, name)
			}
		}
		slices.Sort(missing)
		row = append(row, strings.Join(missing, "; "))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
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
