package credit

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
)

//go:embed rules.json
var defaultRules []byte

// Rule is one condition that puts an entity in a class. Exactly one of
// its conditions is set.
type Rule struct {
	ID               string      `json:"id"`
	Text             string      `json:"text"`
	PenaltiesAtLeast int         `json:"penaltiesAtLeast,omitempty"`
	FinesOver        string      `json:"finesOver,omitempty"` // yuan
	AnyOf            []EventType `json:"anyOf,omitempty"`
	OnList           string      `json:"onList,omitempty"`
	PointsAtLeast    int         `json:"pointsAtLeast,omitempty"`
}

// ClassRules are the rules of one class.
type ClassRules struct {
	Class Class  `json:"class"`
	Rules []Rule `json:"rules"`
}

// Published says how long events are published (and count).
type Published struct {
	Default      string `json:"default"`      // e.g. "3y"
	MinorPenalty string `json:"minorPenalty"` // e.g. "3m"
}

// Rules classify a ledger. They are read from a JSON file (the embedded
// default is the Tianjin 2017 thresholds) that regulators can read at
// GET /api/v1/credit/rules. Classes are tried from the worst down; the
// first rule met decides, and good is what no rule meets.
type Rules struct {
	Source    string            `json:"source"`
	Published Published         `json:"published"`
	Points    map[EventType]int `json:"points"`
	Classes   []ClassRules      `json:"classes"`
	finesOver map[string]int64  // rule ID → fen
}

// DefaultRules returns the embedded Tianjin 2017 rules.
func DefaultRules() (*Rules, error) { return ParseRules(defaultRules) }

// LoadRules reads a rules file.
func LoadRules(path string) (*Rules, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := ParseRules(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// ParseRules reads and checks rules.
func ParseRules(b []byte) (*Rules, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Rules
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("credit rules: %w", err)
	}
	if _, err := addPeriod("2026-01-01", r.Published.Default); err != nil {
		return nil, fmt.Errorf("credit rules: published.default: %w", err)
	}
	if _, err := addPeriod("2026-01-01", r.Published.MinorPenalty); err != nil {
		return nil, fmt.Errorf("credit rules: published.minorPenalty: %w", err)
	}
	r.finesOver = map[string]int64{}
	order := []Class{SeriouslyDishonest, Dishonest, Warning}
	seen := map[string]bool{}
	for i, c := range r.Classes {
		if i >= len(order) || c.Class != order[i] {
			return nil, fmt.Errorf("credit rules: classes must be seriously_dishonest, dishonest, warning, in that order")
		}
		for _, rule := range c.Rules {
			if rule.ID == "" || seen[rule.ID] {
				return nil, fmt.Errorf("credit rules: every rule needs an ID of its own (%q)", rule.ID)
			}
			seen[rule.ID] = true
			set := 0
			for _, on := range []bool{rule.PenaltiesAtLeast > 0, rule.FinesOver != "", len(rule.AnyOf) > 0, rule.OnList != "", rule.PointsAtLeast > 0} {
				if on {
					set++
				}
			}
			if set != 1 {
				return nil, fmt.Errorf("credit rules: rule %s must set exactly one condition", rule.ID)
			}
			if rule.FinesOver != "" {
				f, err := fen(rule.FinesOver)
				if err != nil {
					return nil, fmt.Errorf("credit rules: rule %s: %w", rule.ID, err)
				}
				r.finesOver[rule.ID] = f
			}
			if rule.OnList != "" && rule.OnList != AbnormalList && rule.OnList != SeriousList {
				return nil, fmt.Errorf("credit rules: rule %s: no list %q", rule.ID, rule.OnList)
			}
		}
	}
	return &r, nil
}

// Outcome is a class and why: the rule that decided it and the events
// that met the rule.
type Outcome struct {
	Class  Class   `json:"class"`
	Colour string  `json:"colour"`
	Rule   *Rule   `json:"rule,omitempty"` // nil for good
	Basis  []Event `json:"basis"`          // exactly the events that met the rule
}

// Classify is the class of a ledger on day (YYYY-MM-DD): a pure,
// deterministic function of the events and the rules. Events that do not
// count on day (not yet happened, no longer published, voided or
// repaired by then) are left out.
func (r *Rules) Classify(events []Event, day string) Outcome {
	var counted []Event
	for _, e := range events {
		if e.countsAt(day) {
			counted = append(counted, e)
		}
	}
	sort.SliceStable(counted, func(i, j int) bool {
		if counted[i].Date != counted[j].Date {
			return counted[i].Date < counted[j].Date
		}
		return counted[i].ID < counted[j].ID
	})
	for _, c := range r.Classes {
		for _, rule := range c.Rules {
			if basis := r.meets(rule, counted); basis != nil {
				rule := rule
				return Outcome{Class: c.Class, Colour: c.Class.Colour(), Rule: &rule, Basis: basis}
			}
		}
	}
	return Outcome{Class: Good, Colour: Good.Colour(), Basis: []Event{}}
}

// meets returns the events that meet rule, or nil when it is not met.
func (r *Rules) meets(rule Rule, events []Event) []Event {
	var basis []Event
	switch {
	case rule.PenaltiesAtLeast > 0:
		for _, e := range events {
			if e.Type == Penalty {
				basis = append(basis, e)
			}
		}
		if len(basis) < rule.PenaltiesAtLeast {
			return nil
		}
	case rule.FinesOver != "":
		var total int64
		for _, e := range events {
			if f, err := fen(e.Fine); e.Type == Penalty && err == nil && f > 0 {
				basis = append(basis, e)
				total += f
			}
		}
		if total <= r.finesOver[rule.ID] {
			return nil
		}
	case len(rule.AnyOf) > 0:
		for _, e := range events {
			if slices.Contains(rule.AnyOf, e.Type) {
				basis = append(basis, e)
			}
		}
	case rule.OnList != "":
		basis = onList(events, rule.OnList)
	case rule.PointsAtLeast > 0:
		points := 0
		for _, e := range events {
			if p, ok := r.Points[e.Type]; ok {
				basis = append(basis, e)
				points += p
			}
		}
		if points < rule.PointsAtLeast {
			return nil
		}
	}
	if len(basis) == 0 {
		return nil
	}
	return basis
}

// onList returns the entry events of the listings of list still in force
// among events: entered, and not removed (a removal names its entry's
// source).
func onList(events []Event, list string) []Event {
	removed := map[string]bool{}
	for _, e := range events {
		if e.Type == ListRemoval && e.List == list {
			removed[e.Source] = true
		}
	}
	var out []Event
	for _, e := range events {
		if e.Type == ListEntry && e.List == list && !removed[e.Source] {
			out = append(out, e)
		}
	}
	return out
}
