package demo

import (
	"context"
	"fmt"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/admins"
	"github.com/holdfast/holdfast/directory"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/legalhold"
)

// loadProfiles edits the Default profile (which Bootstrap made) and
// creates the others; it returns profile ids by name.
func (l *loader) loadProfiles(ctx context.Context, profiles []profile) (map[string]string, error) {
	def, err := l.dir.DefaultProfile(ctx, l.platform.AccountID)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, dp := range profiles {
		in := directory.ProfileInput{Name: &dp.Name, Workloads: &dp.Workloads, BlockAdminAccess: &dp.BlockAdminAccess,
			Retention: &holdfast.Retention{KeepLast: dp.Retention.KeepLast, KeepDaily: dp.Retention.KeepDaily,
				KeepWeekly: dp.Retention.KeepWeekly, KeepMonthly: dp.Retention.KeepMonthly, KeepWithinDays: dp.Retention.KeepWithinDays}}
		if dp.Description != "" {
			in.Description = &dp.Description
		}
		var p holdfast.Profile
		if dp.Name == def.Name {
			p, err = l.dir.UpdateProfile(ctx, l.platform, def.ID, in)
		} else {
			p, err = l.dir.CreateProfile(ctx, l.platform, in)
			l.profiles++
		}
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", dp.Name, err)
		}
		out[p.Name] = p.ID
	}
	return out, nil
}

// loadUsers creates every user of every profile with one data source per
// SaaS workload of the profile and an endpoint for its other workloads,
// some users two. It returns users by name.
func (l *loader) loadUsers(ctx context.Context, d *data, profiles map[string]string) (map[string]holdfast.User, error) {
	out := map[string]holdfast.User{}
	n := 0
	for _, dp := range d.Profiles {
		for _, name := range dp.Users {
			n++
			u, err := l.dir.CreateUser(ctx, l.platform, directory.NewUser{Email: Email(name), Name: name, ProfileID: profiles[dp.Name]})
			if err != nil {
				return nil, fmt.Errorf("user %s: %w", name, err)
			}
			l.users++
			out[name] = u
			endpoints := 1
			if n%d.SecondEndpointEvery == 0 || dp.SecondEndpointEvery > 0 && n%dp.SecondEndpointEvery == 0 {
				endpoints = 2
			}
			for _, w := range dp.Workloads {
				if err := l.loadDevices(ctx, d, u, w, n, endpoints); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// loadDevices creates user u's devices of workload w: its SaaS data
// source, or count endpoints, named after the n-th user.
func (l *loader) loadDevices(ctx context.Context, d *data, u holdfast.User, w string, n, count int) error {
	devices := []directory.NewDevice{{UserID: u.ID, Kind: holdfast.DeviceSaaS, Workload: w, Name: d.SaaSDevices[w]}}
	if devices[0].Name == "" {
		devices = devices[:0]
		for i := range count {
			e := d.Endpoints[(n+i*4)%len(d.Endpoints)]
			devices = append(devices, directory.NewDevice{UserID: u.ID, Kind: holdfast.DeviceEndpoint, Workload: w,
				Platform: e.Platform, Name: fmt.Sprintf("%s-%03d (%s)", e.Prefix, n*10+i, e.Model)})
		}
	}
	for _, in := range devices {
		if _, err := l.dir.CreateDevice(ctx, l.platform, in); err != nil {
			return fmt.Errorf("device %s of %s: %w", in.Name, u.Email, err)
		}
		l.devices++
	}
	return nil
}

// loadHoldTypes adds the custom legal hold types and returns every type's
// id by name.
func (l *loader) loadHoldTypes(ctx context.Context, names []string) (map[string]string, error) {
	for _, name := range names {
		if _, err := l.holds.CreateType(ctx, l.platform, name); err != nil {
			return nil, fmt.Errorf("legal hold type %s: %w", name, err)
		}
	}
	out := map[string]string{}
	page := holdfast.Page{Limit: holdfast.MaxPageSize}
	for {
		got, err := l.holds.ListTypes(ctx, l.platform, page)
		if err != nil {
			return nil, err
		}
		for _, t := range got.Items {
			out[t.Name] = t.ID
		}
		if got.Next == "" {
			return out, nil
		}
		page.Cursor = got.Next
	}
}

// loadRoles creates the custom roles and returns their ids by name.
func (l *loader) loadRoles(ctx context.Context, roles []role) (map[string]string, error) {
	out := map[string]string{}
	for _, r := range roles {
		v, err := l.adm.CreateRole(ctx, l.platform, admins.NewRole{Name: r.Name, Description: r.Description,
			ImportFrom: r.ImportFrom, Rights: r.Rights})
		if err != nil {
			return nil, fmt.Errorf("role %s: %w", r.Name, err)
		}
		out[r.Name] = v.ID
	}
	return out, nil
}

// names resolve the names demo.yaml uses to ids.
type names struct {
	profiles, types, roles map[string]string
}

// ids returns the id of every name of list in byName.
func ids(kind string, byName map[string]string, list []string) ([]string, error) {
	var out []string
	for _, name := range list {
		id, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("no %s %q", kind, name)
		}
		out = append(out, id)
	}
	return out, nil
}

func (n names) scopes(s scopes) (holdfast.Scopes, error) {
	out := holdfast.Scopes{AllProfiles: s.AllProfiles, AllWorkloads: s.AllWorkloads, Workloads: s.Workloads,
		AllLegalHoldTypes: s.AllLegalHoldTypes, Organizations: s.Organizations, AdminGroups: s.AdminGroups}
	var err error
	if out.Profiles, err = ids("profile", n.profiles, s.Profiles); err != nil {
		return out, err
	}
	out.LegalHoldTypes, err = ids("legal hold type", n.types, s.LegalHoldTypes)
	return out, err
}

// loadAdmins creates the administrators, each with password, and returns
// them by name. They share the password, so they share its hash too: one
// argon2id run instead of one per administrator.
func (l *loader) loadAdmins(ctx context.Context, list []admin, password holdfast.Secret, n names) (map[string]holdfast.Administrator, error) {
	hash, err := idp.HashPassword(password.Reveal())
	if err != nil {
		return nil, err
	}
	out := map[string]holdfast.Administrator{}
	for _, da := range list {
		scopes, err := n.scopes(da.Scopes)
		if err != nil {
			return nil, fmt.Errorf("administrator %s: %w", da.Name, err)
		}
		role := da.Role
		if id, ok := n.roles[role]; ok {
			role = id
		}
		a, err := l.adm.Create(ctx, l.platform, admins.NewAdmin{Name: da.Name, Email: Email(da.Name), Country: da.Country,
			TimeZone: da.TimeZone, Role: role, Scopes: scopes, PasswordHash: hash})
		if err != nil {
			return nil, fmt.Errorf("administrator %s: %w", da.Name, err)
		}
		l.admins++
		out[da.Name] = a
	}
	return out, nil
}

// loadHolds creates the legal holds, each by the administrator it names,
// with its custodians.
func (l *loader) loadHolds(ctx context.Context, holds []hold, types map[string]string,
	admins map[string]holdfast.Administrator, users map[string]holdfast.User) error {
	for _, h := range holds {
		by, ok := admins[h.CreatedBy]
		typeID, typeOK := types[h.Type]
		if !ok || !typeOK {
			return fmt.Errorf("legal hold %s: no administrator %q or type %q", h.Name, h.CreatedBy, h.Type)
		}
		in := legalhold.Input{Name: &h.Name, Description: &h.Description, TypeID: &typeID, DataAccess: &h.DataAccess}
		for _, name := range h.Custodians {
			in.Custodians = append(in.Custodians, users[name].Email)
		}
		_, rep, err := l.holds.Create(ctx, principal(by), in)
		if err == nil && (rep == nil || len(rep.Added) != len(h.Custodians)) {
			err = fmt.Errorf("custodians %v: %+v", h.Custodians, rep)
		}
		if err != nil {
			return fmt.Errorf("legal hold %s: %w", h.Name, err)
		}
	}
	return nil
}
