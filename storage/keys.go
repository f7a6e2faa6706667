package storage

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
)

// MasterKey wraps every account's data keys and chunker secret. It never
// appears in the store; cmd/holdfast reads it from a key file or the
// environment and passes it in Options. It hides itself from logs and %v.
type MasterKey [32]byte

// ErrWrongMasterKey means a key in the store does not open with the master
// key in Options: the wrong key was supplied or the key blob is damaged.
var ErrWrongMasterKey = errors.New("storage: wrong master key or damaged key blob")

// GenerateMasterKey returns a new random master key.
func GenerateMasterKey() MasterKey {
	var k MasterKey
	_, _ = rand.Read(k[:])
	return k
}

// ParseMasterKey accepts 64 hex digits or standard base64 of 32 bytes,
// surrounding white space ignored (a key file's trailing newline). Anything
// else matches ErrInvalid.
func ParseMasterKey(s string) (MasterKey, error) {
	var k MasterKey
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == len(k) {
		copy(k[:], b)
		return k, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == len(k) {
		copy(k[:], b)
		return k, nil
	}
	return k, fmt.Errorf("%w: master key: want 64 hex digits or base64 of 32 bytes", holdfast.ErrInvalid)
}

// Encode returns the key as 64 hex digits, the form of a key file.
func (k MasterKey) Encode() string { return hex.EncodeToString(k[:]) }

// String hides the key.
func (MasterKey) String() string { return "REDACTED" }

// LogValue hides the key from log/slog.
func (MasterKey) LogValue() slog.Value { return slog.StringValue("REDACTED") }

func newAEAD(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("storage: aes: " + err.Error()) // cannot happen: keys are 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("storage: gcm: " + err.Error())
	}
	return aead
}

// seal encrypts plaintext with a fresh random nonce: nonce || ciphertext.
// Random 96-bit nonces stay safe to about 2^32 messages per key; an account
// reaching a fraction of that rotates its data key (RotateKey).
func seal(aead cipher.AEAD, dst, plaintext, aad []byte) []byte {
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	dst = append(dst, nonce[:]...)
	return aead.Seal(dst, nonce[:], plaintext, aad)
}

var errDecrypt = errors.New("decryption failed (damaged or not ours)")

func unseal(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 12+aead.Overhead() {
		return nil, errDecrypt
	}
	out, err := aead.Open(nil, sealed[:12], sealed[12:], aad)
	if err != nil {
		return nil, errDecrypt
	}
	return out, nil
}

// unsealInPlace is unseal decrypting into sealed's own memory, for a
// buffer the caller owns and never reads again: the read path of chunks
// then allocates one buffer per chunk instead of two. On error, sealed's
// contents are undefined.
func unsealInPlace(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 12+aead.Overhead() {
		return nil, errDecrypt
	}
	out, err := aead.Open(sealed[12:12], sealed[:12], sealed[12:], aad)
	if err != nil {
		return nil, errDecrypt
	}
	return out, nil
}

// keyFile is the stored form of a wrapped key: metadata in clear (so an
// operator can see which keys exist), the key sealed by the master key with
// the blob name as associated data, so a key file cannot be moved to another
// account or id.
type keyFile struct {
	Version int       `json:"version"`
	Account string    `json:"account_id"`
	Kind    string    `json:"kind"` // "chunker" or "data"
	ID      uint32    `json:"id,omitempty"`
	Created time.Time `json:"created"`
	Sealed  []byte    `json:"sealed"`
}

// accountKeys are an account's unwrapped keys. Immutable once built; a
// rotation builds a new value.
type accountKeys struct {
	chunkerKey ChunkerKey
	chunker    *Chunker
	data       map[uint32]cipher.AEAD
	current    uint32 // newest data key id; new data is sealed with it
}

func chunkerKeyName(account string) string { return "keys/" + account + "/chunker" }
func dataKeyName(account string, id uint32) string {
	return fmt.Sprintf("keys/%s/data-%08d", account, id)
}

// loadKeys reads the account's keys. ok is false when the account has none.
func (s *Store) loadKeys(ctx context.Context, account string) (k *accountKeys, ok bool, err error) {
	k = &accountKeys{data: map[uint32]cipher.AEAD{}}
	var names []string
	err = s.blobs.List(ctx, "keys/"+account+"/", func(name string, _ int64) error {
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("storage: keys of %s: %w", account, err)
	}
	haveChunker := false
	for _, name := range names {
		raw, err := s.readKey(ctx, name)
		if err != nil {
			return nil, false, err
		}
		base := name[strings.LastIndexByte(name, '/')+1:]
		switch {
		case base == "chunker":
			copy(k.chunkerKey[:], raw)
			k.chunker = NewChunker(k.chunkerKey)
			haveChunker = true
		case strings.HasPrefix(base, "data-"):
			id, err := strconv.ParseUint(strings.TrimPrefix(base, "data-"), 10, 32)
			if err != nil || id == 0 {
				return nil, false, fmt.Errorf("storage: key blob %s: bad name", name)
			}
			k.data[uint32(id)] = newAEAD(raw)
			k.current = max(k.current, uint32(id))
		}
	}
	if len(k.data) == 0 {
		// No keys, or only the chunker key: another process is creating
		// the account's keys (createKeys writes the chunker key first).
		// Either way the account holds no data yet.
		return nil, false, nil
	}
	if !haveChunker || k.current == 0 {
		return nil, false, fmt.Errorf("storage: keys of %s: incomplete (chunker %v, %d data keys)", account, haveChunker, len(k.data))
	}
	return k, true, nil
}

func (s *Store) readKey(ctx context.Context, name string) ([]byte, error) {
	b, err := s.readBlob(ctx, name, 1<<16)
	if err != nil {
		return nil, err
	}
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("storage: key blob %s: %w", name, err)
	}
	raw, err := unseal(s.master, f.Sealed, []byte(name))
	if err != nil || len(raw) != 32 {
		return nil, fmt.Errorf("%w: %s", ErrWrongMasterKey, name)
	}
	return raw, nil
}

// writeKey wraps a new random key and stores it create-only. ErrConflict
// means another writer created the name first.
func (s *Store) writeKey(ctx context.Context, account, kind string, id uint32, name string) error {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	f := keyFile{Version: 1, Account: account, Kind: kind, ID: id, Created: s.now().UTC(),
		Sealed: seal(s.master, nil, raw[:], []byte(name))}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return s.blobs.Put(ctx, name, bytes.NewReader(b), int64(len(b)))
}

// createKeys makes the account's first keys, or the ones missing of a
// creation in progress elsewhere. Two processes racing here both end with
// the keys that won: create-only Puts, then a reload.
func (s *Store) createKeys(ctx context.Context, account string) (*accountKeys, error) {
	for _, w := range []struct {
		kind, name string
		id         uint32
	}{{"chunker", chunkerKeyName(account), 0}, {"data", dataKeyName(account, 1), 1}} {
		if err := s.writeKey(ctx, account, w.kind, w.id, w.name); err != nil && !errors.Is(err, holdfast.ErrConflict) {
			return nil, fmt.Errorf("storage: create keys of %s: %w", account, err)
		}
	}
	k, ok, err := s.loadKeys(ctx, account)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("storage: keys of %s vanished after creation", account)
	}
	return k, nil
}

// RotateKey starts a new data key for the account and returns its id. New
// chunks, packs, indexes and snapshots are sealed with it; existing data
// keeps the key id it was sealed with and stays readable. Nothing is
// re-encrypted.
func (s *Store) RotateKey(ctx context.Context, account string) (uint32, error) {
	a, err := s.account(ctx, account, true)
	if err != nil {
		return 0, err
	}
	a.keyMu.Lock()
	defer a.keyMu.Unlock()
	for {
		id := a.getKeys().current + 1
		err := s.writeKey(ctx, account, "data", id, dataKeyName(account, id))
		if err != nil && !errors.Is(err, holdfast.ErrConflict) {
			return 0, fmt.Errorf("storage: rotate key of %s: %w", account, err)
		}
		k, _, lerr := s.loadKeys(ctx, account)
		if lerr != nil {
			return 0, lerr
		}
		a.keys.Store(k)
		if err == nil {
			return id, nil
		}
		// Another process rotated to id first; go one further.
	}
}

// keysFor returns the account's keys, reloaded first when they lack data
// key id: another process (a replica) rotated the account's key since this
// one loaded them, and sealed new data with the new key.
func (s *Store) keysFor(ctx context.Context, a *account, id uint32) *accountKeys {
	if k := a.getKeys(); k.data[id] != nil {
		return k
	}
	a.keyMu.Lock()
	defer a.keyMu.Unlock()
	if k := a.getKeys(); k.data[id] != nil {
		return k
	}
	if k, ok, err := s.loadKeys(ctx, a.id); err == nil && ok {
		a.keys.Store(k)
	}
	return a.getKeys()
}

// latestKeys returns the account's keys reloaded from the store, with
// every data key it holds, for jobs that read all of the account's data
// (a full index load, Prune).
func (s *Store) latestKeys(ctx context.Context, a *account) *accountKeys {
	return s.keysFor(ctx, a, a.getKeys().current+1)
}

// ChunkerKey returns the account's chunker secret, creating the account's
// keys on first use. Backup clients of the account need it to cut and name
// chunks; it must not reach anyone else.
func (s *Store) ChunkerKey(ctx context.Context, account string) (ChunkerKey, error) {
	a, err := s.account(ctx, account, true)
	if err != nil {
		return ChunkerKey{}, err
	}
	return a.getKeys().chunkerKey, nil
}

// readBlob reads a whole small blob, refusing one larger than limit.
func (s *Store) readBlob(ctx context.Context, name string, limit int64) ([]byte, error) {
	rc, err := s.blobs.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("storage: read %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("storage: blob %s: larger than %d bytes", name, limit)
	}
	return b, nil
}
