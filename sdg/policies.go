package sdg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"

	"github.com/holdfast/holdfast"
)

// What a compliance policy does when an item matches one of its templates.
const (
	ActionReport     = "report"     // list it in the non-compliance report
	ActionNotify     = "notify"     // and notify the settings' recipients
	ActionQuarantine = "quarantine" // and keep it from end-user download
)

// Policy applies templates to the users of profiles and to workloads.
type Policy struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	TemplateIDs []string `json:"template_ids"`
	ProfileIDs  []string `json:"profile_ids"`
	Workloads   []string `json:"workloads"`
	Action      string   `json:"action"`
	Enabled     bool     `json:"enabled"`
}

// PolicyInput is a compliance policy as an administrator defines it.
type PolicyInput struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	TemplateIDs []string `json:"template_ids"`
	ProfileIDs  []string `json:"profile_ids"`
	Workloads   []string `json:"workloads"`
	Action      string   `json:"action"`
	Enabled     *bool    `json:"enabled"`
}

func policyOf(o holdfast.SDGObject) (Policy, error) {
	p, err := decode[Policy](o)
	p.ID, p.Name = o.ID, o.Name
	for _, l := range []*[]string{&p.TemplateIDs, &p.ProfileIDs, &p.Workloads} {
		if *l == nil {
			*l = []string{}
		}
	}
	return p, err
}

// checkPolicy validates in inside tx: known templates, profiles and
// workloads, each once, and a known action.
func (s *Service) checkPolicy(ctx context.Context, tx holdfast.MetaStore, accountID string, in PolicyInput) (Policy, error) {
	var v holdfast.ValidationError
	pol := Policy{Name: checkName(&v, in.Name), Description: checkDescription(&v, in.Description),
		TemplateIDs: nonNil(in.TemplateIDs), ProfileIDs: nonNil(in.ProfileIDs), Workloads: nonNil(in.Workloads), Action: in.Action, Enabled: in.Enabled == nil || *in.Enabled}
	if len(pol.TemplateIDs) == 0 {
		v.Add("template_ids", "must name at least one template")
	}
	for i, id := range pol.TemplateIDs {
		if _, err := lookupTemplate(ctx, tx, accountID, id); err != nil || slices.Index(pol.TemplateIDs, id) != i {
			v.Add(fmt.Sprintf("template_ids[%d]", i), "must name a template, once")
		}
	}
	if len(pol.ProfileIDs) == 0 && len(pol.Workloads) == 0 {
		v.Add("profile_ids", "name at least one profile or workload")
	}
	for i, id := range pol.ProfileIDs {
		if _, err := tx.GetProfile(ctx, accountID, id); err != nil || slices.Index(pol.ProfileIDs, id) != i {
			v.Add(fmt.Sprintf("profile_ids[%d]", i), "must name a profile, once")
		}
	}
	for i, w := range pol.Workloads {
		if !s.known(w) || slices.Index(pol.Workloads, w) != i {
			v.Add(fmt.Sprintf("workloads[%d]", i), "must name a workload, once")
		}
	}
	if !slices.Contains([]string{ActionReport, ActionNotify, ActionQuarantine}, pol.Action) {
		v.Add("action", "must be report, notify or quarantine")
	}
	return pol, v.Err()
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// ListPolicies returns one page of the account's compliance policies.
func (s *Service) ListPolicies(ctx context.Context, p holdfast.Principal, pg holdfast.Page) (holdfast.Paged[Policy], error) {
	empty := holdfast.Paged[Policy]{Items: []Policy{}}
	if err := pg.Validate(); err != nil {
		return empty, err
	}
	if err := s.allowed(ctx, p, RightPolicies); err != nil {
		return empty, err
	}
	got, err := s.store().PageSDGObjects(ctx, p.AccountID, holdfast.SDGKindPolicy, pg)
	if err != nil {
		return empty, err
	}
	return page(got, policyOf)
}

// GetPolicy returns one compliance policy.
func (s *Service) GetPolicy(ctx context.Context, p holdfast.Principal, id string) (Policy, error) {
	if err := s.allowed(ctx, p, RightPolicies); err != nil {
		return Policy{}, err
	}
	o, err := s.store().GetSDGObject(ctx, p.AccountID, holdfast.SDGKindPolicy, id)
	if err != nil {
		return Policy{}, fmt.Errorf("compliance policy %s: %w", id, err)
	}
	return policyOf(o)
}

// CreatePolicy makes a compliance policy (sdg.compliance_policies.manage).
func (s *Service) CreatePolicy(ctx context.Context, p holdfast.Principal, in PolicyInput) (Policy, error) {
	return s.savePolicy(ctx, p, "", in)
}

// UpdatePolicy replaces a compliance policy (sdg.compliance_policies.manage).
func (s *Service) UpdatePolicy(ctx context.Context, p holdfast.Principal, id string, in PolicyInput) (Policy, error) {
	return s.savePolicy(ctx, p, id, in)
}

func (s *Service) savePolicy(ctx context.Context, p holdfast.Principal, id string, in PolicyInput) (Policy, error) {
	var pol Policy
	action := "sdg.policy.create"
	if id != "" {
		action = "sdg.policy.update"
	}
	newID, err := s.change(ctx, p, RightPolicies, action, id, func(tx holdfast.MetaStore) (string, any, error) {
		o := holdfast.SDGObject{AccountID: p.AccountID, Kind: holdfast.SDGKindPolicy}
		if id != "" {
			var err error
			if o, err = tx.GetSDGObject(ctx, p.AccountID, holdfast.SDGKindPolicy, id); err != nil {
				return "", nil, fmt.Errorf("compliance policy %s: %w", id, err)
			}
			o.UpdatedAt = s.changes.Now()
		}
		var err error
		if pol, err = s.checkPolicy(ctx, tx, p.AccountID, in); err != nil {
			return "", nil, err
		}
		o.Name = pol.Name
		if err := put(ctx, tx, &o, pol); err != nil {
			return "", nil, fmt.Errorf("compliance policy %q: %w", pol.Name, err)
		}
		return o.ID, map[string]any{"name": pol.Name, "templates": pol.TemplateIDs, "profiles": pol.ProfileIDs,
			"workloads": pol.Workloads, "action": pol.Action, "enabled": pol.Enabled}, nil
	})
	pol.ID = newID
	return pol, err
}

// DeletePolicy removes a compliance policy (sdg.compliance_policies.manage).
func (s *Service) DeletePolicy(ctx context.Context, p holdfast.Principal, id string) error {
	_, err := s.change(ctx, p, RightPolicies, "sdg.policy.delete", id, func(tx holdfast.MetaStore) (string, any, error) {
		o, err := tx.GetSDGObject(ctx, p.AccountID, holdfast.SDGKindPolicy, id)
		if err != nil {
			return "", nil, fmt.Errorf("compliance policy %s: %w", id, err)
		}
		return id, map[string]any{"name": o.Name}, tx.DeleteSDGObject(ctx, p.AccountID, holdfast.SDGKindPolicy, id)
	})
	return err
}

// Settings are the account's SDG settings: what the scan covers, and who
// is told of a match under a notifying policy.
type Settings struct {
	ScanFiles              bool     `json:"scan_files"`
	ScanMail               bool     `json:"scan_mail"`
	MaxItemBytes           int64    `json:"max_item_bytes"`
	NotificationRecipients []string `json:"notification_recipients"`
}

// DefaultSettings scan files and mail up to 64 MiB an item, telling nobody.
func DefaultSettings() Settings {
	return Settings{ScanFiles: true, ScanMail: true, MaxItemBytes: 64 << 20, NotificationRecipients: []string{}}
}

const settingsID = "settings"

// GetSettings returns the account's settings (sdg.settings.manage).
func (s *Service) GetSettings(ctx context.Context, p holdfast.Principal) (Settings, error) {
	if err := s.allowed(ctx, p, RightSettings); err != nil {
		return Settings{}, err
	}
	return settingsIn(ctx, s.store(), p.AccountID)
}

func settingsIn(ctx context.Context, st holdfast.MetaStore, accountID string) (Settings, error) {
	o, err := st.GetSDGObject(ctx, accountID, holdfast.SDGKindSettings, settingsID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return Settings{}, err
	}
	return decode[Settings](o)
}

// PutSettings replaces the account's settings (sdg.settings.manage).
func (s *Service) PutSettings(ctx context.Context, p holdfast.Principal, in Settings) (Settings, error) {
	var v holdfast.ValidationError
	if in.MaxItemBytes < 1<<10 || in.MaxItemBytes > 1<<30 {
		v.Add("max_item_bytes", "must be 1 KiB to 1 GiB")
	}
	in.NotificationRecipients = nonNil(in.NotificationRecipients)
	for i, r := range in.NotificationRecipients {
		if a, err := mail.ParseAddress(r); err != nil || a.Address != r {
			v.Add(fmt.Sprintf("notification_recipients[%d]", i), "must be an email address")
		}
	}
	if err := v.Err(); err != nil {
		return Settings{}, err
	}
	_, err := s.change(ctx, p, RightSettings, "sdg.settings.update", settingsID, func(tx holdfast.MetaStore) (string, any, error) {
		o, err := tx.GetSDGObject(ctx, p.AccountID, holdfast.SDGKindSettings, settingsID)
		if errors.Is(err, holdfast.ErrNotFound) {
			o = holdfast.SDGObject{AccountID: p.AccountID, Kind: holdfast.SDGKindSettings, Name: settingsID}
			b, err := json.Marshal(in)
			if err != nil {
				return "", nil, err
			}
			o.ID, o.Body = settingsID, b
			return settingsID, in, tx.CreateSDGObject(ctx, &o)
		}
		if err != nil {
			return "", nil, err
		}
		o.UpdatedAt = s.changes.Now()
		return settingsID, in, put(ctx, tx, &o, in)
	})
	return in, err
}
