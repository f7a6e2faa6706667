package legalhold

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// typeViewRights are the rights any one of which lets an administrator
// list legal hold types.
var typeViewRights = []string{RightView, RightCreateManage, RightDelete, RightManageTypes}

// TypeEntity is a legal hold type as a decision resource.
func TypeEntity(id string) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceLegalHoldType, ID: id}
}

// ListTypes returns one page of the legal hold types p may see under any
// legal hold right or legal_hold_types.manage, by name: the query runs
// inside p's legal hold types, so the cursor and the total count only
// those. Without any of the rights it is the first refusal (the one about
// viewing legal holds).
func (s *Service) ListTypes(ctx context.Context, p holdfast.Principal, page holdfast.Page) (holdfast.Paged[holdfast.LegalHoldType], error) {
	empty := holdfast.Paged[holdfast.LegalHoldType]{Items: []holdfast.LegalHoldType{}}
	if err := page.Validate(); err != nil {
		return empty, err
	}
	rights, err := s.held(ctx, p, TypeEntity(""), typeViewRights)
	if err != nil {
		return empty, err
	}
	reach, err := s.typeReach(ctx, p, rights, TypeEntity)
	if err != nil {
		return empty, err
	}
	return s.store.PageHoldTypes(ctx, p.AccountID, reach, page)
}

// typeName checks and trims a type name.
func typeName(name string) (string, error) {
	var v holdfast.ValidationError
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		v.Add("name", "is required")
	case n > MaxNameLength:
		v.Add("name", "must be at most %d characters long", MaxNameLength)
	case strings.ContainsFunc(name, isControl):
		v.Add("name", "must not contain control characters")
	}
	return name, v.Err()
}

// CreateType makes a legal hold type (legal_hold_types.manage). Names are
// unique per account (ErrConflict).
func (s *Service) CreateType(ctx context.Context, p holdfast.Principal, name string) (holdfast.LegalHoldType, error) {
	name, err := typeName(name)
	if err != nil {
		return holdfast.LegalHoldType{}, err
	}
	now := s.changes.Now()
	t := holdfast.LegalHoldType{AccountID: p.AccountID, Name: name, CreatedAt: now, UpdatedAt: now}
	c := change.Change{Action: "legal_hold_type.create", ResourceType: holdfast.ResourceLegalHoldType,
		Checks: []change.Check{{Right: RightManageTypes, Resource: TypeEntity("")}}}
	_, err = s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := tx.CreateHoldType(ctx, &t); err != nil {
			return "", nil, fmt.Errorf("legal hold type %q: %w", t.Name, err)
		}
		return t.ID, map[string]any{"name": t.Name}, nil
	})
	return t, err
}

// RenameType renames a legal hold type (legal_hold_types.manage).
// Predefined types keep their names (ErrConflict).
func (s *Service) RenameType(ctx context.Context, p holdfast.Principal, id, name string) (holdfast.LegalHoldType, error) {
	name, err := typeName(name)
	if err != nil {
		return holdfast.LegalHoldType{}, err
	}
	var out holdfast.LegalHoldType
	c := change.Change{Action: "legal_hold_type.update", ResourceType: holdfast.ResourceLegalHoldType, ResourceID: id,
		Checks: []change.Check{{Right: RightManageTypes, Resource: TypeEntity(id)}}}
	_, err = s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		t, err := tx.GetHoldType(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		if t.Predefined && t.Name != name {
			return "", nil, fmt.Errorf("%w: the predefined legal hold type %q cannot be renamed", holdfast.ErrConflict, t.Name)
		}
		from := t.Name
		t.Name, t.UpdatedAt = name, s.changes.Now()
		if err := tx.UpdateHoldType(ctx, &t); err != nil {
			return "", nil, fmt.Errorf("legal hold type %s: %w", id, err)
		}
		out = t
		return id, map[string]any{"name": map[string]string{"from": from, "to": name}}, nil
	})
	return out, err
}

// DeleteType removes a legal hold type (legal_hold_types.manage).
// Predefined types and types a hold uses are conflicts.
func (s *Service) DeleteType(ctx context.Context, p holdfast.Principal, id string) error {
	c := change.Change{Action: "legal_hold_type.delete", ResourceType: holdfast.ResourceLegalHoldType, ResourceID: id,
		Checks: []change.Check{{Right: RightManageTypes, Resource: TypeEntity(id)}}}
	_, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		t, err := tx.GetHoldType(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		if t.Predefined {
			return "", nil, fmt.Errorf("%w: the predefined legal hold type %q cannot be deleted", holdfast.ErrConflict, t.Name)
		}
		used, err := tx.PageHolds(ctx, p.AccountID, holdfast.HoldFilter{TypeIDs: []string{id}}, holdfast.Page{Limit: 1})
		if err != nil {
			return "", nil, err
		}
		if len(used.Items) > 0 {
			return "", nil, fmt.Errorf("%w: legal hold type %q is used by legal hold %q", holdfast.ErrConflict, t.Name, used.Items[0].Name)
		}
		if err := tx.DeleteHoldType(ctx, p.AccountID, id); err != nil {
			return "", nil, fmt.Errorf("legal hold type %s: %w", id, err)
		}
		return id, map[string]any{"name": t.Name}, nil
	})
	return err
}
