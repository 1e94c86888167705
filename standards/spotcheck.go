package standards

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"tracesvc/trace"
	"tracesvc/trace/gs1"
)

// The results of a spot check, per indicator and overall.
const (
	Conform    = "conform"
	Nonconform = "nonconform"
)

// Measurement is one value a lab measured, as an official records it.
// Limit is a mandatory national limit the value is held to, when the check
// names one (with the Standard it comes from); the value is also held to
// the product's declared indicator of the same name.
type Measurement struct {
	Indicator string  `json:"indicator"`
	Unit      string  `json:"unit"`
	Value     float64 `json:"value"`
	Limit     *Limit  `json:"limit,omitempty"`
	Standard  string  `json:"standard,omitempty"`
}

// Applied is one limit a measured value was held to, and the outcome.
type Applied struct {
	Limit
	// Basis is the standard the limit comes from: a declared enterprise
	// or group standard, or the national standard the check named.
	Basis    string `json:"basis"`
	Declared bool   `json:"declared"` // from the product's published declaration
	Result   string `json:"result"`
}

// IndicatorResult is the outcome for one measured indicator: nonconform
// when any limit it was held to is not met.
type IndicatorResult struct {
	Indicator string    `json:"indicator"`
	Unit      string    `json:"unit"`
	Value     float64   `json:"value"`
	Limits    []Applied `json:"limits"`
	Result    string    `json:"result"`
}

// SpotCheck is a lab's result for a sample of a product (and batch), held
// to the product's declared indicators and to national limits.
type SpotCheck struct {
	ID          string `json:"id"`
	EntityID    string `json:"entityId"` // the product's owner, whose result it is
	GTIN        string `json:"gtin"`
	ProductName string `json:"productName"`
	Lot         string `json:"lot,omitempty"`
	Lab         string `json:"lab"`
	SampleCode  string `json:"sampleCode"`
	SampledOn   string `json:"sampledOn"`  // YYYY-MM-DD
	ReportedOn  string `json:"reportedOn"` // YYYY-MM-DD: the date of the finding
	// Declarations are the published declarations whose indicators the
	// values were held to.
	Declarations []string          `json:"declarations,omitempty"`
	Results      []IndicatorResult `json:"results"`
	Result       string            `json:"result"`
	Note         string            `json:"note,omitempty"`
	RecordedBy   string            `json:"recordedBy"` // the official's key ID
	CreatedAt    time.Time         `json:"createdAt"`
}

// SpotCheckFilter narrows a list of spot checks. Empty fields match
// everything; From and To bound ReportedOn, both included.
type SpotCheckFilter struct {
	EntityID string
	GTIN     string
	Result   string
	From, To string // YYYY-MM-DD
}

// SpotCheckStore keeps spot checks. standards/standardssql and
// standards/standardsmongo implement it; standards/storetest holds them to
// it.
type SpotCheckStore interface {
	// CreateSpotCheck stores c; [ErrConflict] when its ID exists, or a
	// check of the same lab and sample code does (field "sampleCode").
	CreateSpotCheck(ctx context.Context, c SpotCheck) error
	// SpotCheck returns the check with id, or [ErrNotFound].
	SpotCheck(ctx context.Context, id string) (SpotCheck, error)
	// ListSpotChecks returns checks in ID order after p.After.
	ListSpotChecks(ctx context.Context, f SpotCheckFilter, p trace.Page) ([]SpotCheck, error)
}

// NewSpotCheck is what an official records.
type NewSpotCheck struct {
	GTIN         string        `json:"gtin"`
	Lot          string        `json:"lot"`
	Lab          string        `json:"lab"`
	SampleCode   string        `json:"sampleCode"`
	SampledOn    string        `json:"sampledOn"`
	ReportedOn   string        `json:"reportedOn"` // default today
	Measurements []Measurement `json:"measurements"`
	Note         string        `json:"note"`
}

// MaxMeasurements caps the values of one spot check.
const MaxMeasurements = 200

// SpotChecks records spot checks and answers who failed them.
type SpotChecks struct {
	store        SpotCheckStore
	register     trace.Register
	declarations *Declarations
	now          trace.Clock
	loc          *time.Location
}

// NewSpotChecks returns the spot-check service. Values are held to the
// product's declarations in declarations; dates are days in loc.
func NewSpotChecks(store SpotCheckStore, register trace.Register, declarations *Declarations, now trace.Clock, loc *time.Location) *SpotChecks {
	return &SpotChecks{store: store, register: register, declarations: declarations, now: now, loc: loc}
}

// day validates a YYYY-MM-DD date no later than today.
func (s *SpotChecks) day(field, v string) (time.Time, error) {
	d, err := time.ParseInLocation(time.DateOnly, v, s.loc)
	if err != nil {
		return time.Time{}, invalid(field, "must be a date YYYY-MM-DD, got %q", v)
	}
	if d.After(s.now.Now()) {
		return time.Time{}, invalid(field, "%s is in the future", v)
	}
	return d, nil
}

// Record holds each measured value to its limits and stores the check:
// for inspectors and regulators.
func (s *SpotChecks) Record(ctx context.Context, caller trace.Principal, in NewSpotCheck) (SpotCheck, error) {
	if err := caller.Require(trace.RoleInspector, trace.RoleRegulator); err != nil {
		return SpotCheck{}, err
	}
	g, err := gs1.ValidateGTIN(in.GTIN)
	if err != nil {
		return SpotCheck{}, invalid("gtin", "%v", err)
	}
	p, err := s.register.Product(ctx, g)
	if isNotFound(err) {
		return SpotCheck{}, invalid("gtin", "no product %s is registered", g)
	} else if err != nil {
		return SpotCheck{}, err
	}
	if in.Lot != "" {
		if _, err := s.register.Batch(ctx, g, in.Lot); isNotFound(err) {
			return SpotCheck{}, invalid("lot", "product %s has no batch %q registered", g, in.Lot)
		} else if err != nil {
			return SpotCheck{}, err
		}
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"lab", in.Lab, 200}, {"sampleCode", in.SampleCode, 64}} {
		if err := checkText(f.name, f.v, true, f.max); err != nil {
			return SpotCheck{}, err
		}
	}
	if err := checkText("note", in.Note, false, 4000); err != nil {
		return SpotCheck{}, err
	}
	sampled, err := s.day("sampledOn", in.SampledOn)
	if err != nil {
		return SpotCheck{}, err
	}
	now := s.now.Now()
	if in.ReportedOn == "" {
		in.ReportedOn = now.In(s.loc).Format(time.DateOnly)
	}
	reported, err := s.day("reportedOn", in.ReportedOn)
	if err != nil {
		return SpotCheck{}, err
	}
	if reported.Before(sampled) {
		return SpotCheck{}, invalid("reportedOn", "%s is before the sample was taken (%s)", in.ReportedOn, in.SampledOn)
	}
	decls, err := s.declarations.published(ctx, p.OwnerID, g, 20)
	if err != nil {
		return SpotCheck{}, fmt.Errorf("declarations of %s: %w", g, err)
	}
	results, err := s.hold(in.Measurements, decls)
	if err != nil {
		return SpotCheck{}, err
	}
	c := SpotCheck{ID: trace.NewID(now), EntityID: p.OwnerID, GTIN: g, ProductName: p.Name, Lot: in.Lot,
		Lab: strings.TrimSpace(in.Lab), SampleCode: strings.TrimSpace(in.SampleCode), SampledOn: in.SampledOn,
		ReportedOn: in.ReportedOn, Results: results, Result: Conform, Note: strings.TrimSpace(in.Note),
		RecordedBy: caller.KeyID, CreatedAt: now}
	for _, d := range decls {
		c.Declarations = append(c.Declarations, d.ID)
	}
	for _, r := range results {
		if r.Result == Nonconform {
			c.Result = Nonconform
		}
	}
	if err := s.store.CreateSpotCheck(ctx, c); err != nil {
		return SpotCheck{}, fmt.Errorf("record spot check: %w", err)
	}
	return c, nil
}

// hold holds each measurement to the national limit given with it and to
// the declared indicators of the same name.
func (s *SpotChecks) hold(ms []Measurement, decls []Declaration) ([]IndicatorResult, error) {
	if len(ms) == 0 {
		return nil, invalid("measurements", "record at least one measured value")
	}
	if len(ms) > MaxMeasurements {
		return nil, invalid("measurements", "at most %d values in one check", MaxMeasurements)
	}
	year := s.now.Now().In(s.loc).Year()
	var out []IndicatorResult
	for i, m := range ms {
		field := fmt.Sprintf("measurements[%d]", i)
		if err := checkText(field+".indicator", m.Indicator, true, 200); err != nil {
			return nil, err
		}
		if err := checkText(field+".unit", m.Unit, false, 50); err != nil {
			return nil, err
		}
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			return nil, invalid(field+".value", "must be a number")
		}
		name, unit := strings.TrimSpace(m.Indicator), strings.TrimSpace(m.Unit)
		if slices.ContainsFunc(out, func(r IndicatorResult) bool { return strings.EqualFold(r.Indicator, name) }) {
			return nil, invalid(field+".indicator", "%q is measured twice", name)
		}
		r := IndicatorResult{Indicator: name, Unit: unit, Value: m.Value, Result: Conform}
		if m.Limit != nil {
			if err := m.Limit.check(field + ".limit"); err != nil {
				return nil, err
			}
			basis, err := nationalNumber(m.Standard, year)
			if err != nil {
				return nil, invalid(field+".standard", "name the national standard the limit comes from: %v", err)
			}
			r.Limits = append(r.Limits, Applied{Limit: *m.Limit, Basis: basis})
		} else if m.Standard != "" {
			return nil, invalid(field+".limit", "give the limit of %s the value is held to", m.Standard)
		}
		for _, d := range decls {
			for _, st := range d.Standards {
				for _, ind := range st.Indicators {
					if !strings.EqualFold(ind.Name, name) {
						continue
					}
					if ind.Unit != "" && unit != "" && ind.Unit != unit {
						return nil, invalid(field+".unit", "%s is declared in %s (%s), not %s", name, ind.Unit, st.Number, unit)
					}
					if r.Unit == "" {
						r.Unit = ind.Unit
					}
					r.Limits = append(r.Limits, Applied{Limit: ind.Limit, Basis: st.Number, Declared: true})
				}
			}
		}
		if len(r.Limits) == 0 {
			return nil, invalid(field+".limit", "%s is not among the product's declared indicators: give the national limit it is held to (limit and standard)", name)
		}
		for j := range r.Limits {
			r.Limits[j].Result = Conform
			if !r.Limits[j].Allows(m.Value) {
				r.Limits[j].Result, r.Result = Nonconform, Nonconform
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// Get returns the spot check with id to officials and to the entity
// whose product was checked.
func (s *SpotChecks) Get(ctx context.Context, caller trace.Principal, id string) (SpotCheck, error) {
	if err := caller.Require(trace.RoleInspector, trace.RoleRegulator, trace.RoleEntity); err != nil {
		return SpotCheck{}, err
	}
	c, err := s.store.SpotCheck(ctx, id)
	if err != nil {
		return SpotCheck{}, fmt.Errorf("spot check %s: %w", id, err)
	}
	if !caller.IsOfficial() && !caller.IsEntity(c.EntityID) {
		return SpotCheck{}, fmt.Errorf("spot check %s is of another entity's product: %w", id, trace.ErrForbidden)
	}
	return c, nil
}

// List returns one page of spot checks: any to officials, an entity's own
// to the entity.
func (s *SpotChecks) List(ctx context.Context, caller trace.Principal, f SpotCheckFilter, p trace.Page) ([]SpotCheck, string, error) {
	if err := caller.Require(trace.RoleInspector, trace.RoleRegulator, trace.RoleEntity); err != nil {
		return nil, "", err
	}
	p, err := p.Normalize()
	if err != nil {
		return nil, "", err
	}
	if scope := caller.Scope(); scope != "" {
		if f.EntityID != "" && f.EntityID != scope {
			return nil, "", &trace.FieldError{Field: "entity", Kind: trace.ErrForbidden, Msg: "an entity sees the spot checks of its own products"}
		}
		f.EntityID = scope
	}
	if f.GTIN != "" {
		if f.GTIN, err = gs1.ValidateGTIN(f.GTIN); err != nil {
			return nil, "", invalid("gtin", "%v", err)
		}
	}
	if f.Result != "" && f.Result != Conform && f.Result != Nonconform {
		return nil, "", invalid("result", "must be conform or nonconform")
	}
	for _, d := range []struct{ field, v string }{{"from", f.From}, {"to", f.To}} {
		if _, err := time.Parse(time.DateOnly, d.v); d.v != "" && err != nil {
			return nil, "", invalid(d.field, "must be a date YYYY-MM-DD, got %q", d.v)
		}
	}
	list, err := s.store.ListSpotChecks(ctx, f, trace.Page{Limit: p.Limit + 1, After: p.After})
	if err != nil {
		return nil, "", fmt.Errorf("list spot checks: %w", err)
	}
	return trace.PageOf(list, p.Limit, func(c SpotCheck) string { return c.ID })
}

// Nonconforming returns every non-conform spot check of the entity
// reported between from and to (YYYY-MM-DD, both included): the facts the
// credit record reads.
func (s *SpotChecks) Nonconforming(ctx context.Context, entityID, from, to string) ([]SpotCheck, error) {
	f := SpotCheckFilter{EntityID: entityID, Result: Nonconform, From: from, To: to}
	out, err := trace.All(func(p trace.Page) ([]SpotCheck, error) { return s.store.ListSpotChecks(ctx, f, p) },
		func(c SpotCheck) string { return c.ID })
	if err != nil {
		return nil, fmt.Errorf("non-conform spot checks of %s: %w", entityID, err)
	}
	return out, nil
}
