package storage

import (
	"bytes"
	"context"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"lukechampine.com/blake3"

	"github.com/holdfast/holdfast"
)

// Pack layout (all integers little-endian):
//
//	blob 0 | blob 1 | … | sealed header | trailer
//	blob     = nonce(12) || AES-256-GCM(flag(1) || payload), AAD = "holdfast chunk" || account || ref
//	header   = nonce(12) || AES-256-GCM(entry*), AAD = "holdfast pack" || account
//	entry    = ref(32) offset(4) length(4) rawLen(4) keyID(4)
//	trailer  = keyID(4) headerLen(4) count(4) "HFPACK01"
//
// A pack is named by the BLAKE3 hash of its bytes, so Check can tell a
// damaged pack without any key. Packs are written once and never changed;
// Prune copies live blobs (still sealed: the AAD does not name the pack)
// into new packs and deletes old ones.
const (
	packMagic    = "HFPACK01"
	trailerLen   = 4 + 4 + 4 + len(packMagic)
	entryLen     = 32 + 4 + 4 + 4 + 4
	flagRaw      = 0
	flagZstd     = 1
	maxPackBytes = 1 << 31 // offsets are uint32; packs stay far below
)

// packEntry locates one sealed chunk inside a pack.
type packEntry struct {
	ref    holdfast.ChunkRef
	off    uint32
	length uint32 // sealed length
	rawLen uint32 // plaintext length
	keyID  uint32
}

func appendEntry(b []byte, e packEntry) []byte {
	b = append(b, e.ref[:]...)
	b = binary.LittleEndian.AppendUint32(b, e.off)
	b = binary.LittleEndian.AppendUint32(b, e.length)
	b = binary.LittleEndian.AppendUint32(b, e.rawLen)
	return binary.LittleEndian.AppendUint32(b, e.keyID)
}

func parseEntries(b []byte, n int) ([]packEntry, error) {
	if n < 0 || len(b) != n*entryLen {
		return nil, fmt.Errorf("entry table: %d bytes for %d entries", len(b), n)
	}
	es := make([]packEntry, n)
	for i := range es {
		p := b[i*entryLen:]
		copy(es[i].ref[:], p)
		es[i].off = binary.LittleEndian.Uint32(p[32:])
		es[i].length = binary.LittleEndian.Uint32(p[36:])
		es[i].rawLen = binary.LittleEndian.Uint32(p[40:])
		es[i].keyID = binary.LittleEndian.Uint32(p[44:])
	}
	return es, nil
}

func chunkAAD(account string, ref holdfast.ChunkRef) []byte {
	return append([]byte("holdfast chunk\x00"+account+"\x00"), ref[:]...)
}

func packAAD(account string) []byte { return []byte("holdfast pack\x00" + account) }

// packBuilder accumulates sealed chunks for one pack. Not safe for
// concurrent use; the account's mu guards the open one.
type packBuilder struct {
	buf     bytes.Buffer
	entries []packEntry

	// done is closed once the pack's write ended; err is its result,
	// set before done is closed.
	done chan struct{}
	err  error
	// group marks a pack written before it was full, as the account's
	// one group write (see Store.acceptChunk).
	group bool
}

// newPackBuilder returns an empty pack. Its buffer grows as chunks come:
// most packs written by group commit are far smaller than PackSize, and
// allocating (and clearing) PackSize for each costs more than the copies
// of growing a full one by doubling.
func newPackBuilder() *packBuilder {
	return &packBuilder{done: make(chan struct{})}
}

// complete answers the uploads waiting on the pack with the result of its
// write.
func (b *packBuilder) complete(err error) {
	b.err = err
	close(b.done)
}

// wait returns the result of the pack's write, or ctx's error when the
// caller leaves first (the pack is written all the same).
func (b *packBuilder) wait(ctx context.Context) error {
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *packBuilder) add(ref holdfast.ChunkRef, keyID, rawLen uint32, sealed []byte) {
	b.entries = append(b.entries, packEntry{ref: ref, off: uint32(b.buf.Len()), length: uint32(len(sealed)), rawLen: rawLen, keyID: keyID})
	b.buf.Write(sealed)
}

// finish appends the sealed header and trailer and returns the pack bytes
// and id.
func (b *packBuilder) finish(aead cipher.AEAD, keyID uint32, account string) ([]byte, string) {
	hdr := make([]byte, 0, len(b.entries)*entryLen)
	for _, e := range b.entries {
		hdr = appendEntry(hdr, e)
	}
	sealed := seal(aead, nil, hdr, packAAD(account))
	b.buf.Write(sealed)
	var t [trailerLen]byte
	binary.LittleEndian.PutUint32(t[0:], keyID)
	binary.LittleEndian.PutUint32(t[4:], uint32(len(sealed)))
	binary.LittleEndian.PutUint32(t[8:], uint32(len(b.entries)))
	copy(t[12:], packMagic)
	b.buf.Write(t[:])
	data := b.buf.Bytes()
	sum := blake3.Sum256(data)
	return data, hex.EncodeToString(sum[:])
}

func packName(account, id string) string { return "packs/" + account + "/" + id[:2] + "/" + id }

// packID returns the id that a pack blob name ends in.
func packID(name string) string {
	if i := bytes.LastIndexByte([]byte(name), '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// parsePack verifies a whole pack's hash against id and returns its entries
// (the header opened with keys).
func parsePack(data []byte, id, account string, keys map[uint32]cipher.AEAD) ([]packEntry, error) {
	sum := blake3.Sum256(data)
	if hex.EncodeToString(sum[:]) != id {
		return nil, errors.New("content does not match its name (hash mismatch)")
	}
	if len(data) < trailerLen || string(data[len(data)-len(packMagic):]) != packMagic {
		return nil, errors.New("no pack trailer")
	}
	t := data[len(data)-trailerLen:]
	keyID := binary.LittleEndian.Uint32(t[0:])
	hlen := int(binary.LittleEndian.Uint32(t[4:]))
	count := int(binary.LittleEndian.Uint32(t[8:]))
	if hlen > len(data)-trailerLen {
		return nil, errors.New("header length past start")
	}
	aead := keys[keyID]
	if aead == nil {
		return nil, fmt.Errorf("header sealed with unknown key %d", keyID)
	}
	hdr, err := unseal(aead, data[len(data)-trailerLen-hlen:len(data)-trailerLen], packAAD(account))
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	return parseEntries(hdr, count)
}

// packInfo is what an account knows of one pack. Immutable once published
// in the account's maps.
type packInfo struct {
	id      string
	size    int64
	created time.Time
	entries []packEntry
	// index is the index file that lists the pack.
	index string
}

// Index file layout: "HFIDX001" keyID(4) then, sealed with AAD
// "holdfast index" || name, the zstd-compressed body:
//
//	nSupersedes(4) { len(2) name }*
//	nPacks(4) { len(2) id  size(8) created(8, unix ns) n(4) entry* }*
//
// An index file lists packs; files it supersedes (by name) no longer count,
// even if a crash left them behind. Loading takes the union of the files no
// present file supersedes.
const indexMagic = "HFIDX001"

type indexFile struct {
	supersedes []string
	packs      []*packInfo
}

func (s *Store) encodeIndex(f indexFile, aead cipher.AEAD, keyID uint32, name string) []byte {
	var body []byte
	body = binary.LittleEndian.AppendUint32(body, uint32(len(f.supersedes)))
	for _, n := range f.supersedes {
		body = binary.LittleEndian.AppendUint16(body, uint16(len(n)))
		body = append(body, n...)
	}
	body = binary.LittleEndian.AppendUint32(body, uint32(len(f.packs)))
	for _, p := range f.packs {
		body = binary.LittleEndian.AppendUint16(body, uint16(len(p.id)))
		body = append(body, p.id...)
		body = binary.LittleEndian.AppendUint64(body, uint64(p.size))
		body = binary.LittleEndian.AppendUint64(body, uint64(p.created.UnixNano()))
		body = binary.LittleEndian.AppendUint32(body, uint32(len(p.entries)))
		for _, e := range p.entries {
			body = appendEntry(body, e)
		}
	}
	out := []byte(indexMagic)
	out = binary.LittleEndian.AppendUint32(out, keyID)
	return seal(aead, out, s.enc.EncodeAll(body, nil), []byte("holdfast index\x00"+name))
}

// maxIndexBody bounds a decompressed index file: 2^28 bytes is 5 million
// entries, far more than one account's prune consolidates.
const maxIndexBody = 1 << 28

func (s *Store) decodeIndex(data []byte, keys map[uint32]cipher.AEAD, name string) (indexFile, error) {
	var f indexFile
	if len(data) < len(indexMagic)+4 || string(data[:len(indexMagic)]) != indexMagic {
		return f, errors.New("not an index file")
	}
	keyID := binary.LittleEndian.Uint32(data[len(indexMagic):])
	aead := keys[keyID]
	if aead == nil {
		return f, fmt.Errorf("sealed with unknown key %d", keyID)
	}
	z, err := unseal(aead, data[len(indexMagic)+4:], []byte("holdfast index\x00"+name))
	if err != nil {
		return f, err
	}
	body, err := s.dec.DecodeAll(z, nil)
	if err != nil || len(body) > maxIndexBody {
		return f, fmt.Errorf("decompress: %v", err)
	}
	r := reader{b: body}
	ns := int(r.u32())
	for range ns {
		if r.err != nil {
			break
		}
		f.supersedes = append(f.supersedes, string(r.bytes(int(r.u16()))))
	}
	np := int(r.u32())
	for range np {
		if r.err != nil {
			break
		}
		p := &packInfo{index: name}
		p.id = string(r.bytes(int(r.u16())))
		p.size = int64(r.u64())
		p.created = time.Unix(0, int64(r.u64())).UTC()
		n := int(r.u32())
		if r.err == nil {
			p.entries, r.err = parseEntries(r.bytes(n*entryLen), n)
		}
		f.packs = append(f.packs, p)
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errors.New("trailing bytes")
	}
	if r.err != nil {
		return indexFile{}, r.err
	}
	return f, nil
}

// reader decodes little-endian fields, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		if r.err == nil {
			r.err = errors.New("truncated")
		}
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}
