package holdfast

import (
	"context"
	"time"
)

// Schedule decides when a periodic job (retention, compaction, audit
// checkpoints and retention) is due, by a Clock rather than by elapsed
// real time, so tests can step the clock. The job is due once Every has
// passed on the clock since the last run (or since the first look). A
// clock stepped back before the last run restarts the wait from the new
// time: the job never runs early, and never waits longer than Every after
// the step. The zero Clock is the wall clock. Not safe for concurrent use.
type Schedule struct {
	Clock Clock
	Every time.Duration

	last time.Time // the last run, or the first look; zero before it
}

// Due reports whether the job is due now; when it is, the next run is
// counted from now.
func (s *Schedule) Due() bool {
	now := ClockOrSystem(s.Clock).Now()
	if s.last.IsZero() || now.Before(s.last) {
		s.last = now
		return false
	}
	if now.Sub(s.last) < s.Every {
		return false
	}
	s.last = now
	return true
}

// Run looks at the schedule every poll of real time until ctx ends, and
// calls job each time it is due.
func (s *Schedule) Run(ctx context.Context, poll time.Duration, job func(context.Context)) {
	s.Due() // the first look starts the first interval
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.Due() {
			job(ctx)
		}
	}
}

// SchedulePoll is how often Schedule.Run looks at a schedule of interval
// every: often enough for a one-minute job, rarely enough to cost nothing.
func SchedulePoll(every time.Duration) time.Duration {
	return max(min(every/10, time.Minute), time.Millisecond)
}
