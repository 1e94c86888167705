package trace

import "context"

// Act is something an entity does that a higher domain may forbid.
type Act string

// The acts a [Gate] rules on.
const (
	ActRegisterProduct Act = "register_product"
	ActRegisterBatch   Act = "register_batch"
	ActIssueCodes      Act = "issue_codes"
)

// Gate rules on whether an entity may do act, about product when the act
// concerns one (nil otherwise). The standards domain requires a published
// declaration before batches of some categories are registered; the credit
// record bars seriously dishonest entities. Gates are implemented by those
// higher domains and wired in by cmd.
//
// Allow returns nil to allow the act. Otherwise it returns the error the
// caller should get, which wraps a sentinel the handlers map to a status
// (for example [ErrConflict] for a missing declaration).
type Gate interface {
	Allow(ctx context.Context, entityID string, act Act, product *Product) error
}

// gates is a list of [Gate]s that must all allow an act.
type gates []Gate

func (g gates) allow(ctx context.Context, entityID string, act Act, product *Product) error {
	for _, gate := range g {
		if err := gate.Allow(ctx, entityID, act, product); err != nil {
			return err
		}
	}
	return nil
}
