package server

import (
	"database/sql"
	"net/http"
	"strings"
	"testing"
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
