package idp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/holdfast/holdfast"
)

// Argon2id parameters for new hashes. 64 MiB and two passes take about
// 100 ms on a 2-core machine: slow for an attacker with a stolen database,
// fast enough for a sign-in. VerifyPassword reads the parameters from the
// encoded hash, so raising them later keeps old hashes valid.
const (
	argonTime    = 2
	argonMemory  = 64 * 1024 // KiB
	argonThreads = 2
	argonSaltLen = 16
	argonKeyLen  = 32

	// Upper bounds accepted when verifying, so that a corrupted or hostile
	// hash cannot make a sign-in allocate gigabytes or spin for minutes.
	maxArgonTime   = 10
	maxArgonMemory = 1024 * 1024 // 1 GiB
	maxArgonKeyLen = 128
)

// argonSlots bounds the argon2id computations running at once: each
// takes 64 MiB, so a burst of sign-ins must queue rather than exhaust
// memory.
var argonSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// argonKey is argon2.IDKey within argonSlots.
func argonKey(p, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	argonSlots <- struct{}{}
	defer func() { <-argonSlots }()
	return argon2.IDKey(p, salt, time, memory, threads, keyLen)
}

// Password policy lengths (rights-and-roles.md section 6: 12 to 64 characters).
const (
	MinPasswordLength = 12
	MaxPasswordLength = 64
)

// ErrMalformedHash reports an encoded hash VerifyPassword cannot read.
var ErrMalformedHash = errors.New("idp: malformed password hash")

// HashPassword returns the argon2id hash of p in the PHC string format:
//
//	$argon2id$v=19$m=65536,t=2,p=2$<salt>$<key>
//
// with salt and key in unpadded standard base64. Every call uses a new
// random salt.
func HashPassword(p string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("idp: password salt: %w", err)
	}
	key := argonKey([]byte(p), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword reports whether p matches encoded, a hash made by
// HashPassword. A wrong password is (false, nil); an unreadable hash is an
// error matching ErrMalformedHash. The comparison takes constant time.
func VerifyPassword(encoded, p string) (bool, error) {
	h, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	key := argonKey([]byte(p), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

type argonHash struct {
	time, memory uint32
	threads      uint8
	salt, key    []byte
}

func parseHash(encoded string) (argonHash, error) {
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return argonHash{}, fmt.Errorf("%w: not an argon2id PHC string", ErrMalformedHash)
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return argonHash{}, fmt.Errorf("%w: unsupported version %q", ErrMalformedHash, parts[2])
	}
	var h argonHash
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &h.threads); err != nil || n != 3 {
		return argonHash{}, fmt.Errorf("%w: bad parameters %q", ErrMalformedHash, parts[3])
	}
	if h.time < 1 || h.time > maxArgonTime || h.memory < 8*uint32(h.threads) || h.memory > maxArgonMemory || h.threads < 1 {
		return argonHash{}, fmt.Errorf("%w: parameters out of range %q", ErrMalformedHash, parts[3])
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return argonHash{}, fmt.Errorf("%w: bad salt", ErrMalformedHash)
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > maxArgonKeyLen {
		return argonHash{}, fmt.Errorf("%w: bad key", ErrMalformedHash)
	}
	return h, nil
}

// Character classes of generated passwords. Look-alikes (0/O, 1/l/I) are
// left out because these passwords are read off a terminal and typed.
const (
	pwUpper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	pwLower   = "abcdefghijkmnopqrstuvwxyz"
	pwDigit   = "23456789"
	pwSpecial = "!#%+-.=?@^_~"
	pwAll     = pwUpper + pwLower + pwDigit + pwSpecial

	generatedPasswordLength = 20
)

// GeneratePassword returns a random 20-character password with at least one
// upper-case letter, lower-case letter, digit and special character, so it
// satisfies the administrator password policy. It has more than 110 bits of
// entropy.
func GeneratePassword() (holdfast.Secret, error) {
	b := make([]byte, 0, generatedPasswordLength)
	for _, class := range []string{pwUpper, pwLower, pwDigit, pwSpecial} {
		c, err := randomChar(class)
		if err != nil {
			return "", err
		}
		b = append(b, c)
	}
	for len(b) < generatedPasswordLength {
		c, err := randomChar(pwAll)
		if err != nil {
			return "", err
		}
		b = append(b, c)
	}
	// Fisher-Yates, so the guaranteed characters are not always in front.
	for i := len(b) - 1; i > 0; i-- {
		j, err := randomIndex(i + 1)
		if err != nil {
			return "", err
		}
		b[i], b[j] = b[j], b[i]
	}
	return holdfast.Secret(b), nil
}

func randomChar(alphabet string) (byte, error) {
	i, err := randomIndex(len(alphabet))
	if err != nil {
		return 0, err
	}
	return alphabet[i], nil
}

func randomIndex(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("idp: random password: %w", err)
	}
	return int(v.Int64()), nil
}

// CheckPasswordLength reports whether p has an acceptable length for an
// administrator password, with a message an operator can act on.
func CheckPasswordLength(p string) error {
	switch n := len([]rune(p)); {
	case n < MinPasswordLength:
		return fmt.Errorf("%w: password must be at least %d characters long (got %d)", holdfast.ErrInvalid, MinPasswordLength, n)
	case n > MaxPasswordLength:
		return fmt.Errorf("%w: password must be at most %d characters long (got %d)", holdfast.ErrInvalid, MaxPasswordLength, n)
	}
	return nil
}
