package server

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/signin"
)

// forgotAnswer is the one answer of POST /auth/password/forgot, whatever
// the email: it must not reveal whether an administrator has it.
var forgotAnswer = map[string]string{"status": "if an administrator has this email and may use a password, a reset link is on its way"}

// forgotPassword serves POST /auth/password/forgot {email}.
func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request) error {
	in, ok, err := s.beginStep(w, r, "")
	if !ok {
		return err
	}
	s.signin.RequestReset(r.Context(), s.linkBaseURL(r), in.get("email"))
	if in.form {
		http.Redirect(w, r, "/login?sent=1", http.StatusSeeOther)
		return nil
	}
	return writeJSON(w, http.StatusAccepted, forgotAnswer)
}

// resetPassword serves POST /auth/password/reset {token, new, repeat}:
// a reset or invitation link sets the password, once. A refused new
// password leaves the link usable; any other refusal is signin.ErrBadLink.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	in, ok, err := s.beginStep(w, r, "")
	if !ok {
		return err
	}
	if err := s.signin.ResetPassword(r.Context(), signin.Reset{Token: in.get("token"), New: in.get("new"), Repeat: in.get("repeat")}); err != nil {
		if in.form && !errors.Is(err, signin.ErrBadLink) {
			q := "/login?error=invalid&reset=" + in.get("token")
			http.Redirect(w, r, q, http.StatusSeeOther)
			return nil
		}
		return s.failStep(w, r, in, "", err)
	}
	if in.form {
		http.Redirect(w, r, "/login?changed=1", http.StatusSeeOther)
		return nil
	}
	return noContent(w)
}

// sendResetLink serves POST /api/v1/administrators/{id}/reset-password
// (admins.reset_password): mails the administrator a new reset link;
// calling it again re-sends a fresh one and voids the old.
func (s *Server) sendResetLink(w http.ResponseWriter, r *http.Request) error {
	return s.sendLink(w, r, signin.SendReset)
}

// sendInvite serves POST /api/v1/administrators/{id}/invite (admins.create):
// (re-)sends the invitation to set a first password.
func (s *Server) sendInvite(w http.ResponseWriter, r *http.Request) error {
	return s.sendLink(w, r, signin.SendInvite)
}

func (s *Server) sendLink(w http.ResponseWriter, r *http.Request, kind string) error {
	ctx := r.Context()
	if err := s.signin.SendLink(ctx, principal(ctx), s.linkBaseURL(r), r.PathValue("id"), kind); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent"})
}

// inviteNewAdmin mails a new administrator the invitation to set a first
// password, when sign-in is on and the administrator may use a password.
func (s *Server) inviteNewAdmin(ctx context.Context, r *http.Request, a holdfast.Administrator) error {
	if s.auth == nil {
		return nil
	}
	return s.signin.Invite(ctx, s.linkBaseURL(r), a)
}

// linkBaseURL is the base of URLs mailed to administrators: Options.PublicURL,
// or else the address the connection reached, never the request's Host or
// X-Forwarded-* headers. Anyone may ask for a reset link to someone else's
// address; a Host of theirs would otherwise put their host in a genuine mail
// and the secret in their logs once the link is clicked.
func (s *Server) linkBaseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		host = a.String()
	}
	return scheme + "://" + host
}
