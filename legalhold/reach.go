package legalhold

import (
	"context"
	"errors"
	"slices"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// held returns the rights among rights the engine lets p use on resource;
// without any it returns the first refusal.
func (s *Service) held(ctx context.Context, p holdfast.Principal, resource holdfast.Entity, rights []string) ([]string, error) {
	var first error
	out := make([]string, 0, len(rights))
	for _, right := range rights {
		_, err := s.changes.Decide(ctx, p, change.Check{Right: right, Resource: resource})
		switch {
		case err == nil:
			out = append(out, right)
		case !change.IsDenied(err):
			return nil, err
		case first == nil:
			first = err
		}
	}
	if len(out) == 0 {
		return nil, first
	}
	return out, nil
}

// typeReach returns the legal hold types p reaches under any of rights,
// nil when it reaches every type. A list narrowed to them in the store
// query pages and counts only what p could open one by one.
//
// The engine decides: a caller it lets reach an untyped hold is not
// confined to types (only administrators with all types reach one);
// otherwise its reach is the types of its own scope that the engine
// allows on entity(type).
func (s *Service) typeReach(ctx context.Context, p holdfast.Principal, rights []string, entity func(typeID string) holdfast.Entity) ([]string, error) {
	untyped := Entity("", map[string]any{"type_id": ""})
	for _, right := range rights {
		ok, err := s.changes.Allowed(ctx, p, change.Check{Right: right, Resource: untyped})
		if err != nil || ok {
			return nil, err
		}
	}
	out := []string{}
	admin, err := s.store.GetAdmin(ctx, p.AccountID, p.AdminID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return out, nil // the engine refuses everything anyway
	}
	if err != nil {
		return nil, err
	}
	for _, t := range admin.Scopes.LegalHoldTypes {
		for _, right := range rights {
			ok, err := s.changes.Allowed(ctx, p, change.Check{Right: right, Resource: entity(t)})
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, t)
				break
			}
		}
	}
	return out, nil
}

// narrow returns the types a list may show: reach, only want when it is
// set (none when want is outside reach).
func narrow(reach []string, want string) []string {
	switch {
	case want == "":
		return reach
	case reach != nil && !slices.Contains(reach, want):
		return []string{}
	}
	return []string{want}
}
