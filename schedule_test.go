package holdfast_test

import (
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

// stepClock is a clock a test sets.
type stepClock struct{ t time.Time }

func (c *stepClock) Now() time.Time { return c.t }

// TestScheduleSteps: a job every hour is due once an hour has passed on
// the clock; stepping the clock back never makes it due early, and it is
// due again one interval after the step.
func TestScheduleSteps(t *testing.T) {
	c := &stepClock{t: time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)}
	s := holdfast.Schedule{Clock: c, Every: time.Hour}
	steps := []struct {
		step time.Duration
		want bool
	}{
		{0, false}, // first look: the interval starts
		{30 * time.Minute, false},
		{31 * time.Minute, true},
		{59 * time.Minute, false},
		{-5 * time.Hour, false},   // stepped back: not due early
		{59 * time.Minute, false}, // less than an hour since the step
		{2 * time.Minute, true},
		{26 * time.Hour, true}, // stepped far forward: due, once
		{time.Second, false},
	}
	for i, st := range steps {
		c.t = c.t.Add(st.step)
		if got := s.Due(); got != st.want {
			t.Errorf("step %d (%+v to %s): Due() = %v, want %v", i, st.step, c.t, got, st.want)
		}
	}
}
