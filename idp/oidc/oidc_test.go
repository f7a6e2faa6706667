package oidc

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// testProvider is a minimal OpenID Provider for unit tests: discovery
// and a JWKS with the keys it lists. Tokens are minted by the test. The
// real-provider flow is tested in server against ../shared/peers/oidc-idp.
type testProvider struct {
	srv  *httptest.Server
	key  *rsa.PrivateKey
	kid  string
	mu   sync.Mutex
	jwks []jose.JSONWebKey // guarded by mu
	hits int               // JWKS fetches; guarded by mu
}

func newTestProvider(t *testing.T) *testProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &testProvider{key: key, kid: "k1"}
	p.jwks = []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Use: "sig"}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": p.srv.URL, "authorization_endpoint": p.srv.URL + "/authorize",
			"token_endpoint": p.srv.URL + "/token", "jwks_uri": p.srv.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256", "HS256", "none"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.hits++
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: p.jwks})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *testProvider) fetches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits
}

// claims are good ones for client "app" and nonce "n1", at now.
func (p *testProvider) claims(now time.Time) map[string]any {
	return map[string]any{"iss": p.srv.URL, "sub": "alice", "aud": "app", "exp": now.Add(5 * time.Minute).Unix(),
		"iat": now.Unix(), "nonce": "n1", "email": "alice@example.test", "email_verified": true}
}

// sign makes a compact JWS of claims with key and alg, kid in the header.
func sign(t *testing.T, key any, alg jose.SignatureAlgorithm, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func b64(v any) string {
	raw, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(raw)
}

func TestVerifyIDToken(t *testing.T) {
	p := newTestProvider(t)
	now := time.Now()
	rp, err := New(t.Context(), Options{Issuer: p.srv.URL, ClientID: "app", RedirectURL: "http://127.0.0.1/cb",
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	good := sign(t, p.key, jose.RS256, p.kid, p.claims(now))
	id, err := rp.VerifyIDToken(t.Context(), good, "n1")
	if err != nil {
		t.Fatalf("good token refused: %v", err)
	}
	if id.Subject != "alice" || id.Email != "alice@example.test" || !id.EmailVerified || id.Issuer != p.srv.URL {
		t.Fatalf("identity %+v", id)
	}

	with := func(k string, v any) map[string]any {
		c := p.claims(now)
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&p.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	sig := []byte(parts[2])
	// Another valid base64url character: flipping a bit could give one
	// that is not (',' from '-'), which fails as malformed, not forged.
	if sig[10] == 'A' {
		sig[10] = 'B'
	} else {
		sig[10] = 'A'
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name, token, nonce, reason string
	}{
		{"tampered signature", parts[0] + "." + parts[1] + "." + string(sig), "n1", "signature"},
		{"tampered payload", parts[0] + "." + b64(with("sub", "mallory")) + "." + parts[2], "n1", "signature"},
		{"alg none", b64(map[string]string{"alg": "none", "kid": p.kid}) + "." + parts[1] + ".", "n1", "malformed"},
		{"HS256 signed with the public key", sign(t, pubDER, jose.HS256, p.kid, p.claims(now)), "n1", "malformed"},
		{"signed by another key", sign(t, other, jose.RS256, p.kid, p.claims(now)), "n1", "signature"},
		{"unknown key id", sign(t, other, jose.RS256, "k-unknown", p.claims(now)), "n1", "k-unknown"},
		{"wrong audience", sign(t, p.key, jose.RS256, p.kid, with("aud", "other-app")), "n1", "audience"},
		{"wrong issuer", sign(t, p.key, jose.RS256, p.kid, with("iss", "https://evil.example")), "n1", "issued by a different provider"},
		{"expired", sign(t, p.key, jose.RS256, p.kid, with("exp", now.Add(-time.Minute).Unix())), "n1", "expired"},
		{"wrong nonce", good, "n2", "nonce"},
		{"no nonce", sign(t, p.key, jose.RS256, p.kid, with("nonce", nil)), "n1", "nonce"},
		{"azp of another client", sign(t, p.key, jose.RS256, p.kid, with("azp", "other-app")), "n1", "authorized party"},
		{"several audiences without azp", sign(t, p.key, jose.RS256, p.kid, with("aud", []string{"app", "other-app"})), "n1", "authorized party"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rp.VerifyIDToken(t.Context(), tt.token, tt.nonce)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("err = %v, want ErrRefused", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %v, want it to say %q", err, tt.reason)
			}
		})
	}
	// azp equal to us, with several audiences, is fine.
	c := with("aud", []string{"app", "other-app"})
	c["azp"] = "app"
	if _, err := rp.VerifyIDToken(t.Context(), sign(t, p.key, jose.RS256, p.kid, c), "n1"); err != nil {
		t.Errorf("azp = client with several audiences: %v", err)
	}
}

func TestKeySetRefreshIsRateLimited(t *testing.T) {
	p := newTestProvider(t)
	now := time.Now()
	clock := func() time.Time { return now }
	rp, err := New(t.Context(), Options{Issuer: p.srv.URL, ClientID: "app", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.VerifyIDToken(t.Context(), sign(t, p.key, jose.RS256, p.kid, p.claims(now)), "n1"); err != nil {
		t.Fatal(err)
	}
	if n := p.fetches(); n != 1 {
		t.Fatalf("fetches after the first token: %d, want 1", n)
	}
	// A flood of unknown key ids costs at most one fetch per MinRefresh.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for i := range 20 {
		rp.VerifyIDToken(t.Context(), sign(t, other, jose.RS256, "rotated", p.claims(now)), "n1")
		if i == 0 {
			now = now.Add(MinRefresh) // the first unknown kid may refresh
		}
	}
	if n := p.fetches(); n != 2 {
		t.Fatalf("fetches after 20 unknown key ids: %d, want 2", n)
	}
	// The provider rotates to a new key: after MinRefresh, a token with
	// its kid refreshes the set and verifies.
	p.mu.Lock()
	p.jwks = append(p.jwks, jose.JSONWebKey{Key: &other.PublicKey, KeyID: "rotated", Use: "sig"})
	p.mu.Unlock()
	now = now.Add(MinRefresh)
	if _, err := rp.VerifyIDToken(t.Context(), sign(t, other, jose.RS256, "rotated", p.claims(now)), "n1"); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if n := p.fetches(); n != 3 {
		t.Fatalf("fetches after rotation: %d, want 3", n)
	}
	// Known keys do not fetch again until MaxAge.
	for range 5 {
		if _, err := rp.VerifyIDToken(t.Context(), sign(t, p.key, jose.RS256, p.kid, p.claims(now)), "n1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.fetches(); n != 3 {
		t.Fatalf("fetches with known keys: %d, want 3", n)
	}
}
