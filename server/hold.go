package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/holdfast/holdfast"
)

// holdTypeViewRights are the rights any one of which lets an
// administrator list legal hold types.
var holdTypeViewRights = []string{"legal_holds.view", "legal_holds.create_manage", "legal_holds.delete", "legal_hold_types.manage"}

// holdTypeList is the body of GET /api/v1/legal-hold-types.
type holdTypeList struct {
	LegalHoldTypes []holdfast.LegalHoldType `json:"legal_hold_types"`
}

// listHoldTypes serves GET /api/v1/legal-hold-types: the types the engine
// lets the caller see under any legal hold right or
// legal_hold_types.manage. Without any of them it is 403 with the first
// refusal (the one about viewing legal holds).
func (s *Server) listHoldTypes(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	all, err := s.store.ListHoldTypes(ctx, principal(ctx).AccountID)
	if err != nil {
		return err
	}
	var firstRefusal error
	rights := make([]string, 0, len(holdTypeViewRights))
	for _, right := range holdTypeViewRights {
		_, err := s.decide(ctx, check{right: right, resource: holdTypeEntity("")})
		if err == nil {
			rights = append(rights, right)
			continue
		}
		if !isDenied(err) {
			return err
		}
		if firstRefusal == nil {
			firstRefusal = err
		}
	}
	if len(rights) == 0 {
		return firstRefusal
	}
	out := holdTypeList{LegalHoldTypes: []holdfast.LegalHoldType{}}
	for _, t := range all {
		for _, right := range rights {
			ok, err := s.allowed(ctx, check{right: right, resource: holdTypeEntity(t.ID)})
			if err != nil {
				return err
			}
			if ok {
				out.LegalHoldTypes = append(out.LegalHoldTypes, t)
				break
			}
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// holdTypeInput is the body of POST and PATCH /api/v1/legal-hold-types.
type holdTypeInput struct {
	Name string `json:"name"`
}

// createHoldType serves POST /api/v1/legal-hold-types
// (legal_hold_types.manage). Names are unique per account (409).
func (s *Server) createHoldType(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in holdTypeInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var v holdfast.ValidationError
	now := s.now().UTC().Truncate(time.Microsecond)
	t := holdfast.LegalHoldType{AccountID: principal(ctx).AccountID, Name: checkName(&v, "name", in.Name), CreatedAt: now, UpdatedAt: now}
	if err := v.Err(); err != nil {
		return err
	}
	c := change{action: "legal_hold_type.create", resourceType: holdfast.ResourceLegalHoldType,
		checks: []check{{right: "legal_hold_types.manage", resource: holdTypeEntity("")}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := tx.CreateHoldType(ctx, &t); err != nil {
			return "", nil, fmt.Errorf("legal hold type %q: %w", t.Name, err)
		}
		return t.ID, map[string]any{"name": t.Name}, nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
}

// updateHoldType serves PATCH /api/v1/legal-hold-types/{id}
// (legal_hold_types.manage): a rename. Predefined types keep their names.
func (s *Server) updateHoldType(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	var in holdTypeInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var v holdfast.ValidationError
	name := checkName(&v, "name", in.Name)
	if err := v.Err(); err != nil {
		return err
	}
	var out holdfast.LegalHoldType
	c := change{action: "legal_hold_type.update", resourceType: holdfast.ResourceLegalHoldType, resourceID: id,
		checks: []check{{right: "legal_hold_types.manage", resource: holdTypeEntity(id)}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		t, err := tx.GetHoldType(ctx, principal(ctx).AccountID, id)
		if err != nil {
			return "", nil, err
		}
		if t.Predefined && t.Name != name {
			return "", nil, fmt.Errorf("%w: the predefined legal hold type %q cannot be renamed", holdfast.ErrConflict, t.Name)
		}
		from := t.Name
		t.Name, t.UpdatedAt = name, s.now().UTC().Truncate(time.Microsecond)
		if err := tx.UpdateHoldType(ctx, &t); err != nil {
			return "", nil, fmt.Errorf("legal hold type %s: %w", id, err)
		}
		out = t
		return id, map[string]any{"name": map[string]string{"from": from, "to": name}}, nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// deleteHoldType serves DELETE /api/v1/legal-hold-types/{id}
// (legal_hold_types.manage). Predefined types and types a hold uses are
// conflicts.
func (s *Server) deleteHoldType(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	acct := principal(ctx).AccountID
	c := change{action: "legal_hold_type.delete", resourceType: holdfast.ResourceLegalHoldType, resourceID: id,
		checks: []check{{right: "legal_hold_types.manage", resource: holdTypeEntity(id)}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		t, err := tx.GetHoldType(ctx, acct, id)
		if err != nil {
			return "", nil, err
		}
		if t.Predefined {
			return "", nil, fmt.Errorf("%w: the predefined legal hold type %q cannot be deleted", holdfast.ErrConflict, t.Name)
		}
		holds, err := tx.ListHolds(ctx, acct)
		if err != nil {
			return "", nil, err
		}
		for _, h := range holds {
			if h.TypeID == id {
				return "", nil, fmt.Errorf("%w: legal hold type %q is used by legal hold %q", holdfast.ErrConflict, t.Name, h.Name)
			}
		}
		if err := tx.DeleteHoldType(ctx, acct, id); err != nil {
			return "", nil, fmt.Errorf("legal hold type %s: %w", id, err)
		}
		return id, map[string]any{"name": t.Name}, nil
	})
	if err != nil {
		return err
	}
	return noContent(w)
}

// holdTypeEntity is a legal hold type as a decision resource.
func holdTypeEntity(id string) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceLegalHoldType, ID: id}
}
