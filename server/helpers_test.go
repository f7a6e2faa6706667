package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/audit"
	"github.com/holdfast/holdfast/policies"
	"github.com/holdfast/holdfast/setup"
	blobfs "github.com/holdfast/holdfast/storage/fs"
	"github.com/holdfast/holdfast/storage/sqlite"
	"github.com/holdfast/holdfast/storage/sqlstore"
)

// testToken is the platform administrator's API token in every fixture.
// testAuditKey chains the test stores' audit trails; testAuditSigner signs
// their checkpoints.
var (
	testAuditKey    = []byte("server test audit key, 32 bytes!")
	testAuditSigner = ed25519.NewKeyFromSeed([]byte("server test checkpoint seed, 32b"))
)

// auditVerification is the body of GET /api/v1/audit/verify.
type auditVerification = audit.Report

// openTestStore opens a new SQLite store chained under testAuditKey.
func openTestStore(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "holdfast.db"), sqlstore.WithAuditKey(testAuditKey))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return store
}

// nowClock is a holdfast.Clock over a function that returns the time.
type nowClock func() time.Time

func (f nowClock) Now() time.Time { return f() }

// newTestAudit returns an audit service over store, with checkpoints in a
// temporary directory.
func newTestAudit(tb testing.TB, store holdfast.MetaStore, now func() time.Time) *audit.Service {
	tb.Helper()
	blobs, err := blobfs.New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := audit.New(audit.Options{Store: store, Key: testAuditKey, Signer: testAuditSigner,
		Checkpoints: audit.NewCheckpoints(blobs, 0), Clock: nowClock(now)})
	if err != nil {
		tb.Fatal(err)
	}
	return svc
}

const testToken = "hf_test-token-0123456789abcdefghijklmnopqrstuvwxyz"

// fakeEngine is a test double of the decision engine: it allows
// everything except the rights in deny, and serves a few predefined roles
// plus the store's custom roles. It records every decision request.
type fakeEngine struct {
	store holdfast.MetaStore
	cat   *policies.Catalog

	mu   sync.Mutex
	deny map[string]string // right -> reason
	// hidden are resource ids every decision about is refused.
	hidden map[string]bool
	calls  []holdfast.DecisionRequest
	fail   error // returned by Decide when set
	n      int
}

// predefinedRoles are the catalog roles the fake engine serves.
var predefinedRoles = []holdfast.Role{
	{ID: "platform_admin", Name: "Platform Administrator", Product: holdfast.ProductPlatform, Scope: []string{"platform"}, Predefined: true,
		Rights: []string{"admins.create", "admins.view", testPlatformRight, testFailsafeRight, testWebDAVTokenRight}},
	{ID: "cloud_admin", Name: "Cloud Administrator", Product: holdfast.ProductInSync, Scope: []string{"product_account"}, Predefined: true,
		Rights: []string{"admins.view", "users.view", testWebDAVTokenRight}},
	{ID: "legal_admin", Name: "Legal Administrator", Product: holdfast.ProductInSync, Scope: []string{"legal_hold_type"}, Predefined: true,
		Rights: []string{"legal_holds.view"}},
	{ID: "help_desk_admin", Name: "Help Desk Administrator", Product: holdfast.ProductInSync, Scope: []string{"profile", "workload"}, Predefined: true, Rights: []string{"users.view", "users.manage"}},
}

func (e *fakeEngine) denyRight(right, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.deny == nil {
		e.deny = map[string]string{}
	}
	e.deny[right] = reason
}

// denyResource refuses every decision about the resource id.
func (e *fakeEngine) denyResource(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.hidden == nil {
		e.hidden = map[string]bool{}
	}
	e.hidden[id] = true
}

func (e *fakeEngine) requests() []holdfast.DecisionRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

func (e *fakeEngine) Decide(_ context.Context, req holdfast.DecisionRequest) (holdfast.Decision, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, req)
	if e.fail != nil {
		return holdfast.Decision{}, e.fail
	}
	e.n++
	d := holdfast.Decision{Allow: true, ID: fmt.Sprintf("dec_%d", e.n)}
	if reason, ok := e.deny[req.Action.Name]; ok || e.deny["*"] != "" {
		if !ok {
			reason = e.deny["*"]
		}
		d.Allow, d.Reasons = false, []string{reason}
	}
	if e.hidden[req.Resource.ID] {
		d.Allow, d.Reasons = false, []string{"outside the administrator's scope"}
	}
	return d, nil
}

func (e *fakeEngine) Roles(ctx context.Context, accountID string) ([]holdfast.Role, error) {
	out := slices.Clone(predefinedRoles)
	stored, err := e.store.ListRoles(ctx, accountID)
	if err != nil {
		return nil, err
	}
	for _, r := range stored {
		if r.OverrideOf == "" {
			out = append(out, r)
		}
	}
	return out, nil
}

func (e *fakeEngine) Role(ctx context.Context, accountID, id string) (holdfast.Role, error) {
	stored, err := e.store.GetRole(ctx, accountID, id)
	if err != nil && !errors.Is(err, holdfast.ErrNotFound) {
		return holdfast.Role{}, err
	}
	for _, r := range predefinedRoles {
		if r.ID == id {
			if err == nil {
				r.OverrideOf, r.Rights, r.CreatedAt = id, stored.Rights, stored.CreatedAt
			}
			return r, nil
		}
	}
	if err != nil {
		return holdfast.Role{}, fmt.Errorf("role %q: %w", id, holdfast.ErrNotFound)
	}
	return stored, nil
}

func (e *fakeEngine) SaveRoleRights(ctx context.Context, tx holdfast.MetaStore, accountID, roleID string, rights []string) error {
	if err := tx.RemoveFilteredPolicyRules(ctx, "p", 0, roleID, accountID); err != nil {
		return err
	}
	rules := make([]holdfast.PolicyRule, 0, len(rights))
	for _, r := range rights {
		rules = append(rules, holdfast.PolicyRule{PType: "p", V: []string{roleID, accountID, r}})
	}
	return tx.AddPolicyRules(ctx, rules)
}

func (e *fakeEngine) DeleteRoleRights(ctx context.Context, tx holdfast.MetaStore, accountID, roleID string) error {
	return tx.RemoveFilteredPolicyRules(ctx, "p", 0, roleID, accountID)
}

func (e *fakeEngine) Catalog() *policies.Catalog { return e.cat }

// The rights that make a platform administrator, and one who may use the
// fail-safe password, in testCatalog's rules (as in the real catalog).
const (
	testPlatformRight = "account.platform_admins.manage"
	testFailsafeRight = "account.failsafe_login"
	// testWebDAVTokenRight opens WebDAV to an API token.
	testWebDAVTokenRight = "api_tokens.manage"
)

// testCatalog is a small catalog for the fake engine: two categories of
// the real one.
var testCatalog = &policies.Catalog{
	Rules: policies.Rules{PlatformAdminRight: testPlatformRight, FailsafeRight: testFailsafeRight, WebDAVTokenRight: testWebDAVTokenRight},
	// legal administrators keep their passwords under SSO, as in the real
	// catalog.
	Roles: []policies.Role{{ID: "legal_admin", Name: "Legal Administrator", PasswordUnderSSO: true}},
	Categories: []policies.Category{
		{ID: "user_management", Name: "User Management", Assignable: true},
		{ID: "reporting_alert_management", Name: "Reporting and Alert Management", Assignable: true},
	},
	Rights: []policies.Right{
		{ID: "users.view", Category: "user_management", Name: "View Users"},
		{ID: "users.create_import", Category: "user_management", Name: "Create and Import Users"},
		{ID: "users.manage", Category: "user_management", Name: "Manage Users"},
		{ID: "users.delete", Category: "user_management", Name: "Delete Users"},
		{ID: "reports.view", Category: "reporting_alert_management", Name: "View reports"},
		{ID: "alerts.manage", Category: "reporting_alert_management", Name: "Manage alerts"},
	},
	Workloads: []policies.Workload{
		{ID: "endpoints", Name: "Endpoints"},
		{ID: "microsoft_365", Name: "Microsoft 365"},
		{ID: "exchange_online", Name: "Exchange Online", Parent: "microsoft_365"},
		{ID: "onedrive", Name: "OneDrive", Parent: "microsoft_365"},
	},
}

// fixture is a server over a fresh SQLite store with one bootstrapped
// account, and a fake engine.
type fixture struct {
	t       testing.TB
	store   holdfast.MetaStore
	engine  *fakeEngine
	srv     *Server
	handler http.Handler
	account holdfast.Account
	admin   holdfast.Administrator
	logs    *bytes.Buffer
	now     time.Time
}

func newFixture(tb testing.TB, configure ...func(*fixture, *Options)) *fixture {
	tb.Helper()
	ctx := context.Background()
	store := openTestStore(tb)
	res, err := setup.Bootstrap(ctx, store, setup.BootstrapOptions{Token: testToken, AdminEmail: "root@example.com", AdminPassword: "Correct horse battery 1"})
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{t: tb, store: store, account: res.Account, admin: res.Admin, logs: &bytes.Buffer{},
		now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	f.engine = &fakeEngine{store: store, cat: testCatalog}
	opts := Options{
		Store:  store,
		Engine: f.engine,
		Logger: slog.New(slog.NewJSONHandler(f.logs, nil)),
		Clock:  clockFunc(func() time.Time { return f.now }),
	}
	opts.Audit = newTestAudit(tb, store, opts.Clock.Now)
	for _, c := range configure {
		c(f, &opts)
	}
	f.srv, err = New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	f.handler = f.srv.Handler()
	return f
}

// do sends a request with the fixture's token (unless header says
// otherwise) and returns the recorded response.
func (f *fixture) do(method, path string, body any, header ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, req)
	return w
}

// decode unmarshals a response body into v.
func decode(tb testing.TB, w *httptest.ResponseRecorder, v any) {
	tb.Helper()
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		tb.Fatalf("decode %q: %v", w.Body.String(), err)
	}
}

// errorOf returns the error envelope of a response.
func errorOf(tb testing.TB, w *httptest.ResponseRecorder) errorBody {
	tb.Helper()
	var env errorEnvelope
	decode(tb, w, &env)
	return env.Error
}

// seed holds ids the fixture created with seedData.
type seed struct {
	profile, user, heldUser, device, heldDevice, customType, usedType, hold, role string
}

// seedData creates a profile, users (one held), devices, hold types and a
// hold directly in the store.
func (f *fixture) seedData() seed {
	f.t.Helper()
	ctx := context.Background()
	acct := f.account.ID
	var s seed
	err := f.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		p := holdfast.Profile{AccountID: acct, Name: "Sales", CreatedAt: f.now, UpdatedAt: f.now}
		if err := tx.CreateProfile(ctx, &p); err != nil {
			return err
		}
		u := holdfast.User{AccountID: acct, Email: "ann@example.com", Name: "Ann", ProfileID: p.ID, State: holdfast.UserActive, CreatedAt: f.now, UpdatedAt: f.now}
		if err := tx.CreateUser(ctx, &u); err != nil {
			return err
		}
		h := holdfast.User{AccountID: acct, Email: "held@example.com", Name: "Held", ProfileID: p.ID, State: holdfast.UserActive, CreatedAt: f.now, UpdatedAt: f.now}
		if err := tx.CreateUser(ctx, &h); err != nil {
			return err
		}
		d := holdfast.Device{AccountID: acct, UserID: u.ID, Name: "laptop", Kind: holdfast.DeviceEndpoint, Workload: "endpoints", State: "enabled", CreatedAt: f.now, UpdatedAt: f.now}
		if err := tx.CreateDevice(ctx, &d); err != nil {
			return err
		}
		hd := holdfast.Device{AccountID: acct, UserID: h.ID, Name: "held laptop", Kind: holdfast.DeviceEndpoint, Workload: "endpoints", State: "enabled", CreatedAt: f.now, UpdatedAt: f.now}
		if err := tx.CreateDevice(ctx, &hd); err != nil {
			return err
		}
		ct := holdfast.LegalHoldType{AccountID: acct, Name: "Custom", CreatedAt: f.now, UpdatedAt: f.now}
		if err := tx.CreateHoldType(ctx, &ct); err != nil {
			return err
		}
		ut := holdfast.LegalHoldType{AccountID: acct, Name: "Used", CreatedAt: f.now, UpdatedAt: f.now}
		if err := tx.CreateHoldType(ctx, &ut); err != nil {
			return err
		}
		hold := holdfast.LegalHold{AccountID: acct, Name: "Q3 audit", TypeID: ut.ID, DataAccess: holdfast.AccessAllData, CreatedAt: f.now, UpdatedAt: f.now}
		if err := tx.CreateHold(ctx, &hold); err != nil {
			return err
		}
		if err := tx.AddCustodian(ctx, acct, &holdfast.Custodian{HoldID: hold.ID, UserID: h.ID, AddedAt: f.now}); err != nil {
			return err
		}
		role := holdfast.Role{ID: "role_seed", AccountID: acct, Name: "Seed role", Product: holdfast.ProductInSync, Rights: []string{"users.view"}, CreatedAt: f.now, UpdatedAt: f.now}
		if err := tx.CreateRole(ctx, &role); err != nil {
			return err
		}
		s = seed{profile: p.ID, user: u.ID, heldUser: h.ID, device: d.ID, heldDevice: hd.ID, customType: ct.ID, usedType: ut.ID, hold: hold.ID, role: role.ID}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// snapshot is everything a request could change, as JSON, for "nothing
// changed" assertions. Audit records are returned apart.
func (f *fixture) snapshot() (state string, audit []holdfast.AuditRecord) {
	f.t.Helper()
	ctx := context.Background()
	acct := f.account.ID
	var parts []any
	add := func(v any, err error) {
		if err != nil {
			f.t.Fatal(err)
		}
		parts = append(parts, v)
	}
	add(f.store.GetAccount(ctx, acct))
	add(f.store.ListAdmins(ctx, acct, holdfast.AdminFilter{}))
	add(f.store.ListRoles(ctx, acct))
	add(f.store.ListProfiles(ctx, acct))
	add(f.store.ListUsers(ctx, acct, holdfast.UserFilter{}))
	add(f.store.ListDevices(ctx, acct, ""))
	add(f.store.PageDeviceCommands(ctx, acct, holdfast.DeviceCommandFilter{}, holdfast.Page{Limit: holdfast.MaxPageSize}))
	add(f.store.ListHoldTypes(ctx, acct))
	add(f.store.ListHolds(ctx, acct))
	add(f.store.ListPolicyRules(ctx))
	b, err := json.Marshal(parts)
	if err != nil {
		f.t.Fatal(err)
	}
	audit, err = f.store.ListAudit(ctx, acct, holdfast.AuditFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b), audit
}

// lastAudit returns the newest audit record.
func (f *fixture) lastAudit() holdfast.AuditRecord {
	f.t.Helper()
	_, audit := f.snapshot()
	if len(audit) == 0 {
		f.t.Fatal("no audit records")
	}
	return audit[len(audit)-1]
}
