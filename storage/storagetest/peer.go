package storagetest

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// FaultsRequirement is the RequireEnv name of the fault-injection tests:
// listed, a peer that cannot be started, or a tmpfs that cannot be
// mounted, fails the test instead of skipping it.
const FaultsRequirement = "faults"

// Peer is a private server from the shared peers (see the peers README),
// started for one test on a port of its own, so that the test may stop
// and freeze it without disturbing anything else.
type Peer struct {
	// Env holds the exports of the peer's start script (DATABASE_URL,
	// S3_ENDPOINT, ...).
	Env map[string]string

	tb      testing.TB
	name    string // folder under peers/
	script  string // the peers/NAME directory
	dir     string // PEER_DIR
	portVar string // POSTGRES_PORT, S3_PORT
	port    string
	frozen  []int // pids stopped by Freeze
}

// StartPeer starts the peer in folder name of $HOLDFAST_SHARED/peers
// (default /work/shared) with a fresh PEER_DIR and a free port passed in
// portVar. It stops the peer and removes its directory when the test ends.
// Without the peers, or when start fails, the test skips, or fails when
// RequireEnv lists FaultsRequirement.
func StartPeer(tb testing.TB, name, portVar string) *Peer {
	tb.Helper()
	shared := os.Getenv("HOLDFAST_SHARED")
	if shared == "" {
		shared = "/work/shared"
	}
	script := filepath.Join(shared, "peers", name)
	if _, err := os.Stat(filepath.Join(script, "start")); err != nil {
		SkipOrFail(tb, FaultsRequirement, "no peer "+name+" in "+shared+"/peers (set HOLDFAST_SHARED)")
	}
	dir, err := os.MkdirTemp("", "holdfast-peer-"+name+"-")
	if err != nil {
		tb.Fatal(err)
	}
	// A PostgreSQL started as root runs as the postgres user, which must
	// reach its data under dir.
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	p := &Peer{tb: tb, name: name, script: script, dir: dir, portVar: portVar, port: freePort(tb)}
	tb.Cleanup(func() {
		p.Thaw()
		p.Stop()
		if data, err := os.ReadFile(filepath.Join(dir, "datadir")); err == nil && !strings.HasPrefix(string(data), dir) {
			os.RemoveAll(filepath.Dir(strings.TrimSpace(string(data))))
		}
		os.RemoveAll(dir)
	})
	if err := p.start(); err != nil {
		SkipOrFail(tb, FaultsRequirement, name+": "+err.Error())
	}
	return p
}

// freePort returns a TCP port nothing listens on now.
func freePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// start runs the start script and reads its exports.
func (p *Peer) start() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(p.script, "start"))
	cmd.Env = append(os.Environ(), "PEER_DIR="+p.dir, p.portVar+"="+p.port)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return &peerError{err: err, stderr: stderr.String()}
	}
	p.Env = parseExports(out)
	return nil
}

// Start starts the peer again after Stop, on the same port and data.
func (p *Peer) Start() {
	p.tb.Helper()
	if err := p.start(); err != nil {
		p.tb.Fatalf("restart %s: %v", p.name, err)
	}
}

// Stop stops the peer as its stop script does (PostgreSQL: a fast
// shutdown, which ends every session).
func (p *Peer) Stop() {
	p.tb.Helper()
	cmd := exec.Command(filepath.Join(p.script, "stop"), p.dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.tb.Errorf("stop %s: %v\n%s", p.name, err, out)
	}
}

// Freeze stops (SIGSTOP) the peer's processes, each recorded pid and all
// its descendants: the server keeps its sockets and answers nothing, like
// a machine that hangs. Thaw undoes it.
func (p *Peer) Freeze() {
	p.tb.Helper()
	pidFiles, _ := filepath.Glob(filepath.Join(p.dir, "*.pid"))
	var roots []int
	for _, f := range pidFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			roots = append(roots, pid)
		}
	}
	if len(roots) == 0 {
		p.tb.Fatalf("freeze %s: no pid recorded in %s", p.name, p.dir)
	}
	p.frozen = descendants(roots)
	for _, pid := range p.frozen {
		_ = syscall.Kill(pid, syscall.SIGSTOP)
	}
}

// Thaw resumes (SIGCONT) what Freeze stopped.
func (p *Peer) Thaw() {
	for _, pid := range p.frozen {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	p.frozen = nil
}

// descendants returns roots and every process below them, from /proc.
func descendants(roots []int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after
		// its closing parenthesis.
		rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := append([]int(nil), roots...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		out = append(out, pid)
		queue = append(queue, children[pid]...)
	}
	return out
}

// parseExports reads the "export NAME='value'" lines a start script
// prints.
func parseExports(out []byte) map[string]string {
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "export ")
		if !ok {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if uq, err := strconv.Unquote(value); err == nil {
			value = uq
		} else {
			value = strings.TrimSuffix(strings.TrimPrefix(value, "'"), "'")
		}
		env[name] = value
	}
	return env
}

// peerError is a start script that failed, with what it said.
type peerError struct {
	err    error
	stderr string
}

func (e *peerError) Error() string { return e.err.Error() + "\n" + e.stderr }
