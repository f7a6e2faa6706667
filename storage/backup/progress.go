package backup

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/holdfast/holdfast/storage"
)

// progress draws one status line (bytes, items, dedup ratio, speed) on a
// terminal, redrawn in place, several times a second.
type progress struct {
	w          io.Writer
	total      int64
	totalItems int
	restore    bool // a restore: no upload or dedup figures
	start      time.Time

	done     atomic.Int64 // bytes chunked or taken from the cache
	items    atomic.Int64
	upBytes  atomic.Int64
	stopOnce sync.Once
	quit     chan struct{}
	finished chan struct{}
}

func newProgress(w io.Writer, entries []entry) *progress {
	var total int64
	for _, e := range entries {
		if e.file != "" {
			total += e.size
		} else {
			total += int64(len(e.data))
		}
	}
	return startProgress(w, total, len(entries), false)
}

// newRestoreProgress is the status line of a restore: bytes and items
// written, and speed.
func newRestoreProgress(w io.Writer, items []storage.Item) *progress {
	var total int64
	for _, it := range items {
		total += it.Size
	}
	return startProgress(w, total, len(items), true)
}

func startProgress(w io.Writer, total int64, items int, restore bool) *progress {
	p := &progress{w: w, total: total, totalItems: items, restore: restore, start: time.Now(), quit: make(chan struct{}), finished: make(chan struct{})}
	if w == nil {
		close(p.finished)
		return p
	}
	go func() {
		defer close(p.finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fmt.Fprint(p.w, "\r"+p.line()+"\x1b[K")
			case <-p.quit:
				fmt.Fprint(p.w, "\r"+p.line()+"\x1b[K\n")
				return
			}
		}
	}()
	return p
}

func (p *progress) read(n int64)     { p.done.Add(n) }
func (p *progress) item()            { p.items.Add(1) }
func (p *progress) uploaded(n int64) { p.upBytes.Add(n) }

// stop draws the final line; safe to call more than once.
func (p *progress) stop() {
	p.stopOnce.Do(func() { close(p.quit) })
	<-p.finished
}

func (p *progress) line() string {
	done, up := p.done.Load(), p.upBytes.Load()
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(done) / float64(p.total)
	}
	dedup := "-"
	if up > 0 {
		dedup = fmt.Sprintf("%.1fx", float64(done)/float64(up))
	} else if done > 0 {
		dedup = "all present"
	}
	secs := time.Since(p.start).Seconds()
	speed := 0.0
	if secs > 0 {
		speed = float64(done) / secs
	}
	if p.restore {
		return fmt.Sprintf("%5.1f%%  %s / %s  %d/%d items  %s/s",
			pct, humanBytes(float64(done)), humanBytes(float64(p.total)), p.items.Load(), p.totalItems, humanBytes(speed))
	}
	return fmt.Sprintf("%5.1f%%  %s / %s  %d/%d items  uploaded %s  dedup %s  %s/s",
		pct, humanBytes(float64(done)), humanBytes(float64(p.total)), p.items.Load(), p.totalItems,
		humanBytes(float64(up)), dedup, humanBytes(speed))
}

// HumanBytes formats a byte count with binary units ("1.5 MiB").
func HumanBytes(n int64) string { return humanBytes(float64(n)) }

func humanBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", n, units[i])
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}
