package server

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"

	"github.com/skip2/go-qrcode"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/signin"
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

// beginStep reads a sign-in form or JSON body posted from this site; a
// cross-site post is answered (a redirect back to step, or the error) and
// ok is false.
func (s *Server) beginStep(w http.ResponseWriter, r *http.Request, step string) (in signInInput, ok bool, err error) {
	if in, err = readSignIn(w, r); err != nil {
		return in, false, err
	}
	if err := s.sameOrigin(r); err != nil {
		return in, false, s.failStep(w, r, in, step, err)
	}
	return in, true, nil
}

// refused answers a refused step: back to the step the service lets the
// caller retry, or to the start.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, in signInInput, err error) error {
	return s.failStep(w, r, in, signin.RetryStep(err), err)
}

// passwordLogin serves POST /auth/login {email, password, return_to}.
func (s *Server) passwordLogin(w http.ResponseWriter, r *http.Request) error {
	in, ok, err := s.beginStep(w, r, "")
	if !ok {
		return err
	}
	st, err := s.signin.PasswordSignIn(r.Context(), in.get("email"), in.get("password"), s.attempt(r))
	if err != nil {
		return s.refused(w, r, in, err)
	}
	s.setStarted(w, r, st)
	return s.answerStep(w, r, in, st.Pending)
}

// mfaStep serves POST /auth/mfa {code | recovery_code} for a session that
// owes the second factor.
func (s *Server) mfaStep(w http.ResponseWriter, r *http.Request) error {
	in, ok, err := s.beginStep(w, r, holdfast.SessionMFA)
	if !ok {
		return err
	}
	code := signin.Code{TOTP: in.get("code"), Recovery: in.get("recovery_code")}
	st, err := s.signin.VerifyMFA(r.Context(), code, s.attempt(r))
	if err != nil {
		return s.refused(w, r, in, err)
	}
	s.setStarted(w, r, st)
	return s.answerStep(w, r, in, st.Pending)
}

// mfaEnrollStart serves GET /auth/mfa/enroll: the TOTP seed to enrol,
// for a session that owes enrolment. Asking again returns the same seed.
func (s *Server) mfaEnrollStart(w http.ResponseWriter, r *http.Request) error {
	e, err := s.signin.Enrollment(r.Context(), s.sessionSecret(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, e)
}

// mfaEnrollQR serves GET /auth/mfa/enroll/qr: the otpauth address of
// the seed GET /auth/mfa/enroll gives, as a QR code (PNG) for an
// authenticator app's camera, for a session that owes enrolment.
func (s *Server) mfaEnrollQR(w http.ResponseWriter, r *http.Request) error {
	e, err := s.signin.Enrollment(r.Context(), s.sessionSecret(r))
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(e.URL, qrcode.Medium, 256)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(png)
	return nil
}

// mfaEnrollFinish serves POST /auth/mfa/enroll {code}: the first code of
// the new seed confirms it; the answer carries the recovery codes, shown
// this once.
func (s *Server) mfaEnrollFinish(w http.ResponseWriter, r *http.Request) error {
	in, ok, err := s.beginStep(w, r, holdfast.SessionMFAEnroll)
	if !ok {
		return err
	}
	e, err := s.signin.EnrollMFA(r.Context(), in.get("code"), s.attempt(r))
	if err != nil {
		return s.refused(w, r, in, err)
	}
	s.setStarted(w, r, e.Started)
	w.Header().Set("Cache-Control", "no-store")
	ret := localPath(in.get("return_to"))
	if in.form {
		return s.recoveryCodesPage(w, e.RecoveryCodes, e.Pending, ret)
	}
	next := e.Pending
	if next == "" {
		next = "done"
	}
	return writeJSON(w, http.StatusOK, signInResult{Next: next, ReturnTo: ret, RecoveryCodes: e.RecoveryCodes})
}

// expiredPasswordChange serves POST /auth/password/expired {new,
// repeat} for a session whose password expired.
func (s *Server) expiredPasswordChange(w http.ResponseWriter, r *http.Request) error {
	in, ok, err := s.beginStep(w, r, holdfast.SessionPasswordChange)
	if !ok {
		return err
	}
	st, err := s.signin.ChangeExpiredPassword(r.Context(), in.get("new"), in.get("repeat"), s.attempt(r))
	if err != nil {
		return s.refused(w, r, in, err)
	}
	s.setStarted(w, r, st)
	return s.answerStep(w, r, in, "")
}

// changePassword serves POST /auth/password {current, new, repeat}: the
// caller changes its own password. Every other session of the caller
// ends; a cookie session gets a new id.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in signin.PasswordChange
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	st, err := s.signin.ChangePassword(r.Context(), principal(r.Context()), in, s.attempt(r))
	if err != nil {
		return err
	}
	if st != nil {
		s.setStarted(w, r, *st)
	}
	return noContent(w)
}

// logout serves POST /auth/logout: the session ends and its cookie is
// cleared. A full session must show its CSRF token, so no other site can
// sign the administrator out.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	in, err := readSignIn(w, r)
	if err != nil {
		return err
	}
	if err := s.signin.SignOut(r.Context(), s.sessionSecret(r), csrfOf(r), in.get("csrf")); err != nil {
		return err
	}
	s.clearSessionCookie(w, r)
	if in.form {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	return noContent(w)
}

// getSession serves GET /auth/session: who the caller is and, for a
// cookie session, the CSRF token its changes must carry.
func (s *Server) getSession(w http.ResponseWriter, r *http.Request) error {
	out, err := s.signin.Info(r.Context(), principal(r.Context()))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusOK, out)
}
