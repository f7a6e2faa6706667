// Package sdg is Sensitive Data Governance, the add-on: custom sensitive
// data types (with a "test this type" call on sample text), policy
// templates (PCI-DSS, HIPAA and GDPR predefined, custom ones), compliance
// policies (templates applied to profiles and workloads, with what to do
// on a match) and the settings. Every method takes the principal, asks the
// engine (which refuses every sdg.* right where the account lacks the
// add-on, naming the reason), applies the rules and writes its audit
// record in the change's transaction (change.Runner).
package sdg

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// The rights of Sensitive Data Governance (rights-and-roles.md).
const (
	RightSensitiveData = "sdg.sensitive_data.manage"
	RightTemplates     = "sdg.templates.manage"
	RightPolicies      = "sdg.compliance_policies.manage"
	RightReports       = "sdg.noncompliance_reports.view"
	RightDashboard     = "sdg.dashboard.view"
	RightSettings      = "sdg.settings.manage"
)

// Limits of the definitions.
const (
	MaxNameLength        = 100
	MaxDescriptionLength = 1000
	MaxSampleBytes       = 64 << 10
	MaxRules             = 50
	MaxCount             = 10000
)

// Options configure a Service.
type Options struct {
	// Changes decides, audits and applies changes; required.
	Changes *change.Runner
	// KnownWorkload reports whether a workload id is one a policy may
	// name; nil accepts any.
	KnownWorkload func(workload string) bool
}

// Service is Sensitive Data Governance over the metadata store.
type Service struct {
	changes *change.Runner
	known   func(string) bool
}

// New returns the service.
func New(opts Options) *Service {
	known := opts.KnownWorkload
	if known == nil {
		known = func(string) bool { return true }
	}
	return &Service{changes: opts.Changes, known: known}
}

func (s *Service) store() holdfast.MetaStore { return s.changes.Store() }

// account is the decision resource of every SDG right: the whole product
// account (the SDG administrator's scope).
func account(p holdfast.Principal) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceAccount, ID: p.AccountID}
}

// allowed decides p under any of rights on the account; without any it
// is the first refusal.
func (s *Service) allowed(ctx context.Context, p holdfast.Principal, rights ...string) error {
	return s.changes.AnyOf(ctx, p, account(p), rights...)
}

// checkName trims and checks a definition's name into v.
func checkName(v *holdfast.ValidationError, name string) string {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		v.Add("name", "is required")
	case n > MaxNameLength:
		v.Add("name", "must be at most %d characters long", MaxNameLength)
	case strings.ContainsFunc(name, isControl):
		v.Add("name", "must not contain control characters")
	}
	return name
}

func checkDescription(v *holdfast.ValidationError, d string) string {
	d = strings.TrimSpace(d)
	if utf8.RuneCountInString(d) > MaxDescriptionLength {
		v.Add("description", "must be at most %d characters long", MaxDescriptionLength)
	}
	return d
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// object is a stored definition decoded: its row and its body.
func decode[T any](o holdfast.SDGObject) (T, error) {
	var v T
	if err := json.Unmarshal(o.Body, &v); err != nil {
		return v, fmt.Errorf("sdg: %s %s: %w", o.Kind, o.ID, err)
	}
	return v, nil
}

// page decodes a page of stored definitions with conv.
func page[T any](got holdfast.Paged[holdfast.SDGObject], conv func(holdfast.SDGObject) (T, error)) (holdfast.Paged[T], error) {
	out := holdfast.Paged[T]{Items: make([]T, 0, len(got.Items)), Next: got.Next, Total: got.Total}
	for _, o := range got.Items {
		v, err := conv(o)
		if err != nil {
			return holdfast.Paged[T]{Items: []T{}}, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// put stores a new definition (id "") or replaces one, in tx.
func put(ctx context.Context, tx holdfast.MetaStore, o *holdfast.SDGObject, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	o.Body = b
	if o.ID == "" {
		o.ID = holdfast.NewID(idPrefix[o.Kind])
		return tx.CreateSDGObject(ctx, o)
	}
	return tx.UpdateSDGObject(ctx, o)
}

var idPrefix = map[string]string{
	holdfast.SDGKindType:     "sdt_",
	holdfast.SDGKindTemplate: "sdtpl_",
	holdfast.SDGKindPolicy:   "sdpol_",
}

// change runs a create (id ""), update or delete of a definition of kind
// under right, audited as action.
func (s *Service) change(ctx context.Context, p holdfast.Principal, right, action, id string, fn change.Mutation) (string, error) {
	c := change.Change{Action: action, ResourceType: "sdg_" + strings.SplitN(action, ".", 3)[1], ResourceID: id,
		Checks: []change.Check{{Right: right, Resource: account(p)}}}
	return s.changes.Apply(ctx, p, c, fn)
}
