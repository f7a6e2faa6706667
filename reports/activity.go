package reports

import (
	"context"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// DefaultActivityDays is the backup activity report's range when the
// query names no since.
const DefaultActivityDays = 30

// maxActivityDays bounds the range of the activity chart.
const maxActivityDays = 366

// activityRange reads since and until (dates, YYYY-MM-DD, or RFC 3339
// times): until defaults to now, since to DefaultActivityDays before it.
func (s *Service) activityRange(q Query) (since, until time.Time, err error) {
	var v holdfast.ValidationError
	until = s.clock.Now().UTC()
	if q["until"] != "" {
		if until, err = parseTime(q["until"]); err != nil {
			v.Add("until", "must be a date (YYYY-MM-DD) or an RFC 3339 time")
		}
	}
	since = until.AddDate(0, 0, -DefaultActivityDays)
	if q["since"] != "" {
		if since, err = parseTime(q["since"]); err != nil {
			v.Add("since", "must be a date (YYYY-MM-DD) or an RFC 3339 time")
		}
	}
	if v.Err() == nil && (!since.Before(until) || until.Sub(since) > maxActivityDays*24*time.Hour) {
		v.Add("since", "must be before until, at most %d days", maxActivityDays)
	}
	return since, until, v.Err()
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// activityScope is the snapshot filter of the devices p may see in the
// range, and those devices by id.
func (s *Service) activityScope(ctx context.Context, p holdfast.Principal, q Query) (storage.SnapshotFilter, map[string]deviceView, error) {
	since, until, err := s.activityRange(q)
	if err != nil {
		return storage.SnapshotFilter{}, nil, err
	}
	devices := map[string]deviceView{}
	ids := []string{}
	err = s.eachDevice(ctx, p, q["user_id"], func(v deviceView) error {
		devices[v.ID] = v
		ids = append(ids, v.ID)
		return nil
	})
	return storage.SnapshotFilter{AccountID: p.AccountID, DeviceIDs: ids, Since: since, Until: until}, devices, err
}

// backupActivity: every backup (snapshot) of the devices p may see in the
// range, oldest first; the chart has backups and bytes by day.
func backupActivity() definition {
	return definition{
		Info: Info{ID: "backup_activity", Title: "Backup activity", Filters: []string{"user_id", "since", "until"},
			Columns: []Column{{"snapshot_id", "Snapshot"}, {"time", "Time"}, {"user_email", "User"}, {"device", "Device"},
				{"workload", "Workload"}, {"source", "Source"}, {"items", "Items"}, {"size", "Size (bytes)"}}},
		page: func(ctx context.Context, s *Service, p holdfast.Principal, q Query, pg holdfast.Page) (Result, error) {
			f, devices, err := s.activityScope(ctx, p, q)
			if err != nil || s.backups == nil {
				return Result{}, err
			}
			got, err := s.backups.PageSnapshots(ctx, f, pg)
			if err != nil {
				return Result{}, err
			}
			res := Result{Next: got.Next, Total: got.Total}
			for _, sn := range got.Items {
				d := devices[sn.DeviceID]
				res.Rows = append(res.Rows, Row{"snapshot_id": sn.ID, "time": sn.Time, "user_email": d.user.Email, "device": sn.Device,
					"workload": d.Workload, "source": sn.Source, "items": sn.ItemCount, "size": sn.Size})
			}
			return res, nil
		},
		chart: func(ctx context.Context, s *Service, p holdfast.Principal, q Query) (*Chart, error) {
			f, _, err := s.activityScope(ctx, p, q)
			if err != nil {
				return nil, err
			}
			var snaps []storage.Snapshot
			if s.backups != nil {
				if snaps, err = s.backups.Snapshots(ctx, f); err != nil {
					return nil, err
				}
			}
			count, bytes := map[string]int64{}, map[string]int64{}
			for _, sn := range snaps {
				count[day(sn.Time)]++
				bytes[day(sn.Time)] += sn.Size
			}
			backups, size := Series{Name: "backups"}, Series{Name: "bytes"}
			for d := f.Since.UTC().Truncate(24 * time.Hour); d.Before(f.Until); d = d.AddDate(0, 0, 1) {
				backups.Points = append(backups.Points, Point{X: day(d), Y: count[day(d)]})
				size.Points = append(size.Points, Point{X: day(d), Y: bytes[day(d)]})
			}
			return &Chart{Kind: "line", Series: []Series{backups, size}}, nil
		},
	}
}
