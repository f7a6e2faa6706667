package reports

import (
	"context"
	"strconv"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/directory"
	"github.com/holdfast/holdfast/storage"
)

// deviceColumns are the columns of the device reports before their own.
var deviceColumns = []Column{{"device_id", "Device ID"}, {"device", "Device"}, {"user_email", "User"},
	{"profile", "Profile"}, {"workload", "Workload"}, {"state", "State"}}

var backupColumns = append(append([]Column{}, deviceColumns...), Column{"last_backup", "Last backup"},
	Column{"age_days", "Days since"}, Column{"last_size", "Last backup size (bytes)"}, Column{"last_items", "Items"},
	Column{"status", "Status"})

// Backup statuses of a device in the backup reports.
const (
	StatusBackedUp = "backed_up"
	StatusNever    = "never"
)

// deviceView is a device with what its rows show of its user and backups.
type deviceView struct {
	holdfast.Device
	user    holdfast.User
	profile string
	last    *storage.Snapshot // the newest snapshot, nil: never backed up
	used    int64             // the size of the newest snapshot of each source of the device
}

func (v deviceView) row(now time.Time) Row {
	r := Row{"device_id": v.ID, "device": v.Name, "user_email": v.user.Email, "profile": v.profile,
		"workload": v.Workload, "state": v.State, "kind": v.Kind, "platform": v.Platform, "created_at": v.CreatedAt}
	r["status"], r["last_backup"], r["age_days"], r["last_size"], r["last_items"] = StatusNever, nil, nil, nil, nil
	if v.last != nil {
		r["status"], r["last_backup"], r["last_size"], r["last_items"] = StatusBackedUp, v.last.Time, v.last.Size, v.last.ItemCount
		r["age_days"] = int(now.Sub(v.last.Time).Hours() / 24)
	}
	return r
}

// devicePage is one page of the devices p may see (directory's scoped
// list), with their users, profiles and newest snapshots.
func (s *Service) devicePage(ctx context.Context, p holdfast.Principal, userID string, pg holdfast.Page) ([]deviceView, holdfast.Paged[holdfast.Device], error) {
	got, err := s.dir.ListDevices(ctx, p, userID, pg)
	if change.IsDenied(err) {
		// Without users.view there is no device to report on: the
		// report is empty, as the others are without their list's right.
		return nil, holdfast.Paged[holdfast.Device]{}, nil
	}
	if err != nil {
		return nil, got, err
	}
	views, err := s.viewDevices(ctx, p.AccountID, got.Items)
	return views, got, err
}

func (s *Service) viewDevices(ctx context.Context, accountID string, devices []holdfast.Device) ([]deviceView, error) {
	profiles, err := s.profileNames(ctx, accountID)
	if err != nil {
		return nil, err
	}
	users := map[string]holdfast.User{}
	ids := make([]string, 0, len(devices))
	for _, d := range devices {
		ids = append(ids, d.ID)
		if _, ok := users[d.UserID]; !ok {
			u, err := s.store.GetUser(ctx, accountID, d.UserID)
			if err != nil {
				return nil, err
			}
			users[d.UserID] = u
		}
	}
	newest, used, err := s.newestSnapshots(ctx, accountID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]deviceView, 0, len(devices))
	for _, d := range devices {
		v := deviceView{Device: d, user: users[d.UserID], profile: profiles[users[d.UserID].ProfileID], used: used[d.ID]}
		if sn, ok := newest[d.ID]; ok {
			v.last = &sn
		}
		out = append(out, v)
	}
	return out, nil
}

// newestSnapshots returns each device's newest snapshot, and the size of
// the newest snapshot of each of its sources added up (what the device
// keeps backed up now).
func (s *Service) newestSnapshots(ctx context.Context, accountID string, deviceIDs []string) (map[string]storage.Snapshot, map[string]int64, error) {
	newest, used := map[string]storage.Snapshot{}, map[string]int64{}
	if s.backups == nil || len(deviceIDs) == 0 {
		return newest, used, nil
	}
	snaps, err := s.backups.Snapshots(ctx, storage.SnapshotFilter{AccountID: accountID, DeviceIDs: deviceIDs})
	if err != nil {
		return nil, nil, err
	}
	type key struct {
		device string
		source storage.Source
	}
	bySource := map[key]storage.Snapshot{}
	for _, sn := range snaps { // in (time, id) order: the last seen is the newest
		newest[sn.DeviceID] = sn
		bySource[key{sn.DeviceID, sn.Source}] = sn
	}
	for k, sn := range bySource {
		used[k.device] += sn.Size
	}
	return newest, used, nil
}

func (s *Service) profileNames(ctx context.Context, accountID string) (map[string]string, error) {
	profiles, err := s.store.ListProfiles(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(profiles))
	for _, pr := range profiles {
		out[pr.ID] = pr.Name
	}
	return out, nil
}

// eachDevice calls fn for every device p may see, a page at a time.
func (s *Service) eachDevice(ctx context.Context, p holdfast.Principal, userID string, fn func(deviceView) error) error {
	pg := holdfast.Page{Limit: holdfast.MaxPageSize}
	for {
		views, got, err := s.devicePage(ctx, p, userID, pg)
		if err != nil {
			return err
		}
		for _, v := range views {
			if err := fn(v); err != nil {
				return err
			}
		}
		if got.Next == "" {
			return nil
		}
		pg.Cursor = got.Next
	}
}

// lastBackup: every device p may see with its newest backup, by device
// name; the chart counts devices by the age of their newest backup.
func lastBackup() definition {
	return definition{
		Info: Info{ID: "last_backup", Title: "Last backup status", Columns: backupColumns, Filters: []string{"user_id"}},
		page: func(ctx context.Context, s *Service, p holdfast.Principal, q Query, pg holdfast.Page) (Result, error) {
			views, got, err := s.devicePage(ctx, p, q["user_id"], pg)
			if err != nil {
				return Result{}, err
			}
			now := s.clock.Now()
			res := Result{Next: got.Next, Total: got.Total}
			for _, v := range views {
				res.Rows = append(res.Rows, v.row(now))
			}
			return res, nil
		},
		chart: func(ctx context.Context, s *Service, p holdfast.Principal, q Query) (*Chart, error) {
			buckets := []string{"within 1 day", "1 to 3 days", "3 to 7 days", "over 7 days", StatusNever}
			counts := make([]int64, len(buckets))
			now := s.clock.Now()
			err := s.eachDevice(ctx, p, q["user_id"], func(v deviceView) error {
				counts[ageBucket(now, v.last)]++
				return nil
			})
			series := Series{Name: "devices"}
			for i, b := range buckets {
				series.Points = append(series.Points, Point{X: b, Y: counts[i]})
			}
			return &Chart{Kind: "bar", Series: []Series{series}}, err
		},
	}
}

func ageBucket(now time.Time, last *storage.Snapshot) int {
	if last == nil {
		return 4
	}
	switch age := now.Sub(last.Time); {
	case age <= 24*time.Hour:
		return 0
	case age <= 72*time.Hour:
		return 1
	case age <= 7*24*time.Hour:
		return 2
	}
	return 3
}

// DefaultNonCompliantDays is the backup window of the non-compliant
// report when the query names none.
const DefaultNonCompliantDays = 3

// nonCompliant: the devices p may see that are enabled and have not
// backed up within the window (days, default 3): never, or last longer
// ago. A page holds at most the page size; the total counts the whole
// scope.
func nonCompliant() definition {
	return definition{
		Info: Info{ID: "non_compliant", Title: "Non-compliant devices", Columns: backupColumns, Filters: []string{"user_id", "days"}},
		page: func(ctx context.Context, s *Service, p holdfast.Principal, q Query, pg holdfast.Page) (Result, error) {
			days, err := windowDays(q)
			if err != nil {
				return Result{}, err
			}
			now := s.clock.Now()
			late := func(v deviceView) bool {
				return v.State != directory.DeviceDecommissioned && v.State != directory.DeviceDisabled &&
					(v.last == nil || now.Sub(v.last.Time) > time.Duration(days)*24*time.Hour)
			}
			var res Result
			// Ask the device list for no more than the rows still missing,
			// so a page never exceeds its size and its cursor is the list's.
			for want, cur := pg.Size(), pg.Cursor; len(res.Rows) < want; {
				views, got, err := s.devicePage(ctx, p, q["user_id"], holdfast.Page{Cursor: cur, Limit: want - len(res.Rows)})
				if err != nil {
					return Result{}, err
				}
				for _, v := range views {
					if late(v) {
						res.Rows = append(res.Rows, v.row(now))
					}
				}
				if res.Next, cur = got.Next, got.Next; cur == "" {
					break
				}
			}
			err = s.eachDevice(ctx, p, q["user_id"], func(v deviceView) error {
				if late(v) {
					res.Total++
				}
				return nil
			})
			return res, err
		},
	}
}

func windowDays(q Query) (int, error) {
	if q["days"] == "" {
		return DefaultNonCompliantDays, nil
	}
	n, err := strconv.Atoi(q["days"])
	if err != nil || n < 1 || n > 365 {
		var v holdfast.ValidationError
		v.Add("days", "must be a whole number of days from 1 to 365")
		return 0, v.Err()
	}
	return n, nil
}

// devicesReport: every device p may see, by name.
func devicesReport() definition {
	return definition{
		Info: Info{ID: "devices", Title: "Devices", Filters: []string{"user_id"},
			Columns: append(append([]Column{}, deviceColumns...), Column{"kind", "Kind"}, Column{"platform", "Platform"}, Column{"created_at", "Created"})},
		page: func(ctx context.Context, s *Service, p holdfast.Principal, q Query, pg holdfast.Page) (Result, error) {
			views, got, err := s.devicePage(ctx, p, q["user_id"], pg)
			res := Result{Next: got.Next, Total: got.Total}
			for _, v := range views {
				res.Rows = append(res.Rows, v.row(s.clock.Now()))
			}
			return res, err
		},
	}
}

// storageUse: every device p may see with the size its newest backups
// keep (the newest snapshot of each source), by device name; the chart
// adds it up by workload.
func storageUse() definition {
	return definition{
		Info: Info{ID: "storage", Title: "Storage use", Filters: []string{"user_id"},
			Columns: append(append([]Column{}, deviceColumns...), Column{"used_bytes", "Backed-up size (bytes)"}, Column{"last_backup", "Last backup"})},
		page: func(ctx context.Context, s *Service, p holdfast.Principal, q Query, pg holdfast.Page) (Result, error) {
			views, got, err := s.devicePage(ctx, p, q["user_id"], pg)
			res := Result{Next: got.Next, Total: got.Total}
			for _, v := range views {
				r := v.row(s.clock.Now())
				r["used_bytes"] = v.used
				res.Rows = append(res.Rows, r)
			}
			return res, err
		},
		chart: func(ctx context.Context, s *Service, p holdfast.Principal, q Query) (*Chart, error) {
			byWorkload := map[string]int64{}
			var order []string
			err := s.eachDevice(ctx, p, q["user_id"], func(v deviceView) error {
				if _, ok := byWorkload[v.Workload]; !ok {
					order = append(order, v.Workload)
				}
				byWorkload[v.Workload] += v.used
				return nil
			})
			series := Series{Name: "bytes by workload"}
			for _, w := range order {
				series.Points = append(series.Points, Point{X: w, Y: byWorkload[w]})
			}
			return &Chart{Kind: "bar", Series: []Series{series}}, err
		},
	}
}
