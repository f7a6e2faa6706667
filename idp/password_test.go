package idp

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/holdfast/holdfast"
)

func TestHashPasswordRoundTrip(t *testing.T) {
	const pw = "correct horse battery staple"
	h, err := HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=2,p=2$") {
		t.Errorf("HashPassword = %q, want a PHC argon2id string with m=65536,t=2,p=2", h)
	}
	if strings.Contains(h, pw) {
		t.Errorf("hash contains the password")
	}
	tests := []struct {
		name, password string
		want           bool
	}{
		{"same password", pw, true},
		{"wrong password", "correct horse battery stapl", false},
		{"empty password", "", false},
		{"case differs", strings.ToUpper(pw), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyPassword(h, tt.password)
			if err != nil {
				t.Fatalf("VerifyPassword: %v", err)
			}
			if got != tt.want {
				t.Errorf("VerifyPassword(%q) = %v, want %v", tt.password, got, tt.want)
			}
		})
	}
}

func TestHashPasswordSalted(t *testing.T) {
	a, err := HashPassword("same password here")
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashPassword("same password here")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two hashes of one password are equal: the salt is not random")
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	good, err := HashPassword("some password 1!")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	tests := []struct{ name, encoded string }{
		{"empty", ""},
		{"plain text", "hunter2hunter2"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", strings.Replace(good, "$argon2id$", "$argon2i$", 1)},
		{"wrong version", strings.Replace(good, "v=19", "v=16", 1)},
		{"bad params", strings.Replace(good, "m=65536,t=2,p=2", "m=x,t=2,p=2", 1)},
		{"huge memory", strings.Replace(good, "m=65536", "m=99999999", 1)},
		{"zero time", strings.Replace(good, "t=2", "t=0", 1)},
		{"zero threads", strings.Replace(good, "p=2", "p=0", 1)},
		{"bad salt", strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$")},
		{"short key", strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$")},
		{"extra field", good + "$x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(tt.encoded, "some password 1!")
			if ok {
				t.Errorf("VerifyPassword accepted %q", tt.encoded)
			}
			if !errors.Is(err, ErrMalformedHash) {
				t.Errorf("VerifyPassword(%q) error = %v, want ErrMalformedHash", tt.encoded, err)
			}
		})
	}
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		s, err := GeneratePassword()
		if err != nil {
			t.Fatal(err)
		}
		p := s.Reveal()
		if len(p) != 20 {
			t.Fatalf("GeneratePassword length = %d, want 20", len(p))
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
			case strings.ContainsRune(pwSpecial, r):
				special = true
			default:
				t.Fatalf("GeneratePassword %q has unexpected character %q", p, r)
			}
		}
		if !upper || !lower || !digit || !special {
			t.Errorf("GeneratePassword %q misses a character class (upper %v lower %v digit %v special %v)",
				p, upper, lower, digit, special)
		}
		if err := CheckPasswordLength(p); err != nil {
			t.Errorf("generated password fails the length policy: %v", err)
		}
		if seen[p] {
			t.Errorf("GeneratePassword repeated %q", p)
		}
		seen[p] = true
	}
}

func TestGeneratePasswordHidden(t *testing.T) {
	s, err := GeneratePassword()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "REDACTED" {
		t.Errorf("Secret.String() = %q, want REDACTED", got)
	}
}

func TestCheckPasswordLength(t *testing.T) {
	tests := []struct {
		name, password string
		ok             bool
	}{
		{"empty", "", false},
		{"eleven", "abcdefghijk", false},
		{"twelve", "abcdefghijkl", true},
		{"twelve runes multibyte", "ääääääääääää", true},
		{"sixty-four", strings.Repeat("a", 64), true},
		{"sixty-five", strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPasswordLength(tt.password)
			if (err == nil) != tt.ok {
				t.Errorf("CheckPasswordLength(%q) = %v, want ok=%v", tt.password, err, tt.ok)
			}
			if err != nil && !errors.Is(err, holdfast.ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
		})
	}
}
