package sdg

import (
	"context"
	"fmt"
	"slices"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/sdg/scan"
)

// Rule is one condition of a template: at least MinCount matches of Type
// at MinConfidence or above in one item.
type Rule struct {
	Type          string          `json:"type"`
	MinCount      int             `json:"min_count"`
	MinConfidence scan.Confidence `json:"min_confidence"`
}

// Template groups types with thresholds; an item matches it when any of
// its rules holds.
type Template struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Predefined  bool   `json:"predefined"`
	Rules       []Rule `json:"rules"`
}

func (t Template) uses(typeID string) bool {
	return slices.ContainsFunc(t.Rules, func(r Rule) bool { return r.Type == typeID })
}

// Matches reports whether findings (one item's, per type) satisfy any rule.
func (t Template) Matches(counts func(typeID string, min scan.Confidence) int) bool {
	return slices.ContainsFunc(t.Rules, func(r Rule) bool { return counts(r.Type, r.MinConfidence) >= r.MinCount })
}

// predefinedTemplates are the templates every account has.
var predefinedTemplates = []Template{
	{ID: "pci_dss", Name: "PCI-DSS", Description: "Payment card data (PCI DSS): any card number that passes its check digit",
		Rules: []Rule{{Type: scan.CreditCard, MinCount: 1, MinConfidence: scan.Medium}}},
	{ID: "hipaa", Name: "HIPAA", Description: "U.S. patient identifiers (HIPAA): Social Security numbers and passport numbers with corroborating evidence",
		Rules: []Rule{{Type: scan.USSSN, MinCount: 1, MinConfidence: scan.Medium}, {Type: scan.USPassport, MinCount: 1, MinConfidence: scan.Medium}}},
	{ID: "gdpr", Name: "GDPR", Description: "Personal data of EU and U.K. residents (GDPR): bank accounts, national insurance and passport numbers, and contact details in bulk",
		Rules: []Rule{
			{Type: scan.IBAN, MinCount: 1, MinConfidence: scan.Medium},
			{Type: scan.UKNINO, MinCount: 1, MinConfidence: scan.Medium},
			{Type: scan.UKPassport, MinCount: 1, MinConfidence: scan.Medium},
			{Type: scan.Email, MinCount: 10, MinConfidence: scan.Low},
			{Type: scan.Phone, MinCount: 10, MinConfidence: scan.Low},
		}},
}

// PredefinedTemplates returns the built-in templates.
func PredefinedTemplates() []Template {
	out := make([]Template, len(predefinedTemplates))
	for i, t := range predefinedTemplates {
		t.Predefined = true
		t.Rules = slices.Clone(t.Rules)
		out[i] = t
	}
	return out
}

// templateRights: templates are read by those who manage them and by
// those who apply them in policies.
var templateRights = []string{RightTemplates, RightPolicies}

// ListPredefinedTemplates returns the built-in templates.
func (s *Service) ListPredefinedTemplates(ctx context.Context, p holdfast.Principal) ([]Template, error) {
	if err := s.allowed(ctx, p, templateRights...); err != nil {
		return nil, err
	}
	return PredefinedTemplates(), nil
}

// ListTemplates returns one page of the account's custom templates.
func (s *Service) ListTemplates(ctx context.Context, p holdfast.Principal, pg holdfast.Page) (holdfast.Paged[Template], error) {
	empty := holdfast.Paged[Template]{Items: []Template{}}
	if err := pg.Validate(); err != nil {
		return empty, err
	}
	if err := s.allowed(ctx, p, templateRights...); err != nil {
		return empty, err
	}
	got, err := s.store().PageSDGObjects(ctx, p.AccountID, holdfast.SDGKindTemplate, pg)
	if err != nil {
		return empty, err
	}
	return page(got, templateOf)
}

// GetTemplate returns a template, predefined or custom.
func (s *Service) GetTemplate(ctx context.Context, p holdfast.Principal, id string) (Template, error) {
	if err := s.allowed(ctx, p, templateRights...); err != nil {
		return Template{}, err
	}
	return lookupTemplate(ctx, s.store(), p.AccountID, id)
}

func lookupTemplate(ctx context.Context, st holdfast.MetaStore, accountID, id string) (Template, error) {
	for _, t := range PredefinedTemplates() {
		if t.ID == id {
			return t, nil
		}
	}
	o, err := st.GetSDGObject(ctx, accountID, holdfast.SDGKindTemplate, id)
	if err != nil {
		return Template{}, fmt.Errorf("template %s: %w", id, err)
	}
	return templateOf(o)
}

func templateOf(o holdfast.SDGObject) (Template, error) {
	t, err := decode[Template](o)
	t.ID, t.Name, t.Predefined = o.ID, o.Name, false
	if t.Rules == nil {
		t.Rules = []Rule{}
	}
	return t, err
}

// TemplateInput is a custom template as an administrator defines it.
type TemplateInput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Rules       []Rule `json:"rules"`
}

// check validates in inside tx: every rule names a known type once, with
// a count and a tier.
func (s *Service) checkTemplate(ctx context.Context, tx holdfast.MetaStore, accountID string, in TemplateInput) (Template, error) {
	var v holdfast.ValidationError
	t := Template{Name: checkName(&v, in.Name), Description: checkDescription(&v, in.Description), Rules: in.Rules}
	if len(in.Rules) == 0 || len(in.Rules) > MaxRules {
		v.Add("rules", "must hold 1 to %d rules", MaxRules)
	}
	seen := map[string]bool{}
	for i, r := range in.Rules {
		f := fmt.Sprintf("rules[%d]", i)
		if _, err := s.lookupType(ctx, tx, accountID, r.Type); err != nil || seen[r.Type] {
			v.Add(f+".type", "must name a sensitive data type, once")
		}
		seen[r.Type] = true
		if r.MinCount < 1 || r.MinCount > MaxCount {
			v.Add(f+".min_count", "must be 1 to %d", MaxCount)
		}
		if !r.MinConfidence.Valid() {
			v.Add(f+".min_confidence", "must be 65, 75 or 85")
		}
	}
	return t, v.Err()
}

// CreateTemplate makes a custom template (sdg.templates.manage).
func (s *Service) CreateTemplate(ctx context.Context, p holdfast.Principal, in TemplateInput) (Template, error) {
	var t Template
	o := holdfast.SDGObject{AccountID: p.AccountID, Kind: holdfast.SDGKindTemplate}
	_, err := s.change(ctx, p, RightTemplates, "sdg.template.create", "", func(tx holdfast.MetaStore) (string, any, error) {
		var err error
		if t, err = s.checkTemplate(ctx, tx, p.AccountID, in); err != nil {
			return "", nil, err
		}
		o.Name = t.Name
		if err := put(ctx, tx, &o, t); err != nil {
			return "", nil, fmt.Errorf("template %q: %w", t.Name, err)
		}
		return o.ID, map[string]any{"name": t.Name, "rules": t.Rules}, nil
	})
	t.ID = o.ID
	return t, err
}

// UpdateTemplate replaces a custom template (sdg.templates.manage); the
// predefined ones are not editable.
func (s *Service) UpdateTemplate(ctx context.Context, p holdfast.Principal, id string, in TemplateInput) (Template, error) {
	if isPredefinedTemplate(id) {
		return Template{}, fmt.Errorf("%w: the predefined template %s cannot be changed", holdfast.ErrConflict, id)
	}
	var t Template
	_, err := s.change(ctx, p, RightTemplates, "sdg.template.update", id, func(tx holdfast.MetaStore) (string, any, error) {
		o, err := tx.GetSDGObject(ctx, p.AccountID, holdfast.SDGKindTemplate, id)
		if err != nil {
			return "", nil, fmt.Errorf("template %s: %w", id, err)
		}
		if t, err = s.checkTemplate(ctx, tx, p.AccountID, in); err != nil {
			return "", nil, err
		}
		o.Name, o.UpdatedAt = t.Name, s.changes.Now()
		if err := put(ctx, tx, &o, t); err != nil {
			return "", nil, fmt.Errorf("template %q: %w", t.Name, err)
		}
		return id, map[string]any{"name": t.Name, "rules": t.Rules}, nil
	})
	t.ID = id
	return t, err
}

// DeleteTemplate removes a custom template (sdg.templates.manage); one a
// policy applies is a conflict.
func (s *Service) DeleteTemplate(ctx context.Context, p holdfast.Principal, id string) error {
	if isPredefinedTemplate(id) {
		return fmt.Errorf("%w: the predefined template %s cannot be deleted", holdfast.ErrConflict, id)
	}
	_, err := s.change(ctx, p, RightTemplates, "sdg.template.delete", id, func(tx holdfast.MetaStore) (string, any, error) {
		o, err := tx.GetSDGObject(ctx, p.AccountID, holdfast.SDGKindTemplate, id)
		if err != nil {
			return "", nil, fmt.Errorf("template %s: %w", id, err)
		}
		name, err := usedBy(ctx, tx, p.AccountID, holdfast.SDGKindPolicy, func(pol Policy) bool { return slices.Contains(pol.TemplateIDs, id) }, policyOf)
		if err != nil {
			return "", nil, err
		}
		if name != "" {
			return "", nil, fmt.Errorf("%w: template %q is applied by compliance policy %q", holdfast.ErrConflict, o.Name, name)
		}
		return id, map[string]any{"name": o.Name}, tx.DeleteSDGObject(ctx, p.AccountID, holdfast.SDGKindTemplate, id)
	})
	return err
}

func isPredefinedTemplate(id string) bool {
	return slices.ContainsFunc(predefinedTemplates, func(t Template) bool { return t.ID == id })
}
