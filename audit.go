package holdfast

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"time"
)

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"
	OutcomeFailed  = "failed"
)

// AuditRecord is one entry of an account's append-only, MAC-chained audit
// trail. Seq counts from 1 per account; Hash is an HMAC-SHA256, under a key
// kept outside the database, of every other field and PrevHash, so changing
// or removing a record breaks the chain after it and nobody without the key
// can re-chain it. Records written before keyed chains (version 1) carry an
// unkeyed SHA-256 instead (ComputeHash); see package audit for the cut-over.
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

// AuditKeySize is the size of an audit MAC key in bytes.
const AuditKeySize = 32

// ComputeMAC returns the hex HMAC-SHA256 under key that chains r to
// PrevHash. Time is taken at microsecond precision, the precision every
// store keeps.
func (r AuditRecord) ComputeMAC(key []byte) string {
	return r.digest(hmac.New(sha256.New, key), "holdfast-audit-v2")
}

// ComputeHash returns the unkeyed hex SHA-256 of version 1 chains, which
// only the records before the cut-over to keyed chains carry.
func (r AuditRecord) ComputeHash() string {
	return r.digest(sha256.New(), "holdfast-audit-v1")
}

func (r AuditRecord) digest(h hash.Hash, version string) string {
	detail := r.Detail
	if len(detail) == 0 {
		detail = json.RawMessage("null")
	}
	writeAuditFields(h, version, r, detail)
	return hex.EncodeToString(h.Sum(nil))
}

func writeAuditFields(w io.Writer, version string, r AuditRecord, detail json.RawMessage) {
	fmt.Fprintf(w, "%s\n%s\n%d\n%d\n%q\n%q\n%q\n%q\n%q\n%q\n%q\n%q\n%s\n%s\n",
		version, r.AccountID, r.Seq, r.Time.UTC().UnixMicro(), r.ActorID, r.ActorEmail, r.Action,
		r.ResourceType, r.ResourceID, r.DecisionID, r.Outcome, r.RequestID, r.PrevHash, detail)
}

// AuditFilter narrows ListAudit. Zero fields do not filter.
type AuditFilter struct {
	AfterSeq     int64 // records with Seq > AfterSeq
	ActorID      string
	Action       string
	ResourceType string
	ResourceID   string
	// Since and Before bound the records' time: Since <= Time < Before;
	// zero is unbounded.
	Since, Before time.Time
	Limit         int
	// Newest lists Seq descending, newest first.
	Newest bool
}

// AuditBreak describes where a chain stops verifying.
type AuditBreak struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

// AuditChain is what verifying one account's trail needs besides its
// records: the MAC key, and the point the chain continues from.
type AuditChain struct {
	Key []byte
	// PrevSeq and PrevHash are the record before the first one given
	// (0 and "" from the start of the trail).
	PrevSeq  int64
	PrevHash string
	// LegacyThrough is the last Seq chained with the unkeyed version 1
	// hash; later records carry MACs. 0: none.
	LegacyThrough int64
}

// Verify checks records, which must continue c in Seq order, and advances
// c past them. It returns nil when every link holds.
func (c *AuditChain) Verify(records []AuditRecord) *AuditBreak {
	for _, r := range records {
		if r.Seq != c.PrevSeq+1 {
			return &AuditBreak{Seq: r.Seq, Reason: fmt.Sprintf("sequence gap: expected %d", c.PrevSeq+1)}
		}
		if r.PrevHash != c.PrevHash {
			return &AuditBreak{Seq: r.Seq, Reason: "previous hash does not match"}
		}
		want := ""
		if r.Seq <= c.LegacyThrough {
			want = r.ComputeHash()
		} else {
			want = r.ComputeMAC(c.Key)
		}
		if !hmac.Equal([]byte(want), []byte(r.Hash)) {
			return &AuditBreak{Seq: r.Seq, Reason: "record MAC does not match its content"}
		}
		c.PrevSeq, c.PrevHash = r.Seq, r.Hash
	}
	return nil
}
