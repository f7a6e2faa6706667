package authz

import (
	"bytes"
	"errors"
	"fmt"
)

// OPA's Wasm compiler emits modules that import their linear memory
// (env.memory). A module that imports its memory cannot be instantiated
// more than once in one wazero runtime without sharing that memory, so
// ownMemory rewrites the binary to define the memory itself, with the
// import's limits. Nothing else moves: memories have their own index space,
// and the module already exports index 0 as "memory".

// Section ids of the WebAssembly binary format.
const (
	wasmSectionCustom = 0
	wasmSectionImport = 2
	wasmSectionMemory = 5
)

// wasmSectionOrder gives the position a non-custom section must keep; the
// data count section (12) sits between element (9) and code (10).
func wasmSectionOrder(id byte) int {
	if id == 12 {
		return 95
	}
	return int(id) * 10
}

var wasmMagic = []byte("\x00asm\x01\x00\x00\x00")

// ownMemory returns mod with its memory import turned into a memory
// definition.
func ownMemory(mod []byte) ([]byte, error) {
	if len(mod) < len(wasmMagic) || !bytes.Equal(mod[:len(wasmMagic)], wasmMagic) {
		return nil, errors.New("wasm: not a version 1 module")
	}
	out := make([]byte, 0, len(mod)+16)
	out = append(out, wasmMagic...)
	var limits []byte // the memory import's limits, once the import section is read
	placed := false
	placeMemory := func() {
		if placed || limits == nil {
			return
		}
		body := appendULEB(nil, 1) // one memory
		body = append(body, limits...)
		out = appendSection(out, wasmSectionMemory, body)
		placed = true
	}
	for p := len(wasmMagic); p < len(mod); {
		id := mod[p]
		size, n, err := readULEB(mod[p+1:])
		if err != nil {
			return nil, fmt.Errorf("wasm: section at %d: %w", p, err)
		}
		start := p + 1 + n
		end := start + int(size)
		if end > len(mod) || end < start {
			return nil, fmt.Errorf("wasm: section at %d runs past the end", p)
		}
		body := mod[start:end]
		p = end
		if id != wasmSectionCustom && wasmSectionOrder(id) > wasmSectionOrder(wasmSectionMemory) {
			placeMemory()
		}
		switch id {
		case wasmSectionImport:
			rest, lim, err := dropMemoryImport(body)
			if err != nil {
				return nil, err
			}
			body, limits = rest, lim
		case wasmSectionMemory:
			return nil, errors.New("wasm: the module defines a memory of its own")
		}
		out = appendSection(out, id, body)
	}
	if limits == nil {
		return nil, errors.New("wasm: the module imports no memory")
	}
	placeMemory()
	return out, nil
}

// dropMemoryImport returns the import section without its memory import,
// and that import's limits (nil when there is none).
func dropMemoryImport(b []byte) (rest, limits []byte, err error) {
	count, n, err := readULEB(b)
	if err != nil {
		return nil, nil, fmt.Errorf("wasm: import count: %w", err)
	}
	r := wasmReader{b: b, p: n}
	var kept [][]byte
	for range count {
		if r.err != nil {
			break
		}
		start := r.p
		r.name()
		r.name()
		kind := r.byte()
		switch kind {
		case 0: // function: type index
			r.uleb()
		case 1: // table: reference type, limits
			r.byte()
			r.limits()
		case 2: // memory: limits
			lim := r.limits()
			if r.err == nil {
				if limits != nil {
					return nil, nil, errors.New("wasm: more than one memory import")
				}
				limits = lim
			}
			continue
		case 3: // global: value type, mutability
			r.byte()
			r.byte()
		default:
			return nil, nil, fmt.Errorf("wasm: import kind %d", kind)
		}
		if r.err != nil {
			break
		}
		kept = append(kept, b[start:r.p])
	}
	if r.err != nil {
		return nil, nil, fmt.Errorf("wasm: import section: %w", r.err)
	}
	if r.p != len(b) {
		return nil, nil, errors.New("wasm: import section has trailing bytes")
	}
	rest = appendULEB(nil, uint32(len(kept)))
	for _, e := range kept {
		rest = append(rest, e...)
	}
	return rest, limits, nil
}

// wasmReader reads a section body; the first failure sticks in err.
type wasmReader struct {
	b   []byte
	p   int
	err error
}

func (r *wasmReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.p >= len(r.b) {
		r.err = errors.New("unexpected end")
		return 0
	}
	c := r.b[r.p]
	r.p++
	return c
}

func (r *wasmReader) uleb() uint32 {
	if r.err != nil {
		return 0
	}
	v, n, err := readULEB(r.b[r.p:])
	if err != nil {
		r.err = err
		return 0
	}
	r.p += n
	return v
}

func (r *wasmReader) name() {
	l := r.uleb()
	if r.err == nil && int(l) > len(r.b)-r.p {
		r.err = errors.New("name runs past the end")
		return
	}
	r.p += int(l)
}

// limits reads limits (a flag, the minimum, and the maximum when flag bit
// 0 is set) and returns their bytes.
func (r *wasmReader) limits() []byte {
	start := r.p
	flag := r.byte()
	r.uleb()
	if flag&1 == 1 {
		r.uleb()
	}
	if r.err != nil {
		return nil
	}
	return r.b[start:r.p]
}

func readULEB(b []byte) (v uint32, n int, err error) {
	var shift uint
	for i := 0; i < len(b) && i < 5; i++ {
		if i == 4 && b[i]&0xf0 != 0 {
			return 0, 0, errors.New("LEB128 number overflows 32 bits")
		}
		v |= uint32(b[i]&0x7f) << shift
		if b[i]&0x80 == 0 {
			return v, i + 1, nil
		}
		shift += 7
	}
	return 0, 0, errors.New("bad LEB128 number")
}

func appendULEB(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendSection(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = appendULEB(out, uint32(len(body)))
	return append(out, body...)
}
