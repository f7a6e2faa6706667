package server

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
)

// signInInput is the body of the sign-in endpoints, sent as JSON by
// scripts or as a form by the sign-in page.
type signInInput struct {
	fields map[string]string
	form   bool // answer with redirects instead of JSON
}

func (in signInInput) get(name string) string { return in.fields[name] }

// readSignIn reads a JSON object of strings or an url-encoded form.
func readSignIn(w http.ResponseWriter, r *http.Request) (signInInput, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		if err := r.ParseForm(); err != nil {
			if maxErr := (*http.MaxBytesError)(nil); errors.As(err, &maxErr) {
				return signInInput{}, bodyError(err)
			}
			return signInInput{}, fmt.Errorf("%w: malformed form", errBadRequest)
		}
		if err := checkForm(r.PostForm); err != nil {
			return signInInput{}, err
		}
		in := signInInput{fields: map[string]string{}, form: true}
		for k, v := range r.PostForm {
			if len(v) > 0 {
				in.fields[k] = v[0]
			}
		}
		return in, nil
	}
	in := signInInput{fields: map[string]string{}}
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return in, nil
	}
	if err := decodeJSON(w, r, &in.fields); err != nil {
		return signInInput{}, err
	}
	return in, nil
}

// signInResult is the JSON answer of a sign-in step: what comes next.
type signInResult struct {
	// Next is "mfa", "mfa_enroll", "password_change" or "done".
	Next          string   `json:"next"`
	ReturnTo      string   `json:"return_to,omitempty"`
	RecoveryCodes []string `json:"recovery_codes,omitempty"`
}

// answerStep tells the client which step is next: JSON, or a redirect to
// the sign-in page's form for that step.
func (s *Server) answerStep(w http.ResponseWriter, r *http.Request, in signInInput, pending string) error {
	ret := localPath(in.get("return_to"))
	next := pending
	if next == "" {
		next = "done"
	}
	if in.form {
		target := ret
		if pending != "" {
			target = "/login?step=" + pending + "&return_to=" + url.QueryEscape(ret)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return nil
	}
	return writeJSON(w, http.StatusOK, signInResult{Next: next, ReturnTo: ret})
}

// failStep answers a refused step: JSON through the error envelope, or a
// redirect back to the sign-in page with a fixed error code.
func (s *Server) failStep(w http.ResponseWriter, r *http.Request, in signInInput, step string, err error) error {
	if !in.form {
		return err
	}
	_, body := describeError(err, "")
	if body.Code == "internal" {
		return err
	}
	q := url.Values{"error": {body.Code}}
	if step != "" {
		q.Set("step", step)
	}
	if ret := in.get("return_to"); ret != "" {
		q.Set("return_to", localPath(ret))
	}
	http.Redirect(w, r, "/login?"+q.Encode(), http.StatusSeeOther)
	return nil
}

// credentials returns the administrator's password-login state, empty
// when none was stored yet.
func credentialsOf(ctx context.Context, ids holdfast.IdentityStore, a holdfast.Administrator) (holdfast.Credentials, error) {
	c, err := ids.GetCredentials(ctx, a.AccountID, a.ID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return holdfast.Credentials{AccountID: a.AccountID, AdminID: a.ID}, nil
	}
	return c, err
}

// passwordLogin serves POST /auth/login {email, password, return_to}.
// Every refusal before the password is proven is the same errBadLogin,
// after the same argon2id work.
func (s *Server) passwordLogin(w http.ResponseWriter, r *http.Request) error {
	in, err := readSignIn(w, r)
	if err != nil {
		return err
	}
	if err := s.sameOrigin(r); err != nil {
		return s.failStep(w, r, in, "", err)
	}
	admin, pending, err := s.checkPassword(r, in.get("email"), in.get("password"))
	if err != nil {
		return s.failStep(w, r, in, "", err)
	}
	if _, err := s.startSession(r.Context(), w, r, admin, "password", pending); err != nil {
		return err
	}
	return s.answerStep(w, r, in, pending)
}

// checkPassword proves email and password and applies every sign-in
// rule; it returns the administrator and the step it still owes.
func (s *Server) checkPassword(r *http.Request, email, password string) (holdfast.Administrator, string, error) {
	ctx := r.Context()
	now := s.now().UTC()
	email = strings.ToLower(strings.TrimSpace(email))
	admin, err := s.store.GetAdminByEmail(ctx, email)
	if errors.Is(err, holdfast.ErrNotFound) || email == "" {
		_, _ = idp.VerifyPassword(s.auth.dummyHash, password)
		return admin, "", errBadLogin
	}
	if err != nil {
		return admin, "", err
	}
	creds, err := credentialsOf(ctx, s.store, admin)
	if err != nil {
		return admin, "", err
	}
	if creds.LockedUntil != nil && now.Before(*creds.LockedUntil) {
		_, _ = idp.VerifyPassword(s.auth.dummyHash, password)
		s.auditSignIn(ctx, admin, "password", holdfast.OutcomeFailed, "locked")
		return admin, "", errBadLogin
	}
	ok := false
	if admin.PasswordHash != "" {
		if ok, err = idp.VerifyPassword(admin.PasswordHash, password); err != nil {
			s.log.Error("administrator password hash unreadable", "admin_id", admin.ID, "error", err.Error())
			ok = false
		}
	} else {
		_, _ = idp.VerifyPassword(s.auth.dummyHash, password)
	}
	if !ok {
		return admin, "", s.countFailure(ctx, admin, now, "wrong password")
	}
	if admin.State != holdfast.AdminActive {
		s.auditSignIn(ctx, admin, "password", holdfast.OutcomeFailed, "disabled")
		return admin, "", errBadLogin
	}
	acct, err := s.store.GetAccount(ctx, admin.AccountID)
	if err != nil {
		return admin, "", err
	}
	if allowed, err := s.roleRules.PasswordSignIn(ctx, acct, admin); err != nil || !allowed {
		if err == nil {
			s.auditSignIn(ctx, admin, "password", holdfast.OutcomeDenied, "sso enforced")
			err = errSSORequired
		}
		return admin, "", err
	}
	if err := s.fenceSignIn(ctx, admin, clientIP(r)); err != nil {
		return admin, "", err
	}
	if disabled, err := s.disableIfInactive(ctx, acct, admin, now); err != nil || disabled {
		if err == nil {
			err = errBadLogin
		}
		return admin, "", err
	}
	if creds.FailedLogins != 0 || creds.LockedUntil != nil {
		creds.FailedLogins, creds.LockedUntil, creds.UpdatedAt = 0, nil, now
		if err := s.store.PutCredentials(ctx, &creds); err != nil {
			return admin, "", err
		}
	}
	pending, err := s.nextStep(ctx, admin, creds, "")
	return admin, pending, err
}

// nextStep returns the step after done for a password sign-in: MFA
// enrolment or check, then the change of an expired password.
func (s *Server) nextStep(ctx context.Context, admin holdfast.Administrator, creds holdfast.Credentials, done string) (string, error) {
	if done == "" {
		mfa, err := s.roleRules.MFARequired(ctx, admin, creds)
		if err != nil {
			return "", err
		}
		if mfa && creds.TOTPSecret == "" {
			return holdfast.SessionMFAEnroll, nil
		}
		if mfa {
			return holdfast.SessionMFA, nil
		}
	}
	st, err := s.store.GetIdentitySettings(ctx, admin.AccountID)
	if err != nil {
		return "", err
	}
	if idp.PasswordExpired(creds.PasswordChangedAt, admin.CreatedAt, st.PasswordExpiryDays, s.now()) {
		return holdfast.SessionPasswordChange, nil
	}
	return "", nil
}

// countFailure records a failed password or MFA code: the fifth in a row
// locks the administrator out for idp.LockoutDuration. The count is read
// afresh and written back under the administrator's failure lock, so
// attempts made in parallel are each counted; attempts spread over
// several replicas can still race, by at most one count per replica.
func (s *Server) countFailure(ctx context.Context, admin holdfast.Administrator, now time.Time, reason string) error {
	mu := s.auth.failureLock(admin.ID)
	mu.Lock()
	defer mu.Unlock()
	creds, err := credentialsOf(ctx, s.store, admin)
	if err != nil {
		return err
	}
	creds.FailedLogins++
	if creds.FailedLogins >= idp.MaxFailedLogins {
		until := now.Add(idp.LockoutDuration)
		creds.FailedLogins, creds.LockedUntil = 0, &until
		reason += ", locked"
		if err := s.store.DeleteAdminSessions(ctx, admin.AccountID, admin.ID); err != nil {
			return err
		}
	}
	creds.UpdatedAt = now
	if err := s.store.PutCredentials(ctx, &creds); err != nil {
		return err
	}
	s.auditSignIn(ctx, admin, "password", holdfast.OutcomeFailed, reason)
	return errBadLogin
}

// mfaStepState is what both second-factor steps (sign-in and enrolment)
// start from: the form, the session owing the step, its administrator and
// their credentials.
type mfaStepState struct {
	in      signInInput
	session holdfast.Session
	admin   holdfast.Administrator
	creds   holdfast.Credentials
	now     time.Time
}

// beginMFAStep reads a second-factor step owed by a session in state step:
// same origin, a session owing exactly that step, and an administrator not
// locked out. A nil state means the step is over; the error (or nil, when
// failStep already answered a form) is the handler's result.
func (s *Server) beginMFAStep(w http.ResponseWriter, r *http.Request, step string) (*mfaStepState, error) {
	in, err := readSignIn(w, r)
	if err != nil {
		return nil, err
	}
	if err := s.sameOrigin(r); err != nil {
		return nil, s.failStep(w, r, in, step, err)
	}
	se, admin, err := s.pendingSession(r, step)
	if err != nil {
		return nil, s.failStep(w, r, in, "", err)
	}
	creds, err := credentialsOf(r.Context(), s.store, admin)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if creds.LockedUntil != nil && now.Before(*creds.LockedUntil) {
		return nil, s.failStep(w, r, in, "", errBadLogin)
	}
	return &mfaStepState{in: in, session: se, admin: admin, creds: creds, now: now}, nil
}

// finishMFAStep stores creds after a passed second factor (failures
// reset) and moves the sign-in on: a new session id for the next step, or
// a signed-in session. It returns the step still owed ("" for none).
func (s *Server) finishMFAStep(w http.ResponseWriter, r *http.Request, st *mfaStepState, creds holdfast.Credentials) (string, error) {
	ctx := r.Context()
	creds.FailedLogins, creds.UpdatedAt = 0, st.now
	if err := s.store.PutCredentials(ctx, &creds); err != nil {
		return "", err
	}
	pending, err := s.nextStep(ctx, st.admin, creds, holdfast.SessionMFA)
	if err != nil {
		return "", err
	}
	if _, err := s.startSession(ctx, w, r, st.admin, st.session.Method, pending); err != nil {
		return "", err
	}
	return pending, nil
}

// mfaStep serves POST /auth/mfa {code | recovery_code} for a session that
// owes the second factor.
func (s *Server) mfaStep(w http.ResponseWriter, r *http.Request) error {
	st, err := s.beginMFAStep(w, r, holdfast.SessionMFA)
	if st == nil {
		return err
	}
	ctx, in, admin, creds, now := r.Context(), st.in, st.admin, st.creds, st.now
	ok := false
	if code := in.get("recovery_code"); code != "" {
		creds.RecoveryCodes, ok = idp.UseRecoveryCode(creds.RecoveryCodes, code)
	} else {
		var step int64
		if step, ok = idp.CheckTOTP(creds.TOTPSecret, in.get("code"), now, creds.TOTPLastStep); ok {
			creds.TOTPLastStep = step
		}
	}
	if !ok {
		err := s.countFailure(ctx, admin, now, "wrong MFA code")
		if errors.Is(err, errBadLogin) {
			err = errWrongMFA
		}
		return s.failStep(w, r, in, holdfast.SessionMFA, err)
	}
	pending, err := s.finishMFAStep(w, r, st, creds)
	if err != nil {
		return err
	}
	return s.answerStep(w, r, in, pending)
}

// mfaEnrollment is the answer of GET /auth/mfa/enroll.
type mfaEnrollment struct {
	Secret string `json:"secret"`
	URL    string `json:"otpauth_url"`
}

// mfaEnrollStart serves GET /auth/mfa/enroll: the TOTP seed to enrol,
// for a session that owes enrolment. Asking again returns the same seed.
func (s *Server) mfaEnrollStart(w http.ResponseWriter, r *http.Request) error {
	_, admin, err := s.pendingSession(r, holdfast.SessionMFAEnroll)
	if err != nil {
		return err
	}
	e, err := s.enrollment(r.Context(), admin)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, e)
}

func (s *Server) enrollment(ctx context.Context, admin holdfast.Administrator) (mfaEnrollment, error) {
	creds, err := credentialsOf(ctx, s.store, admin)
	if err != nil {
		return mfaEnrollment{}, err
	}
	if creds.TOTPPending == "" {
		secret, _, err := idp.NewTOTP("Holdfast", admin.Email)
		if err != nil {
			return mfaEnrollment{}, err
		}
		creds.TOTPPending, creds.UpdatedAt = secret, s.now().UTC()
		if err := s.store.PutCredentials(ctx, &creds); err != nil {
			return mfaEnrollment{}, err
		}
	}
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/Holdfast:" + admin.Email,
		RawQuery: url.Values{"secret": {creds.TOTPPending.Reveal()}, "issuer": {"Holdfast"}}.Encode()}
	return mfaEnrollment{Secret: creds.TOTPPending.Reveal(), URL: u.String()}, nil
}

// mfaEnrollFinish serves POST /auth/mfa/enroll {code}: the first code of
// the new seed confirms it; the answer carries the recovery codes, shown
// this once.
func (s *Server) mfaEnrollFinish(w http.ResponseWriter, r *http.Request) error {
	st, err := s.beginMFAStep(w, r, holdfast.SessionMFAEnroll)
	if st == nil {
		return err
	}
	ctx, in, admin, creds, now := r.Context(), st.in, st.admin, st.creds, st.now
	step, ok := idp.CheckTOTP(creds.TOTPPending, in.get("code"), now, 0)
	if !ok {
		return s.failStep(w, r, in, holdfast.SessionMFAEnroll, s.countFailure(ctx, admin, now, "wrong MFA enrolment code"))
	}
	codes, hashes, err := idp.NewRecoveryCodes()
	if err != nil {
		return err
	}
	creds.TOTPSecret, creds.TOTPPending, creds.TOTPLastStep, creds.RecoveryCodes = creds.TOTPPending, "", step, hashes
	pending, err := s.finishMFAStep(w, r, st, creds)
	if err != nil {
		return err
	}
	plain := make([]string, len(codes))
	for i, c := range codes {
		plain[i] = c.Reveal()
	}
	w.Header().Set("Cache-Control", "no-store")
	if in.form {
		return s.recoveryCodesPage(w, plain, pending, localPath(in.get("return_to")))
	}
	next := pending
	if next == "" {
		next = "done"
	}
	return writeJSON(w, http.StatusOK, signInResult{Next: next, ReturnTo: localPath(in.get("return_to")), RecoveryCodes: plain})
}

// expiredPasswordChange serves POST /auth/password/expired {new,
// repeat} for a session whose password expired.
func (s *Server) expiredPasswordChange(w http.ResponseWriter, r *http.Request) error {
	in, err := readSignIn(w, r)
	if err != nil {
		return err
	}
	if err := s.sameOrigin(r); err != nil {
		return s.failStep(w, r, in, holdfast.SessionPasswordChange, err)
	}
	ctx := r.Context()
	se, admin, err := s.pendingSession(r, holdfast.SessionPasswordChange)
	if err != nil {
		return s.failStep(w, r, in, "", err)
	}
	if err := s.fenceSignIn(ctx, admin, clientIP(r)); err != nil {
		return s.failStep(w, r, in, holdfast.SessionPasswordChange, err)
	}
	if err := s.setPassword(ctx, s.store, admin, in.get("new"), in.get("repeat")); err != nil {
		return s.failStep(w, r, in, holdfast.SessionPasswordChange, err)
	}
	if _, err := s.startSession(ctx, w, r, admin, se.Method, ""); err != nil {
		return err
	}
	return s.answerStep(w, r, in, "")
}

// passwordChange is the body of POST /auth/password.
type passwordChange struct {
	Current string `json:"current"`
	New     string `json:"new"`
	Repeat  string `json:"repeat"`
}

// changePassword serves POST /auth/password {current, new, repeat}: the
// caller changes its own password. Every other session of the caller
// ends; a cookie session gets a new id.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in passwordChange
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	p := principal(ctx)
	admin, err := s.store.GetAdmin(ctx, p.AccountID, p.AdminID)
	if err != nil {
		return err
	}
	ok, err := idp.VerifyPassword(admin.PasswordHash, in.Current)
	if err != nil || !ok {
		// Counted like a failed sign-in: a stolen session must not be a
		// way to guess the password at leisure.
		if cerr := s.countFailure(ctx, admin, s.now().UTC(), "wrong current password"); !errors.Is(cerr, errBadLogin) {
			return cerr
		}
		return fmt.Errorf("%w: current: the current password is wrong", holdfast.ErrInvalid)
	}
	if p.SessionID != "" {
		// The change starts a new session: refuse it from outside the
		// geofence before the password changes, not after.
		if err := s.fenceSignIn(ctx, admin, clientIP(r)); err != nil {
			return err
		}
	}
	if err := s.setPassword(ctx, s.store, admin, in.New, in.Repeat); err != nil {
		return err
	}
	if p.SessionID != "" {
		if _, err := s.startSession(ctx, w, r, admin, "password", ""); err != nil {
			return err
		}
	}
	return noContent(w)
}

// setPassword checks a new password against the policy and the history
// and stores it through store, in one transaction with its audit record. It clears any
// lockout, ends the administrator's sessions and voids its unused reset and
// invitation links.
func (s *Server) setPassword(ctx context.Context, store holdfast.MetaStore, admin holdfast.Administrator, pw, repeat string) error {
	var v holdfast.ValidationError
	if err := idp.CheckPasswordPolicy("new", pw); err != nil {
		var verr *holdfast.ValidationError
		if errors.As(err, &verr) {
			v.Fields = append(v.Fields, verr.Fields...)
		}
	}
	if !secretEqual(pw, repeat) {
		v.Add("repeat", "does not match the new password")
	}
	if err := v.Err(); err != nil {
		return err
	}
	hash, err := idp.HashPassword(pw)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if _, ok := holdfast.PrincipalFrom(ctx); !ok {
		ctx = holdfast.WithPrincipal(ctx, holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: admin.AccountID,
			AdminID: admin.ID, Email: admin.Email})
	}
	c := change{action: "administrator.password_change", resourceType: holdfast.ResourceAdministrator, resourceID: admin.ID}
	return store.Tx(ctx, func(tx holdfast.MetaStore) error {
		ids := tx
		a, err := tx.GetAdmin(ctx, admin.AccountID, admin.ID)
		if err != nil {
			return err
		}
		creds, err := credentialsOf(ctx, ids, a)
		if err != nil {
			return err
		}
		reused, err := idp.ReusedPassword(a.PasswordHash, creds.PasswordHistory, pw)
		if err != nil {
			return err
		}
		if reused {
			return &holdfast.ValidationError{Fields: []holdfast.FieldError{{Field: "new",
				Message: fmt.Sprintf("must differ from the last %d passwords", idp.PasswordHistoryLength)}}}
		}
		creds.PasswordHistory = idp.PushHistory(creds.PasswordHistory, a.PasswordHash)
		creds.PasswordChangedAt, creds.FailedLogins, creds.LockedUntil, creds.UpdatedAt = &now, 0, nil, now
		a.PasswordHash, a.UpdatedAt = hash, now.Truncate(time.Microsecond)
		if err := tx.UpdateAdmin(ctx, &a); err != nil {
			return err
		}
		if err := ids.PutCredentials(ctx, &creds); err != nil {
			return err
		}
		if err := ids.DeleteAdminSessions(ctx, a.AccountID, a.ID); err != nil {
			return err
		}
		// The link that set it, if any, is used already; no other may set
		// the next one.
		if err := s.voidLinks(ctx, tx, a, now); err != nil {
			return err
		}
		rec, err := s.auditRecord(ctx, c, a.ID, holdfast.Decision{}, holdfast.OutcomeSuccess, nil)
		if err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, &rec); err != nil {
			return s.auditUnwritable(ctx, c.action, err)
		}
		return nil
	})
}

// logout serves POST /auth/logout: the session ends and its cookie is
// cleared. A full session must show its CSRF token, so no other site can
// sign the administrator out.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	in, err := readSignIn(w, r)
	if err != nil {
		return err
	}
	if se, err := s.currentSession(r); err == nil {
		if se.Pending == "" && !secretEqual(csrfOf(r), se.CSRF.Reveal()) && !secretEqual(in.get("csrf"), se.CSRF.Reveal()) {
			return errCSRF
		}
		if err := s.store.DeleteSession(r.Context(), se.ID); err != nil {
			return err
		}
	} else if !errors.Is(err, errSessionOver) {
		return err
	}
	s.clearSessionCookie(w, r)
	if in.form {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	return noContent(w)
}

// sessionInfo is the answer of GET /auth/session.
type sessionInfo struct {
	AccountID string    `json:"account_id"`
	AdminID   string    `json:"admin_id"`
	Email     string    `json:"email"`
	Method    string    `json:"method,omitempty"`
	CSRFToken string    `json:"csrf_token,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// getSession serves GET /auth/session: who the caller is and, for a
// cookie session, the CSRF token its changes must carry.
func (s *Server) getSession(w http.ResponseWriter, r *http.Request) error {
	p := principal(r.Context())
	out := sessionInfo{AccountID: p.AccountID, AdminID: p.AdminID, Email: p.Email, Method: "api_token"}
	if p.SessionID != "" {
		se, err := s.store.GetSession(r.Context(), p.SessionID)
		if err != nil {
			return err
		}
		out.Method, out.CSRFToken, out.ExpiresAt = se.Method, se.CSRF.Reveal(), se.ExpiresAt
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, out)
}
