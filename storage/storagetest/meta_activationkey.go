package storagetest

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

// testMetaActivationKey covers activation keys and deployment tokens: a
// round trip, lookup by hash across accounts, the taken and missing
// cases, revocation kept at its first time, paging under each filter and
// scope, the revision left alone, and keys going with their user and
// profile.
func testMetaActivationKey(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f := newPageFixture(t, s)
	user := f.users[0]
	hash := func(i int) []byte { h := sha256.Sum256(fmt.Appendf(nil, "%s-%d", f.acct, i)); return h[:] }
	in := holdfast.ActivationKey{ID: metaUniq("key"), AccountID: f.acct, Kind: holdfast.ActivationUser, UserID: user.ID,
		Name: "new laptop", Hash: hash(0), Prefix: "hfa_abcd", CreatedBy: "adm-1", CreatedAt: metaAt(0), ExpiresAt: metaAt(24 * time.Hour)}
	rev := metaRevision(t, s, f.acct)
	k := in
	metaMust(t, s.CreateActivationKey(ctx, &k))
	want := in
	want.CreatedAt, want.ExpiresAt = metaMicro(in.CreatedAt), metaMicro(in.ExpiresAt)
	metaAssertEqual(t, "GetActivationKey", metaGet[holdfast.ActivationKey](t)(s.GetActivationKey(ctx, f.acct, in.ID)), want)
	metaAssertEqual(t, "GetActivationKeyByHash", metaGet[holdfast.ActivationKey](t)(s.GetActivationKeyByHash(ctx, hash(0))), want)
	_, err := s.GetActivationKeyByHash(ctx, hash(99))
	metaAssertErr(t, "GetActivationKeyByHash of an unknown secret", err, holdfast.ErrNotFound)
	_, err = s.GetActivationKey(ctx, metaNewAccount(t, s).ID, in.ID)
	metaAssertErr(t, "GetActivationKey from another account", err, holdfast.ErrNotFound)

	dupHash := holdfast.ActivationKey{AccountID: f.acct, Kind: holdfast.ActivationDeployment, ProfileID: f.sales.ID, Hash: hash(0), ExpiresAt: metaAt(time.Hour)}
	metaAssertErr(t, "CreateActivationKey with a taken hash", s.CreateActivationKey(ctx, &dupHash), holdfast.ErrConflict)
	noUser := holdfast.ActivationKey{AccountID: f.acct, Kind: holdfast.ActivationUser, UserID: "missing", Hash: hash(98), ExpiresAt: metaAt(time.Hour)}
	metaAssertErr(t, "CreateActivationKey of a missing user", s.CreateActivationKey(ctx, &noUser), holdfast.ErrNotFound)
	noProfile := holdfast.ActivationKey{AccountID: f.acct, Kind: holdfast.ActivationDeployment, ProfileID: "missing", Hash: hash(97), ExpiresAt: metaAt(time.Hour)}
	metaAssertErr(t, "CreateActivationKey of a missing profile", s.CreateActivationKey(ctx, &noProfile), holdfast.ErrNotFound)

	metaMust(t, s.RevokeActivationKey(ctx, f.acct, in.ID, metaAt(time.Minute)))
	metaMust(t, s.RevokeActivationKey(ctx, f.acct, in.ID, metaAt(time.Hour)))
	want.RevokedAt = metaMicroPtr(metaPtr(metaAt(time.Minute)))
	metaAssertEqual(t, "GetActivationKey after two revokes", metaGet[holdfast.ActivationKey](t)(s.GetActivationKey(ctx, f.acct, in.ID)), want)
	metaAssertErr(t, "RevokeActivationKey missing", s.RevokeActivationKey(ctx, f.acct, "missing", metaAt(0)), holdfast.ErrNotFound)
	metaAssertEqual(t, "revision after key writes", metaRevision(t, s, f.acct), rev)

	testMetaActivationKeyPaging(t, s, f, want, hash)
	metaMust(t, s.PurgeUser(ctx, f.acct, user.ID))
	_, err = s.GetActivationKey(ctx, f.acct, in.ID)
	metaAssertErr(t, "GetActivationKey after its user is purged", err, holdfast.ErrNotFound)
}

func testMetaActivationKeyPaging(t *testing.T, s holdfast.MetaStore, f pageFixture, first holdfast.ActivationKey, hash func(int) []byte) {
	ctx := t.Context()
	all := []holdfast.ActivationKey{first}
	for i, u := range f.users {
		k := holdfast.ActivationKey{AccountID: f.acct, Kind: holdfast.ActivationUser, UserID: u.ID, Hash: hash(100 + i),
			CreatedAt: metaAt(time.Duration(i%3) * time.Second), ExpiresAt: metaAt(time.Hour)}
		metaMust(t, s.CreateActivationKey(ctx, &k))
		all = append(all, metaGet[holdfast.ActivationKey](t)(s.GetActivationKey(ctx, f.acct, k.ID)))
	}
	for i, p := range []holdfast.Profile{f.sales, f.ops, f.sales} {
		k := holdfast.ActivationKey{AccountID: f.acct, Kind: holdfast.ActivationDeployment, ProfileID: p.ID, Hash: hash(200 + i),
			CreatedAt: metaAt(time.Second), ExpiresAt: metaAt(time.Hour)}
		metaMust(t, s.CreateActivationKey(ctx, &k))
		all = append(all, metaGet[holdfast.ActivationKey](t)(s.GetActivationKey(ctx, f.acct, k.ID)))
	}
	profileOf := map[string]string{}
	for _, u := range f.users {
		profileOf[u.ID] = u.ProfileID
	}
	in := func(k holdfast.ActivationKey, p string) bool { return k.ProfileID == p || profileOf[k.UserID] == p }
	cases := []struct {
		name string
		f    holdfast.ActivationKeyFilter
		keep func(holdfast.ActivationKey) bool
	}{
		{"all", holdfast.ActivationKeyFilter{}, func(holdfast.ActivationKey) bool { return true }},
		{"deployment", holdfast.ActivationKeyFilter{Kind: holdfast.ActivationDeployment}, func(k holdfast.ActivationKey) bool { return k.Kind == holdfast.ActivationDeployment }},
		{"one user", holdfast.ActivationKeyFilter{UserID: first.UserID}, func(k holdfast.ActivationKey) bool { return k.UserID == first.UserID }},
		{"one profile's tokens", holdfast.ActivationKeyFilter{ProfileID: f.sales.ID}, func(k holdfast.ActivationKey) bool { return k.ProfileID == f.sales.ID }},
		{"ops scope", holdfast.ActivationKeyFilter{ProfileIDs: []string{f.ops.ID}}, func(k holdfast.ActivationKey) bool { return in(k, f.ops.ID) }},
		{"empty scope", holdfast.ActivationKeyFilter{ProfileIDs: []string{}}, func(holdfast.ActivationKey) bool { return false }},
	}
	for _, tc := range cases {
		kept := slices.DeleteFunc(slices.Clone(all), func(k holdfast.ActivationKey) bool { return !tc.keep(k) })
		slices.SortStableFunc(kept, func(a, b holdfast.ActivationKey) int {
			if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
				return c
			}
			return compareStrings(a.ID, b.ID)
		})
		want := []string{}
		for _, k := range kept {
			want = append(want, k.ID)
		}
		for _, limit := range []int{1, 5, holdfast.MaxPageSize} {
			got, total := WalkPages(t, limit, func(k holdfast.ActivationKey) string { return k.ID },
				func(p holdfast.Page) (holdfast.Paged[holdfast.ActivationKey], error) {
					return s.PageActivationKeys(ctx, f.acct, tc.f, p)
				})
			if got == nil {
				got = []string{}
			}
			if !slices.Equal(got, want) || total != len(want) {
				t.Errorf("%s, limit %d: listed %v (total %d), want %v", tc.name, limit, got, total, want)
			}
		}
	}
}
