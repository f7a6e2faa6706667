package backup_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/backup"
)

// TestPerformanceReport measures the figures of the README's Performance
// section on a corpus it generates (text, mail and binary files), and, when
// restic is installed, backs up the same corpus with restic for a side by
// side comparison. It runs only when asked:
//
//	HOLDFAST_BENCH_MB=1024 go test ./backup -run TestPerformanceReport -v -timeout 60m
func TestPerformanceReport(t *testing.T) {
	mb, _ := strconv.Atoi(os.Getenv("HOLDFAST_BENCH_MB"))
	if mb <= 0 {
		t.Skip("set HOLDFAST_BENCH_MB (corpus size in MiB) to run the performance report")
	}
	work := t.TempDir()
	corpus := filepath.Join(work, "corpus")
	total := genCorpus(t, corpus, int64(mb)<<20)
	var rows [][2]string
	add := func(k, v string) {
		rows = append(rows, [2]string{k, v})
		t.Logf("%s: %s", k, v)
	}
	add("corpus", fmt.Sprintf("%.0f MiB: text, mail (mbox and .eml) and binary files; GOMAXPROCS %d", float64(total)/(1<<20), runtime.GOMAXPROCS(0)))

	measureChunking(t, add)

	hs, _, blobDir := realServerDir(t)
	cl, err := backup.NewClient(hs.URL, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(work, "cache")
	opts := backup.Options{Client: cl, User: "ann@example.com", Device: "laptop", Paths: []string{corpus}, CacheDir: cache}
	ctx := context.Background()
	run := func() backup.Result {
		t.Helper()
		res, err := backup.Run(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	cpu0 := cpuTime()
	if prof := os.Getenv("HOLDFAST_BENCH_CPUPROFILE"); prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
	}
	first := run()
	pprof.StopCPUProfile()
	cpu := cpuTime() - cpu0
	firstTP := float64(total) / first.Duration.Seconds()
	add("first backup over loopback", fmt.Sprintf("%s (%s uploaded in %v; client and server together used %.0f%% CPU, %s per CPU-second)",
		mbps(total, first.Duration), size(first.UploadedBytes), first.Duration.Round(time.Millisecond), 100*cpu.Seconds()/first.Duration.Seconds(), mbps(total, cpu)))
	second := run()
	add("second backup, unchanged", fmt.Sprintf("%s (%d chunks uploaded)", mbps(total, second.Duration), second.Uploaded))
	ours := dirSize(t, blobDir)
	add("stored after these 2 snapshots", fmt.Sprintf("%s (%.2f of the corpus)", size(ours), float64(ours)/float64(total)))
	opts.CacheDir = ""
	noCache := run()
	add("second backup, unchanged, no client cache (every file read and hashed again)", fmt.Sprintf("%s (%d uploaded)", mbps(total, noCache.Duration), noCache.Uploaded))
	opts.CacheDir = cache
	changed := mutate(t, corpus, total/20, 1)
	third := run()
	add("backup after 5% changed", fmt.Sprintf("%s (%s changed, %s uploaded)", mbps(total, third.Duration), size(changed), size(third.UploadedBytes)))
	snaps := []string{first.Snapshot.ID, second.Snapshot.ID, noCache.Snapshot.ID, third.Snapshot.ID}
	for i := uint64(2); len(snaps) < 10; i++ {
		mutate(t, corpus, total/100, i)
		snaps = append(snaps, run().Snapshot.ID)
	}
	restoreTime := func(id string) time.Duration {
		dir, err := os.MkdirTemp(work, "restore-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		res, err := backup.Restore(ctx, backup.RestoreOptions{Client: cl, SnapshotID: id, Target: dir})
		if err != nil {
			t.Fatal(err)
		}
		return res.Duration
	}
	r1 := restoreTime(snaps[0])
	r10 := restoreTime(snaps[9])
	add("restore of the 1st snapshot", fmt.Sprintf("%v (%s)", r1.Round(time.Millisecond), mbps(total, r1)))
	add("restore of the 10th snapshot", fmt.Sprintf("%v (%s); 10th / 1st = %.2fx", r10.Round(time.Millisecond), mbps(total, r10), r10.Seconds()/r1.Seconds()))

	compareRestic(t, work, corpus, mb, total, ours, firstTP, cpu, add)
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], r[1])
	}
	t.Logf("\n%s", b.String())
	if out := os.Getenv("HOLDFAST_BENCH_OUT"); out != "" {
		os.WriteFile(out, []byte(b.String()), 0o644)
	}
}

// cpuTime is the CPU time this process has used (client and server).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func gbps(n int64, d time.Duration) string {
	return fmt.Sprintf("%.2f GB/s", float64(n)/d.Seconds()/1e9)
}
func mbps(n int64, d time.Duration) string {
	return fmt.Sprintf("%.0f MB/s", float64(n)/d.Seconds()/1e6)
}
func size(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func dirSize(tb testing.TB, dir string) int64 {
	tb.Helper()
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

var words = strings.Fields("the custodian mail hold report quarterly budget meeting of and to review draft contract " +
	"privileged counsel please find attached numbers revenue forecast board minutes action items follow up thanks regards")

func textBlock(r *rand.Rand, n int) []byte {
	b := make([]byte, 0, n+16)
	for len(b) < n {
		b = append(b, words[r.IntN(len(words))]...)
		if r.IntN(12) == 0 {
			b = append(b, '\n')
		} else {
			b = append(b, ' ')
		}
	}
	return b[:n]
}

// genCorpus writes about total bytes under dir: 40% text documents, 20%
// mail (mbox files and .eml), 40% binary (incompressible) files. The same
// total gives the same corpus.
func genCorpus(tb testing.TB, dir string, total int64) int64 {
	tb.Helper()
	r := rand.New(rand.NewPCG(42, 42))
	var written int64
	write := func(p string, b []byte) {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			tb.Fatal(err)
		}
		written += int64(len(b))
	}
	for i := 0; written < total*4/10; i++ {
		write(fmt.Sprintf("docs/%02d/doc-%04d.txt", i%20, i), textBlock(r, 4<<10+r.IntN(4<<20)))
	}
	for i := 0; written < total*6/10; i++ {
		if i%10 == 0 {
			var mbox bytes.Buffer
			for j := range 200 {
				fmt.Fprintf(&mbox, "From sender%d@example.com Mon Mar  2 10:00:00 2026\nFrom: sender%d@example.com\nSubject: item %d\nDate: Mon, 02 Mar 2026 10:00:00 +0000\n\n%s\n\n", j, j, j, textBlock(r, 2<<10+r.IntN(30<<10)))
			}
			write(fmt.Sprintf("mail/box-%03d.mbox", i), mbox.Bytes())
			continue
		}
		write(fmt.Sprintf("mail/inbox/%05d.eml", i), append([]byte(fmt.Sprintf("From: a%d@example.com\r\nSubject: item %d\r\n\r\n", i, i)), textBlock(r, 1<<10+r.IntN(200<<10))...))
	}
	for i := 0; written < total; i++ {
		b := make([]byte, 64<<10+r.IntN(24<<20))
		var seed [32]byte
		seed[0], seed[1] = byte(i), byte(i>>8)
		rand.NewChaCha8(seed).Read(b)
		write(fmt.Sprintf("bin/blob-%04d.bin", i), b)
	}
	return written
}

// mutate changes about n bytes of the corpus: it rewrites the middle of
// files (an insertion and an overwrite), so content-defined chunking finds
// the rest unchanged. It returns the bytes of the files touched.
func mutate(tb testing.TB, dir string, n int64, seed uint64) int64 {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	var paths []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			paths = append(paths, p)
		}
		return nil
	})
	var touched int64
	for touched < n {
		p := paths[r.IntN(len(paths))]
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		mid := len(b) / 2
		ins := textBlock(r, 100+r.IntN(4000))
		b = append(b[:mid:mid], append(ins, b[mid:]...)...)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			tb.Fatal(err)
		}
		touched += int64(len(b))
	}
	return touched
}

// compareRestic backs the corpus up with restic, when installed, and adds
// the comparison with Holdfast's first backup (throughput firstTP, cpu
// CPU time, ours bytes stored) to the report.
func compareRestic(t *testing.T, work, corpus string, mb int, total, ours int64, firstTP float64, cpu time.Duration, add func(k, v string)) {
	restic, err := exec.LookPath("restic")
	if err != nil {
		add("restic", "not installed (apt-get install -y restic) - comparison skipped")
		return
	}
	// The same corpus as our first backup: regenerate it.
	os.RemoveAll(corpus)
	genCorpus(t, corpus, int64(mb)<<20)
	repo := filepath.Join(work, "restic-repo")
	env := append(os.Environ(), "RESTIC_PASSWORD=bench", "RESTIC_REPOSITORY="+repo, "RESTIC_CACHE_DIR="+filepath.Join(work, "restic-cache"))
	var rCPU time.Duration
	sh := func(args ...string) time.Duration {
		cmd := exec.Command(restic, args...)
		cmd.Env = env
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("restic %v: %v\n%s", args, err, out)
		}
		rCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		return time.Since(start)
	}
	sh("init")
	rFirst := sh("backup", "--quiet", corpus)
	firstCPU := rCPU
	rSecond := sh("backup", "--quiet", corpus)
	rSize := dirSize(t, repo)
	add("restic first backup (local repository, no network)", fmt.Sprintf("%s, %s per CPU-second; Holdfast / restic throughput = %.2fx, per CPU-second = %.2fx",
		mbps(total, rFirst), mbps(total, firstCPU), firstTP/(float64(total)/rFirst.Seconds()), firstCPU.Seconds()/cpu.Seconds()))
	add("restic second backup, unchanged", mbps(total, rSecond))
	add("restic repository after 2 snapshots", fmt.Sprintf("%s; Holdfast / restic stored size = %.2fx", size(rSize), float64(ours)/float64(rSize)))
}

// measureChunking adds the chunker's speed on one core, without and with
// the keyed ids, to the report.
func measureChunking(t *testing.T, add func(k, v string)) {
	// Chunking speed on one core.
	data := make([]byte, 256<<20)
	rand.NewChaCha8([32]byte{9}).Read(data)
	c := storage.NewChunker(storage.ChunkerKey{1})
	start := time.Now()
	for rest := data; len(rest) > 0; {
		rest = rest[c.Cut(rest):]
	}
	add("chunking (content-defined cut points), one core", gbps(int64(len(data)), time.Since(start)))
	start = time.Now()
	if err := c.Split(bytes.NewReader(data), func(holdfast.ChunkRef, []byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	add("chunking + keyed BLAKE3 ids, one core", gbps(int64(len(data)), time.Since(start)))
	runtime.GC()
}
