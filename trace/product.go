package trace

import (
	"slices"
	"strings"
	"time"
)

// Category is the regulatory category of a product. It decides which rules
// apply to it (electronic supervision codes for drugs, recall regimes for
// children's products, and so on).
type Category string

// The product categories the registry knows.
const (
	CategoryFood             Category = "food"
	CategoryDrug             Category = "drug"
	CategoryMedicalDevice    Category = "medical_device"
	CategoryHealthFood       Category = "health_food"
	CategoryCosmetics        Category = "cosmetics"
	CategoryChildren         Category = "children"
	CategoryToy              Category = "toy"
	CategoryElectronics      Category = "electronics"
	CategoryVehicle          Category = "vehicle"
	CategorySpecialEquipment Category = "special_equipment"
	CategoryOther            Category = "other"
)

// Categories lists every valid [Category].
var Categories = []Category{
	CategoryFood, CategoryDrug, CategoryMedicalDevice, CategoryHealthFood, CategoryCosmetics,
	CategoryChildren, CategoryToy, CategoryElectronics, CategoryVehicle, CategorySpecialEquipment,
	CategoryOther,
}

// Product is a trade item identified by its GTIN, always held as 14 digits.
type Product struct {
	GTIN        string    `json:"gtin"`
	OwnerID     string    `json:"ownerId"`
	Name        string    `json:"name"`
	Brand       string    `json:"brand,omitempty"`
	Model       string    `json:"model,omitempty"`
	Category    Category  `json:"category"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// NewProduct is the input to [Registry.CreateProduct].
type NewProduct struct {
	GTIN string `json:"gtin"`
	// OwnerID is the owning entity, given only when a regulator registers
	// the product for it.
	OwnerID     string   `json:"ownerId,omitempty"`
	Name        string   `json:"name"`
	Brand       string   `json:"brand"`
	Model       string   `json:"model"`
	Category    Category `json:"category"`
	Description string   `json:"description"`
}

// ProductPatch changes some fields of a product; nil fields stay as they are.
// The GTIN and owner never change.
type ProductPatch struct {
	Name        *string   `json:"name"`
	Brand       *string   `json:"brand"`
	Model       *string   `json:"model"`
	Category    *Category `json:"category"`
	Description *string   `json:"description"`
}

// ProductFilter narrows a list of products. Empty fields match everything.
type ProductFilter struct {
	OwnerID  string
	Category Category
}

func checkCategory(c Category) error {
	if c == "" {
		return Invalid("category", "is required")
	}
	if !slices.Contains(Categories, c) {
		s := make([]string, len(Categories))
		for i, c := range Categories {
			s[i] = string(c)
		}
		return Invalid("category", "unknown category %q (want one of %s)", c, strings.Join(s, ", "))
	}
	return nil
}

func checkProductText(name, brand, model, description *string) error {
	for _, f := range []struct {
		field    string
		v        *string
		required bool
		max      int
	}{
		{"name", name, true, 200},
		{"brand", brand, false, 100},
		{"model", model, false, 100},
		{"description", description, false, 4000},
	} {
		if f.v == nil {
			continue
		}
		if err := CheckText(f.field, *f.v, f.required, f.max); err != nil {
			return err
		}
	}
	return nil
}
