package holdfast

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"
	OutcomeFailed  = "failed"
)

// AuditRecord is one entry of an account's append-only, hash-chained audit
// trail. Seq counts from 1 per account; Hash covers every other field and
// PrevHash, so changing or removing a record breaks the chain after it.
type AuditRecord struct {
	AccountID    string          `json:"account_id"`
	Seq          int64           `json:"seq"`
	Time         time.Time       `json:"time"`
	ActorID      string          `json:"actor_id"`    // administrator id, "" for the system
	ActorEmail   string          `json:"actor_email"` // as it was when acting
	Action       string          `json:"action"`      // e.g. "administrator.create"
	ResourceType string          `json:"resource_type"`
	ResourceID   string          `json:"resource_id"`
	DecisionID   string          `json:"decision_id,omitempty"`
	Outcome      string          `json:"outcome"`
	Detail       json.RawMessage `json:"detail,omitempty"`
	RequestID    string          `json:"request_id,omitempty"`
	PrevHash     string          `json:"prev_hash"`
	Hash         string          `json:"hash"`
}

// ComputeHash returns the hex SHA-256 that chains r to PrevHash. Time is
// taken at microsecond precision, the precision every store keeps.
func (r AuditRecord) ComputeHash() string {
	detail := r.Detail
	if len(detail) == 0 {
		detail = json.RawMessage("null")
	}
	h := sha256.New()
	fmt.Fprintf(h, "holdfast-audit-v1\n%s\n%d\n%d\n%q\n%q\n%q\n%q\n%q\n%q\n%q\n%q\n%s\n%s\n",
		r.AccountID, r.Seq, r.Time.UTC().UnixMicro(), r.ActorID, r.ActorEmail, r.Action,
		r.ResourceType, r.ResourceID, r.DecisionID, r.Outcome, r.RequestID, r.PrevHash, detail)
	return hex.EncodeToString(h.Sum(nil))
}

// AuditFilter narrows ListAudit. Zero fields do not filter.
type AuditFilter struct {
	AfterSeq     int64 // records with Seq > AfterSeq
	ActorID      string
	Action       string
	ResourceType string
	ResourceID   string
	Limit        int
}

// AuditBreak describes where a chain stops verifying.
type AuditBreak struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// VerifyAuditChain checks records, which must be one account's trail in Seq
// order starting at Seq 1 (or continuing from prevHash after prevSeq). It
// returns nil when every link holds.
func VerifyAuditChain(prevSeq int64, prevHash string, records []AuditRecord) *AuditBreak {
	for _, r := range records {
		if r.Seq != prevSeq+1 {
			return &AuditBreak{Seq: r.Seq, Reason: fmt.Sprintf("sequence gap: expected %d", prevSeq+1)}
		}
		if r.PrevHash != prevHash {
			return &AuditBreak{Seq: r.Seq, Reason: "previous hash does not match"}
		}
		if r.ComputeHash() != r.Hash {
			return &AuditBreak{Seq: r.Seq, Reason: "record hash does not match its content"}
		}
		prevSeq, prevHash = r.Seq, r.Hash
	}
	return nil
}
