package signin

import (
	"sync"
	"time"
)

// Sign-in attempt limits per client address: the per-administrator
// lockout stops guessing one password, this slows guessing across many
// (credential stuffing) and mail floods through "forgot password".
const (
	AttemptWindow   = time.Minute
	AttemptsPerIP   = 20
	maxTrackedAddrs = 100000
)

// Limiter counts attempts per key in fixed windows. Process-local: with N
// replicas an address gets up to N times the limit, which is still a
// limit. The zero value is ready; it is safe for concurrent use.
type Limiter struct {
	mu   sync.Mutex
	hits map[string]attemptCount // guarded by mu
}

type attemptCount struct {
	start time.Time
	n     int
}

// Allow counts one attempt of key at now and reports whether it is within
// the limit.
func (l *Limiter) Allow(key string, now time.Time) bool {
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
	return c.n <= AttemptsPerIP
}

// windowOver reports whether the window that began at start is over at
// now: a minute later, or at once when the clock was stepped back past its
// start (else an address would stay limited for as long as the step).
func windowOver(start, now time.Time) bool {
	return now.Sub(start) >= AttemptWindow || now.Before(start)
}
