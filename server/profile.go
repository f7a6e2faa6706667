package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
)

// profileList is the body of GET /api/v1/profiles.
type profileList struct {
	Profiles []holdfast.Profile `json:"profiles"`
}

// listProfiles serves GET /api/v1/profiles: the profiles the engine lets
// the caller view (profiles.view on each).
func (s *Server) listProfiles(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	all, err := s.store.ListProfiles(ctx, principal(ctx).AccountID)
	if err != nil {
		return err
	}
	out := profileList{Profiles: []holdfast.Profile{}}
	for _, p := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		ok, err := s.allowed(ctx, check{right: "profiles.view", resource: profileEntity(p.ID)})
		if err != nil {
			return err
		}
		if ok {
			out.Profiles = append(out.Profiles, p)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// getProfile serves GET /api/v1/profiles/{id} (profiles.view).
func (s *Server) getProfile(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	if _, err := s.decide(ctx, check{right: "profiles.view", resource: profileEntity(id)}); err != nil {
		return err
	}
	p, err := s.store.GetProfile(ctx, principal(ctx).AccountID, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// profileInput is the body of POST and PATCH /api/v1/profiles; PATCH
// leaves absent members as they are.
type profileInput struct {
	Name                    *string             `json:"name"`
	Description             *string             `json:"description"`
	Workloads               *[]string           `json:"workloads"`
	BlockAdminAccess        *bool               `json:"block_admin_access"`
	Retention               *holdfast.Retention `json:"retention"`
	AutoDeletePreservedDays *int                `json:"auto_delete_preserved_days"`
}

// applyTo validates in and copies its present members into p.
func (in profileInput) applyTo(p *holdfast.Profile) error {
	var v holdfast.ValidationError
	if in.Name != nil {
		p.Name = checkName(&v, "name", *in.Name)
	}
	if in.Description != nil {
		p.Description = checkDescription(&v, "description", *in.Description)
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
	return v.Err()
}

// createProfile serves POST /api/v1/profiles (profiles.create_delete).
func (s *Server) createProfile(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in profileInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	p := holdfast.Profile{AccountID: principal(ctx).AccountID, Workloads: []string{}, CreatedAt: now, UpdatedAt: now}
	if in.Name == nil {
		in.Name = new(string) // reported as required
	}
	if err := in.applyTo(&p); err != nil {
		return err
	}
	c := change{action: "profile.create", resourceType: holdfast.ResourceProfile,
		checks: []check{{right: "profiles.create_delete", resource: profileEntity("")}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := tx.CreateProfile(ctx, &p); err != nil {
			return "", nil, fmt.Errorf("profile %q: %w", p.Name, err)
		}
		return p.ID, map[string]any{"name": p.Name}, nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, p)
}

// updateProfile serves PATCH /api/v1/profiles/{id} (profiles.manage). The
// Default profile keeps its name.
func (s *Server) updateProfile(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	var in profileInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := in.applyTo(&holdfast.Profile{}); err != nil {
		return err
	}
	var out holdfast.Profile
	c := change{action: "profile.update", resourceType: holdfast.ResourceProfile, resourceID: id,
		checks: []check{{right: "profiles.manage", resource: profileEntity(id)}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		p, err := tx.GetProfile(ctx, principal(ctx).AccountID, id)
		if err != nil {
			return "", nil, err
		}
		before := p
		if err := in.applyTo(&p); err != nil {
			return "", nil, err
		}
		if p.Default && p.Name != before.Name {
			return "", nil, fmt.Errorf("%w: the Default profile cannot be renamed", holdfast.ErrConflict)
		}
		p.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
		if err := tx.UpdateProfile(ctx, &p); err != nil {
			return "", nil, fmt.Errorf("profile %s: %w", id, err)
		}
		out = p
		return id, map[string]any{"from": before, "to": p}, nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// deleteProfile serves DELETE /api/v1/profiles/{id}
// (profiles.create_delete). The Default profile and a profile with users
// are conflicts.
func (s *Server) deleteProfile(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	acct := principal(ctx).AccountID
	c := change{action: "profile.delete", resourceType: holdfast.ResourceProfile, resourceID: id,
		checks: []check{{right: "profiles.create_delete", resource: profileEntity(id)}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		p, err := tx.GetProfile(ctx, acct, id)
		if err != nil {
			return "", nil, err
		}
		if p.Default {
			return "", nil, fmt.Errorf("%w: the Default profile cannot be deleted", holdfast.ErrConflict)
		}
		n, err := tx.CountUsersInProfile(ctx, acct, id)
		if err != nil {
			return "", nil, err
		}
		if n > 0 {
			return "", nil, fmt.Errorf("%w: profile %q still has %d user(s); move them to another profile first", holdfast.ErrConflict, p.Name, n)
		}
		if err := tx.DeleteProfile(ctx, acct, id); err != nil {
			return "", nil, fmt.Errorf("profile %s: %w", id, err)
		}
		return id, map[string]any{"name": p.Name}, nil
	})
	if err != nil {
		return err
	}
	return noContent(w)
}

// profileEntity is a profile as a decision resource.
func profileEntity(id string) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceProfile, ID: id}
}
