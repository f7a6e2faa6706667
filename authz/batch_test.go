package authz_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
)

// countingStore counts the batch read and the single reads the prefetch
// replaces.
type countingStore struct {
	holdfast.MetaStore
	mu     sync.Mutex
	batch  int
	single map[string]int
}

func (s *countingStore) count(what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if what == "LoadAttributes" {
		s.batch++
		return
	}
	if s.single == nil {
		s.single = map[string]int{}
	}
	s.single[what]++
}

func (s *countingStore) reset() (batch int, single map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	batch, single = s.batch, s.single
	s.batch, s.single = 0, nil
	return batch, single
}

// counted counts a read of what, then makes it.
func counted[T any](s *countingStore, what string, read func() (T, error)) (T, error) {
	s.count(what)
	return read()
}

func (s *countingStore) LoadAttributes(ctx context.Context, accountID string, q holdfast.AttributeQuery) (holdfast.Attributes, error) {
	return counted(s, "LoadAttributes", func() (holdfast.Attributes, error) { return s.MetaStore.LoadAttributes(ctx, accountID, q) })
}

func (s *countingStore) GetAdmin(ctx context.Context, accountID, id string) (holdfast.Administrator, error) {
	return counted(s, "GetAdmin", func() (holdfast.Administrator, error) { return s.MetaStore.GetAdmin(ctx, accountID, id) })
}

func (s *countingStore) GetAdminByEmail(ctx context.Context, email string) (holdfast.Administrator, error) {
	return counted(s, "GetAdminByEmail", func() (holdfast.Administrator, error) { return s.MetaStore.GetAdminByEmail(ctx, email) })
}

func (s *countingStore) GetRole(ctx context.Context, accountID, id string) (holdfast.Role, error) {
	return counted(s, "GetRole", func() (holdfast.Role, error) { return s.MetaStore.GetRole(ctx, accountID, id) })
}

func (s *countingStore) GetUser(ctx context.Context, accountID, id string) (holdfast.User, error) {
	return counted(s, "GetUser", func() (holdfast.User, error) { return s.MetaStore.GetUser(ctx, accountID, id) })
}

func (s *countingStore) GetDevice(ctx context.Context, accountID, id string) (holdfast.Device, error) {
	return counted(s, "GetDevice", func() (holdfast.Device, error) { return s.MetaStore.GetDevice(ctx, accountID, id) })
}

func (s *countingStore) GetProfile(ctx context.Context, accountID, id string) (holdfast.Profile, error) {
	return counted(s, "GetProfile", func() (holdfast.Profile, error) { return s.MetaStore.GetProfile(ctx, accountID, id) })
}

func (s *countingStore) ListDevices(ctx context.Context, accountID, userID string) ([]holdfast.Device, error) {
	return counted(s, "ListDevices", func() ([]holdfast.Device, error) { return s.MetaStore.ListDevices(ctx, accountID, userID) })
}

func (s *countingStore) HoldsForUser(ctx context.Context, accountID, userID string) ([]holdfast.LegalHold, error) {
	return counted(s, "HoldsForUser", func() ([]holdfast.LegalHold, error) { return s.MetaStore.HoldsForUser(ctx, accountID, userID) })
}

// batchRequests asks every fixture administrator (by id, and one by
// email) about every user, device, profile and administrator of the
// fixture, a missing one of each included.
func batchRequests(fx *fixture) []holdfast.DecisionRequest {
	var resources []holdfast.Entity
	for _, id := range []string{userEng, userSales, userHeld, userPrivate, userPrivNo, userUntyped, "usr_missing"} {
		resources = append(resources, holdfast.Entity{Type: holdfast.ResourceUser, ID: id})
	}
	for _, id := range []string{devEngLap, devEngMail, devEngDrive, devSalesLap, devHeldLap, "dev_missing"} {
		resources = append(resources, holdfast.Entity{Type: holdfast.ResourceDevice, ID: id})
	}
	resources = append(resources,
		holdfast.Entity{Type: holdfast.ResourceProfile, ID: profSales},
		holdfast.Entity{Type: holdfast.ResourceProfile, ID: "prof_missing"},
		holdfast.Entity{Type: holdfast.ResourceAdministrator, ID: "adm_cloud_admin_2", Properties: map[string]any{"new_role": "help_desk_admin"}},
		holdfast.Entity{Type: holdfast.ResourceAdministrator, ID: "adm_missing"},
		holdfast.Entity{Type: holdfast.ResourceRole, ID: roleCustom},
		holdfast.Entity{Type: holdfast.ResourceUser, Properties: map[string]any{"profile_id": profEng}},
		holdfast.Entity{Type: holdfast.ResourceDevice, Properties: map[string]any{"user_id": userSales, "workload": "exchange_online"}},
	)
	actions := map[string]string{holdfast.ResourceUser: "users.view", holdfast.ResourceDevice: "restores.manage",
		holdfast.ResourceProfile: "profiles.manage", holdfast.ResourceAdministrator: "admins.edit", holdfast.ResourceRole: "roles.view"}
	var reqs []holdfast.DecisionRequest
	for i, a := range fixtureAdmins {
		subject := a.ID
		if i == 1 {
			subject = a.ID + "@" + string(fx.acct.Edition) + ".fixture.test"
		}
		for _, res := range resources {
			reqs = append(reqs, holdfast.DecisionRequest{AccountID: fx.acct.ID,
				Subject: holdfast.Entity{Type: holdfast.PrincipalAdmin, ID: subject}, Action: holdfast.Action{Name: actions[res.Type]}, Resource: res})
		}
	}
	return reqs
}

// TestDecideBatchReadsOnce: a batch of several hundred distinct questions
// reads its administrators, roles, users, devices, profiles, devices of
// users and holds of users with one LoadAttributes call and no single
// read of them, without any cache; with the attribute cache a second
// batch at the same revision reads nothing; and every answer equals the
// one Decide gives alone.
func TestDecideBatchReadsOnce(t *testing.T) {
	fx := newFixture(t, holdfast.EditionElite)
	ctx := context.Background()
	store := &countingStore{MetaStore: fx.store}
	cold, err := authz.New(ctx, authz.Options{Store: store, CacheBytes: -1, NoAttributeCache: true})
	if err != nil {
		t.Fatal(err)
	}
	reqs := batchRequests(fx)
	store.reset()
	got := cold.DecideBatch(ctx, reqs)
	if batch, single := store.reset(); batch != 1 || len(single) != 0 {
		t.Errorf("cold batch of %d: %d LoadAttributes calls and single reads %v, want 1 and none", len(reqs), batch, single)
	}
	allowed := 0
	for i, r := range got {
		want, err := fx.engine.Decide(ctx, reqs[i])
		if err != nil || r.Err != nil {
			t.Fatalf("%+v: batch %v, alone %v", reqs[i], r.Err, err)
		}
		d := r.Decision
		if d.Allow != want.Allow || !slices.Equal(d.Reasons, want.Reasons) || !slices.Equal(d.Rules, want.Rules) || d.Revision != want.Revision || d.ID == "" {
			t.Errorf("%+v: batch %+v, alone %+v", reqs[i], d, want)
		}
		if d.Allow {
			allowed++
		}
	}
	if allowed == 0 || allowed == len(reqs) {
		t.Errorf("%d of %d allowed: the batch does not tell allow from deny", allowed, len(reqs))
	}

	warm, err := authz.New(ctx, authz.Options{Store: store, CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	warm.DecideBatch(ctx, reqs)
	if batch, _ := store.reset(); batch != 1 {
		t.Errorf("first batch with the attribute cache: %d LoadAttributes calls, want 1", batch)
	}
	warm.DecideBatch(ctx, reqs)
	if batch, single := store.reset(); batch != 0 || len(single) != 0 {
		t.Errorf("second batch at the same revision: %d LoadAttributes calls and single reads %v, want none", batch, single)
	}
}

// TestRevocationWithBoundedCache: with a decision cache bounded in bytes,
// an administrator's access ends with the change that revokes it, in a
// batch and alone, on this engine and on a replica: the cache keys carry
// the data revision, so no cached allow answers after the write.
func TestRevocationWithBoundedCache(t *testing.T) {
	fx := newFixture(t, holdfast.EditionElite)
	ctx := context.Background()
	engines := []*authz.Engine{}
	for range 2 {
		e, err := authz.New(ctx, authz.Options{Store: fx.store, CacheBytes: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		engines = append(engines, e)
	}
	reqs := batchRequests(fx)
	for _, e := range engines {
		for range 2 { // the second batch is answered from the cache
			for _, r := range e.DecideBatch(ctx, reqs) {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
			}
		}
	}
	eng := holdfast.Entity{Type: holdfast.ResourceUser, ID: userEng}
	for _, e := range engines {
		if d := decide(t, e, fx.acct.ID, "adm_help_desk_admin", "users.view", eng); !d.Allow {
			t.Fatalf("help desk refused a user in its profile before the change: %+v", d)
		}
	}
	admin, err := fx.store.GetAdmin(ctx, fx.acct.ID, "adm_help_desk_admin")
	if err != nil {
		t.Fatal(err)
	}
	admin.State = holdfast.AdminDisabled
	if err := fx.store.UpdateAdmin(ctx, &admin); err != nil {
		t.Fatal(err)
	}
	for n, e := range engines {
		if d := decide(t, e, fx.acct.ID, "adm_help_desk_admin", "users.view", eng); d.Allow {
			t.Errorf("engine %d: a disabled administrator is still allowed: %+v", n, d)
		}
		for i, r := range e.DecideBatch(ctx, reqs) {
			if reqs[i].Subject.ID == "adm_help_desk_admin" && r.Decision.Allow {
				t.Errorf("engine %d: batch allows the disabled administrator: %+v", n, reqs[i])
			}
		}
	}
}
