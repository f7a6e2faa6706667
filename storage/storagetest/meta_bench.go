package storagetest

import (
	"testing"

	"github.com/holdfast/holdfast"
)

// BenchmarkMetaStore benchmarks the store's hot paths: administrator
// look-ups (every request) and audit appends (every write). open is as for
// TestMetaStore.
func BenchmarkMetaStore(b *testing.B, open func(b *testing.B) holdfast.MetaStore) {
	b.Run("GetAdmin", func(b *testing.B) {
		s := open(b)
		f := metaNewFixture(b, s)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.GetAdmin(b.Context(), f.account.ID, f.admin.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendAudit", func(b *testing.B) {
		s := open(b)
		acct := metaNewAccount(b, s).ID
		b.ReportAllocs()
		for b.Loop() {
			r := holdfast.AuditRecord{AccountID: acct, Action: "bench", ResourceType: holdfast.ResourceUser, ResourceID: "u1"}
			if err := s.AppendAudit(b.Context(), &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendAuditParallel", func(b *testing.B) {
		s := open(b)
		acct := metaNewAccount(b, s).ID
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r := holdfast.AuditRecord{AccountID: acct, Action: "bench"}
				if err := s.AppendAudit(b.Context(), &r); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
