package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/holdfast/holdfast"
)

const auditColumns = `account_id, seq, at, actor_id, actor_email, action, resource_type, resource_id, decision_id,
	outcome, detail, request_id, prev_hash, hash`

func scanAudit(r scanner) (holdfast.AuditRecord, error) {
	var (
		a      holdfast.AuditRecord
		at     int64
		detail sql.NullString
	)
	err := r.Scan(&a.AccountID, &a.Seq, &at, &a.ActorID, &a.ActorEmail, &a.Action, &a.ResourceType, &a.ResourceID,
		&a.DecisionID, &a.Outcome, &detail, &a.RequestID, &a.PrevHash, &a.Hash)
	if err != nil {
		return a, err
	}
	a.Time = fromMicros(at)
	if detail.Valid {
		a.Detail = json.RawMessage(detail.String)
	}
	return a, nil
}

// AppendAudit appends r to its account's trail. In one transaction (the
// caller's, or its own) it locks the account's chain, then sets r.Seq to
// the last Seq plus one (1 for the first record), r.PrevHash to the last
// Hash ("" for the first), r.Time to microseconds UTC (zero: now) and r.Hash
// to r.ComputeMAC under the store's audit key, and inserts r. Concurrent appends yield a gapless
// chain. It does not change the account's revision. Detail is stored byte
// for byte, as the hash covers it.
func (s *Store) AppendAudit(ctx context.Context, r *holdfast.AuditRecord) error {
	if r.Time.IsZero() {
		r.Time = now()
	}
	r.Time = normTime(r.Time)
	var detail any
	if len(r.Detail) > 0 {
		detail = string(r.Detail)
	}
	rec := *r
	err := s.write(ctx, func(s *Store) error {
		if err := s.lockChain(ctx, rec.AccountID); err != nil {
			return err
		}
		var (
			last     int64
			lastHash string
		)
		err := s.queryRow(ctx, `SELECT seq, hash FROM audit WHERE account_id = ? ORDER BY seq DESC LIMIT 1`, rec.AccountID).
			Scan(&last, &lastHash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return s.fail("audit trail of account "+rec.AccountID, err)
		}
		rec.Seq, rec.PrevHash = last+1, lastHash
		rec.Hash = rec.ComputeMAC(s.auditKey)
		_, err = s.exec(ctx, `INSERT INTO audit (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rec.AccountID, rec.Seq, micros(rec.Time), rec.ActorID, rec.ActorEmail, rec.Action, rec.ResourceType,
			rec.ResourceID, rec.DecisionID, rec.Outcome, detail, rec.RequestID, rec.PrevHash, rec.Hash)
		if err != nil {
			return s.fail("audit trail of account "+rec.AccountID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Only a committed (or joined) append changes r, so a failed one can be
	// retried as it was.
	*r = rec
	return nil
}

// lockChain serializes appends to the account's audit chain until the end
// of the transaction.
func (s *Store) lockChain(ctx context.Context, accountID string) error {
	if s.d.ForUpdate == "" {
		return nil
	}
	var id string
	err := s.queryRow(ctx, `SELECT id FROM accounts WHERE id = ?`+s.d.ForUpdate, accountID).Scan(&id)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		// No row to lock, and so no write of the account to order against.
		return s.lock(ctx, "holdfast.audit:"+accountID)
	}
	return s.fail("account "+accountID, err)
}

// ListAudit returns the account's records matching f, Seq ascending.
func (s *Store) ListAudit(ctx context.Context, accountID string, f holdfast.AuditFilter) ([]holdfast.AuditRecord, error) {
	where, args := auditWhere(accountID, f)
	order := ` ORDER BY seq`
	if f.Newest {
		order += ` DESC`
	}
	q, args := page(`SELECT `+auditColumns+` FROM audit WHERE `+where+order, args, f.Limit, 0)
	return list(ctx, s, "audit trail", scanAudit, q, args...)
}

// PageAudit returns one page of the account's records matching f in Seq
// order (descending with f.Newest), with the total that match; f.Limit is
// not looked at. The cursor is the last item's Seq.
func (s *Store) PageAudit(ctx context.Context, accountID string, f holdfast.AuditFilter, p holdfast.Page) (holdfast.Paged[holdfast.AuditRecord], error) {
	where, args := auditWhere(accountID, f)
	order, cmp := `seq`, `seq > ?`
	if f.Newest {
		order, cmp = `seq DESC`, `seq < ?`
	}
	return pageBy(ctx, s, pageQuery[holdfast.AuditRecord]{
		what: "audit trail", columns: auditColumns, from: `audit WHERE ` + where, args: args, order: order,
		after: func(key []string) (string, []any, error) {
			if len(key) != 1 {
				return "", nil, badCursor()
			}
			seq, err := strconv.ParseInt(key[0], 10, 64)
			if err != nil {
				return "", nil, badCursor()
			}
			return cmp, []any{seq}, nil
		},
		key:  func(r holdfast.AuditRecord) []string { return []string{strconv.FormatInt(r.Seq, 10)} },
		scan: scanAudit,
	}, p)
}

// auditWhere is the condition, with its arguments, that keeps the
// account's records matching f.
func auditWhere(accountID string, f holdfast.AuditFilter) (string, []any) {
	q := `account_id = ?`
	args := []any{accountID}
	if f.AfterSeq > 0 {
		q += ` AND seq > ?`
		args = append(args, f.AfterSeq)
	}
	if !f.Since.IsZero() {
		q += ` AND at >= ?`
		args = append(args, micros(f.Since))
	}
	if !f.Before.IsZero() {
		q += ` AND at < ?`
		args = append(args, micros(f.Before))
	}
	for _, c := range []struct{ column, value string }{
		{"actor_id", f.ActorID},
		{"action", f.Action},
		{"resource_type", f.ResourceType},
		{"resource_id", f.ResourceID},
	} {
		if c.value != "" {
			q += ` AND ` + c.column + ` = ?`
			args = append(args, c.value)
		}
	}
	return q, args
}

// PruneAudit removes the account's records with Seq <= throughSeq, never
// the newest one: the next append continues the chain from it. It returns
// how many records it removed. The database lets only this path delete
// audit rows: it first raises the account's prune mark (audit_prune), and
// the table's trigger refuses to delete a row above the mark.
func (s *Store) PruneAudit(ctx context.Context, accountID string, throughSeq int64) (int64, error) {
	var removed int64
	err := s.write(ctx, func(s *Store) error {
		if err := s.lockChain(ctx, accountID); err != nil {
			return err
		}
		var last int64
		err := s.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit WHERE account_id = ?`, accountID).Scan(&last)
		if err != nil {
			return s.fail("audit trail of account "+accountID, err)
		}
		through := min(throughSeq, last-1)
		if through < 1 {
			return nil
		}
		if _, err := s.exec(ctx, `DELETE FROM audit_prune WHERE account_id = ?`, accountID); err != nil {
			return s.fail("audit prune mark of account "+accountID, err)
		}
		if _, err := s.exec(ctx, `INSERT INTO audit_prune (account_id, through_seq) VALUES (?, ?)`, accountID, through); err != nil {
			return s.fail("audit prune mark of account "+accountID, err)
		}
		res, err := s.exec(ctx, `DELETE FROM audit WHERE account_id = ? AND seq <= ?`, accountID, through)
		if err != nil {
			return s.fail("audit trail of account "+accountID, err)
		}
		removed, err = res.RowsAffected()
		return err
	})
	return removed, err
}
