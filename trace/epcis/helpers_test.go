package epcis

import (
	"encoding/json"
	"errors"
	"testing"
)

// typicalEvent is an ObjectEvent like those the service captures.
const typicalEvent = `{
  "type": "ObjectEvent",
  "eventID": "urn:uuid:6926712e-599f-4c4e-b6e9-8dd888c906bd",
  "eventTime": "2024-03-01T08:15:00.000+08:00",
  "eventTimeZoneOffset": "+08:00",
  "epcList": ["urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2018"],
  "action": "OBSERVE",
  "bizStep": "shipping",
  "disposition": "in_transit",
  "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
  "bizLocation": {"id": "urn:epc:id:sgln:0614141.07346.0"},
  "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 200.5, "uom": "KGM"}],
  "bizTransactionList": [{"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"}],
  "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:0614141.00777"}],
  "destinationList": [{"type": "location", "destination": "urn:epc:id:sgln:0614141.00888.0"}]
}`

// mutate decodes the JSON object base, lets f change it and encodes it
// again.
func mutate(tb testing.TB, base string, f func(m map[string]any)) json.RawMessage {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		tb.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// asErrors returns err as Errors, failing unless it is one.
func asErrors(tb testing.TB, err error) Errors {
	tb.Helper()
	var es Errors
	if !errors.As(err, &es) {
		tb.Fatalf("error %v (%T) is not Errors", err, err)
	}
	if !errors.Is(err, ErrInvalid) {
		tb.Fatalf("error %v does not wrap ErrInvalid", err)
	}
	return es
}
