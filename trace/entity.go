package trace

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is what a market entity does in the supply chain. An entity may have
// several kinds.
type Kind string

// The kinds of market entity the registry knows.
const (
	KindManufacturer Kind = "manufacturer"
	KindFarm         Kind = "farm"
	KindLab          Kind = "lab"
	KindProcessor    Kind = "processor"
	KindDistributor  Kind = "distributor"
	KindRetailer     Kind = "retailer"
)

// Kinds lists every valid [Kind].
var Kinds = []Kind{KindManufacturer, KindFarm, KindLab, KindProcessor, KindDistributor, KindRetailer}

// Contact is how a regulator reaches an entity. It is private to the entity
// and to officials.
type Contact struct {
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
}

// Entity is a registered market entity: a manufacturer, farm, lab,
// processor, distributor or retailer, identified by its unified social
// credit code (USCC).
type Entity struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	USCC          string    `json:"uscc"`
	Kinds         []Kind    `json:"kinds"`
	Region        string    `json:"region"`
	Address       string    `json:"address"`
	GLN           string    `json:"gln,omitempty"`
	CompanyPrefix string    `json:"companyPrefix,omitempty"` // GS1 company prefix, when it has one
	Contact       Contact   `json:"contact"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// EntityView is an entity as a caller may see it: the contact appears only
// to officials and to the entity itself.
type EntityView struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	USCC          string    `json:"uscc"`
	Kinds         []Kind    `json:"kinds"`
	Region        string    `json:"region"`
	Address       string    `json:"address"`
	GLN           string    `json:"gln,omitempty"`
	CompanyPrefix string    `json:"companyPrefix,omitempty"`
	Contact       *Contact  `json:"contact,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// ViewFor returns e as p may see it.
func (e Entity) ViewFor(p Principal) EntityView {
	v := EntityView{ID: e.ID, Name: e.Name, USCC: e.USCC, Kinds: e.Kinds, Region: e.Region, Address: e.Address,
		GLN: e.GLN, CompanyPrefix: e.CompanyPrefix, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if p.IsOfficial() || p.IsEntity(e.ID) {
		c := e.Contact
		v.Contact = &c
	}
	return v
}

// HasKind reports whether e has kind k.
func (e Entity) HasKind(k Kind) bool { return slices.Contains(e.Kinds, k) }

// NewEntity is the input to [Registry.CreateEntity].
type NewEntity struct {
	Name          string  `json:"name"`
	USCC          string  `json:"uscc"`
	Kinds         []Kind  `json:"kinds"`
	Region        string  `json:"region"`
	Address       string  `json:"address"`
	GLN           string  `json:"gln"`
	CompanyPrefix string  `json:"companyPrefix"`
	Contact       Contact `json:"contact"`
}

// EntityPatch changes some fields of an entity; nil fields stay as they are.
// The contact may be changed by the entity itself; the registry fields
// only by a regulator (see [Registry.UpdateEntity]).
type EntityPatch struct {
	Contact *Contact `json:"contact"`

	Name          *string `json:"name"`
	Kinds         *[]Kind `json:"kinds"`
	Region        *string `json:"region"`
	Address       *string `json:"address"`
	GLN           *string `json:"gln"`
	CompanyPrefix *string `json:"companyPrefix"`
}

// touchesRegistry reports whether p changes fields only a regulator may change.
func (p EntityPatch) touchesRegistry() (field string, ok bool) {
	switch {
	case p.Name != nil:
		return "name", true
	case p.Kinds != nil:
		return "kinds", true
	case p.Region != nil:
		return "region", true
	case p.Address != nil:
		return "address", true
	case p.GLN != nil:
		return "gln", true
	case p.CompanyPrefix != nil:
		return "companyPrefix", true
	}
	return "", false
}

// EntityFilter narrows a list of entities. Empty fields match everything.
type EntityFilter struct {
	Kind   Kind   // entities having this kind
	Region string // exact region
	USCC   string // exact USCC
	GLN    string // exact GLN
	Name   string // case-insensitive substring of the name
	// CompanyPrefixes keeps entities whose GS1 company prefix is one of
	// these; empty means any.
	CompanyPrefixes []string
}

// CheckText validates a text field: present when required, valid UTF-8
// (refused, never repaired), and at most max characters.
func CheckText(field, s string, required bool, max int) error {
	return CheckTextAs(ErrInvalid, field, s, required, max)
}

// CheckTextAs is [CheckText] whose errors wrap kind, a higher domain's
// invalid sentinel.
func CheckTextAs(kind error, field, s string, required bool, max int) error {
	msg := ""
	switch {
	case !utf8.ValidString(s):
		msg = "must be valid UTF-8"
	case required && strings.TrimSpace(s) == "":
		msg = "is required"
	case utf8.RuneCountInString(s) > max:
		msg = fmt.Sprintf("must be at most %d characters", max)
	default:
		return nil
	}
	return &FieldError{Field: field, Msg: msg, Kind: kind}
}

func checkKinds(kinds []Kind) error {
	if len(kinds) == 0 {
		return Invalid("kinds", "at least one kind is required (one of %s)", kindList())
	}
	for i, k := range kinds {
		if !slices.Contains(Kinds, k) {
			return Invalid("kinds", "item %d: unknown kind %q (want one of %s)", i, k, kindList())
		}
		if slices.Index(kinds, k) != i {
			return Invalid("kinds", "kind %q is listed twice", k)
		}
	}
	return nil
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func checkContact(c Contact) error {
	if err := CheckText("contact.name", c.Name, false, 100); err != nil {
		return err
	}
	if err := CheckText("contact.phone", c.Phone, false, 40); err != nil {
		return err
	}
	if err := CheckText("contact.email", c.Email, false, 200); err != nil {
		return err
	}
	if c.Email != "" && (!strings.Contains(c.Email, "@") || strings.ContainsAny(c.Email, " \t\r\n")) {
		return Invalid("contact.email", "is not an email address")
	}
	return nil
}
