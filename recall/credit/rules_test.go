package credit

import (
	"fmt"
	"slices"
	"testing"
)

func penalties(n int, fine string) []Event {
	var out []Event
	for i := range n {
		out = append(out, Event{ID: fmt.Sprintf("p%02d", i), Type: Penalty, Date: "2026-01-10", Fine: fine, PublishedUntil: "2029-01-10", Status: Counted})
	}
	return out
}

func ev(id string, t EventType, date string) Event {
	return Event{ID: id, Type: t, Date: date, PublishedUntil: "2029-01-01", Status: Counted}
}

func ids(es []Event) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// TestClassify is the table of the Tianjin 2017 thresholds at every edge —
// penalty counts, fine totals, lists, accidents — and of the recall and
// report facts; each case names the rule that decides and exactly the
// events it rests on.
func TestClassify(t *testing.T) {
	r, err := DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	listIn := Event{ID: "l1", Type: ListEntry, List: AbnormalList, Source: "list:L1", Date: "2026-02-01", Status: Counted}
	listOut := Event{ID: "l2", Type: ListRemoval, List: AbnormalList, Source: "list:L1", Date: "2026-05-01", Status: Counted}
	serious := Event{ID: "s1", Type: ListEntry, List: SeriousList, Source: "list:S1", Date: "2026-02-01", Status: Counted}
	cases := []struct {
		name   string
		events []Event
		day    string
		class  Class
		rule   string
		basis  []string
	}{
		{"nothing", nil, "2026-06-01", Good, "", []string{}},
		{"1 penalty", penalties(1, "1000"), "2026-06-01", Warning, "W1", ids(penalties(1, ""))},
		{"5 penalties", penalties(5, "1000"), "2026-06-01", Warning, "W1", ids(penalties(5, ""))},
		{"6 penalties", penalties(6, "1000"), "2026-06-01", Dishonest, "D1", ids(penalties(6, ""))},
		{"10 penalties", penalties(10, "1000"), "2026-06-01", Dishonest, "D1", ids(penalties(10, ""))},
		{"11 penalties", penalties(11, "1000"), "2026-06-01", SeriouslyDishonest, "S1", ids(penalties(11, ""))},
		{"fines 100,000.00", penalties(2, "50000"), "2026-06-01", Warning, "W1", ids(penalties(2, ""))},
		{"fines 100,000.01", append(penalties(1, "50000"), Event{ID: "p99", Type: Penalty, Date: "2026-01-10", Fine: "50000.01", PublishedUntil: "2029-01-10"}), "2026-06-01", Dishonest, "D2", []string{"p00", "p99"}},
		{"fines 500,000.00", penalties(4, "125000"), "2026-06-01", Dishonest, "D2", ids(penalties(4, ""))},
		{"fines 500,000.01", append(penalties(4, "125000"), Event{ID: "p99", Type: Penalty, Date: "2026-01-11", Fine: "0.01", PublishedUntil: "2029-01-10"}), "2026-06-01", SeriouslyDishonest, "S2", append(ids(penalties(4, "")), "p99")},
		{"a penalty not yet", penalties(1, "10"), "2026-01-09", Good, "", []string{}},
		{"a penalty no longer published", penalties(1, "10"), "2029-01-10", Good, "", []string{}},
		{"a minor penalty, 3 months", []Event{{ID: "m", Type: Penalty, Minor: true, Date: "2026-01-10", PublishedUntil: "2026-04-10"}}, "2026-04-10", Good, "", []string{}},
		{"a voided penalty", []Event{{ID: "v", Type: Penalty, Date: "2026-01-10", PublishedUntil: "2029-01-10", Status: Voided, StatusSince: "2026-03-01"}}, "2026-03-01", Good, "", []string{}},
		{"a penalty before its voiding", []Event{{ID: "v", Type: Penalty, Date: "2026-01-10", PublishedUntil: "2029-01-10", Status: Voided, StatusSince: "2026-03-01"}}, "2026-02-28", Warning, "W1", []string{"v"}},
		{"a repaired penalty", []Event{{ID: "r", Type: Penalty, Date: "2026-01-10", PublishedUntil: "2029-01-10", Status: Repaired, StatusSince: "2026-08-01"}}, "2026-08-01", Good, "", []string{}},
		{"inspection refused", []Event{ev("i", InspectionRefused, "2026-01-10")}, "2026-06-01", Warning, "W3", []string{"i"}},
		{"on the abnormal list", []Event{listIn}, "2026-03-01", Warning, "W2", []string{"l1"}},
		{"removed from the abnormal list", []Event{listIn, listOut}, "2026-06-01", Good, "", []string{}},
		{"on the abnormal list, the day before removal", []Event{listIn, listOut}, "2026-04-30", Warning, "W2", []string{"l1"}},
		{"on the serious-violation list", []Event{serious, listIn}, "2026-03-01", Dishonest, "D3", []string{"s1"}},
		{"dishonest debtor", []Event{ev("d", DishonestDebtor, "2026-01-10"), ev("i", InspectionRefused, "2026-01-10")}, "2026-06-01", SeriouslyDishonest, "S3", []string{"d"}},
		{"major accident", []Event{ev("a", MajorAccident, "2026-01-10")}, "2026-06-01", SeriouslyDishonest, "S3", []string{"a"}},
		{"licence revoked", []Event{ev("x", LicenceRevoked, "2026-01-10")}, "2026-06-01", SeriouslyDishonest, "S3", []string{"x"}},
		{"one ordered recall", []Event{ev("o", OrderedRecall, "2026-01-10")}, "2026-06-01", Good, "", []string{}},
		{"ordered recall and late report", []Event{ev("o", OrderedRecall, "2026-01-10"), ev("l", LateIncident, "2026-01-12")}, "2026-06-01", Warning, "W4", []string{"o", "l"}},
		{"voluntary recall mitigates", []Event{ev("o", OrderedRecall, "2026-01-10"), ev("v", VoluntaryRecall, "2026-01-12")}, "2026-06-01", Good, "", []string{}},
		{"spot check and unacknowledged notice", []Event{ev("s", SpotCheckFailed, "2026-01-10"), ev("n", UnackedNotice, "2026-02-12")}, "2026-06-01", Warning, "W4", []string{"s", "n"}},
	}
	for _, c := range cases {
		got := r.Classify(c.events, c.day)
		rule := ""
		if got.Rule != nil {
			rule = got.Rule.ID
		}
		if got.Class != c.class || rule != c.rule || got.Colour != c.class.Colour() || !slices.Equal(ids(got.Basis), c.basis) {
			t.Errorf("%s on %s: %s (%s) rule %q basis %v; want %s rule %q basis %v", c.name, c.day, got.Class, got.Colour, rule, ids(got.Basis),
				c.class, c.rule, c.basis)
		}
	}
}

func TestParseRules(t *testing.T) {
	for name, bad := range map[string]string{
		"unknown field":   `{"published":{"default":"3y","minorPenalty":"3m"},"classes":[],"extra":1}`,
		"bad period":      `{"published":{"default":"3 years","minorPenalty":"3m"},"classes":[]}`,
		"order":           `{"published":{"default":"3y","minorPenalty":"3m"},"classes":[{"class":"warning","rules":[]}]}`,
		"two conditions":  `{"published":{"default":"3y","minorPenalty":"3m"},"classes":[{"class":"seriously_dishonest","rules":[{"id":"A","penaltiesAtLeast":1,"onList":"serious_violation"}]}]}`,
		"unknown list":    `{"published":{"default":"3y","minorPenalty":"3m"},"classes":[{"class":"seriously_dishonest","rules":[{"id":"A","onList":"grey"}]}]}`,
		"bad fine":        `{"published":{"default":"3y","minorPenalty":"3m"},"classes":[{"class":"seriously_dishonest","rules":[{"id":"A","finesOver":"lots"}]}]}`,
		"rule without id": `{"published":{"default":"3y","minorPenalty":"3m"},"classes":[{"class":"seriously_dishonest","rules":[{"anyOf":["major_accident"]}]}]}`,
	} {
		if _, err := ParseRules([]byte(bad)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
