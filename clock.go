package holdfast

import "time"

// Clock is the one source of the current time for every expiry, lockout
// and schedule, so that tests can step it forward and back. Production code
// uses SystemClock; nothing else calls time.Now for a decision that
// depends on the time.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// ClockOrSystem returns c, or the wall clock when c is nil, so a zero
// configuration keeps working.
func ClockOrSystem(c Clock) Clock {
	if c == nil {
		return SystemClock{}
	}
	return c
}
