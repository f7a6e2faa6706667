package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/holdfast/holdfast"
)

// maxRuleValues is the number of value columns of casbin_rule (v0..v5).
const maxRuleValues = 6

func scanRule(r scanner) (holdfast.PolicyRule, error) {
	var (
		rule holdfast.PolicyRule
		v    [maxRuleValues]string
	)
	if err := r.Scan(&rule.PType, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]); err != nil {
		return rule, err
	}
	// Unused columns are stored as ""; a rule ends at its last non-empty value.
	n := maxRuleValues
	for n > 0 && v[n-1] == "" {
		n--
	}
	rule.V = append([]string(nil), v[:n]...)
	return rule, nil
}

// ruleArgs returns the ptype and six values of a rule as query arguments.
func ruleArgs(r holdfast.PolicyRule) ([]any, error) {
	if len(r.V) > maxRuleValues {
		return nil, fmt.Errorf("%w: casbin rule %s has %d values, at most %d are stored",
			holdfast.ErrInvalid, r.PType, len(r.V), maxRuleValues)
	}
	args := make([]any, 0, 1+maxRuleValues)
	args = append(args, r.PType)
	for i := range maxRuleValues {
		v := ""
		if i < len(r.V) {
			v = r.V[i]
		}
		args = append(args, v)
	}
	return args, nil
}

// bumpPolicy increments the policy revision; every rule write calls it,
// through write, so s is bound to a transaction whose commit invalidates the
// cached revision.
func (s *Store) bumpPolicy(ctx context.Context) error {
	s.tx.touchPolicy()
	if _, err := s.exec(ctx, `UPDATE policy_revision SET revision = revision + 1 WHERE id = 1`); err != nil {
		return s.fail("policy revision", err)
	}
	return nil
}

// ListPolicyRules returns every stored Casbin rule in insertion order.
// Trailing empty values are not returned.
func (s *Store) ListPolicyRules(ctx context.Context) ([]holdfast.PolicyRule, error) {
	return list(ctx, s, "casbin rules", scanRule, `SELECT ptype, v0, v1, v2, v3, v4, v5 FROM casbin_rule ORDER BY id`)
}

// AddPolicyRules stores the rules and increments PolicyRevision. A rule with
// more than six values is ErrInvalid, and then none is stored.
func (s *Store) AddPolicyRules(ctx context.Context, rules []holdfast.PolicyRule) error {
	if len(rules) == 0 {
		return nil
	}
	return s.write(ctx, func(s *Store) error {
		for _, r := range rules {
			args, err := ruleArgs(r)
			if err != nil {
				return err
			}
			if _, err := s.exec(ctx, `INSERT INTO casbin_rule (ptype, v0, v1, v2, v3, v4, v5) VALUES (?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
				return s.fail("casbin rule", err)
			}
		}
		return s.bumpPolicy(ctx)
	})
}

// RemovePolicyRules removes the rules equal to those given, absent ones
// silently, and increments PolicyRevision.
func (s *Store) RemovePolicyRules(ctx context.Context, rules []holdfast.PolicyRule) error {
	if len(rules) == 0 {
		return nil
	}
	return s.write(ctx, func(s *Store) error {
		for _, r := range rules {
			args, err := ruleArgs(r)
			if err != nil {
				return err
			}
			_, err = s.exec(ctx, `DELETE FROM casbin_rule
				WHERE ptype = ? AND v0 = ? AND v1 = ? AND v2 = ? AND v3 = ? AND v4 = ? AND v5 = ?`, args...)
			if err != nil {
				return s.fail("casbin rule", err)
			}
		}
		return s.bumpPolicy(ctx)
	})
}

// RemoveFilteredPolicyRules removes the rules of ptype whose values from
// fieldIndex on equal fieldValues, "" matching anything, and increments
// PolicyRevision. A filter reaching past v5 is ErrInvalid.
func (s *Store) RemoveFilteredPolicyRules(ctx context.Context, ptype string, fieldIndex int, fieldValues ...string) error {
	if fieldIndex < 0 || fieldIndex+len(fieldValues) > maxRuleValues {
		return fmt.Errorf("%w: casbin filter from v%d with %d values is out of v0..v5",
			holdfast.ErrInvalid, fieldIndex, len(fieldValues))
	}
	q := `DELETE FROM casbin_rule WHERE ptype = ?`
	args := []any{ptype}
	for i, v := range fieldValues {
		if v == "" {
			continue
		}
		q += ` AND v` + strconv.Itoa(fieldIndex+i) + ` = ?`
		args = append(args, v)
	}
	return s.write(ctx, func(s *Store) error {
		if _, err := s.exec(ctx, q, args...); err != nil {
			return s.fail("casbin rules", err)
		}
		return s.bumpPolicy(ctx)
	})
}

// PolicyRevision returns the revision of the Casbin rules. It is cached as
// Revision is.
func (s *Store) PolicyRevision(ctx context.Context) (int64, error) {
	if s.tx != nil {
		return s.readPolicyRevision(ctx)
	}
	if rev, ok := s.revs.policyRevision(); ok {
		return rev, nil
	}
	gen := s.revs.snapshot()
	rev, err := s.readPolicyRevision(ctx)
	if err != nil {
		return 0, err
	}
	s.revs.fillPolicy(gen, rev)
	return rev, nil
}

// readPolicyRevision reads the policy revision from the database.
func (s *Store) readPolicyRevision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.queryRow(ctx, `SELECT revision FROM policy_revision WHERE id = 1`).Scan(&rev); err != nil {
		return 0, s.fail("policy revision", err)
	}
	return rev, nil
}
