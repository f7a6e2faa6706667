package storagetest

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/holdfast/holdfast"
)

// DBer is implemented by SQL stores that expose their database. The suite
// uses it to prove what the MetaStore API cannot reach: that the database
// itself refuses to change or remove audit records. Stores without it skip
// that case.
type DBer interface {
	DB() *sql.DB
}

// AuditKey is the audit MAC key the suite's stores must be opened with.
var AuditKey = []byte("storagetest audit key, 32 bytes!")

// TestMetaStore runs the [holdfast.MetaStore] conformance suite: every
// clause of the contract in the root package's store.go, for every entity.
// open must return a new, empty, migrated store that chains audit records
// under AuditKey, and close it when the test ends (t.Cleanup); it is called
// once per subtest.
func TestMetaStore(t *testing.T, open func(t *testing.T) holdfast.MetaStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s holdfast.MetaStore)
	}{
		{"Account", testMetaAccount},
		{"Admin", testMetaAdmin},
		{"Role", testMetaRole},
		{"Profile", testMetaProfile},
		{"User", testMetaUser},
		{"Device", testMetaDevice},
		{"BackupStatus", testMetaBackupStatus},
		{"ComplianceSummary", testMetaComplianceSummary},
		{"StorageSeries", testMetaStorageSeries},
		{"HoldType", testMetaHoldType},
		{"Hold", testMetaHold},
		{"Attributes", testMetaAttributes},
		{"Token", testMetaToken},
		{"HoldAccess", testMetaHoldAccess},
		{"Alert", testMetaAlert},
		{"SDG", testMetaSDG},
		{"Report", testMetaReport},
		{"TenantIsolation", testMetaTenantIsolation},
		{"Revision", testMetaRevision},
		{"RevisionFresh", testMetaRevisionFresh},
		{"RevisionMonotonic", testMetaRevisionMonotonic},
		{"PolicyRules", testMetaPolicyRules},
		{"Tx", testMetaTx},
		{"AdminFilter", testMetaAdminFilter},
		{"AdminPaging", testMetaAdminPaging},
		{"UserFilter", testMetaUserFilter},
		{"Paging", testMetaPaging},
		{"HoldPaging", testMetaHoldPaging},
		{"Audit", testMetaAudit},
		{"AuditFilter", testMetaAuditFilter},
		{"AuditPaging", testMetaAuditPaging},
		{"AuditConcurrent", testMetaAuditConcurrent},
		{"AuditAppendOnly", testMetaAuditAppendOnly},
		{"AuditMAC", testMetaAuditMAC},
		{"AuditEditDetected", testMetaAuditEditDetected},
		{"AuditTruncationDetected", testMetaAuditTruncationDetected},
		{"AuditPrune", testMetaAuditPrune},
		{"AuditRetentionSchedule", testMetaAuditRetentionSchedule},
		{"AuditCutover", testMetaAuditCutover},
		{"ConcurrentWriters", testMetaConcurrentWriters},
		{"DeviceCommand", testMetaDeviceCommand},
		{"ActivationKey", testMetaActivationKey},
		{"DeviceMapping", testMetaDeviceMapping},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// metaT0 is a fixed time with nanoseconds and a zone, so round trips prove the
// store keeps microseconds and returns UTC.
var metaT0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

// at returns metaT0 plus d.
func metaAt(d time.Duration) time.Time { return metaT0.Add(d) }

// ptr returns a pointer to t.
func metaPtr(t time.Time) *time.Time { return &t }

// micro is t as a store returns it: UTC, microsecond precision.
func metaMicro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// microPtr is micro for optional times.
func metaMicroPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return metaPtr(metaMicro(*t))
}

// uniq returns a unique string with the prefix, for IDs and emails: admin
// emails are unique across accounts.
func metaUniq(prefix string) string { return prefix + "-" + uuid.NewString()[:8] }

// assertEqual fails unless got and want are deeply equal.
func metaAssertEqual[T any](tb testing.TB, what string, got, want T) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		tb.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// assertErr fails unless err matches target.
func metaAssertErr(tb testing.TB, what string, err, target error) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// must fails the test now on an error.
func metaMust(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// get fails the test now on an error and returns v.
func metaGet[T any](tb testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

// revision returns the account's revision.
func metaRevision(tb testing.TB, s holdfast.MetaStore, accountID string) int64 {
	tb.Helper()
	return metaGet[int64](tb)(s.Revision(context.Background(), accountID))
}

// metaFixture is an account with one of each entity a test builds on.
type metaFixture struct {
	account holdfast.Account
	admin   holdfast.Administrator
	profile holdfast.Profile
	user    holdfast.User
	hold    holdfast.LegalHold
}

// newAccount creates an account.
func metaNewAccount(tb testing.TB, s holdfast.MetaStore) holdfast.Account {
	tb.Helper()
	a := holdfast.Account{
		ID:       metaUniq("acct"),
		Name:     metaUniq("Account"),
		Edition:  holdfast.EditionEnterprise,
		Settings: holdfast.DefaultAccountSettings(),
	}
	metaMust(tb, s.CreateAccount(context.Background(), &a))
	return a
}

// newFixture creates an account with an administrator, a profile, a user in
// it and a hold.
func metaNewFixture(tb testing.TB, s holdfast.MetaStore) metaFixture {
	tb.Helper()
	ctx := context.Background()
	f := metaFixture{account: metaNewAccount(tb, s)}
	acct := f.account.ID
	f.admin = holdfast.Administrator{AccountID: acct, Name: "Ann", Email: metaUniq("ann") + "@example.com",
		RoleID: "role-platform", State: holdfast.AdminActive}
	metaMust(tb, s.CreateAdmin(ctx, &f.admin))
	f.profile = holdfast.Profile{AccountID: acct, Name: "Default", Default: true}
	metaMust(tb, s.CreateProfile(ctx, &f.profile))
	f.user = holdfast.User{AccountID: acct, Email: "ursula@example.com", Name: "Ursula", ProfileID: f.profile.ID,
		State: holdfast.UserActive}
	metaMust(tb, s.CreateUser(ctx, &f.user))
	f.hold = holdfast.LegalHold{AccountID: acct, Name: "Case 1", DataAccess: holdfast.AccessAllData}
	metaMust(tb, s.CreateHold(ctx, &f.hold))
	return f
}

// unchanged asserts that a failed write changed nothing: the account's
// revision is still rev.
func metaUnchanged(tb testing.TB, s holdfast.MetaStore, accountID string, rev int64, what string) {
	tb.Helper()
	if got := metaRevision(tb, s, accountID); got != rev {
		tb.Errorf("%s: revision %d after a failed write, want %d", what, got, rev)
	}
}
