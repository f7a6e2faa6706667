package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Key set refresh limits.
const (
	// MaxAge is how long fetched keys are used before they are fetched
	// again on the next verification.
	MaxAge = time.Hour
	// MinRefresh is the least time between two fetches: a token naming an
	// unknown key id refreshes the set, but a stream of them cannot make
	// us hammer the provider.
	MinRefresh   = time.Minute
	maxJWKSBytes = 1 << 20
)

// KeySet is a provider's JWKS, cached, implementing go-oidc's KeySet.
// Unlike go-oidc's RemoteKeySet it refreshes on an unknown key id at
// most once per MinRefresh. It is safe for concurrent use.
type KeySet struct {
	url    string
	client *http.Client
	algs   []jose.SignatureAlgorithm
	now    func() time.Time

	mu      sync.Mutex
	keys    []jose.JSONWebKey // guarded by mu
	fetched time.Time         // last fetch attempt; guarded by mu
	fetches int               // guarded by mu
}

// NewKeySet returns the key set at url, accepting signatures made with
// algs only.
func NewKeySet(url string, client *http.Client, algs []string, now func() time.Time) *KeySet {
	k := &KeySet{url: url, client: client, now: now}
	for _, a := range algs {
		k.algs = append(k.algs, jose.SignatureAlgorithm(a))
	}
	return k
}

// Fetches reports how many times the set was fetched.
func (k *KeySet) Fetches() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fetches
}

// VerifySignature checks the signature of the compact JWS jwt and
// returns its payload.
func (k *KeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSigned(jwt, k.algs)
	if err != nil {
		return nil, fmt.Errorf("malformed or wrongly signed jwt: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("exactly one signature is required")
	}
	kid := jws.Signatures[0].Header.KeyID
	keys, err := k.keysFor(ctx, kid)
	if err != nil {
		return nil, err
	}
	for _, key := range keys {
		if kid != "" && key.KeyID != kid {
			continue
		}
		if key.Use != "" && key.Use != "sig" {
			continue
		}
		if payload, err := jws.Verify(&key); err == nil {
			return payload, nil
		}
	}
	if kid != "" {
		return nil, fmt.Errorf("no key %q in the provider's key set verifies the signature", kid)
	}
	return nil, errors.New("no key in the provider's key set verifies the signature")
}

// keysFor returns the keys to try for kid, fetching the set when it is
// stale, or when kid is unknown and the last fetch is MinRefresh old.
func (k *KeySet) keysFor(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	since := now.Sub(k.fetched)
	refresh := k.fetched.IsZero() || since >= MaxAge
	if !refresh && kid != "" && since >= MinRefresh {
		known := false
		for _, key := range k.keys {
			known = known || key.KeyID == kid
		}
		refresh = !known
	}
	if refresh {
		// Fetching under the lock makes concurrent verifications wait for
		// one fetch instead of each making its own.
		k.fetched = now
		k.fetches++
		keys, err := k.fetch(ctx)
		if err != nil {
			if len(k.keys) == 0 {
				return nil, err
			}
			// Keep the old keys: a provider hiccup must not stop sign-in
			// with keys we already trust.
		} else {
			k.keys = keys
		}
	}
	return k.keys, nil
}

func (k *KeySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: %s answered %s", k.url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("jwks: %s: %w", k.url, err)
	}
	// Only public keys: a private or symmetric key in a JWKS is a
	// misconfiguration we will not verify with.
	out := set.Keys[:0]
	for _, key := range set.Keys {
		if key.Valid() && key.IsPublic() {
			out = append(out, key)
		}
	}
	return out, nil
}
