package export

import (
	"context"
	"errors"
	"io"
)

// Read-ahead of stored items: one goroutine decrypts the next chunks while
// the caller writes the previous ones to the network, so a download uses
// both the CPU that decrypts and the one that sends. It holds at most
// prefetchBlocks blocks of prefetchBlock bytes ahead of the reader.
const (
	prefetchBlock  = 512 << 10
	prefetchBlocks = 8
)

// seekReadCloser is what a stored item reader (*storage.ItemReader) is.
type seekReadCloser interface {
	io.ReadSeekCloser
	Size() int64
}

// prefetchReader serves Read, Seek and Close over r with read-ahead. It
// starts reading ahead at the first Read after a Seek, so http.ServeContent
// probing the size costs nothing. Not safe for concurrent use.
type prefetchReader struct {
	r    seekReadCloser
	ctx  context.Context
	size int64
	pos  int64

	// While running, the producer goroutine alone uses r.
	running bool
	stop    context.CancelFunc
	done    chan struct{}
	full    chan block
	free    chan []byte
	cur     block // the block being consumed
	off     int   // consumed bytes of cur.data
}

type block struct {
	data []byte
	err  error
}

func newPrefetchReader(ctx context.Context, r seekReadCloser) *prefetchReader {
	return &prefetchReader{r: r, ctx: ctx, size: r.Size()}
}

func (p *prefetchReader) start() {
	if p.free == nil {
		// Buffers are made at the first read, so HEAD and a request that
		// ends in 304 cost none.
		p.free = make(chan []byte, prefetchBlocks+1)
		for range prefetchBlocks + 1 {
			p.free <- make([]byte, prefetchBlock)
		}
	}
	ctx, cancel := context.WithCancel(p.ctx)
	p.stop, p.done, p.full, p.running = cancel, make(chan struct{}), make(chan block, prefetchBlocks), true
	p.cur, p.off = block{}, 0
	go func(pos int64, full chan<- block) {
		defer close(p.done)
		defer close(full)
		if _, err := p.r.Seek(pos, io.SeekStart); err != nil {
			full <- block{err: err}
			return
		}
		for {
			var buf []byte
			select {
			case buf = <-p.free:
			case <-ctx.Done():
				return
			}
			n, err := io.ReadFull(p.r, buf)
			if errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			select {
			case full <- block{data: buf[:n], err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}(p.pos, p.full)
}

// halt stops the producer and takes its buffers back.
func (p *prefetchReader) halt() {
	if !p.running {
		return
	}
	p.stop()
	<-p.done
	for b := range p.full {
		if b.data != nil {
			p.free <- b.data[:cap(b.data)]
		}
	}
	if p.cur.data != nil {
		p.free <- p.cur.data[:cap(p.cur.data)]
	}
	p.cur, p.off, p.running = block{}, 0, false
}

func (p *prefetchReader) Read(b []byte) (int, error) {
	if p.pos >= p.size {
		return 0, io.EOF
	}
	if !p.running {
		p.start()
	}
	for p.off == len(p.cur.data) {
		if p.cur.err != nil {
			return 0, p.cur.err
		}
		if p.cur.data != nil {
			p.free <- p.cur.data[:cap(p.cur.data)]
			p.cur.data = nil
		}
		next, ok := <-p.full
		if !ok {
			return 0, io.ErrUnexpectedEOF
		}
		p.cur, p.off = next, 0
	}
	n := copy(b, p.cur.data[p.off:])
	p.off += n
	p.pos += int64(n)
	return n, nil
}

func (p *prefetchReader) Seek(offset int64, whence int) (int64, error) {
	abs := offset
	switch whence {
	case io.SeekCurrent:
		abs += p.pos
	case io.SeekEnd:
		abs += p.size
	case io.SeekStart:
	default:
		return p.pos, errors.New("export: seek: bad whence")
	}
	if abs < 0 {
		return p.pos, errors.New("export: seek: negative position")
	}
	if abs != p.pos {
		p.halt()
		p.pos = abs
	}
	return abs, nil
}

func (p *prefetchReader) Close() error {
	p.halt()
	return p.r.Close()
}

// WriteTo writes the rest of the item to w a block at a time, without the
// 32 KiB copies of io.Copy.
func (p *prefetchReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for p.pos < p.size {
		if p.off == len(p.cur.data) {
			if _, err := p.Read(nil); err != nil && !errors.Is(err, io.EOF) {
				return total, err
			}
			if p.off == len(p.cur.data) {
				break
			}
		}
		n, err := w.Write(p.cur.data[p.off:])
		p.off += n
		p.pos += int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
