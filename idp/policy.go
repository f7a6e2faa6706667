package idp

import (
	"fmt"
	"time"
	"unicode"

	"github.com/holdfast/holdfast"
)

// The administrator password policy of rights-and-roles.md section 6: on
// by default and, except for the expiry, not editable.
const (
	// PasswordHistoryLength is how many earlier passwords may not be
	// reused.
	PasswordHistoryLength = 5
	// MaxFailedLogins is how many wrong passwords in a row lock the
	// administrator out.
	MaxFailedLogins = 5
	// LockoutDuration is how long a lockout lasts.
	LockoutDuration = 30 * time.Minute
	// Expiry range in days; DefaultPasswordExpiryDays is the default.
	MinPasswordExpiryDays     = 1
	MaxPasswordExpiryDays     = 99
	DefaultPasswordExpiryDays = 60
)

// CheckPasswordPolicy reports every way p breaks the policy: 12 to 64
// characters with an upper-case letter, a lower-case letter, a digit and a
// special character. The error is a *holdfast.ValidationError on field.
func CheckPasswordPolicy(field, p string) error {
	var v holdfast.ValidationError
	if err := CheckPasswordLength(p); err != nil {
		v.Add(field, "must be %d to %d characters long", MinPasswordLength, MaxPasswordLength)
	}
	var upper, lower, digit, special bool
	for _, r := range p {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r):
			special = true
		}
	}
	for _, c := range []struct {
		ok   bool
		what string
	}{{upper, "an upper-case letter"}, {lower, "a lower-case letter"}, {digit, "a digit"}, {special, "a special character"}} {
		if !c.ok {
			v.Add(field, "must contain %s", c.what)
		}
	}
	return v.Err()
}

// ReusedPassword reports whether p matches the current hash or one of the
// history hashes (newest first; only the first PasswordHistoryLength-1 are
// looked at, so with the current one five passwords are remembered).
func ReusedPassword(current string, history []string, p string) (bool, error) {
	hashes := append([]string{current}, history...)
	if len(hashes) > PasswordHistoryLength {
		hashes = hashes[:PasswordHistoryLength]
	}
	for _, h := range hashes {
		if h == "" {
			continue
		}
		ok, err := VerifyPassword(h, p)
		if err != nil {
			return false, fmt.Errorf("idp: password history: %w", err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// PushHistory returns history with the replaced hash in front, trimmed to
// what ReusedPassword looks at.
func PushHistory(history []string, replaced string) []string {
	if replaced == "" {
		return history
	}
	out := append([]string{replaced}, history...)
	if len(out) > PasswordHistoryLength-1 {
		out = out[:PasswordHistoryLength-1]
	}
	return out
}

// PasswordExpired reports whether a password set at changed has expired
// at now under an expiry of days. A password never changed through the
// policy (nil) counts from created.
func PasswordExpired(changed *time.Time, created time.Time, days int, now time.Time) bool {
	if days <= 0 {
		return false
	}
	from := created
	if changed != nil {
		from = *changed
	}
	return !now.Before(from.Add(time.Duration(days) * 24 * time.Hour))
}
