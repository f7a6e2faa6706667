package signin_test

import (
	"testing"
	"time"

	"github.com/holdfast/holdfast/signin"
)

// TestAttemptLimitAfterClockStepsBack: a clock stepped back an hour does
// not keep an address limited for that hour (before, the window's start
// lay in the future and never ended until the clock caught up).
func TestAttemptLimitAfterClockStepsBack(t *testing.T) {
	var l signin.Limiter
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for range signin.AttemptsPerIP {
		if !l.Allow("192.0.2.1", t0) {
			t.Fatal("refused within the limit")
		}
	}
	if l.Allow("192.0.2.1", t0) {
		t.Fatal("allowed over the limit")
	}
	if l.Allow("192.0.2.1", t0.Add(signin.AttemptWindow/2)) {
		t.Error("allowed over the limit within the window")
	}
	if !l.Allow("192.0.2.1", t0.Add(-time.Hour)) {
		t.Error("still limited after the clock stepped back an hour")
	}
	if !l.Allow("192.0.2.1", t0.Add(3*time.Hour)) {
		t.Error("still limited hours later")
	}
}
