package directory_test

import (
	"errors"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/directory"
)

// TestDashboardWithoutHTTP: the dashboard counts a device by the rule of
// holdfast.Compliance, refuses a series longer than a year naming days,
// and is empty for a caller without users.view.
func TestDashboardWithoutHTTP(t *testing.T) {
	svc, s, p, u := setup(t, denyRights{})
	ctx := t.Context()
	d, err := svc.CreateDevice(ctx, p, directory.NewDevice{UserID: u.ID, Name: "Laptop", Kind: holdfast.DeviceEndpoint, Workload: "endpoints"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordBackup(ctx, p.AccountID, d.ID, holdfast.BackupRun{At: time.Now(), Result: holdfast.BackupSuccess, Committed: true, Bytes: 42}); err != nil {
		t.Fatal(err)
	}
	got, err := svc.Dashboard(ctx, p, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Devices != 1 || got.States[holdfast.Compliant] != 1 || got.Bytes != 42 || len(got.Storage) != 2 || got.Storage[1].Bytes != 42 {
		t.Errorf("dashboard = %+v", got)
	}
	st, err := svc.GetDeviceStatus(ctx, p, d.ID)
	if err != nil || st.Compliance != holdfast.Compliant || st.Backup.StoredBytes != 42 {
		t.Errorf("status = %+v %v", st, err)
	}
	var v *holdfast.ValidationError
	if _, err := svc.Dashboard(ctx, p, 367); !errors.As(err, &v) || v.Fields[0].Field != "days" {
		t.Errorf("367 days: %v, want a validation error naming days", err)
	}
	blind, _, _, _ := setup(t, denyRights{"users.view": true})
	got, err = blind.Dashboard(ctx, p, 0)
	if err != nil || got.Devices != 0 || len(got.Storage) != 0 {
		t.Errorf("without users.view: %+v %v, want nothing", got, err)
	}
}
