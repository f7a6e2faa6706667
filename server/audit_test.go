package server

import (
	"database/sql"
	"net/http"
	"strings"
	"testing"

	"github.com/holdfast/holdfast/audit"
)

// TestAuditUnwritableRefusesChange: with an audit table that refuses
// inserts, every change answers 503 with a message and Retry-After and
// leaves the store as it was; once the table takes inserts again the
// same change goes through.
func TestAuditUnwritableRefusesChange(t *testing.T) {
	f := newFixture(t)
	s := f.seedData()
	db := f.store.(interface{ DB() *sql.DB }).DB()
	for _, m := range mutations(s) {
		if m.name == "delete admin" || m.name == "delete profile" {
			continue // refused for reasons of their own (TestConflicts)
		}
		t.Run(m.name, func(t *testing.T) {
			if _, err := db.Exec(`CREATE TRIGGER audit_refuse BEFORE INSERT ON audit
				BEGIN SELECT RAISE(ABORT, 'audit sink blocked'); END`); err != nil {
				t.Fatal(err)
			}
			path := strings.ReplaceAll(m.path, "{admin}", f.admin.ID)
			before, auditBefore := f.snapshot()
			w := f.do(m.method, path, m.body)
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
				t.Fatalf("status = %d, Retry-After %q, want 503 with Retry-After: %s", w.Code, w.Header().Get("Retry-After"), w.Body)
			}
			e := errorOf(t, w)
			if e.Code != "unavailable" || !strings.Contains(e.Message, "audit trail cannot be written, so nothing was changed") ||
				strings.Contains(e.Message, "sink blocked") {
				t.Errorf("envelope = %+v, want the audit refusal without the driver's text", e)
			}
			after, auditAfter := f.snapshot()
			if after != before || len(auditAfter) != len(auditBefore) {
				t.Errorf("the store changed although its audit record was refused:\nbefore %s\nafter  %s", before, after)
			}
			if _, err := db.Exec(`DROP TRIGGER audit_refuse`); err != nil {
				t.Fatal(err)
			}
			if w := f.do(m.method, path, m.body); w.Code >= 300 {
				t.Errorf("after the audit trail recovered: status %d: %s", w.Code, w.Body)
			}
		})
	}
}

// TestAuditVerifyMissingTail: records deleted after a checkpoint are
// reported as the missing tail; the endpoint needs admins.view.
func TestAuditVerifyMissingTail(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"A", "B", "C"} {
		if w := f.do("POST", "/api/v1/profiles", map[string]any{"name": name}); w.Code != http.StatusCreated {
			t.Fatalf("create profile: %d %s", w.Code, w.Body)
		}
	}
	if err := f.srv.audit.Checkpoint(t.Context(), audit.ReasonShutdown); err != nil {
		t.Fatal(err)
	}
	var v auditVerification
	decode(t, f.do("GET", "/api/v1/audit/verify", nil), &v)
	if !v.OK || v.LastSeq != 4 || v.CheckpointSeq != 4 {
		t.Fatalf("verify = %+v, want OK to the checkpoint at seq 4", v)
	}
	db := f.store.(interface{ DB() *sql.DB }).DB()
	for _, stmt := range []string{`DROP TRIGGER audit_no_delete`, `DELETE FROM audit WHERE seq > 2`} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	v = auditVerification{}
	w := f.do("GET", "/api/v1/audit/verify", nil)
	decode(t, w, &v)
	if v.OK || v.Break == nil || v.Break.Seq != 3 || !strings.Contains(v.Break.Reason, "missing tail") || v.LastSeq != 2 {
		t.Errorf("verify after truncation = %s, want the missing tail from seq 3", w.Body)
	}

	f.engine.denyRight("admins.view", "cannot view administrators")
	if w := f.do("GET", "/api/v1/audit/verify", nil); w.Code != http.StatusForbidden {
		t.Errorf("verify without admins.view: %d, want 403", w.Code)
	}
}
