package directory_test

import (
	"errors"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/directory"
	bootstrap "github.com/holdfast/holdfast/setup"
	"github.com/holdfast/holdfast/storage/sqlite"
)

// TestProfileRightsByField, with the real engine and catalog: a Data
// Protection Officer changes a profile's data-privacy setting with
// privacy.manage alone, but not its name (profiles.manage) nor its backup
// policy (backups.configure); a Profile Administrator changes the name
// and the backup policy but not the privacy setting. Bad policy input is
// refused naming the field, and nothing changes.
func TestProfileRightsByField(t *testing.T) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	res, err := bootstrap.Bootstrap(ctx, s, bootstrap.BootstrapOptions{AdminEmail: "root@example.com", AdminPassword: "Correct horse battery 1"})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := authz.New(ctx, authz.Options{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	svc := directory.New(directory.Options{Runner: change.New(change.Options{Store: s, Authorizer: engine}), Roles: engine,
		Workloads: []directory.Workload{{ID: "endpoints"}}})
	acct := res.Account.ID
	admin := func(email, role string) holdfast.Principal {
		a := holdfast.Administrator{AccountID: acct, Name: email, Email: email, RoleID: role, State: holdfast.AdminActive,
			CreatedBy: res.Admin.ID, Scopes: holdfast.Scopes{AllProfiles: true, AllWorkloads: true}}
		if err := s.CreateAdmin(ctx, &a); err != nil {
			t.Fatal(err)
		}
		return holdfast.Principal{AccountID: acct, AdminID: a.ID}
	}
	dpo, profileAdmin := admin("dpo@example.com", "data_protection_officer"), admin("pa@example.com", "profile_admin")
	root := holdfast.Principal{AccountID: acct, AdminID: res.Admin.ID}
	name := "Engineering"
	pr, err := svc.CreateProfile(ctx, root, directory.ProfileInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	got, err := svc.UpdateProfile(ctx, dpo, pr.ID, directory.ProfileInput{BlockAdminAccess: &yes})
	if err != nil || !got.BlockAdminAccess {
		t.Fatalf("DPO sets the privacy setting: %+v %v", got, err)
	}
	other := "Other"
	policy := holdfast.BackupPolicy{Folders: []string{"Documents"}, QuotaBytes: 1 << 30}
	for what, in := range map[string]directory.ProfileInput{
		"DPO renames":              {Name: &other},
		"DPO sets a backup policy": {Backup: &policy},
		"DPO renames with privacy": {Name: &other, BlockAdminAccess: &yes},
	} {
		if _, err := svc.UpdateProfile(ctx, dpo, pr.ID, in); !errors.Is(err, holdfast.ErrDenied) {
			t.Errorf("%s: %v, want ErrDenied", what, err)
		}
	}
	no := false
	if _, err := svc.UpdateProfile(ctx, profileAdmin, pr.ID, directory.ProfileInput{BlockAdminAccess: &no}); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("profile administrator changes privacy: %v, want ErrDenied", err)
	}
	got, err = svc.UpdateProfile(ctx, profileAdmin, pr.ID, directory.ProfileInput{Name: &other, Backup: &policy})
	if err != nil || got.Name != other || got.Backup.QuotaBytes != 1<<30 || !got.BlockAdminAccess {
		t.Errorf("profile administrator renames and sets the policy: %+v %v", got, err)
	}
	bad := holdfast.BackupPolicy{Folders: []string{"relative/path"}, ExcludeTypes: []string{"a/b"}, GraceHours: -1}
	var v *holdfast.ValidationError
	if _, err := svc.UpdateProfile(ctx, profileAdmin, pr.ID, directory.ProfileInput{Backup: &bad}); !errors.As(err, &v) || len(v.Fields) != 3 ||
		v.Fields[0].Field != "backup.folders[0]" || v.Fields[1].Field != "backup.exclude_types[0]" || v.Fields[2].Field != "backup.grace_hours" {
		t.Errorf("bad policy: %v, want three fields named", err)
	}
	after, err := s.GetProfile(ctx, acct, pr.ID)
	if err != nil || after.Backup.QuotaBytes != 1<<30 || len(after.Backup.Folders) != 1 {
		t.Errorf("after a refused policy: %+v %v, want the last good one", after.Backup, err)
	}
}
