package standards

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"tracesvc/trace"
)

// DeadlineRules says how many working days a reporter has from becoming
// aware of an incident, by product category and severity. Keys are
// "category/severity", "category", "*/severity" or "*", tried in that
// order; "*" must be present.
type DeadlineRules map[string]int

// DefaultIncidentDays is the deadline of a report when no rule is more
// specific: 2 working days (China, consumer goods).
const DefaultIncidentDays = 2

// MaxIncidentDays bounds a configured deadline.
const MaxIncidentDays = 60

// DefaultDeadlineRules returns the built-in rules: 2 working days; for
// medical devices 7 for a death and 20 for a serious injury.
func DefaultDeadlineRules() DeadlineRules {
	return DeadlineRules{"*": DefaultIncidentDays, "medical_device/death": 7, "medical_device/serious_injury": 20}
}

// Days returns the working days a report on a product of category c
// with severity sev has.
func (r DeadlineRules) Days(c trace.Category, sev Severity) int {
	for _, k := range []string{string(c) + "/" + string(sev), string(c), "*/" + string(sev)} {
		if n, ok := r[k]; ok {
			return n
		}
	}
	if n, ok := r["*"]; ok {
		return n
	}
	return DefaultIncidentDays
}

// String lists the rules in the form [ParseDeadlineRules] reads, sorted.
func (r DeadlineRules) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(r)) {
		parts = append(parts, k+"="+strconv.Itoa(r[k]))
	}
	return strings.Join(parts, ",")
}

// ParseDeadlineRules reads rules over the defaults: a comma-separated
// list of key=days, such as "*=3,medical_device/death=5,toy=4", where a
// key is "*", a category, "category/severity" or "*/severity". Days are
// 0 (the aware day itself) to [MaxIncidentDays].
func ParseDeadlineRules(s string) (DeadlineRules, error) {
	r := DefaultDeadlineRules()
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil || n < 0 || n > MaxIncidentDays {
			return nil, fmt.Errorf("incident deadline %q: want key=days with 0 to %d days", item, MaxIncidentDays)
		}
		cat, sev, hasSev := strings.Cut(k, "/")
		if cat != "*" && !slices.Contains(trace.Categories, trace.Category(cat)) {
			return nil, fmt.Errorf("incident deadline %q: unknown category %q", item, cat)
		}
		if hasSev && !slices.Contains(Severities, Severity(sev)) {
			return nil, fmt.Errorf("incident deadline %q: unknown severity %q (want one of %s)", item, sev, joinSeverities())
		}
		r[k] = n
	}
	return r, nil
}
