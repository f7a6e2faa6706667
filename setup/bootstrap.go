// Package setup prepares a store for its first use and brings an operator
// back into a locked-out account: Bootstrap creates the account, its
// defaults and its platform administrator (with a one-time setup link
// when no password is given), and Recover re-enables a platform
// administrator for whoever runs the server (holdfast admin recover).
// Both work on the store directly, before any administrator exists who
// could be asked, and write their audit records in the same transaction.
// Which role makes a platform administrator is catalog data.
package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/policies"
	"github.com/holdfast/holdfast/signin"
)

// Defaults of BootstrapOptions.
const (
	DefaultAccountName = "Holdfast"
	DefaultAdminEmail  = "admin@holdfast.local"
	// MinBootstrapTokenLength is the shortest API token Bootstrap accepts.
	MinBootstrapTokenLength = 24
)

// BootstrapOptions describe the account and platform administrator that the
// first start creates.
type BootstrapOptions struct {
	Edition holdfast.Edition // "" = elite
	// Addons are the add-ons the new account starts with (ids of
	// holdfast.Addons); none by default.
	Addons      []string
	AccountName string // "" = DefaultAccountName
	AdminEmail  string // "" = DefaultAdminEmail
	AdminName   string // "" = derived from the email's local part
	// AdminPassword is the platform administrator's password, which must
	// meet the password policy; "" leaves the administrator without one
	// and returns a one-time setup link in BootstrapResult.Setup instead.
	AdminPassword holdfast.Secret
	// Token, when set, becomes an API token of the platform administrator
	// with exactly this secret, so automation can call the API right away.
	Token holdfast.Secret
	// Clock dates the account and the setup link; nil is the wall clock.
	Clock holdfast.Clock
	// Catalog names the platform administrator role (the one holding
	// rules.platform_admin_right and rules.failsafe_right); nil is the
	// embedded catalog.
	Catalog *policies.Catalog
	// platformRoles are the roles of Catalog that make a platform
	// administrator, the first the one Bootstrap gives.
	platformRoles []string
}

// BootstrapResult says what Bootstrap did.
type BootstrapResult struct {
	// Existing is true when the store already held an account and nothing
	// was created.
	Existing bool
	// Account is the created account, or on a later start the only account
	// (zero when there are several).
	Account holdfast.Account
	// Admin is the created platform administrator (zero when Existing).
	Admin holdfast.Administrator
	// Setup is the one-time link that sets the first password of the
	// platform administrator, when that administrator has none yet: on the
	// first start without AdminPassword, and again (a fresh link, voiding
	// the earlier ones) on every later start until the password is set.
	// Only its hash is stored: show it once, then forget it.
	Setup Link
	// TokenID is the id of the API token made from BootstrapOptions.Token.
	TokenID string
	// Warnings list bootstrap options a later start ignored, in words an
	// operator can act on. They never contain a secret.
	Warnings []string
}

// Link is a one-time link to the setup page (Path).
type Link struct {
	Secret    holdfast.Secret // "" = no link
	AdminID   string
	Email     string // of the administrator whose password it sets
	ExpiresAt time.Time
}

// URL is the link under base, the server's public URL.
func (l Link) URL(base string) string {
	return strings.TrimSuffix(base, "/") + Path + "?token=" + l.Secret.Reveal()
}

// Path is the page that sets the first administrator's password; the
// server serves it.
const Path = "/setup"

// Bootstrap prepares an empty store for use. When the store holds no
// account it creates, in one transaction: the account (add-ons off, default
// settings), the Default profile, the predefined legal hold types, the
// platform administrator with an argon2id password hash, the API token of
// opts.Token when set, and an "account.bootstrap" audit record.
//
// When an account already exists Bootstrap changes nothing and returns
// Existing. It never replaces credentials on a later start: a bootstrap
// token that is not already a live token of the account is NOT created
// (otherwise changing an environment variable would silently mint a second
// credential), and a bootstrap email or password that does not match the
// stored administrator is ignored. Each ignored option is reported in
// Warnings for the caller to log; tokens and passwords are then managed
// through the API.
//
// Invalid options (unknown edition, malformed email, a password the
// password policy refuses, a token shorter than MinBootstrapTokenLength) return
// an error matching holdfast.ErrInvalid, before anything is written.
func Bootstrap(ctx context.Context, store holdfast.MetaStore, opts BootstrapOptions) (BootstrapResult, error) {
	opts, err := opts.normalize()
	if err != nil {
		return BootstrapResult{}, err
	}
	existing := func() (BootstrapResult, error) {
		accounts, err := store.ListAccounts(ctx)
		if err != nil {
			return BootstrapResult{}, fmt.Errorf("bootstrap: list accounts: %w", err)
		}
		if len(accounts) == 0 {
			return BootstrapResult{}, nil
		}
		return checkExisting(ctx, store, accounts, opts)
	}
	if res, err := existing(); err != nil || res.Existing {
		if err == nil {
			res.Setup, err = renewSetup(ctx, store, opts)
		}
		return res, err
	}
	// Hash outside the transaction: argon2id takes a while and SQLite
	// holds its write lock for as long as the transaction is open.
	cred, err := newBootstrapCredentials(opts)
	if err != nil {
		return BootstrapResult{}, err
	}
	var res BootstrapResult
	err = store.Tx(ctx, func(tx holdfast.MetaStore) error {
		accounts, err := tx.ListAccounts(ctx)
		if err != nil {
			return fmt.Errorf("bootstrap: list accounts: %w", err)
		}
		if len(accounts) > 0 {
			res, err = checkExisting(ctx, tx, accounts, opts)
			return err
		}
		res, err = bootstrapAccount(ctx, tx, opts, cred)
		return err
	})
	if errors.Is(err, holdfast.ErrConflict) {
		// Another replica bootstrapped the same database at the same
		// moment and won: its administrator email is taken. Report what
		// it created.
		if res, err2 := existing(); err2 == nil && res.Existing {
			res.Setup, err2 = renewSetup(ctx, store, opts)
			return res, err2
		}
	}
	if err != nil {
		return BootstrapResult{}, err
	}
	return res, nil
}

// bootstrapCredentials are the hash of the administrator's password, or
// the need of a setup link when no password was given.
type bootstrapCredentials struct {
	hash  string
	setup bool
}

func newBootstrapCredentials(opts BootstrapOptions) (bootstrapCredentials, error) {
	var c bootstrapCredentials
	if opts.AdminPassword == "" {
		c.setup = true
		return c, nil
	}
	hash, err := idp.HashPassword(opts.AdminPassword.Reveal())
	if err != nil {
		return c, fmt.Errorf("bootstrap: %w", err)
	}
	c.hash = hash
	return c, nil
}

// createSetupLink stores a new setup link of admin through tx (the
// sign-in service's links: the earlier ones are voided).
func createSetupLink(ctx context.Context, tx holdfast.IdentityStore, admin holdfast.Administrator, now time.Time) (Link, error) {
	secret, l, err := signin.IssueLink(ctx, tx, admin, holdfast.LinkSetup, now)
	if err != nil {
		return Link{}, fmt.Errorf("bootstrap: setup link: %w", err)
	}
	return Link{Secret: secret, AdminID: admin.ID, Email: admin.Email, ExpiresAt: l.ExpiresAt}, nil
}

// renewSetup gives the platform administrator of opts.AdminEmail a fresh
// setup link when it still has no way to sign in: no password, and no
// single sign-on identity.
func renewSetup(ctx context.Context, store holdfast.MetaStore, opts BootstrapOptions) (Link, error) {
	var link Link
	err := store.Tx(ctx, func(tx holdfast.MetaStore) error {
		admin, err := tx.GetAdminByEmail(ctx, opts.AdminEmail)
		if errors.Is(err, holdfast.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("bootstrap: look up administrator: %w", err)
		}
		if admin.PasswordHash != "" || admin.State != holdfast.AdminActive || !slices.Contains(opts.platformRoles, admin.RoleID) {
			return nil
		}
		ids := tx
		links, err := ids.ListIdentityLinks(ctx, admin.AccountID, admin.ID)
		if err != nil {
			return fmt.Errorf("bootstrap: look up administrator: %w", err)
		}
		if len(links) > 0 {
			return nil
		}
		link, err = createSetupLink(ctx, ids, admin, opts.Clock.Now().UTC())
		return err
	})
	return link, err
}

// normalize applies defaults and validates every option at once.
func (o BootstrapOptions) normalize() (BootstrapOptions, error) {
	o.Clock = holdfast.ClockOrSystem(o.Clock)
	if o.Catalog == nil {
		cat, err := policies.Load()
		if err != nil {
			return o, fmt.Errorf("bootstrap: %w", err)
		}
		o.Catalog = cat
	}
	o.platformRoles = o.Catalog.RolesHolding(o.Catalog.Rules.PlatformAdminRight, o.Catalog.Rules.FailsafeRight)
	if len(o.platformRoles) == 0 {
		return o, errors.New("bootstrap: no catalog role holds the platform administrator and fail-safe rights")
	}
	if o.Edition == "" {
		o.Edition = holdfast.EditionElite
	}
	if strings.TrimSpace(o.AccountName) == "" {
		o.AccountName = DefaultAccountName
	}
	o.AccountName = strings.TrimSpace(o.AccountName)
	if strings.TrimSpace(o.AdminEmail) == "" {
		o.AdminEmail = DefaultAdminEmail
	}
	o.AdminEmail = strings.ToLower(strings.TrimSpace(o.AdminEmail))
	if strings.TrimSpace(o.AdminName) == "" {
		o.AdminName = nameFromEmail(o.AdminEmail)
	}
	o.AdminName = strings.TrimSpace(o.AdminName)

	var verr holdfast.ValidationError
	if !o.Edition.Valid() {
		verr.Add("edition", "unknown edition %q (want one of elite_plus, elite, enterprise, business)", o.Edition)
	}
	for _, a := range o.Addons {
		if !slices.Contains(holdfast.Addons, a) {
			verr.Add("addons", "unknown add-on %q (want one of %s)", a, strings.Join(holdfast.Addons, ", "))
		}
	}
	if addr, err := mail.ParseAddress(o.AdminEmail); err != nil || addr.Address != o.AdminEmail || addr.Name != "" {
		verr.Add("admin_email", "%q is not a plain email address like admin@example.com", o.AdminEmail)
	}
	if o.AdminPassword != "" {
		var perr *holdfast.ValidationError
		if errors.As(idp.CheckPasswordPolicy("admin_password", o.AdminPassword.Reveal()), &perr) {
			verr.Fields = append(verr.Fields, perr.Fields...)
		}
	}
	if o.Token != "" {
		t := o.Token.Reveal()
		if len(t) < MinBootstrapTokenLength {
			verr.Add("token", "must be at least %d characters long", MinBootstrapTokenLength)
		}
		if strings.IndexFunc(t, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
			verr.Add("token", "must be printable ASCII without spaces (it is sent in an Authorization header)")
		}
	}
	if err := verr.Err(); err != nil {
		return o, fmt.Errorf("bootstrap: %w", err)
	}
	return o, nil
}

// bootstrapAccount creates, through tx, the account with its defaults, its
// platform administrator (with a setup link or opts.Token when asked) and
// the audit record of it all.
func bootstrapAccount(ctx context.Context, tx holdfast.MetaStore, opts BootstrapOptions, cred bootstrapCredentials) (BootstrapResult, error) {
	now := opts.Clock.Now().UTC().Truncate(time.Microsecond)
	var res BootstrapResult
	acct := holdfast.Account{
		Name:      opts.AccountName,
		Edition:   opts.Edition,
		Addons:    append([]string{}, opts.Addons...),
		Settings:  holdfast.DefaultAccountSettings(),
		CreatedAt: now,
		UpdatedAt: now,
	}
	if err := tx.CreateAccount(ctx, &acct); err != nil {
		return res, fmt.Errorf("bootstrap: create account: %w", err)
	}
	profile, err := bootstrapDefaults(ctx, tx, acct.ID, now)
	if err != nil {
		return res, err
	}
	admin := holdfast.Administrator{
		AccountID:    acct.ID,
		Name:         opts.AdminName,
		Email:        opts.AdminEmail,
		RoleID:       opts.platformRoles[0],
		State:        holdfast.AdminActive,
		CreatedAt:    now,
		UpdatedAt:    now,
		PasswordHash: cred.hash,
	}
	if err := tx.CreateAdmin(ctx, &admin); err != nil {
		return res, fmt.Errorf("bootstrap: create platform administrator %s: %w", admin.Email, err)
	}
	if cred.setup {
		var err error
		if res.Setup, err = createSetupLink(ctx, tx, admin, now); err != nil {
			return res, err
		}
	}
	if res.TokenID, err = bootstrapToken(ctx, tx, admin, opts.Token, now); err != nil {
		return res, err
	}
	detail := map[string]any{
		"edition":            acct.Edition,
		"addons":             acct.Addons,
		"admin_id":           admin.ID,
		"admin_email":        admin.Email,
		"default_profile_id": profile.ID,
		"password":           map[bool]string{true: "setup_link", false: "provided"}[cred.setup],
		"token_id":           res.TokenID,
	}
	if err := bootstrapAudit(ctx, tx, acct.ID, now, detail); err != nil {
		return res, err
	}
	res.Account, res.Admin = acct, admin
	return res, nil
}

// bootstrapDefaults creates the Default profile and the predefined legal
// hold types of a new account.
func bootstrapDefaults(ctx context.Context, tx holdfast.MetaStore, accountID string, now time.Time) (holdfast.Profile, error) {
	profile := holdfast.Profile{
		AccountID:   accountID,
		Name:        "Default",
		Description: "Profile of every user not assigned elsewhere",
		Default:     true,
		Workloads:   []string{"endpoints"},
		Retention:   holdfast.Retention{KeepDaily: 30, KeepWeekly: 8, KeepMonthly: 12},
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	if err := tx.CreateProfile(ctx, &profile); err != nil {
		return profile, fmt.Errorf("bootstrap: create default profile: %w", err)
	}
	for _, name := range holdfast.PredefinedLegalHoldTypes {
		t := holdfast.LegalHoldType{AccountID: accountID, Name: name, Predefined: true, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateHoldType(ctx, &t); err != nil {
			return profile, fmt.Errorf("bootstrap: create legal hold type %q: %w", name, err)
		}
	}
	return profile, nil
}

// bootstrapToken makes secret an API token of admin; none: "".
func bootstrapToken(ctx context.Context, tx holdfast.MetaStore, admin holdfast.Administrator, secret holdfast.Secret, now time.Time) (string, error) {
	if secret == "" {
		return "", nil
	}
	tok := holdfast.APIToken{
		AccountID: admin.AccountID,
		AdminID:   admin.ID,
		Name:      "bootstrap",
		Hash:      idp.HashToken(secret.Reveal()),
		Prefix:    tokenPrefix(secret.Reveal()),
		CreatedAt: now,
	}
	if err := tx.CreateToken(ctx, &tok); err != nil {
		return "", fmt.Errorf("bootstrap: create API token: %w", err)
	}
	return tok.ID, nil
}

// bootstrapAudit appends the "account.bootstrap" record.
func bootstrapAudit(ctx context.Context, tx holdfast.MetaStore, accountID string, now time.Time, detail map[string]any) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("bootstrap: audit detail: %w", err)
	}
	rec := holdfast.AuditRecord{
		AccountID:    accountID,
		Time:         now,
		Action:       "account.bootstrap",
		ResourceType: holdfast.ResourceAccount,
		ResourceID:   accountID,
		Outcome:      holdfast.OutcomeSuccess,
		Detail:       b,
	}
	if err := tx.AppendAudit(ctx, &rec); err != nil {
		return fmt.Errorf("bootstrap: audit: %w", err)
	}
	return nil
}

// checkExisting reports which bootstrap options a later start ignores.
func checkExisting(ctx context.Context, tx holdfast.MetaStore, accounts []holdfast.Account, opts BootstrapOptions) (BootstrapResult, error) {
	res := BootstrapResult{Existing: true}
	if len(accounts) == 1 {
		res.Account = accounts[0]
	}
	if opts.Token != "" {
		tok, err := tx.GetTokenByHash(ctx, idp.HashToken(opts.Token.Reveal()))
		switch {
		case errors.Is(err, holdfast.ErrNotFound):
			res.Warnings = append(res.Warnings, "bootstrap token ignored: an account already exists and the token is not one of its API tokens; create tokens through the API")
		case err != nil:
			return res, fmt.Errorf("bootstrap: look up token: %w", err)
		case tok.RevokedAt != nil:
			res.Warnings = append(res.Warnings, fmt.Sprintf("bootstrap token %s… is revoked and stays revoked; create a new token through the API", tok.Prefix))
		case tok.ExpiresAt != nil && !tok.ExpiresAt.After(opts.Clock.Now()):
			res.Warnings = append(res.Warnings, fmt.Sprintf("bootstrap token %s… has expired; create a new token through the API", tok.Prefix))
		default:
			res.TokenID = tok.ID
		}
	}
	if opts.AdminPassword != "" || opts.AdminEmail != DefaultAdminEmail {
		admin, err := tx.GetAdminByEmail(ctx, opts.AdminEmail)
		switch {
		case errors.Is(err, holdfast.ErrNotFound):
			res.Warnings = append(res.Warnings, fmt.Sprintf("bootstrap administrator %s ignored: an account already exists; add administrators through the API", opts.AdminEmail))
		case err != nil:
			return res, fmt.Errorf("bootstrap: look up administrator: %w", err)
		case opts.AdminPassword != "":
			ok, err := idp.VerifyPassword(admin.PasswordHash, opts.AdminPassword.Reveal())
			if err != nil || !ok {
				res.Warnings = append(res.Warnings, fmt.Sprintf("bootstrap password ignored: it is not the current password of %s, and a restart never changes a password; reset it through the API", admin.Email))
			}
		}
	}
	return res, nil
}

// tokenPrefix is the part of a token secret that is stored in clear text
// so an administrator can recognise the token in a list: as long as the
// prefix of generated tokens, and never more than a third of the secret.
func tokenPrefix(secret string) string {
	n := min(idp.TokenPrefixLength, len(secret)/3)
	return secret[:n]
}

// nameFromEmail turns "jane.doe@example.com" into "Jane Doe".
func nameFromEmail(email string) string {
	local, _, _ := strings.Cut(email, "@")
	words := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' || r == '+' })
	for i, w := range words {
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		words[i] = string(r)
	}
	if len(words) == 0 {
		return "Platform Administrator"
	}
	return strings.Join(words, " ")
}
