package server

import (
	"fmt"
	"mime"
	"net/http"

	"github.com/holdfast/holdfast"
)

// errTooManyAttempts is the 429 of an address over its attempts.
var errTooManyAttempts = fmt.Errorf("%w: too many sign-in attempts from this address; wait a minute", errRateLimited)

// limited refuses a sign-in attempt over the client address's limit
// (signin.Service.Allow), before anything is looked up, so the answer
// tells nothing about any email.
func (s *Server) limited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.signin.Allow(clientIP(r)) {
			s.metrics.signIns.WithLabelValues("any", holdfast.OutcomeDenied).Inc()
			w.Header().Set("Retry-After", "60")
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
				http.Redirect(w, r, "/login?error=rate_limited", http.StatusSeeOther) // the sign-in page's form
				return
			}
			s.writeError(w, r, errTooManyAttempts)
			return
		}
		next.ServeHTTP(w, r)
	})
}
