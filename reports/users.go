package reports

import (
	"context"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/directory"
)

// usersReport: every user p may see (directory's scoped list), by name,
// with their profile and how many devices p may see of theirs.
func usersReport() definition {
	return definition{
		Info: Info{ID: "users", Title: "Users", Filters: []string{"profile_id", "state", "search"},
			Columns: []Column{{"user_id", "User ID"}, {"email", "Email"}, {"name", "Name"}, {"profile", "Profile"},
				{"state", "State"}, {"devices", "Devices"}, {"created_at", "Created"}}},
		page: func(ctx context.Context, s *Service, p holdfast.Principal, q Query, pg holdfast.Page) (Result, error) {
			got, err := s.dir.ListUsers(ctx, p, directory.UserQuery{ProfileID: q["profile_id"], State: holdfast.UserState(q["state"]), Search: q["search"]}, pg)
			if change.IsDenied(err) {
				return Result{}, nil // without users.view: no user to report on
			}
			if err != nil {
				return Result{}, err
			}
			profiles, err := s.profileNames(ctx, p.AccountID)
			if err != nil {
				return Result{}, err
			}
			res := Result{Next: got.Next, Total: got.Total}
			for _, u := range got.Items {
				devices, err := s.dir.ListDevices(ctx, p, u.ID, holdfast.Page{Limit: 1})
				if err != nil {
					return Result{}, err
				}
				res.Rows = append(res.Rows, Row{"user_id": u.ID, "email": u.Email, "name": u.Name, "profile": profiles[u.ProfileID],
					"state": u.State, "devices": devices.Total, "created_at": u.CreatedAt})
			}
			return res, nil
		},
	}
}
