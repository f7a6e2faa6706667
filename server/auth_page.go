package server

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/holdfast/holdfast"
)

// loginTemplate is the sign-in page: plain HTML forms, no script, one
// heading per step, labels on every field, so it works with a screen
// reader, a text browser or curl.
var loginTemplate = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - Holdfast</title>
<link rel="stylesheet" href="/console/auth.css">
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
{{if .Status}}<p role="status">{{.Status}}</p>{{end}}
{{if eq .Step "mfa"}}
<form method="post" action="/auth/mfa">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<label for="code">Code from your authenticator app</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" autofocus>
<button type="submit">Verify</button>
</form>
<form method="post" action="/auth/mfa">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<label for="recovery_code">Or a recovery code</label>
<input id="recovery_code" name="recovery_code" autocomplete="off">
<button type="submit">Use recovery code</button>
</form>
{{else if eq .Step "mfa_enroll"}}
<p>Multi-factor authentication is required. Add this key to an authenticator app, then enter the code it shows.</p>
<img class="qr" src="/auth/mfa/enroll/qr" alt="QR code of the key, for an authenticator app's camera" width="256" height="256">
<p>Or type it in. Key: <code>{{.Secret}}</code></p>
<p><a href="{{.OTPURL}}">Open in an authenticator app</a></p>
<form method="post" action="/auth/mfa/enroll">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<label for="code">Code from your authenticator app</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" autofocus>
<button type="submit">Turn on</button>
</form>
{{else if eq .Step "password_change"}}
<p>Your password has expired. Choose a new one: 12 to 64 characters with upper and lower case letters, a digit and a special character, not one of your last five.</p>
<form method="post" action="/auth/password/expired">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<label for="new">New password</label><input id="new" name="new" type="password" autocomplete="new-password">
<label for="repeat">Repeat new password</label><input id="repeat" name="repeat" type="password" autocomplete="new-password">
<button type="submit">Change password</button>
</form>
{{else if .Reset}}
{{if .Setup}}<p>Welcome. Choose the password of the first platform administrator. Then sign in with its email and this password; at the first sign-in you add this account to an authenticator app.</p>
{{end}}<p>Choose a password: 12 to 64 characters with upper and lower case letters, a digit and a special character.</p>
<form method="post" action="/auth/password/reset">
<input type="hidden" name="token" value="{{.Reset}}">
<label for="new">New password</label><input id="new" name="new" type="password" autocomplete="new-password">
<label for="repeat">Repeat new password</label><input id="repeat" name="repeat" type="password" autocomplete="new-password">
<button type="submit">Set password</button>
</form>
{{else if .Forgot}}
<form method="post" action="/auth/password/forgot">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" autofocus>
<button type="submit">Send reset link</button>
</form>
<p><a href="/login">Back to sign-in</a></p>
{{else}}
{{if .IdPs}}<h2>Single sign-on</h2>
<ul>{{range .IdPs}}<li><a href="/auth/{{.Kind}}/start?idp={{.ID}}&amp;account={{.AccountID}}&amp;return_to={{$.ReturnTo}}">Sign in with {{.Name}}</a></li>{{end}}</ul>
<h2>Password</h2>{{end}}
<form method="post" action="/auth/login">
<input type="hidden" name="return_to" value="{{.ReturnTo}}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button>
</form>
<p><a href="/login?forgot=1">Forgot your password?</a></p>
{{end}}
</main>
</body>
</html>
`))

// loginErrors are the page's words for the error codes of failed steps.
var loginErrors = map[string]string{
	"unauthenticated": "Sign-in failed: wrong email, password or code, or the account is locked. Try again in a while or reset the password.",
	"forbidden":       "Sign-in is not allowed this way for this account (single sign-on required, or outside the allowed networks).",
	"invalid":         "That did not work: the link is used or expired, or the password does not meet the policy.",
	"bad_request":     "The form could not be read; try again.",
	"sso":             "Single sign-on did not work: your identity provider's answer was refused, or you are not an administrator here. Try again or ask your administrator.",
	"rate_limited":    "Too many attempts from your network. Wait a minute, then try again.",
}

type loginView struct {
	Title, Error, Status, Step, ReturnTo, Reset, Secret string
	OTPURL                                              template.URL
	Forgot, Setup                                       bool
	IdPs                                                []holdfast.IdPConfig
}

// loginMessages returns the error and the status line /login shows for
// its query.
func loginMessages(q url.Values) (errText, status string) {
	if msg, ok := loginErrors[q.Get("error")]; ok {
		errText = msg
	} else if q.Get("error") != "" {
		errText = "Sign-in failed."
	}
	switch {
	case q.Get("sent") != "":
		status = "If an administrator has this email and may use a password, a reset link is on its way."
	case q.Get("changed") != "":
		status = "Your password is set. Sign in with it."
	}
	return errText, status
}

// loginPage serves GET /login.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := loginView{Title: "Sign in to Holdfast", ReturnTo: localPath(q.Get("return_to")), Step: q.Get("step"),
		Reset: q.Get("reset"), Forgot: q.Get("forgot") != ""}
	v.Error, v.Status = loginMessages(q)
	switch v.Step {
	case holdfast.SessionMFA:
		v.Title = "Enter your verification code"
	case holdfast.SessionMFAEnroll:
		v.Title = "Set up multi-factor authentication"
		e, err := s.signin.Enrollment(r.Context(), s.sessionSecret(r))
		if errors.Is(err, holdfast.ErrUnauthenticated) {
			http.Redirect(w, r, "/login?error=unauthenticated", http.StatusSeeOther)
			return
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		v.Secret, v.OTPURL = e.Secret, template.URL(e.URL)
	case holdfast.SessionPasswordChange:
		v.Title = "Change your expired password"
	case "":
		if v.Reset != "" {
			v.Title = "Set your password"
		} else if v.Forgot {
			v.Title = "Reset your password"
		} else {
			idps, err := s.loginIdPs(r.Context(), q.Get("account"))
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			v.IdPs = idps
		}
	default:
		v.Step = ""
	}
	s.writePage(w, r, loginTemplate, v)
}

// setupPage serves GET /setup?token=SECRET: the form that sets the first
// platform administrator's password through the one-time link serve
// printed. It posts to /auth/password/reset, which checks the link and the
// password policy like every other password.
func (s *Server) setupPage(w http.ResponseWriter, r *http.Request) {
	v := loginView{Title: "Set up Holdfast", Reset: r.URL.Query().Get("token"), Setup: true}
	if v.Reset == "" {
		v.Error = loginErrors["invalid"]
	}
	s.writePage(w, r, loginTemplate, v)
}

// rootPage serves GET /: browsers go to the console (which sends them to
// sign in first); API clients get the JSON 404 of any unknown path.
func (s *Server) rootPage(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		s.writeError(w, r, errNoRoute)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

// loginIdPs returns the SSO buttons of the sign-in page: the enabled
// IdPs of account (the page's ?account=, which each IdP's login_url
// carries); without one, those of the only account that has any. Never
// those of several accounts at once: tenants do not see each other.
func (s *Server) loginIdPs(ctx context.Context, account string) ([]holdfast.IdPConfig, error) {
	var all []holdfast.IdPConfig
	var err error
	if account != "" {
		all, err = s.store.ListIdPs(ctx, account)
	} else {
		all, err = s.store.ListEnabledIdPs(ctx)
	}
	if err != nil {
		return nil, err
	}
	var out []holdfast.IdPConfig
	for _, c := range all {
		if !c.Enabled {
			continue
		}
		if len(out) > 0 && out[0].AccountID != c.AccountID {
			return nil, nil
		}
		out = append(out, c)
	}
	return out, nil
}

// recoveryCodesPage shows the recovery codes once, after enrolment.
func (s *Server) recoveryCodesPage(w http.ResponseWriter, codes []string, pending, returnTo string) error {
	next := returnTo
	if pending != "" {
		next = "/login?step=" + pending + "&return_to=" + url.QueryEscape(returnTo)
	}
	var buf bytes.Buffer
	err := recoveryTemplate.Execute(&buf, map[string]any{"Codes": codes, "Next": next})
	if err != nil {
		return err
	}
	pageHeaders(w)
	_, _ = w.Write(buf.Bytes())
	return nil
}

var recoveryTemplate = template.Must(template.New("recovery").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Recovery codes - Holdfast</title>
<link rel="stylesheet" href="/console/auth.css"></head>
<body><main><h1>Save your recovery codes</h1>
<p>Each code signs you in once if you lose your authenticator. They are shown only now: print them or keep them in a password manager.</p>
<ul class="codes">{{range .Codes}}<li><code>{{.}}</code></li>{{end}}</ul>
<p><a class="next" href="{{.Next}}">Continue</a></p></main></body></html>
`))

// pageHeaders are the headers of every HTML page: no caching, no
// framing, no referrer (reset links carry their secret in the URL).
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
}

func (s *Server) writePage(w http.ResponseWriter, r *http.Request, t *template.Template, v any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		s.writeError(w, r, err)
		return
	}
	pageHeaders(w)
	_, _ = w.Write(buf.Bytes())
}
