package handlers_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestCrossTenant is issue 9's table: on every write and read path of the
// custody record — capture of each event type, in each identifier form,
// as a document and as a single event; traces both ways; the FSMA export;
// the event query; a single event; a capture job; an incident report on
// the cheese, and filing one — a stranger acting on
// the cheese works' goods is refused, or sees only what it may.
func TestCrossTenant(t *testing.T) { eachBackend(t, testCrossTenant) }

func testCrossTenant(t *testing.T, backend string) {
	c := newChainEnvOn(t, backend)
	c.run()
	strangerID, stranger := c.newEntity("manufacturer", "retailer")
	s := c.cheeseSerials[0]
	urn := "urn:epc:id:sgtin:" + c.cheese[1:8] + "." + c.cheese[0:1] + c.cheese[8:13] + "."
	lotURN := "urn:epc:class:lgtin:" + c.cheese[1:8] + "." + c.cheese[0:1] + c.cheese[8:13] + ".CH1"
	lotDL := "https://id.example.cn/01/" + c.cheese + "/10/CH1"
	itemForms := map[string]string{"Digital Link": c.item(s), "EPC URN": urn + s, "long names": "https://id.example.cn/gtin/" + c.cheese + "/ser/" + s,
		"other host": "https://other.example/01/" + c.cheese + "/21/" + s}
	lotForms := map[string]string{"Digital Link": lotDL, "EPC URN": lotURN}
	qty := func(list, class string) string {
		return fmt.Sprintf(`%q:[{"epcClass":%q,"quantity":1,"uom":"EA"}]`, list, class)
	}
	epcs := func(list string, items ...string) string {
		b, _ := json.Marshal(append([]string{}, items...))
		return fmt.Sprintf(`%q:%s`, list, b)
	}
	ev := func(typ, action, step, body string) string {
		a := ""
		if action != "" {
			a = fmt.Sprintf(`"action":%q,`, action)
		}
		return fmt.Sprintf(`{"type":%q,%s"bizStep":%q,"eventTime":%q,"eventTimeZoneOffset":"+08:00",%s}`, typ, a, step, c.at(9), body)
	}
	mine := c.newProduct(stranger, 50)
	c.must(201, "POST", "/api/v1/products/"+mine+"/batches", stranger, map[string]any{"lot": "X1", "productionDate": "2026-11-01", "quantity": 5, "unit": "EA"})
	myLot := "https://id.example.cn/01/" + mine + "/10/X1"

	writes := map[string]string{}
	for form, item := range itemForms {
		writes["object ship item/"+form] = ev("ObjectEvent", "OBSERVE", "shipping", epcs("epcList", item)+","+dest(c.party(strangerID)))
		writes["object commission item/"+form] = ev("ObjectEvent", "ADD", "commissioning", epcs("epcList", item))
		writes["object decommission item/"+form] = ev("ObjectEvent", "DELETE", "decommissioning", epcs("epcList", item))
		writes["object sell item/"+form] = ev("ObjectEvent", "OBSERVE", "retail_selling", epcs("epcList", item))
		writes["aggregation child item/"+form] = ev("AggregationEvent", "ADD", "packing", `"parentID":"urn:epc:id:sscc:0614141.1999999999",`+epcs("childEPCs", item))
		writes["transformation input item/"+form] = ev("TransformationEvent", "", "commissioning", epcs("inputEPCList", item)+","+qty("outputQuantityList", myLot))
		writes["transformation output item/"+form] = ev("TransformationEvent", "", "commissioning", qty("inputQuantityList", myLot)+","+epcs("outputEPCList", item))
		writes["transaction item/"+form] = ev("TransactionEvent", "ADD", "shipping", `"bizTransactionList":[{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:0614141000005:PO1"}],`+epcs("epcList", item))
		writes["association child item/"+form] = ev("AssociationEvent", "ADD", "assembling", `"parentID":"urn:epc:id:grai:0614141.12345.400",`+epcs("childEPCs", item))
	}
	for form, lot := range lotForms {
		writes["object ship lot/"+form] = ev("ObjectEvent", "OBSERVE", "shipping", qty("quantityList", lot)+","+dest(c.party(strangerID)))
		writes["aggregation child lot/"+form] = ev("AggregationEvent", "ADD", "packing", `"parentID":"urn:epc:id:sscc:0614141.1999999998",`+qty("childQuantityList", lot))
		writes["transformation input lot/"+form] = ev("TransformationEvent", "", "commissioning", qty("inputQuantityList", lot)+","+qty("outputQuantityList", myLot))
		writes["transformation output lot/"+form] = ev("TransformationEvent", "", "commissioning", qty("inputQuantityList", myLot)+","+qty("outputQuantityList", lot))
		writes["transaction lot/"+form] = ev("TransactionEvent", "ADD", "shipping", `"bizTransactionList":[{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:0614141000005:PO2"}],`+qty("quantityList", lot))
	}
	writes["aggregation parent pallet"] = ev("AggregationEvent", "DELETE", "unpacking", `"parentID":"https://id.example.cn/00/`+c.pallet1+`",`+epcs("childEPCs"))
	writes["object ship pallet"] = ev("ObjectEvent", "OBSERVE", "shipping", epcs("epcList", "https://id.example.cn/00/"+c.pallet2)+","+dest(c.party(strangerID)))

	for name, event := range writes {
		t.Run("write/"+name, func(t *testing.T) {
			_, job := c.with(t).capture(stranger, doc(event))
			errs, _ := job["errors"].([]any)
			if job["success"] != false || len(errs) == 0 || !strings.HasPrefix(errs[0].(map[string]any)["rule"].(string), "custody.") {
				t.Fatalf("document capture not refused by custody: %v", job)
			}
			if r := c.with(t).do("POST", "/epcis/events", stranger, event); r.Code != 400 {
				t.Fatalf("single-event capture: %d %s", r.Code, r.Body)
			}
		})
	}

	// Reads.
	var firstEvent string
	if list := c.queryEvents(c.procK, "MATCH_epc="+url.QueryEscape(c.item(s))); len(list) > 0 {
		firstEvent = list[0].(map[string]any)["eventID"].(string)
	}
	if firstEvent == "" {
		t.Fatal("the owner sees no events of its item")
	}
	_, ownJob := c.capture(c.procK, doc(objectEvent("OBSERVE", "inspecting", c.at(8), []string{c.item(c.cheeseSerials[9])}, "")))
	// Retailer A's incident report on the cheese it held.
	incident := c.must(201, "POST", "/api/v1/incidents", c.retAK, map[string]any{"gtin": c.cheese, "lot": "CH1",
		"eventDate": "2026-11-20", "awareDate": "2026-11-20", "severity": "minor_injury", "personsAffected": 1,
		"description": "Mould under the wax", "location": "Tianjin", "contact": map[string]any{"name": "Zhou Qi", "phone": "12345"}}).JSON()["id"].(string)
	reads := map[string]func(t *testing.T){
		"incident report": func(t *testing.T) {
			if r := c.with(t).do("GET", "/api/v1/incidents/"+incident, stranger, nil); r.Code != 403 {
				t.Fatalf("incident report: %d", r.Code)
			}
			if r := c.with(t).do("GET", "/api/v1/incidents?gtin="+c.cheese, stranger, nil); r.Code != 200 || strings.Contains(string(r.Body), incident) {
				t.Fatalf("incident list: %d %s", r.Code, r.Body)
			}
			if r := c.with(t).do("PATCH", "/api/v1/incidents/"+incident, stranger, `{"status":"under_assessment"}`); r.Code != 403 {
				t.Fatalf("incident follow-up: %d", r.Code)
			}
		},
		"incident report on the cheese": func(t *testing.T) {
			r := c.with(t).do("POST", "/api/v1/incidents", stranger, map[string]any{"gtin": c.cheese, "lot": "CH1",
				"eventDate": "2026-11-20", "awareDate": "2026-11-20", "severity": "near_miss", "description": "Claims to have held it",
				"location": "Tianjin", "contact": map[string]any{"name": "X", "phone": "1"}})
			if r.Code != 403 {
				t.Fatalf("a report on goods never held: %d %s", r.Code, r.Body)
			}
		},
		"event query by EPC": func(t *testing.T) {
			for form, item := range itemForms {
				if got := c.with(t).queryEvents(stranger, "MATCH_epc="+url.QueryEscape(item)); len(got) != 0 {
					t.Fatalf("%s: the stranger sees %d events of the item", form, len(got))
				}
			}
		},
		"event query by class": func(t *testing.T) {
			for form, lot := range lotForms {
				if got := c.with(t).queryEvents(stranger, "MATCH_epcClass="+url.QueryEscape(lot)); len(got) != 0 {
					t.Fatalf("%s: the stranger sees %d events of the lot", form, len(got))
				}
			}
		},
		"event query unfiltered": func(t *testing.T) {
			if got := c.with(t).queryEvents(stranger, ""); len(got) != 0 {
				t.Fatalf("the stranger sees %d events", len(got))
			}
		},
		"events of an EPC": func(t *testing.T) {
			r := c.with(t).do("GET", "/epcis/epcs/"+url.PathEscape(c.item(s))+"/events", stranger, nil)
			if r.Code == 200 && strings.Contains(string(r.Body), "eventID") {
				t.Fatalf("events of the item: %s", r.Body)
			}
		},
		"single event": func(t *testing.T) {
			if r := c.with(t).do("GET", "/epcis/events/"+url.PathEscape(firstEvent), stranger, nil); r.Code != 404 {
				t.Fatalf("single event: %d", r.Code)
			}
		},
		"capture job": func(t *testing.T) {
			if r := c.with(t).do("GET", "/epcis/capture/"+ownJob["captureID"].(string), stranger, nil); r.Code != 404 {
				t.Fatalf("capture job: %d", r.Code)
			}
		},
		"FSMA export": func(t *testing.T) {
			if r := c.with(t).do("GET", "/api/v1/trace/lots/"+c.cheese+"/CH1/fsma204.csv", stranger, nil); r.Code != 403 {
				t.Fatalf("FSMA export: %d", r.Code)
			}
		},
		"codes of the batch": func(t *testing.T) {
			if r := c.with(t).do("GET", "/api/v1/products/"+c.cheese+"/batches/CH1/codes", stranger, nil); r.Code != 403 && r.Code != 404 {
				t.Fatalf("codes: %d", r.Code)
			}
		},
	}
	for _, dir := range []string{"forward", "backward"} {
		for form, start := range map[string]string{"lot": "gtin=" + c.cheese + "&lot=CH1", "item": "epc=" + url.QueryEscape(urn+s), "milk lot": "gtin=" + c.milk + "&lot=MILK1"} {
			reads["trace "+dir+" from the "+form] = func(t *testing.T) {
				r := c.with(t).do("GET", "/api/v1/trace/"+dir+"?"+start, stranger, nil)
				if r.Code == 200 {
					body := string(r.Body)
					for _, serial := range c.cheeseSerials {
						if strings.Contains(body, serial) {
							t.Fatalf("the stranger's trace lists serial %s", serial)
						}
					}
					for _, id := range []string{c.farm, c.proc, c.dist, c.retA, c.retB} {
						if strings.Contains(body, `"entityId":"`+id+`"`) {
							t.Fatalf("the stranger's trace names custodian %s", id)
						}
					}
				} else if r.Code != 403 && r.Code != 404 {
					t.Fatalf("trace: %d %s", r.Code, r.Body)
				}
			}
		}
	}
	for name, read := range reads {
		t.Run("read/"+name, read)
	}
}
