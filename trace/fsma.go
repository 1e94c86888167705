package trace

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
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

// FSMAHeader is the header row of the FSMA 204 sortable spreadsheet.
var FSMAHeader = []string{
	"Critical Tracking Event", "Event Date", "Event Time", "Traceability Lot Code", "Product Description",
	"Quantity", "Unit of Measure", "Location GLN", "Location Name", "Ship From", "Ship To",
	"Reference Document Type", "Reference Document Number", "TLC Source", "Event ID", "Missing KDEs",
}

// cte names the FSMA 204 critical tracking event an event is, or "".
// CBV has no harvesting or cooling step: custom bizStep URIs whose last
// segment names them (e.g. "https://example.org/fsma/harvesting") count.
func cte(ev StoredEvent, capturerIsFarm bool) string {
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

// FSMA204 writes the FSMA 204 sortable spreadsheet (CSV) of a lot: one row
// per critical tracking event the lot or its items took part in, ordered
// by event time, with the key data elements as columns. A required key
// data element that is blank is named in the last column, never dropped
// silently. Officials may export any lot (actorID ""), an entity its own.
func (c *Chain) FSMA204(ctx context.Context, actorID, gtin, lot string, w io.Writer) error {
	b, err := c.registry.Batch(ctx, gtin, lot)
	if err != nil {
		return err
	}
	if actorID != "" && b.OwnerID != actorID {
		return fmt.Errorf("lot %s/%s belongs to another entity: %w", b.GTIN, b.Lot, ErrForbidden)
	}
	p, err := c.registry.Product(ctx, b.GTIN)
	if err != nil {
		return err
	}
	owner, err := c.registry.Entity(ctx, b.OwnerID)
	if err != nil {
		return err
	}
	lotKey := LotKey(b.GTIN, b.Lot)
	items := map[string]bool{}
	var itemKeys []string
	for after := ""; ; {
		codes, err := c.codes.ListCodes(ctx, CodeFilter{GTIN: b.GTIN, Lot: b.Lot}, Page{Limit: 10_000, After: after})
		if err != nil {
			return err
		}
		for _, cd := range codes {
			k := itemKey(cd.GTIN, cd.Serial)
			items[k] = true
			itemKeys = append(itemKeys, k)
		}
		if len(codes) < 10_000 {
			break
		}
		after = codes[len(codes)-1].Seq
	}
	events := map[string]StoredEvent{}
	collect := func(f EventFilter) error {
		var cur *EventCursor
		for {
			page, err := c.store.QueryEvents(ctx, f, ByEventTime, cur, 1000)
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
			cur = &EventCursor{Time: last.EventTime, ID: last.ID}
		}
	}
	if err := collect(EventFilter{Classes: []string{lotKey}}); err != nil {
		return err
	}
	for start := 0; start < len(itemKeys); start += 500 {
		if err := collect(EventFilter{AnyEPCs: itemKeys[start:min(start+500, len(itemKeys))]}); err != nil {
			return err
		}
	}
	list := make([]StoredEvent, 0, len(events))
	for _, e := range events {
		list = append(list, e)
	}
	slices.SortFunc(list, func(a, b StoredEvent) int {
		if d := a.EventTime.Compare(b.EventTime); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})

	names := map[string]Entity{}
	entity := func(id string) Entity {
		if e, ok := names[id]; ok {
			return e
		}
		e, _ := c.registry.Entity(ctx, id)
		names[id] = e
		return e
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(FSMAHeader); err != nil {
		return err
	}
	tlc := fmt.Sprintf("(01)%s(10)%s", b.GTIN, b.Lot)
	tlcSource := strings.TrimSpace(owner.Name + " " + owner.GLN)
	for _, ev := range list {
		capturer := entity(ev.CapturedBy)
		kind := cte(ev, capturer.HasKind(KindFarm))
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
		for _, id := range sources(ev) {
			from = append(from, entity(id).Name)
		}
		for _, id := range destinations(ev) {
			to = append(to, entity(id).Name)
		}
		docType, docNum := bizTransaction(ev.Raw)
		qtyText := ""
		if qty > 0 {
			qtyText = strconv.FormatFloat(qty, 'f', -1, 64)
		}
		row := []string{kind, ev.EventTime.Format(time.DateOnly), ev.EventTime.Format(time.RFC3339), tlc, p.Name,
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
