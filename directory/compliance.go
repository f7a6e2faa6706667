package directory

import (
	"context"
	"time"

	"github.com/holdfast/holdfast"
)

// MaxDashboardDays bounds the storage series of a dashboard.
const MaxDashboardDays = 366

// DefaultDashboardDays is the series' length when none is asked for.
const DefaultDashboardDays = 30

// Dashboard is the backup summary of the devices an administrator may
// see: how many are in each compliance state (holdfast.Compliance) at At,
// by profile and by workload, and the storage they held each day.
type Dashboard struct {
	At         time.Time                  `json:"at"`
	Devices    int                        `json:"devices"`
	Bytes      int64                      `json:"bytes"`
	States     map[string]int             `json:"states"`
	ByProfile  []DashboardGroup           `json:"by_profile"`
	ByWorkload []DashboardGroup           `json:"by_workload"`
	Counts     []holdfast.ComplianceCount `json:"counts"`
	Storage    []holdfast.UsagePoint      `json:"storage"`
}

// DashboardGroup is the devices of one profile or one workload.
type DashboardGroup struct {
	ID      string         `json:"id"`
	Devices int            `json:"devices"`
	Bytes   int64          `json:"bytes"`
	States  map[string]int `json:"states"`
}

// newStates is a count of zero for every state.
func newStates() map[string]int {
	m := make(map[string]int, len(holdfast.ComplianceStates))
	for _, s := range holdfast.ComplianceStates {
		m[s] = 0
	}
	return m
}

// Dashboard returns the summary of the devices p may see (users.view,
// inside p's profile and workload scope, as the device list) now, with a
// storage series of the last days days (1 to MaxDashboardDays; 0 is
// DefaultDashboardDays). Without users.view every count is zero.
func (s *Service) Dashboard(ctx context.Context, p holdfast.Principal, days int) (Dashboard, error) {
	now := s.run.Now()
	out := Dashboard{At: now, States: newStates(), ByProfile: []DashboardGroup{}, ByWorkload: []DashboardGroup{},
		Counts: []holdfast.ComplianceCount{}, Storage: []holdfast.UsagePoint{}}
	if days == 0 {
		days = DefaultDashboardDays
	}
	if days < 1 || days > MaxDashboardDays {
		return out, invalidField("days", "must be from 1 to %d", MaxDashboardDays)
	}
	f, ok, err := s.deviceScope(ctx, p)
	if !ok || err != nil {
		return out, err
	}
	counts, err := s.store.ComplianceSummary(ctx, p.AccountID, f, now)
	if err != nil {
		return out, err
	}
	series, err := s.store.StorageSeries(ctx, p.AccountID, f, now.AddDate(0, 0, 1-days), now)
	if err != nil {
		return out, err
	}
	out.Storage = series
	out.add(counts)
	return out, nil
}

// deviceScope is the filter of the devices p may see; false when p may
// see none.
func (s *Service) deviceScope(ctx context.Context, p holdfast.Principal) (holdfast.DeviceFilter, bool, error) {
	if ok, err := s.visible(ctx, p, "users.view", deviceEntity("", nil)); !ok || err != nil {
		return holdfast.DeviceFilter{}, false, err
	}
	sc, err := s.scopeOf(ctx, p)
	if err != nil {
		return holdfast.DeviceFilter{}, false, err
	}
	return holdfast.DeviceFilter{ProfileIDs: sc.profiles, Workloads: sc.workloads}, true, nil
}

// add sums counts into the dashboard's totals and groups.
func (d *Dashboard) add(counts []holdfast.ComplianceCount) {
	profiles, workloads := map[string]int{}, map[string]int{}
	group := func(list *[]DashboardGroup, index map[string]int, id string, c holdfast.ComplianceCount) {
		i, ok := index[id]
		if !ok {
			i = len(*list)
			index[id] = i
			*list = append(*list, DashboardGroup{ID: id, States: newStates()})
		}
		g := &(*list)[i]
		g.Devices += c.Devices
		g.Bytes += c.Bytes
		g.States[c.State] += c.Devices
	}
	for _, c := range counts {
		d.Devices += c.Devices
		d.Bytes += c.Bytes
		d.States[c.State] += c.Devices
		group(&d.ByProfile, profiles, c.ProfileID, c)
		group(&d.ByWorkload, workloads, c.Workload, c)
	}
	d.Counts = counts
}

// DeviceStatus is a device with its compliance state now.
type DeviceStatus struct {
	holdfast.Device
	Compliance string `json:"compliance"`
}

// GetDeviceStatus returns device id with its backup status and its
// compliance state now (users.view).
func (s *Service) GetDeviceStatus(ctx context.Context, p holdfast.Principal, id string) (DeviceStatus, error) {
	d, err := s.GetDevice(ctx, p, id)
	if err != nil {
		return DeviceStatus{}, err
	}
	u, err := s.store.GetUser(ctx, p.AccountID, d.UserID)
	if err != nil {
		return DeviceStatus{}, err
	}
	pr, err := s.store.GetProfile(ctx, p.AccountID, u.ProfileID)
	if err != nil {
		return DeviceStatus{}, err
	}
	return DeviceStatus{Device: d, Compliance: holdfast.Compliance(d, u.State, pr.Backup, s.run.Now())}, nil
}
