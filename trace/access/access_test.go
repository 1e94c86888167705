package access_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
	now      time.Time // the services' clock; tests may move it
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
	f := &fixture{registry: trace.NewRegistry(st, trace.RegistryConfig{GTINsWithoutPrefix: true}), store: st, now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	f.keys = access.NewService(st, func() time.Time { return f.now })
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

// TestWhoSeesKeys checks reading, listing and revoking by role: the
// regulator sees every key, an entity its own, nobody else any.
func TestWhoSeesKeys(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ka, _, err := f.keys.Create(ctx, as(f.a), f.registry, access.NewKey{Role: trace.RoleEntity, EntityID: f.a.ID, Label: " rotated "})
	if err != nil {
		t.Fatal(err)
	}
	if ka.EntityID != f.a.ID || ka.Label != "rotated" || ka.CreatedBy != as(f.a).String() {
		t.Fatalf("A's new key: %+v", ka)
	}
	for _, p := range []trace.Principal{f.reg, as(f.a)} {
		if k, err := f.keys.Key(ctx, p, ka.ID); err != nil || k.ID != ka.ID {
			t.Fatalf("%s reads A's key: %+v, %v", p, k, err)
		}
	}
	// The regulator's own key is not an entity's business either.
	if _, err := f.keys.Key(ctx, as(f.a), access.BootstrapKeyID); !errors.Is(err, trace.ErrNotFound) {
		t.Fatalf("A reads the bootstrap key: %v", err)
	}
	if _, err := f.keys.Revoke(ctx, as(f.a), access.BootstrapKeyID); !errors.Is(err, trace.ErrNotFound) {
		t.Fatalf("A revokes the bootstrap key: %v", err)
	}
	if _, err := f.keys.Key(ctx, f.reg, "no-such-key"); !errors.Is(err, trace.ErrNotFound) {
		t.Fatalf("a missing key: %v", err)
	}
	inspector := trace.Principal{KeyID: "i", Role: trace.RoleInspector}
	for _, c := range []struct {
		p    trace.Principal
		want error
	}{{inspector, trace.ErrForbidden}, {trace.Public, trace.ErrUnauthorized}} {
		if _, err := f.keys.Key(ctx, c.p, ka.ID); !errors.Is(err, c.want) {
			t.Errorf("%s reads a key: %v, want %v", c.p, err, c.want)
		}
		if _, _, err := f.keys.Keys(ctx, c.p, access.KeyFilter{}, trace.Page{}); !errors.Is(err, c.want) {
			t.Errorf("%s lists keys: %v, want %v", c.p, err, c.want)
		}
		if _, err := f.keys.Revoke(ctx, c.p, ka.ID); !errors.Is(err, c.want) {
			t.Errorf("%s revokes a key: %v, want %v", c.p, err, c.want)
		}
	}
	// Whatever the filter, an entity lists its own keys, and all of them.
	for _, kf := range []access.KeyFilter{{}, {Role: trace.RoleRegulator}, {EntityID: f.b.ID}, {Role: trace.RoleInspector, EntityID: f.b.ID}} {
		list, _, err := f.keys.Keys(ctx, as(f.a), kf, trace.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 {
			t.Fatalf("filter %+v: A lists %d keys, want its 2", kf, len(list))
		}
		for _, k := range list {
			if k.EntityID != f.a.ID {
				t.Fatalf("filter %+v: A's list holds %+v", kf, k)
			}
		}
	}
	// The regulator's filters do filter.
	list, _, err := f.keys.Keys(ctx, f.reg, access.KeyFilter{Role: trace.RoleRegulator}, trace.Page{Limit: 100})
	if err != nil || len(list) != 1 || list[0].ID != access.BootstrapKeyID {
		t.Fatalf("regulator keys: %+v, %v", list, err)
	}
	list, _, err = f.keys.Keys(ctx, f.reg, access.KeyFilter{EntityID: f.b.ID}, trace.Page{Limit: 100})
	if err != nil || len(list) != 1 || list[0].EntityID != f.b.ID {
		t.Fatalf("B's keys, as the regulator lists them: %+v, %v", list, err)
	}
}

// TestKeysPages checks that a key list pages through every key once.
func TestKeysPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for range 4 {
		if _, _, err := f.keys.Create(ctx, f.reg, f.registry, access.NewKey{Role: trace.RoleInspector}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	p := trace.Page{Limit: 2}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("the pages do not end")
		}
		list, next, err := f.keys.Keys(ctx, f.reg, access.KeyFilter{}, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range list {
			if seen[k.ID] {
				t.Fatalf("key %s listed twice", k.ID)
			}
			seen[k.ID] = true
		}
		if next == "" {
			break
		}
		p.After = next
	}
	if len(seen) != 7 { // bootstrap, A's, B's and 4 inspectors'
		t.Fatalf("paged through %d keys, want 7", len(seen))
	}
}

// TestRevokeTwice checks that revoking keeps the first revocation time,
// and that the regulator revokes an entity's key.
func TestRevokeTwice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k, secret, err := f.keys.Create(ctx, f.reg, f.registry, access.NewKey{Role: trace.RoleEntity, EntityID: f.a.ID})
	if err != nil {
		t.Fatal(err)
	}
	first := f.now.Add(time.Hour)
	f.now = first
	r, err := f.keys.Revoke(ctx, f.reg, k.ID)
	if err != nil || r.RevokedAt == nil || !r.RevokedAt.Equal(first) {
		t.Fatalf("revoke: %+v, %v", r, err)
	}
	f.now = first.Add(time.Hour)
	r, err = f.keys.Revoke(ctx, as(f.a), k.ID)
	if err != nil || r.RevokedAt == nil || !r.RevokedAt.Equal(first) {
		t.Fatalf("second revoke: %+v, %v", r, err)
	}
	if _, err := f.keys.Authenticate(ctx, secret); !errors.Is(err, trace.ErrUnauthorized) {
		t.Fatalf("a revoked key: %v", err)
	}
	if _, err := f.keys.Revoke(ctx, f.reg, "no-such-key"); !errors.Is(err, trace.ErrNotFound) {
		t.Fatalf("revoke a missing key: %v", err)
	}
}

// TestBootstrapAdminKey checks that a given admin key becomes the
// bootstrap regulator key, and that a second bootstrap changes nothing.
func TestBootstrapAdminKey(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitedb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := tracesql.New(ctx, db.W, db.R)
	if err != nil {
		t.Fatal(err)
	}
	keys := access.NewService(st, nil)
	const admin = "admin-key-0123456789abcdef0123456789"
	k, secret, created, err := keys.Bootstrap(ctx, admin)
	if err != nil || !created || secret != admin || k.ID != access.BootstrapKeyID || k.Role != trace.RoleRegulator {
		t.Fatalf("bootstrap: %+v %q %v %v", k, secret, created, err)
	}
	p, err := keys.Authenticate(ctx, admin)
	if err != nil || p != (trace.Principal{KeyID: access.BootstrapKeyID, Role: trace.RoleRegulator}) {
		t.Fatalf("the admin key authenticates as %+v, %v", p, err)
	}
	if _, _, created, err := keys.Bootstrap(ctx, ""); err != nil || created {
		t.Fatalf("second bootstrap: created %v, %v", created, err)
	}
	if _, err := keys.Authenticate(ctx, admin); err != nil {
		t.Fatalf("the admin key after a second bootstrap: %v", err)
	}
}

// TestRegisterEntity checks the success path: the entity is stored and
// its first key, shown once, acts for it.
func TestRegisterEntity(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	e, k, secret, err := f.keys.RegisterEntity(ctx, f.reg, f.registry, f.newEntity(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.registry.Entity(ctx, e.ID); err != nil || got.USCC != e.USCC {
		t.Fatalf("the registered entity: %+v, %v", got, err)
	}
	if k.Role != trace.RoleEntity || k.EntityID != e.ID || k.CreatedBy != f.reg.String() {
		t.Fatalf("its first key: %+v", k)
	}
	p, err := f.keys.Authenticate(ctx, secret)
	if err != nil || p != (trace.Principal{KeyID: k.ID, Role: trace.RoleEntity, EntityID: e.ID}) {
		t.Fatalf("its secret authenticates as %+v, %v", p, err)
	}
	// An invalid entity stores no key.
	bad := f.newEntity(t)
	bad.USCC = "not-a-uscc"
	if _, _, _, err := f.keys.RegisterEntity(ctx, f.reg, f.registry, bad); !errors.Is(err, trace.ErrInvalid) {
		t.Fatalf("an invalid USCC: %v", err)
	}
	if _, _, _, err := f.keys.RegisterEntity(ctx, trace.Public, f.registry, f.newEntity(t)); !errors.Is(err, trace.ErrUnauthorized) {
		t.Fatalf("the public registers entities: %v", err)
	}
	list, _, err := f.keys.Keys(ctx, f.reg, access.KeyFilter{Role: trace.RoleEntity}, trace.Page{Limit: 100})
	if err != nil || len(list) != 3 {
		t.Fatalf("entity keys: %d, %v; want A's, B's and the new entity's", len(list), err)
	}
}

// TestRegisterEntityLongName registers an entity whose name is as long as
// the registry allows (200 characters). Its first key's label is made
// from the name and cut to the 200 characters a label may have, so the
// valid entity is not refused over a label the caller never sent.
func TestRegisterEntityLongName(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := f.newEntity(t)
	in.Name = strings.Repeat("名", 200)
	if _, err := f.registry.ValidateEntity(f.reg, in); err != nil {
		t.Fatalf("the registry refuses a 200-character name: %v", err)
	}
	e, k, _, err := f.keys.RegisterEntity(ctx, f.reg, f.registry, in)
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != in.Name || k.EntityID != e.ID || utf8.RuneCountInString(k.Label) != 200 || !strings.HasPrefix(k.Label, "first key of 名") {
		t.Fatalf("registered %+v with key %+v", e, k)
	}
}

// TestCheckChosenSecret (issue 9, item 12): operator-chosen secrets must
// be long and random; generated-looking ones pass.
func TestCheckChosenSecret(t *testing.T) {
	for _, weak := range []string{
		"",
		"change-me-to-128-random-bits", // the old Kubernetes placeholder
		"change-me-to-128-random-bits-and-more-xx", // long, still a placeholder
		"reg-0123456789abcdef",                     // short
		strings.Repeat("a", 64),                    // no randomness
		strings.Repeat("ab12", 10),                 // a repetition
		"abcdefghijklmnopqrstuvwxyz0123456789",     // a run
		"my-secret-admin-key-for-production-2026",  // a placeholder word
	} {
		if err := access.CheckChosenSecret(weak); err == nil {
			t.Errorf("%q accepted", weak)
		}
	}
	for _, strong := range []string{
		"reg-3f9c1a7e5b2d48c6a0e1f7b93d5c2e18",             // reg-$(openssl rand -hex 16), as the README says
		"9b1f4e7a2c6d83f05e2a9c7b1d4f6e8a0c3b5d7f9e1a2c4b", // openssl rand -hex 24
		"q8Zt3Kp1Lw7Vx2Nm5Rb9Hc4Jd6Fs0Gy+/Ae=",             // base64
	} {
		if err := access.CheckChosenSecret(strong); err != nil {
			t.Errorf("%q refused: %v", strong, err)
		}
	}
}
