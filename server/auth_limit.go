package server

import (
	"fmt"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/holdfast/holdfast"
)

// Sign-in attempt limits per client address: the per-administrator
// lockout stops guessing one password, this slows guessing across many
// (credential stuffing) and mail floods through "forgot password".
const (
	attemptWindow   = time.Minute
	attemptsPerIP   = 20
	maxTrackedAddrs = 100000
)

// errTooManyAttempts is the 429 of an address over its attempts.
var errTooManyAttempts = fmt.Errorf("%w: too many sign-in attempts from this address; wait a minute", errRateLimited)

// attemptLimiter counts attempts per key in fixed windows. Process-local:
// with N replicas an address gets up to N times the limit, which is
// still a limit. Safe for concurrent use.
type attemptLimiter struct {
	mu   sync.Mutex
	hits map[string]attemptCount // guarded by mu
}

type attemptCount struct {
	start time.Time
	n     int
}

// allow counts one attempt of key at now and reports whether it is
// within the limit.
func (l *attemptLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hits == nil {
		l.hits = map[string]attemptCount{}
	}
	if len(l.hits) >= maxTrackedAddrs {
		for k, c := range l.hits {
			if windowOver(c.start, now) {
				delete(l.hits, k)
			}
		}
	}
	c := l.hits[key]
	if windowOver(c.start, now) {
		c = attemptCount{start: now}
	}
	c.n++
	l.hits[key] = c
	return c.n <= attemptsPerIP
}

// windowOver reports whether the window that began at start is over at
// now: a minute later, or at once when the clock was stepped back past its
// start (else an address would stay limited for as long as the step).
func windowOver(start, now time.Time) bool {
	return now.Sub(start) >= attemptWindow || now.Before(start)
}

// limited refuses a sign-in attempt over the client address's limit,
// before anything is looked up, so the answer tells nothing about any
// email.
func (s *Server) limited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.auth.attempts.allow(ipString(clientIP(r)), s.now()) {
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
