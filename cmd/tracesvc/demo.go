package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"tracesvc/trace/gs1"
	"tracesvc/trace/uscc"
)

// demoClock is the service's clock while -demo loads its dataset: the
// story starts six weeks ago and moves forward only, so that tip-offs,
// incident reports and recall notices get real, passed deadlines from the
// domain's own rules. Once the data is in, it is the wall clock.
type demoClock struct {
	mu     sync.Mutex
	offset time.Duration // how far behind the wall clock it runs
}

// now is a [trace.Clock].
func (c *demoClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(-c.offset)
}

// set moves the clock to t, which must be later than its reading.
func (c *demoClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := time.Since(t); d > 0 {
		c.offset = d
	} else {
		c.offset = 0
	}
}

// storyDays is how long ago the demo's story starts. Its deadlines are
// placed at least 14 days before the end of the story, farther than two
// working days reach over the longest public holiday, so that what should
// be late or overdue is, whatever the day the demo runs.
const storyDays = 42

// demoLinks are what -demo prints once its data is in.
type demoLinks struct {
	Dashboard                  string
	Genuine, Recalled, Unknown string
}

// demoLoader loads the demo dataset through the service's own HTTP
// handler, in process: every record goes through the same validation,
// permission checks, audit log and domain rules as a client's request.
type demoLoader struct {
	ctx   context.Context
	h     http.Handler
	clk   *demoClock
	base  string // the service's public origin
	reg   string // the regulator key
	loc   *time.Location
	start time.Time // day 0 of the story, 08:00 in loc
	err   error     // the first failure; later calls do nothing
}

// call sends one request as key and decodes the JSON answer; a status
// other than want is the loader's error.
func (d *demoLoader) call(want int, method, path, key string, body any) map[string]any {
	if d.err != nil {
		return map[string]any{}
	}
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case epcisDoc:
		rd, ctype = strings.NewReader(string(b)), "application/ld+json"
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			d.err = err
			return map[string]any{}
		}
		rd = bytes.NewReader(buf)
	}
	req := httptest.NewRequest(method, path, rd).WithContext(d.ctx)
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	d.h.ServeHTTP(rec, req)
	out := map[string]any{}
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	if rec.Code != want {
		d.err = fmt.Errorf("demo data: %s %s: status %d, want %d: %s", method, path, rec.Code, want, strings.TrimSpace(rec.Body.String()))
	}
	return out
}

// str reads a string member of a decoded answer, by a path of names.
func str(m map[string]any, names ...string) string {
	var v any = m
	for _, n := range names {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[n]
	}
	s, _ := v.(string)
	return s
}

// day is the story's day n at hour h, in the regulator's time zone.
func (d *demoLoader) day(n int, h float64) time.Time {
	return d.start.AddDate(0, 0, n).Add(time.Duration(h * float64(time.Hour)))
}

// at moves the service's clock to day n at hour h of the story; the story
// is told in order.
func (d *demoLoader) at(n int, h float64) {
	t := d.day(n, h)
	if t.Before(d.clk.now()) && d.err == nil {
		d.err = fmt.Errorf("demo data: day %d %gh is earlier than the story's clock", n, h)
	}
	d.clk.set(t)
}

// date is day n as YYYY-MM-DD.
func (d *demoLoader) date(n int) string { return d.day(n, 0).Format(time.DateOnly) }

// stamp is day n at hour h as an EPCIS event time.
func (d *demoLoader) stamp(n int, h float64) string { return d.day(n, h).Format(time.RFC3339) }

// demoEntity is a registered entity of the story and its key.
type demoEntity struct{ id, key string }

func (d *demoLoader) entity(n int, name, region, prefix string, kinds ...string) demoEntity {
	first := fmt.Sprintf("91120116MA%07d", 100+n)
	c, err := uscc.CheckChar(first)
	if err != nil && d.err == nil {
		d.err = err
	}
	body := map[string]any{"name": name, "uscc": first + string(c), "kinds": kinds, "region": region,
		"address": region + " " + name}
	if prefix != "" {
		body["companyPrefix"] = prefix
	}
	r := d.call(201, "POST", "/api/v1/entities", d.reg, body)
	return demoEntity{id: str(r, "entity", "id"), key: str(r, "key")}
}

// gtin is item n under a 7-digit company prefix.
func gtin(prefix string, n int) string {
	first := fmt.Sprintf("0%s%05d", prefix, n)
	c, _ := gs1.CheckDigit(first)
	return first + string(c)
}

// lotClass is the EPC class URI of a lot of a GTIN under a 7-digit prefix.
func lotClass(gtin, lot string) string {
	return "urn:epc:class:lgtin:" + gtin[1:8] + "." + gtin[0:1] + gtin[8:13] + "." + lot
}

// product registers a product with a published standards declaration.
func (d *demoLoader) product(owner demoEntity, g, name, brand, category string, standards []map[string]any) {
	d.call(201, "POST", "/api/v1/products", owner.key, map[string]any{"gtin": g, "name": name, "brand": brand, "category": category})
	decl := d.call(201, "POST", "/api/v1/declarations", owner.key, map[string]any{"gtins": []string{g}, "standards": standards})
	d.call(200, "POST", "/api/v1/declarations/"+str(decl, "id")+"/publish", owner.key, nil)
}

// issue issues n serials of a batch and returns their Digital Link URIs.
func (d *demoLoader) issue(owner demoEntity, g, lot string, n int) []string {
	var got struct{ Codes []struct{ URI string } }
	r := d.call(201, "POST", "/api/v1/products/"+g+"/batches/"+lot+"/codes", owner.key, map[string]any{"count": n})
	buf, _ := json.Marshal(r)
	_ = json.Unmarshal(buf, &got)
	out := make([]string, len(got.Codes))
	for i, c := range got.Codes {
		out[i] = c.URI
	}
	if len(out) != n && d.err == nil {
		d.err = fmt.Errorf("demo data: issued %d codes of %s, want %d", len(out), lot, n)
	}
	return out
}

// epcisDoc is an EPCIS 2.0 document to capture.
type epcisDoc string

func (d *demoLoader) capture(who demoEntity, events ...string) {
	doc := epcisDoc(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],` +
		`"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"` + d.clk.now().UTC().Format(time.RFC3339) + `",` +
		`"epcisBody":{"eventList":[` + strings.Join(events, ",") + `]}}`)
	d.call(202, "POST", "/epcis/capture", who.key, doc)
}

func (d *demoLoader) party(e demoEntity) string { return d.base + "/api/v1/entities/" + e.id }

// object is an ObjectEvent; extra are more members, without braces.
func object(action, step, when string, epcs []string, extra ...string) string {
	list, _ := json.Marshal(epcs)
	ev := fmt.Sprintf(`{"type":"ObjectEvent","action":%q,"bizStep":%q,"eventTime":%q,"eventTimeZoneOffset":"+08:00","epcList":%s`,
		action, step, when, list)
	for _, x := range extra {
		ev += "," + x
	}
	return ev + "}"
}

func quantity(class string, n float64, uom string) string {
	return fmt.Sprintf(`"quantityList":[{"epcClass":%q,"quantity":%g,"uom":%q}]`, class, n, uom)
}

func from(party string) string {
	return fmt.Sprintf(`"sourceList":[{"type":"possessing_party","source":%q}]`, party)
}

func to(party string) string {
	return fmt.Sprintf(`"destinationList":[{"type":"possessing_party","destination":%q}]`, party)
}

func transformation(when, inClass string, inQty float64, uom string, outputs []string) string {
	outs, _ := json.Marshal(outputs)
	return fmt.Sprintf(`{"type":"TransformationEvent","bizStep":"commissioning","eventTime":%q,"eventTimeZoneOffset":"+08:00",`+
		`"inputQuantityList":[{"epcClass":%q,"quantity":%g,"uom":%q}],"outputEPCList":%s}`, when, inClass, inQty, uom, outs)
}

func aggregation(when, parent string, children []string) string {
	list, _ := json.Marshal(children)
	return fmt.Sprintf(`{"type":"AggregationEvent","action":"ADD","bizStep":"packing","eventTime":%q,"eventTimeZoneOffset":"+08:00","parentID":%q,"childEPCs":%s}`,
		when, parent, list)
}

// loadDemo loads the demo dataset (see the README's "Demo data"): a dairy
// farm's raw milk made into cheese, palletised by a distributor and sold
// by two retailers in different districts; a toy maker; a drug maker
// supplied by a lab. Over six weeks of story time: a tip-off left
// unanswered, a non-conform spot check, three incident reports on the toy
// (one late, raising a cluster alert), an unanswered awareness record, an
// ordered recall of the cheese lot that one retailer acknowledged (the
// distributor's notice dead-lettered: its webhook is refused), and
// penalties; the credit classes follow from those facts. It returns the
// links -demo prints.
func loadDemo(ctx context.Context, h http.Handler, clk *demoClock, base, regKey string, loc *time.Location) (demoLinks, error) {
	today := time.Now().In(loc)
	d := &demoLoader{ctx: ctx, h: h, clk: clk, base: base, reg: regKey, loc: loc,
		start: time.Date(today.Year(), today.Month(), today.Day(), 8, 0, 0, 0, loc).AddDate(0, 0, -storyDays)}
	clk.set(d.day(0, 0))

	// Day 0: the register.
	farm := d.entity(1, "绿野牧场 Green Meadow Dairy Farm", "天津市武清区", "6901234", "farm")
	cheeseWorks := d.entity(2, "海河奶酪厂 Haihe Cheese Works", "天津市西青区", "6901235", "processor", "manufacturer")
	dist := d.entity(3, "渤海物流 Bohai Logistics", "天津市东丽区", "6901236", "distributor")
	hexi := d.entity(4, "河西超市 Hexi Supermarket", "天津市河西区", "", "retailer")
	nankai := d.entity(5, "南开便利店 Nankai Corner Shop", "天津市南开区", "", "retailer")
	toys := d.entity(6, "津门玩具 Jinmen Toys", "天津市北辰区", "6901237", "manufacturer")
	pharma := d.entity(7, "滨海制药 Binhai Pharmaceutical", "天津市滨海新区", "6901238", "manufacturer")
	lab := d.entity(8, "滨海药物研究实验室 Binhai Drug Research Lab", "天津市滨海新区", "6901239", "lab")
	inspector := str(d.call(201, "POST", "/api/v1/keys", d.reg, map[string]any{"role": "inspector"}), "key")

	milk, cheese, blocks := gtin("6901234", 1), gtin("6901235", 1), gtin("6901237", 1)
	api, capsules := gtin("6901239", 1), gtin("6901238", 1)
	d.product(farm, milk, "生牛乳 Raw cow's milk", "绿野", "food", []map[string]any{
		{"type": "GB", "number": "GB 19301-2010", "name": "食品安全国家标准 生乳"}})
	d.product(cheeseWorks, cheese, "海河切达干酪 Haihe Cheddar 200 g", "海河", "food", []map[string]any{
		{"type": "GB", "number": "GB 5420-2021", "name": "食品安全国家标准 干酪"},
		{"type": "enterprise", "number": "Q/TJHH 0002S-2025", "name": "海河切达干酪 Haihe Cheddar", "nationalStandard": "GB 5420-2021",
			"indicators": []map[string]any{
				{"name": "Fat", "unit": "g/100g", "comparator": ">=", "value": 25, "method": "GB 5009.6-2016"},
				{"name": "Lead", "unit": "mg/kg", "comparator": "<=", "value": 0.2, "method": "GB 5009.12-2017",
					"national": map[string]any{"comparator": "<=", "value": 0.3}},
			}}})
	d.product(toys, blocks, "彩虹积木 Rainbow building blocks (60 pcs)", "津门", "toy", []map[string]any{
		{"type": "GB", "number": "GB 6675.2-2014", "name": "玩具安全 第2部分：机械与物理性能"}})
	d.call(201, "POST", "/api/v1/products", lab.key, map[string]any{"gtin": api, "name": "阿莫西林原料药 Amoxicillin (API)", "category": "other"})
	d.product(pharma, capsules, "阿莫西林胶囊 Amoxicillin capsules 0.25 g × 24", "滨海", "drug", []map[string]any{
		{"type": "enterprise", "number": "Q/BHZY 0001-2025", "name": "阿莫西林胶囊 Amoxicillin capsules",
			"indicators": []map[string]any{{"name": "Amoxicillin content", "unit": "%", "comparator": "range", "min": 90, "max": 110}}}})

	d.call(201, "POST", "/api/v1/products/"+milk+"/batches", farm.key, map[string]any{"lot": "M2611",
		"productionDate": d.date(0), "quantity": 2000, "unit": "LTR"})
	d.call(201, "POST", "/api/v1/products/"+cheese+"/batches", cheeseWorks.key, map[string]any{"lot": "CH2611",
		"productionDate": d.date(0), "expiryDate": d.day(180, 0).Format(time.DateOnly), "quantity": 12, "unit": "EA"})
	d.call(201, "POST", "/api/v1/products/"+blocks+"/batches", toys.key, map[string]any{"lot": "RB26A",
		"productionDate": d.date(0), "quantity": 6, "unit": "EA"})
	d.call(201, "POST", "/api/v1/products/"+api+"/batches", lab.key, map[string]any{"lot": "AMX-API-07",
		"productionDate": d.date(0), "quantity": 5, "unit": "KGM"})
	d.call(201, "POST", "/api/v1/products/"+capsules+"/batches", pharma.key, map[string]any{"lot": "AC2611",
		"productionDate": d.date(0), "expiryDate": d.day(720, 0).Format(time.DateOnly), "quantity": 6, "unit": "EA"})
	cheeses := d.issue(cheeseWorks, cheese, "CH2611", 12)
	toyCodes := d.issue(toys, blocks, "RB26A", 6)
	capsuleCodes := d.issue(pharma, capsules, "AC2611", 6)
	var ss struct{ SSCCs []struct{ SSCC string } }
	buf, _ := json.Marshal(d.call(201, "POST", "/api/v1/sscc", dist.key, map[string]any{"count": 2}))
	_ = json.Unmarshal(buf, &ss)
	if d.err == nil && len(ss.SSCCs) != 2 {
		d.err = errors.New("demo data: no pallets issued")
	}
	if d.err != nil {
		return demoLinks{}, d.err
	}
	pallets := []string{d.base + "/00/" + ss.SSCCs[0].SSCC, d.base + "/00/" + ss.SSCCs[1].SSCC}

	// Days 1–3: custody from farm to shelf, with the milk made into cheese
	// and the cheese palletised.
	d.at(4, 0)
	milkQty := quantity(lotClass(milk, "M2611"), 2000, "LTR")
	d.capture(farm,
		object("ADD", "commissioning", d.stamp(1, 0), []string{}, milkQty),
		object("OBSERVE", "shipping", d.stamp(1, 2), []string{}, milkQty, from(d.party(farm)), to(d.party(cheeseWorks))))
	d.capture(cheeseWorks,
		object("OBSERVE", "receiving", d.stamp(1, 4), []string{}, milkQty),
		transformation(d.stamp(1, 8), lotClass(milk, "M2611"), 2000, "LTR", cheeses),
		object("OBSERVE", "shipping", d.stamp(2, 1), cheeses, to(d.party(dist))))
	d.capture(dist,
		object("OBSERVE", "receiving", d.stamp(2, 4), cheeses),
		aggregation(d.stamp(2, 5), pallets[0], cheeses[:6]),
		aggregation(d.stamp(2, 5), pallets[1], cheeses[6:]),
		object("OBSERVE", "shipping", d.stamp(2, 8), pallets[:1], to(d.party(hexi))),
		object("OBSERVE", "shipping", d.stamp(2, 8), pallets[1:], to(d.party(nankai))))
	d.capture(hexi, object("OBSERVE", "receiving", d.stamp(3, 1), pallets[:1]),
		object("OBSERVE", "retail_selling", d.stamp(3, 5), cheeses[:1]))
	d.capture(nankai, object("OBSERVE", "receiving", d.stamp(3, 2), pallets[1:]))
	d.capture(toys, object("ADD", "commissioning", d.stamp(1, 1), toyCodes),
		object("OBSERVE", "shipping", d.stamp(2, 0), toyCodes, to(d.party(hexi))))
	d.capture(hexi, object("OBSERVE", "receiving", d.stamp(3, 0), toyCodes))
	apiQty := quantity(lotClass(api, "AMX-API-07"), 5, "KGM")
	d.capture(lab, object("ADD", "commissioning", d.stamp(1, 0), []string{}, apiQty),
		object("OBSERVE", "shipping", d.stamp(1, 3), []string{}, apiQty, to(d.party(pharma))))
	d.capture(pharma, object("OBSERVE", "receiving", d.stamp(1, 6), []string{}, apiQty),
		transformation(d.stamp(2, 2), lotClass(api, "AMX-API-07"), 5, "KGM", capsuleCodes),
		object("OBSERVE", "shipping", d.stamp(3, 0), capsuleCodes, to(d.party(nankai))))
	d.capture(nankai, object("OBSERVE", "receiving", d.stamp(3, 4), capsuleCodes))

	// Day 4: a consumer's tip-off about the toy, which nobody verifies
	// within the 15 working days a regulator has.
	d.at(4, 2)
	d.call(201, "POST", "/api/v1/tipoffs", "", map[string]any{"subject": "product", "gtin": blocks, "category": "safety",
		"description": "积木边缘锋利，孩子划伤了手指。Sharp edges on the blocks cut my child's finger."})

	// Day 8: an inspector's spot check of the cheese finds its fat below
	// the declared 25 g/100 g.
	d.at(8, 3)
	d.call(201, "POST", "/api/v1/spotchecks", inspector, map[string]any{"gtin": cheese, "lot": "CH2611",
		"lab": "天津市食品安全检测技术研究院 Tianjin Food Safety Inspection Institute", "sampleCode": "TJ-SC-2026-0418",
		"sampledOn": d.date(6), "reportedOn": d.date(8), "measurements": []map[string]any{
			{"indicator": "Fat", "unit": "g/100g", "value": 21.4},
			{"indicator": "Lead", "unit": "mg/kg", "value": 0.04},
		}})

	// Days 14 and 29: three incident reports on the toy within a month
	// (a cluster); the second one is filed past its deadline.
	report := func(event, aware int, text string) map[string]any {
		return map[string]any{"gtin": blocks, "lot": "RB26A", "eventDate": d.date(event), "awareDate": d.date(aware),
			"severity": "minor_injury", "personsAffected": 1, "description": text,
			"location": "天津市河西区", "distribution": "6 units to Hexi Supermarket", "remedialAction": "sales stopped, edges inspected",
			"contact": map[string]any{"name": "王工 Wang Gong", "phone": "+86 22 5555 0106"}}
	}
	d.at(14, 2)
	d.call(201, "POST", "/api/v1/incidents", toys.key, report(13, 14, "A child cut a finger on a sharp edge of a block."))

	// Day 26: the distributor registers the webhook of its recall-notice
	// receiver, on its own machine's name: the service is refused it at
	// every delivery (the address is a loopback one), so its notice is
	// dead-lettered for a regulator to see.
	d.at(26, 2)
	d.call(200, "PATCH", "/api/v1/entities/"+dist.id, dist.key, map[string]any{
		"webhookUrl": "https://localhost:8443/recall-notices", "webhookSecret": "bohai-demo-webhook-secret-2026"})

	// Day 28: the regulator orders a recall of the cheese lot; the notices
	// reach the distributor and both retailers. Hexi Supermarket
	// acknowledges and returns three units; Nankai Corner Shop stays silent.
	d.at(28, 1)
	rc := d.call(201, "POST", "/api/v1/recalls", d.reg, map[string]any{"class": "II", "depth": "consumer",
		"hazard": "脂肪含量不合格 Fat content below the declared standard (21.4 g/100 g, declared ≥ 25)",
		"reason": "spot check TJ-SC-2026-0418 found the lot non-conform", "remedy": "refund",
		"custodianInstructions": "Stop selling; hold the stock apart and return it to Haihe Cheese Works.",
		"consumerInstructions":  "请停止食用，凭包装到购买门店退款。Do not eat it; take it back to the shop for a refund.",
		"contact":               "海河奶酪厂 400-000-0000",
		"scope":                 map[string]any{"lots": []map[string]any{{"gtin": cheese, "lot": "CH2611"}}}})
	recallID := str(rc, "id")
	d.call(200, "POST", "/api/v1/recalls/"+recallID+"/open", d.reg, nil)
	d.at(28, 6)
	notice := recallID + "." + hexi.id
	d.call(200, "POST", "/api/v1/notices/"+notice+"/ack", hexi.key, nil)
	d.call(200, "POST", "/api/v1/notices/"+notice+"/returns", hexi.key, map[string]any{"recovery": "returned",
		"codes": cheeses[1:4]})

	// Day 28: a hospital tells the regulator of an adverse reaction to the
	// capsules; the maker never files its report.
	d.at(28, 9)
	d.call(201, "POST", "/api/v1/incidents/awareness", d.reg, map[string]any{"entityId": pharma.id, "gtin": capsules,
		"lot": "AC2611", "source": "hospital_report", "reference": "TJ-H-2026-118", "awareDate": d.date(28)})

	// Day 29: the toy maker files the report of an incident it knew of
	// two weeks ago, late, and of a new one.
	d.at(29, 2)
	d.call(201, "POST", "/api/v1/incidents", toys.key, report(15, 15, "A second child cut a finger on the same edge."))
	d.call(201, "POST", "/api/v1/incidents", toys.key, report(28, 29, "A block split and left a sharp fragment."))

	// Day 37: penalties decided (the toy maker's fine makes it dishonest).
	d.at(37, 2)
	d.call(201, "POST", "/api/v1/entities/"+toys.id+"/credit/events", d.reg, map[string]any{"type": "penalty",
		"date": d.date(37), "fine": "150000", "source": "津市监罚〔2026〕218号", "reason": "toys with sharp edges sold"})
	d.call(201, "POST", "/api/v1/entities/"+nankai.id+"/credit/events", d.reg, map[string]any{"type": "penalty",
		"date": d.date(37), "fine": "3000", "source": "津南市监罚〔2026〕57号", "reason": "expired goods on the shelf"})

	// Today: a fresh tip-off, and a consumer scans a serial never issued.
	clk.set(time.Now())
	d.call(201, "POST", "/api/v1/tipoffs", "", map[string]any{"subject": "code", "code": capsuleCodes[2],
		"category": "quality", "description": "胶囊变色 The capsules are discoloured."})
	unknown := d.base + "/01/" + cheese + "/21/FAKE0000DEMO"
	d.call(200, "GET", "/01/"+cheese+"/21/FAKE0000DEMO", "", nil)
	// The outbox tries the distributor's webhook in the background; the
	// links are printed once the refusal is recorded (or after 15 s).
	for deadline := time.Now().Add(15 * time.Second); d.err == nil && time.Now().Before(deadline); {
		dead, _ := d.call(200, "GET", "/api/v1/deliveries?state=dead", d.reg, nil)["deliveries"].([]any)
		if len(dead) > 0 || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d.err != nil {
		return demoLinks{}, d.err
	}
	return demoLinks{Dashboard: d.base + "/dashboard", Genuine: capsuleCodes[0], Recalled: cheeses[8], Unknown: unknown}, nil
}

// demoConfig settles -demo's store: the embedded one, in -data when it is
// named (it must be fresh), else in a temp folder removed at exit.
func demoConfig(fs *flag.FlagSet, cfg *config, getenv func(string) string) error {
	if cfg.mongoURI != "" {
		return errors.New("-demo loads the embedded store; unset -mongo-uri (MONGODB_URI)")
	}
	named := getenv("TRACESVC_DATA") != ""
	fs.Visit(func(f *flag.Flag) { named = named || f.Name == "data" })
	if named {
		return nil
	}
	dir, err := os.MkdirTemp("", "tracesvc-demo-")
	if err != nil {
		return fmt.Errorf("-demo: temp folder: %w", err)
	}
	cfg.dataDir, cfg.demoTemp = dir, true
	return nil
}

// startDemo loads the demo dataset into the fresh store behind h and
// prints the regulator key and the links to try.
func startDemo(ctx context.Context, h http.Handler, clk *demoClock, cfg config, regKey string, loc *time.Location, stderr io.Writer) error {
	if regKey == "" {
		return fmt.Errorf("-demo needs a fresh store, and %s has data already: name an empty folder with -data, or none for a temp folder", cfg.dataDir)
	}
	links, err := loadDemo(ctx, h, clk, cfg.baseURL, regKey, loc)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, `
  tracesvc demo: a dairy chain with a recall, a toy maker, a drug maker and its lab (store: %s)

    Regulator key:         %s
    Dashboard:             %s
    Scan, genuine item:    %s
    Scan, recalled item:   %s
    Scan, unknown serial:  %s

`, cfg.dataDir, regKey, links.Dashboard, links.Genuine, links.Recalled, links.Unknown)
	return nil
}
