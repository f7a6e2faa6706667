package sdg

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/sdg/scan"
)

// TypeInput is a custom sensitive data type as an administrator defines
// it: an RE2 pattern (a literal prefix or a keyword is required, so the
// scanner's prefilter can find it), keywords, a check of the value, the
// keyword window and the confidence tiers.
type TypeInput struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Pattern     string          `json:"pattern"`
	Validator   string          `json:"validator"`
	Keywords    []string        `json:"keywords"`
	Window      int             `json:"window"`
	Alone       scan.Confidence `json:"alone"`
	WithKeyword scan.Confidence `json:"with_keyword"`
}

// PredefinedTypes returns the built-in types, to whoever may manage
// sensitive data types or templates.
func (s *Service) PredefinedTypes(ctx context.Context, p holdfast.Principal) ([]scan.Type, error) {
	if err := s.allowed(ctx, p, RightSensitiveData, RightTemplates); err != nil {
		return nil, err
	}
	return scan.Predefined(), nil
}

// ListTypes returns one page of the account's custom types, by name.
func (s *Service) ListTypes(ctx context.Context, p holdfast.Principal, pg holdfast.Page) (holdfast.Paged[scan.Type], error) {
	if err := pg.Validate(); err != nil {
		return holdfast.Paged[scan.Type]{Items: []scan.Type{}}, err
	}
	if err := s.allowed(ctx, p, RightSensitiveData, RightTemplates); err != nil {
		return holdfast.Paged[scan.Type]{Items: []scan.Type{}}, err
	}
	got, err := s.store().PageSDGObjects(ctx, p.AccountID, holdfast.SDGKindType, pg)
	if err != nil {
		return holdfast.Paged[scan.Type]{Items: []scan.Type{}}, err
	}
	return page(got, typeOf)
}

// GetType returns a custom type, or a predefined one by its id.
func (s *Service) GetType(ctx context.Context, p holdfast.Principal, id string) (scan.Type, error) {
	if err := s.allowed(ctx, p, RightSensitiveData, RightTemplates); err != nil {
		return scan.Type{}, err
	}
	return s.lookupType(ctx, s.store(), p.AccountID, id)
}

func (s *Service) lookupType(ctx context.Context, st holdfast.MetaStore, accountID, id string) (scan.Type, error) {
	for _, t := range scan.Predefined() {
		if t.ID == id {
			return t, nil
		}
	}
	o, err := st.GetSDGObject(ctx, accountID, holdfast.SDGKindType, id)
	if err != nil {
		return scan.Type{}, fmt.Errorf("sensitive data type %s: %w", id, err)
	}
	return typeOf(o)
}

func typeOf(o holdfast.SDGObject) (scan.Type, error) {
	t, err := decode[scan.Type](o)
	t.ID, t.Name, t.Predefined = o.ID, o.Name, false
	if t.Keywords == nil {
		t.Keywords = []string{}
	}
	return t, err
}

// check validates in as a custom type with id.
func (in TypeInput) check(id string) (scan.Type, error) {
	var v holdfast.ValidationError
	t := scan.Type{ID: id, Name: checkName(&v, in.Name), Description: checkDescription(&v, in.Description),
		Pattern: in.Pattern, Validator: in.Validator, Window: in.Window, Alone: in.Alone, WithKeyword: in.WithKeyword}
	for _, k := range in.Keywords {
		t.Keywords = append(t.Keywords, strings.TrimSpace(k))
	}
	if t.Keywords == nil {
		t.Keywords = []string{}
	}
	if t.Validator == "" {
		t.Validator = scan.ValidatorNone
	}
	var fe *scan.FieldError
	if err := scan.Check(t); errors.As(err, &fe) {
		v.Add(fe.Field, "%s", fe.Message)
	} else if err != nil {
		return t, err
	}
	if t.Window == 0 {
		t.Window = scan.DefaultWindow
	}
	return t, v.Err()
}

// CreateType defines a custom type (sdg.sensitive_data.manage). Names
// are unique per account (ErrConflict).
func (s *Service) CreateType(ctx context.Context, p holdfast.Principal, in TypeInput) (scan.Type, error) {
	t, err := in.check("")
	if err != nil {
		return scan.Type{}, err
	}
	o := holdfast.SDGObject{AccountID: p.AccountID, Kind: holdfast.SDGKindType, Name: t.Name}
	_, err = s.change(ctx, p, RightSensitiveData, "sdg.type.create", "", func(tx holdfast.MetaStore) (string, any, error) {
		if err := put(ctx, tx, &o, t); err != nil {
			return "", nil, fmt.Errorf("sensitive data type %q: %w", t.Name, err)
		}
		return o.ID, map[string]any{"name": t.Name, "pattern": t.Pattern}, nil
	})
	t.ID = o.ID
	return t, err
}

// UpdateType replaces a custom type (sdg.sensitive_data.manage); the
// predefined ones are not editable (ErrConflict).
func (s *Service) UpdateType(ctx context.Context, p holdfast.Principal, id string, in TypeInput) (scan.Type, error) {
	if scan.IsPredefined(id) {
		return scan.Type{}, fmt.Errorf("%w: the predefined sensitive data type %s cannot be changed", holdfast.ErrConflict, id)
	}
	t, err := in.check(id)
	if err != nil {
		return scan.Type{}, err
	}
	_, err = s.change(ctx, p, RightSensitiveData, "sdg.type.update", id, func(tx holdfast.MetaStore) (string, any, error) {
		o, err := tx.GetSDGObject(ctx, p.AccountID, holdfast.SDGKindType, id)
		if err != nil {
			return "", nil, fmt.Errorf("sensitive data type %s: %w", id, err)
		}
		o.Name, o.UpdatedAt = t.Name, s.changes.Now()
		if err := put(ctx, tx, &o, t); err != nil {
			return "", nil, fmt.Errorf("sensitive data type %q: %w", t.Name, err)
		}
		return id, map[string]any{"name": t.Name, "pattern": t.Pattern}, nil
	})
	return t, err
}

// DeleteType removes a custom type (sdg.sensitive_data.manage); one a
// template uses is a conflict.
func (s *Service) DeleteType(ctx context.Context, p holdfast.Principal, id string) error {
	if scan.IsPredefined(id) {
		return fmt.Errorf("%w: the predefined sensitive data type %s cannot be deleted", holdfast.ErrConflict, id)
	}
	_, err := s.change(ctx, p, RightSensitiveData, "sdg.type.delete", id, func(tx holdfast.MetaStore) (string, any, error) {
		o, err := tx.GetSDGObject(ctx, p.AccountID, holdfast.SDGKindType, id)
		if err != nil {
			return "", nil, fmt.Errorf("sensitive data type %s: %w", id, err)
		}
		if name, err := usedBy(ctx, tx, p.AccountID, holdfast.SDGKindTemplate, func(t Template) bool { return t.uses(id) }, templateOf); err != nil {
			return "", nil, err
		} else if name != "" {
			return "", nil, fmt.Errorf("%w: sensitive data type %q is used by template %q", holdfast.ErrConflict, o.Name, name)
		}
		return id, map[string]any{"name": o.Name}, tx.DeleteSDGObject(ctx, p.AccountID, holdfast.SDGKindType, id)
	})
	return err
}

// usedBy returns the name of the first stored definition of kind that
// uses something, or "".
func usedBy[T any](ctx context.Context, tx holdfast.MetaStore, accountID, kind string, uses func(T) bool, conv func(holdfast.SDGObject) (T, error)) (string, error) {
	pg := holdfast.Page{Limit: holdfast.MaxPageSize}
	for {
		got, err := tx.PageSDGObjects(ctx, accountID, kind, pg)
		if err != nil {
			return "", err
		}
		for _, o := range got.Items {
			v, err := conv(o)
			if err != nil {
				return "", err
			}
			if uses(v) {
				return o.Name, nil
			}
		}
		if got.Next == "" {
			return "", nil
		}
		pg.Cursor = got.Next
	}
}

// TypeTest is a "test this type" request: a saved type by its ID, or a
// definition not saved yet, and the sample text.
type TypeTest struct {
	ID     string     `json:"id"`
	Type   *TypeInput `json:"type"`
	Sample string     `json:"sample"`
}

// TestMatch is a match in the sample: where, how sure, and the snippet
// with the value masked.
type TestMatch struct {
	Type       string          `json:"type"`
	Start      int             `json:"start"`
	End        int             `json:"end"`
	Confidence scan.Confidence `json:"confidence"`
	Snippet    string          `json:"snippet"`
}

// TestType runs one type over sample text (sdg.sensitive_data.manage) and
// returns its matches; nothing is stored.
func (s *Service) TestType(ctx context.Context, p holdfast.Principal, in TypeTest) ([]TestMatch, error) {
	var v holdfast.ValidationError
	switch {
	case len(in.Sample) > MaxSampleBytes:
		v.Add("sample", "must be at most %d bytes", MaxSampleBytes)
	case (in.ID == "") == (in.Type == nil):
		v.Add("id", "name a saved type by id, or give a type, not both")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.allowed(ctx, p, RightSensitiveData); err != nil {
		return nil, err
	}
	var t scan.Type
	var err error
	if in.Type != nil {
		t, err = in.Type.check("test")
	} else {
		t, err = s.lookupType(ctx, s.store(), p.AccountID, in.ID)
	}
	if err != nil {
		return nil, err
	}
	sc, err := scan.New([]scan.Type{t}, nil)
	if err != nil {
		return nil, err
	}
	data := []byte(in.Sample)
	ms := sc.Scan(data)
	out := make([]TestMatch, 0, len(ms))
	for _, m := range ms {
		out = append(out, TestMatch{Type: m.Type, Start: m.Start, End: m.End, Confidence: m.Confidence, Snippet: scan.Redact(data, m.Start, m.End)})
	}
	return out, nil
}
