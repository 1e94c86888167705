package trace

import (
	"time"

	"tracesvc/trace/epcis"
)

// Origin is where a batch was grown, made or tested: the farm or lab.
type Origin struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address,omitempty"`
	Region  string `json:"region,omitempty"`
	GLN     string `json:"gln,omitempty"`
}

// Batch is a production lot of a product, keyed by (GTIN, lot).
type Batch struct {
	GTIN           string    `json:"gtin"`
	Lot            string    `json:"lot"`
	OwnerID        string    `json:"ownerId"`
	ProductionDate string    `json:"productionDate"`       // YYYY-MM-DD
	ExpiryDate     string    `json:"expiryDate,omitempty"` // YYYY-MM-DD, empty when none
	Quantity       float64   `json:"quantity"`
	Unit           string    `json:"unit"`
	Origin         Origin    `json:"origin"`
	CreatedAt      time.Time `json:"createdAt"`
}

// MaxQuantity is the largest quantity of a batch, the same bound as the
// quantities of events.
const MaxQuantity = epcis.MaxQuantity

// NewBatch is the input to [Registry.CreateBatch].
type NewBatch struct {
	Lot            string  `json:"lot"`
	ProductionDate string  `json:"productionDate"`
	ExpiryDate     string  `json:"expiryDate"`
	Quantity       float64 `json:"quantity"`
	Unit           string  `json:"unit"`
	Origin         Origin  `json:"origin"`
}

// ParseDate parses a calendar date in the API's YYYY-MM-DD form.
func ParseDate(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, Invalid(field, "is required (YYYY-MM-DD)")
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, Invalid(field, "must be a date as YYYY-MM-DD, got %q", s)
	}
	return t, nil
}

func checkBatch(in NewBatch) error {
	if err := checkLot(in.Lot); err != nil {
		return err
	}
	prod, err := ParseDate("productionDate", in.ProductionDate)
	if err != nil {
		return err
	}
	if in.ExpiryDate != "" {
		exp, err := ParseDate("expiryDate", in.ExpiryDate)
		if err != nil {
			return err
		}
		if exp.Before(prod) {
			return Invalid("expiryDate", "must not be before productionDate (%s)", in.ProductionDate)
		}
	}
	// The negated test also refuses NaN.
	if !(in.Quantity > 0 && in.Quantity <= MaxQuantity) {
		return Invalid("quantity", "must be a positive number up to %g", float64(MaxQuantity))
	}
	if err := CheckText("unit", in.Unit, true, 16); err != nil {
		return err
	}
	for _, f := range []struct{ field, v string }{
		{"origin.name", in.Origin.Name}, {"origin.address", in.Origin.Address}, {"origin.region", in.Origin.Region},
	} {
		if err := CheckText(f.field, f.v, false, 200); err != nil {
			return err
		}
	}
	return checkGLN("origin.gln", in.Origin.GLN)
}
