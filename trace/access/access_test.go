package access_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"tracesvc/trace"
	"tracesvc/trace/access"
	"tracesvc/trace/sqlitedb"
	"tracesvc/trace/tracesql"
	"tracesvc/trace/uscc"
)

// fixture is an access service over the real embedded store, with two
// registered entities.
type fixture struct {
	keys     *access.Service
	registry *trace.Registry
	store    *tracesql.Store
	reg      trace.Principal // the bootstrap regulator
	a, b     trace.Entity
	n        int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{keys: access.NewService(st, nil), registry: trace.NewRegistry(st, nil), store: st}
	k, _, created, err := f.keys.Bootstrap(ctx, "")
	if err != nil || !created {
		t.Fatalf("bootstrap: %v %v", created, err)
	}
	f.reg = trace.Principal{KeyID: k.ID, Role: trace.RoleRegulator}
	f.a, _ = f.register(t)
	f.b, _ = f.register(t)
	return f
}

func (f *fixture) newEntity(t *testing.T) trace.NewEntity {
	t.Helper()
	f.n++
	first := fmt.Sprintf("91120116MA%07d", f.n)
	c, err := uscc.CheckChar(first)
	if err != nil {
		t.Fatal(err)
	}
	return trace.NewEntity{USCC: first + string(c), Name: fmt.Sprintf("Entity %d", f.n),
		Kinds: []trace.Kind{trace.KindManufacturer}, Region: "Tianjin", Address: "1 Road"}
}

func (f *fixture) register(t *testing.T) (trace.Entity, string) {
	t.Helper()
	e, _, secret, err := f.keys.RegisterEntity(context.Background(), f.reg, f.registry, f.newEntity(t))
	if err != nil {
		t.Fatal(err)
	}
	return e, secret
}

func as(e trace.Entity) trace.Principal {
	return trace.Principal{KeyID: "k-" + e.ID, Role: trace.RoleEntity, EntityID: e.ID}
}

func TestWhoIssuesKeys(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inspector := trace.Principal{KeyID: "i", Role: trace.RoleInspector}
	cases := []struct {
		name string
		p    trace.Principal
		in   access.NewKey
		want error
	}{
		{"regulator, any role", f.reg, access.NewKey{Role: trace.RoleInspector}, nil},
		{"regulator, an entity's key", f.reg, access.NewKey{Role: trace.RoleEntity, EntityID: f.a.ID}, nil},
		{"entity, its own", as(f.a), access.NewKey{Role: trace.RoleEntity}, nil},
		{"entity, another's", as(f.a), access.NewKey{Role: trace.RoleEntity, EntityID: f.b.ID}, trace.ErrForbidden},
		{"entity, a regulator key", as(f.a), access.NewKey{Role: trace.RoleRegulator}, trace.ErrForbidden},
		{"inspector", inspector, access.NewKey{Role: trace.RoleInspector}, trace.ErrForbidden},
		{"public", trace.Public, access.NewKey{Role: trace.RoleInspector}, trace.ErrUnauthorized},
		{"unknown entity", f.reg, access.NewKey{Role: trace.RoleEntity, EntityID: "nope"}, trace.ErrInvalid},
		{"bad role", f.reg, access.NewKey{Role: "admin"}, trace.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, secret, err := f.keys.Create(ctx, c.p, f.registry, c.in)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if c.want != nil {
				return
			}
			p, err := f.keys.Authenticate(ctx, secret)
			if err != nil || p.KeyID != k.ID || p.Role != k.Role {
				t.Fatalf("the new key authenticates as %+v, %v", p, err)
			}
			if c.p.Role == trace.RoleEntity && p.EntityID != c.p.EntityID {
				t.Fatalf("an entity's new key acts for %q", p.EntityID)
			}
		})
	}
}

func TestKeysAreScoped(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	kb, _, err := f.keys.Create(ctx, as(f.b), f.registry, access.NewKey{Role: trace.RoleEntity, Label: "second"})
	if err != nil {
		t.Fatal(err)
	}
	// Another entity's key does not exist for A, to read or to revoke.
	if _, err := f.keys.Key(ctx, as(f.a), kb.ID); !errors.Is(err, trace.ErrNotFound) {
		t.Fatalf("A reads B's key: %v", err)
	}
	if _, err := f.keys.Revoke(ctx, as(f.a), kb.ID); !errors.Is(err, trace.ErrNotFound) {
		t.Fatalf("A revokes B's key: %v", err)
	}
	// A's list holds only A's keys, whatever the filter asks.
	list, _, err := f.keys.Keys(ctx, as(f.a), access.KeyFilter{EntityID: f.b.ID}, trace.Page{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range list {
		if k.EntityID != f.a.ID {
			t.Fatalf("A's list holds %+v", k)
		}
	}
	if len(list) != 1 {
		t.Fatalf("A has %d keys, want its first one", len(list))
	}
	if _, _, err := f.keys.Keys(ctx, trace.Principal{Role: trace.RoleInspector}, access.KeyFilter{}, trace.Page{}); !errors.Is(err, trace.ErrForbidden) {
		t.Fatalf("an inspector lists keys: %v", err)
	}
	// B revokes its own key; it stops working at once.
	_, secret, err := f.keys.Create(ctx, as(f.b), f.registry, access.NewKey{Role: trace.RoleEntity})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.keys.Authenticate(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.keys.Revoke(ctx, as(f.b), p.KeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.keys.Authenticate(ctx, secret); !errors.Is(err, trace.ErrUnauthorized) {
		t.Fatalf("a revoked key: %v", err)
	}
	if _, err := f.keys.Authenticate(ctx, "tsk_not-a-key"); !errors.Is(err, trace.ErrUnauthorized) {
		t.Fatalf("an unknown key: %v", err)
	}
	if p, err := f.keys.Authenticate(ctx, ""); err != nil || p != trace.Public {
		t.Fatalf("no key: %+v, %v", p, err)
	}
}

func TestBootstrapOnce(t *testing.T) {
	f := newFixture(t)
	if _, _, created, err := f.keys.Bootstrap(context.Background(), "another-admin-key-0123456789abcdef"); err != nil || created {
		t.Fatalf("second bootstrap: created %v, %v", created, err)
	}
	if _, err := f.keys.Authenticate(context.Background(), "another-admin-key-0123456789abcdef"); !errors.Is(err, trace.ErrUnauthorized) {
		t.Fatalf("a second bootstrap key works: %v", err)
	}
}

// TestRegisterEntityIsOneOperation checks that an entity is registered
// with its first key or not at all.
func TestRegisterEntityIsOneOperation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	before, _, err := f.keys.Keys(ctx, f.reg, access.KeyFilter{}, trace.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	dup := f.newEntity(t)
	dup.USCC = f.a.USCC // the entity insert fails after the key is stored
	if _, _, _, err := f.keys.RegisterEntity(ctx, f.reg, f.registry, dup); !errors.Is(err, trace.ErrConflict) {
		t.Fatalf("duplicate USCC: %v", err)
	}
	after, _, err := f.keys.Keys(ctx, f.reg, access.KeyFilter{}, trace.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("a failed registration left a key behind: %d keys, was %d", len(after), len(before))
	}
	if _, _, _, err := f.keys.RegisterEntity(ctx, as(f.a), f.registry, f.newEntity(t)); !errors.Is(err, trace.ErrForbidden) {
		t.Fatalf("an entity registers entities: %v", err)
	}
}
