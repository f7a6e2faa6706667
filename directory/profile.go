package directory

import (
	"context"
	"fmt"
	"strings"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// ListProfiles returns one page of the profiles p may view
// (profiles.view), by name: the query runs inside p's profile scope, so
// the cursor and the total count only those. Without profiles.view the
// page is empty.
func (s *Service) ListProfiles(ctx context.Context, p holdfast.Principal, page holdfast.Page) (holdfast.Paged[holdfast.Profile], error) {
	empty := holdfast.Paged[holdfast.Profile]{Items: []holdfast.Profile{}}
	if err := page.Validate(); err != nil {
		return empty, err
	}
	if ok, err := s.visible(ctx, p, "profiles.view", profileEntity("")); !ok || err != nil {
		return empty, err
	}
	sc, err := s.scopeOf(ctx, p)
	if err != nil {
		return empty, err
	}
	return s.store.PageProfiles(ctx, p.AccountID, sc.profiles, page)
}

// GetProfile returns profile id (profiles.view).
func (s *Service) GetProfile(ctx context.Context, p holdfast.Principal, id string) (holdfast.Profile, error) {
	if err := s.decide(ctx, p, "profiles.view", profileEntity(id)); err != nil {
		return holdfast.Profile{}, err
	}
	return s.store.GetProfile(ctx, p.AccountID, id)
}

// ProfileInput is a profile to create, or a change of one; nil members
// stay as they are (a new profile needs a name).
type ProfileInput struct {
	Name                    *string
	Description             *string
	Workloads               *[]string
	BlockAdminAccess        *bool
	Retention               *holdfast.Retention
	AutoDeletePreservedDays *int
	MaxUsers                *int
	Backup                  *holdfast.BackupPolicy
}

// rights are the rights a change of the members of in present needs:
// privacy.manage for the data-privacy setting (so a Data Protection
// Officer changes it alone), backups.configure for the backup policy, and
// profiles.manage for every other setting. A change of nothing needs
// profiles.manage.
func (in ProfileInput) rights() []string {
	var out []string
	if in.Name != nil || in.Description != nil || in.Workloads != nil || in.Retention != nil ||
		in.AutoDeletePreservedDays != nil || in.MaxUsers != nil {
		out = append(out, "profiles.manage")
	}
	if in.Backup != nil {
		out = append(out, "backups.configure")
	}
	if in.BlockAdminAccess != nil {
		out = append(out, "privacy.manage")
	}
	if len(out) == 0 {
		out = append(out, "profiles.manage")
	}
	return out
}

// applyTo validates in and copies its present members into p.
func (in ProfileInput) applyTo(p *holdfast.Profile) error {
	var v holdfast.ValidationError
	if in.Name != nil {
		p.Name = holdfast.CheckName(&v, "name", *in.Name)
	}
	if in.Description != nil {
		p.Description = holdfast.CheckDescription(&v, "description", *in.Description)
	}
	if in.Workloads != nil {
		p.Workloads = []string{}
		for _, w := range *in.Workloads {
			if w = strings.TrimSpace(w); w == "" {
				v.Add("workloads", "a workload id must not be empty")
				continue
			}
			p.Workloads = append(p.Workloads, w)
		}
	}
	if in.BlockAdminAccess != nil {
		p.BlockAdminAccess = *in.BlockAdminAccess
	}
	if in.Retention != nil {
		rt := *in.Retention
		if rt.KeepLast < 0 || rt.KeepDaily < 0 || rt.KeepWeekly < 0 || rt.KeepMonthly < 0 || rt.KeepWithinDays < 0 {
			v.Add("retention", "counts must not be negative")
		}
		p.Retention = rt
	}
	if in.AutoDeletePreservedDays != nil {
		d := *in.AutoDeletePreservedDays
		if d != 0 && (d < 30 || d > 366) {
			v.Add("auto_delete_preserved_days", "must be 0 (off) or from 30 to 366")
		}
		p.AutoDeletePreservedDays = d
	}
	if in.MaxUsers != nil {
		if *in.MaxUsers < 0 {
			v.Add("max_users", "must be 0 (no bound) or more")
		}
		p.MaxUsers = *in.MaxUsers
	}
	if in.Backup != nil {
		p.Backup = checkBackupPolicy(&v, *in.Backup)
	}
	return v.Err()
}

// CreateProfile creates a profile (profiles.create_delete, and
// backups.configure with a backup policy, privacy.manage with the
// data-privacy setting); a taken name is ErrConflict.
func (s *Service) CreateProfile(ctx context.Context, p holdfast.Principal, in ProfileInput) (holdfast.Profile, error) {
	now := s.run.Now()
	pr := holdfast.Profile{AccountID: p.AccountID, Workloads: []string{}, CreatedAt: now, UpdatedAt: now}
	if in.Name == nil {
		in.Name = new(string) // reported as required
	}
	if err := in.applyTo(&pr); err != nil {
		return pr, err
	}
	c := change.Change{Action: "profile.create", ResourceType: holdfast.ResourceProfile,
		Checks: []change.Check{{Right: "profiles.create_delete", Resource: profileEntity("")}}}
	for _, right := range in.rights() {
		if right != "profiles.manage" {
			c.Checks = append(c.Checks, change.Check{Right: right, Resource: profileEntity("")})
		}
	}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := tx.CreateProfile(ctx, &pr); err != nil {
			return "", nil, fmt.Errorf("profile %q: %w", pr.Name, err)
		}
		return pr.ID, map[string]any{"name": pr.Name}, nil
	})
	return pr, err
}

// UpdateProfile applies in to profile id: profiles.manage, and
// backups.configure for the backup policy and privacy.manage for the
// data-privacy setting (each alone when only it changes). The Default
// profile keeps its name.
func (s *Service) UpdateProfile(ctx context.Context, p holdfast.Principal, id string, in ProfileInput) (holdfast.Profile, error) {
	if err := in.applyTo(&holdfast.Profile{}); err != nil {
		return holdfast.Profile{}, err
	}
	var out holdfast.Profile
	c := change.Change{Action: "profile.update", ResourceType: holdfast.ResourceProfile, ResourceID: id}
	for _, right := range in.rights() {
		c.Checks = append(c.Checks, change.Check{Right: right, Resource: profileEntity(id)})
	}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		pr, err := tx.GetProfile(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		before := pr
		if err := in.applyTo(&pr); err != nil {
			return "", nil, err
		}
		if pr.Default && pr.Name != before.Name {
			return "", nil, fmt.Errorf("%w: the Default profile cannot be renamed", holdfast.ErrConflict)
		}
		pr.UpdatedAt = s.run.Now()
		if err := tx.UpdateProfile(ctx, &pr); err != nil {
			return "", nil, fmt.Errorf("profile %s: %w", id, err)
		}
		out = pr
		return id, map[string]any{"from": before, "to": pr}, nil
	})
	return out, err
}

// DeleteProfile removes profile id (profiles.create_delete). The Default
// profile and a profile with users are conflicts.
func (s *Service) DeleteProfile(ctx context.Context, p holdfast.Principal, id string) error {
	c := change.Change{Action: "profile.delete", ResourceType: holdfast.ResourceProfile, ResourceID: id,
		Checks: []change.Check{{Right: "profiles.create_delete", Resource: profileEntity(id)}}}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		pr, err := tx.GetProfile(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		if pr.Default {
			return "", nil, fmt.Errorf("%w: the Default profile cannot be deleted", holdfast.ErrConflict)
		}
		n, err := tx.CountUsersInProfile(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		if n > 0 {
			return "", nil, fmt.Errorf("%w: profile %q still has %d user(s); move them to another profile first", holdfast.ErrConflict, pr.Name, n)
		}
		if err := tx.DeleteProfile(ctx, p.AccountID, id); err != nil {
			return "", nil, fmt.Errorf("profile %s: %w", id, err)
		}
		return id, map[string]any{"name": pr.Name}, nil
	})
	return err
}
