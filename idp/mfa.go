package idp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/holdfast/holdfast"
)

// TOTP parameters (RFC 6238 defaults every authenticator app supports).
const (
	totpPeriod = 30
	totpSkew   = 1 // steps accepted either side, for clock drift
	// RecoveryCodeCount is how many recovery codes an enrolment makes.
	RecoveryCodeCount = 10
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// NewTOTP returns a new TOTP seed for account (the administrator's email)
// and its otpauth:// URL for an authenticator app.
func NewTOTP(issuer, account string) (secret holdfast.Secret, url string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: totpPeriod, Digits: otp.DigitsSix})
	if err != nil {
		return "", "", fmt.Errorf("idp: new TOTP seed: %w", err)
	}
	return holdfast.Secret(key.Secret()), key.URL(), nil
}

// TOTPCode returns the code of secret at t (tests and enrolment checks).
func TOTPCode(secret holdfast.Secret, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret.Reveal(), t, totpOpts)
}

// CheckTOTP reports whether code is valid for secret at now and was not
// used before: the matching time step must be later than lastStep. It
// returns the step to remember. Codes are compared in constant time.
func CheckTOTP(secret holdfast.Secret, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 || secret == "" {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for off := int64(-totpSkew); off <= totpSkew; off++ {
		s := cur + off
		want, err := totp.GenerateCodeCustom(secret.Reveal(), time.Unix(s*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > lastStep {
			return s, true
		}
	}
	return 0, false
}

// NewRecoveryCodes returns RecoveryCodeCount fresh one-time codes, to show
// once, and their hashes, to store.
func NewRecoveryCodes() (codes []holdfast.Secret, hashes []string, err error) {
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	for range RecoveryCodeCount {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			return nil, nil, fmt.Errorf("idp: recovery code: %w", err)
		}
		s := strings.ToLower(enc.EncodeToString(b)) // 16 characters, 80 bits
		code := s[:8] + "-" + s[8:]
		codes = append(codes, holdfast.Secret(code))
		hashes = append(hashes, hashRecoveryCode(code))
	}
	return codes, hashes, nil
}

func hashRecoveryCode(code string) string {
	c := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), " ", ""))
	h := sha256.Sum256([]byte(c))
	return hex.EncodeToString(h[:])
}

// UseRecoveryCode returns hashes without the one code matches, and whether
// one did. Every hash is compared, in constant time.
func UseRecoveryCode(hashes []string, code string) (rest []string, ok bool) {
	h := []byte(hashRecoveryCode(code))
	found := -1
	for i, s := range hashes {
		if subtle.ConstantTimeCompare([]byte(s), h) == 1 {
			found = i
		}
	}
	if found < 0 {
		return hashes, false
	}
	rest = append(rest, hashes[:found]...)
	return append(rest, hashes[found+1:]...), true
}
