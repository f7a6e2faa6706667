package directory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/directory"
	"github.com/holdfast/holdfast/storage/sqlite"
)

// denyRights allows every right but those it names.
type denyRights map[string]bool

func (d denyRights) Decide(_ context.Context, req holdfast.DecisionRequest) (holdfast.Decision, error) {
	return holdfast.Decision{Allow: !d[req.Action.Name], ID: "dec"}, nil
}

type noRoles struct{}

func (noRoles) Role(context.Context, string, string) (holdfast.Role, error) {
	return holdfast.Role{ID: "r"}, nil
}

func setup(t *testing.T, deny denyRights) (*directory.Service, holdfast.MetaStore, holdfast.Principal, holdfast.User) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	acct := holdfast.Account{ID: "acct_1", Name: "A", Edition: holdfast.EditionEnterprise, Settings: holdfast.DefaultAccountSettings()}
	admin := holdfast.Administrator{AccountID: acct.ID, Name: "Ann", Email: "ann@example.com", RoleID: "r", State: holdfast.AdminActive}
	prof := holdfast.Profile{AccountID: acct.ID, Name: "Default", Default: true}
	for _, err := range []error{s.CreateAccount(ctx, &acct), s.CreateAdmin(ctx, &admin), s.CreateProfile(ctx, &prof)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	u := holdfast.User{AccountID: acct.ID, Email: "u@example.com", Name: "U", ProfileID: prof.ID, State: holdfast.UserActive}
	if err := s.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	svc := directory.New(directory.Options{Runner: change.New(change.Options{Store: s, Authorizer: deny}), Roles: noRoles{},
		Workloads: []directory.Workload{{ID: "endpoints"}}})
	return svc, s, holdfast.Principal{AccountID: acct.ID, AdminID: admin.ID}, u
}

func TestDeviceRulesWithoutHTTP(t *testing.T) {
	svc, s, p, u := setup(t, denyRights{})
	ctx := t.Context()
	d, err := svc.CreateDevice(ctx, p, directory.NewDevice{UserID: u.ID, Name: "Laptop", Kind: holdfast.DeviceEndpoint, Workload: "endpoints"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateDevice(ctx, p, directory.NewDevice{UserID: u.ID, Name: "Laptop", Kind: holdfast.DeviceEndpoint, Workload: "endpoints"}); !errors.Is(err, holdfast.ErrConflict) {
		t.Errorf("second device of one name: %v, want ErrConflict", err)
	}
	if _, err := svc.CreateDevice(ctx, p, directory.NewDevice{UserID: u.ID, Name: "Other", Kind: holdfast.DeviceEndpoint, Workload: "lotus_notes"}); !errors.Is(err, holdfast.ErrInvalid) {
		t.Errorf("unknown workload: %v, want ErrInvalid", err)
	}
	recs, err := s.ListAudit(ctx, p.AccountID, holdfast.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Action != "device.create" || recs[0].ResourceID != d.ID {
		t.Errorf("audit = %+v, want one device.create of %s", recs, d.ID)
	}
}

func TestDeniedChangesNothing(t *testing.T) {
	svc, s, p, u := setup(t, denyRights{"users.manage": true})
	ctx := t.Context()
	if _, err := svc.PreserveUser(ctx, p, u.ID); !errors.Is(err, holdfast.ErrDenied) {
		t.Fatalf("preserve without users.manage: %v, want ErrDenied", err)
	}
	got, err := s.GetUser(ctx, p.AccountID, u.ID)
	if err != nil || got.State != holdfast.UserActive {
		t.Errorf("after a refused preserve: %+v %v, want the user active", got, err)
	}
}
