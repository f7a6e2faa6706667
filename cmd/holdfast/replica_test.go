package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// envReplicaChild makes TestReplicaChild serve: the test binary started
// again is one replica of TestReplicasKill9.
const envReplicaChild = "HOLDFAST_TEST_REPLICA_CHILD"

// TestReplicaChild is `holdfast serve` in a process of its own, configured
// by the environment; it prints "listening ADDR" once it accepts
// connections. It does nothing in a normal run.
func TestReplicaChild(t *testing.T) {
	if os.Getenv(envReplicaChild) == "" {
		t.Skip("only run as a replica of TestReplicasKill9")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	err := runWith(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, os.Getenv, io.Discard, os.Stderr,
		hooks{listening: func(addr string) { fmt.Printf("listening %s\n", addr) }})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReplicasKill9 runs two `holdfast serve` processes on one PostgreSQL
// and one MinIO bucket behind a round-robin proxy. A tree backed up
// through one replica is, through the other, all already stored (dedup
// across replicas is immediate). Then three overlapping trees are backed
// up at once through the proxy and one replica is killed with SIGKILL
// while they upload; every backup completes, no request is answered 422
// (or 500), each backup made one snapshot, each restores byte-identical,
// an unchanged backup uploads nothing and says so, and check finds no
// damage.
func TestReplicasKill9(t *testing.T) {
	env := replicaEnv(t)
	replicas := []*replicaProc{startReplica(t, env, t.TempDir())}
	replicas = append(replicas, startReplica(t, env, t.TempDir())) // after the first bootstrapped
	proxy := newRoundRobin(t, replicas)
	faultUser(t, &instance{url: replicas[0].url})
	devices := []string{"laptop", "desktop", "tablet"}
	for _, d := range devices[1:] {
		addDevice(t, replicas[0].url, d)
	}
	shared := treeFiles("shared", 100, 3)
	trees := make([]string, len(devices))
	for i := range trees {
		trees[i] = writeTree(t, shared, treeFiles("own", uint64(10*i+1), 4))
	}
	made := map[string]string{} // snapshot id → its tree

	// Replica 1 has the account loaded when replica 0 stores trees[0].
	warm := writeTree(t, treeFiles("warm", 7, 1))
	made[mustBackup(t, env, replicas[1].url, "tablet", warm).id] = warm
	made[mustBackup(t, env, replicas[0].url, "laptop", trees[0]).id] = trees[0]
	again := mustBackup(t, env, replicas[1].url, "desktop", trees[0])
	made[again.id] = trees[0]
	if again.uploaded != 0 || again.stored != again.chunks {
		t.Errorf("the same tree through the other replica: %+v; want every chunk already stored, none uploaded", again)
	}

	done := make(chan error, len(devices))
	var running atomic.Int32
	var mu sync.Mutex
	for i, d := range devices {
		running.Add(1)
		go func() {
			defer running.Add(-1)
			res, err := tryBackup(env, proxy.url, d, trees[i])
			mu.Lock()
			made[res.id] = trees[i]
			mu.Unlock()
			done <- err
		}()
	}
	proxy.waitUploads(t, 1, 1, &running)
	if running.Load() == 0 {
		t.Fatal("the backups ended before the replica was killed; make the trees larger")
	}
	replicas[1].kill9(t)
	for range devices {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("answers through the proxy: %v (502: requests the killed replica dropped)", proxy.counts())
	if n := proxy.count(http.StatusUnprocessableEntity); n != 0 {
		t.Errorf("%d commits or uploads answered 422, want none", n)
	}
	if n := proxy.count(http.StatusInternalServerError); n != 0 {
		t.Errorf("%d requests answered 500, want none; the replicas logged:\n%s", n, errorLines(replicas))
	}
	checkSnapshots(t, env, proxy.url, made)
	if res := mustBackup(t, env, proxy.url, "laptop", trees[0]); res.uploaded != 0 || res.stored != res.chunks {
		t.Errorf("unchanged backup: %+v; want every chunk already stored, none uploaded", res)
	}
	replicas[0].stop(t)
	if out, errOut, err := runCmd(t, env, "check", "--read-data"); err != nil || !strings.Contains(out, "no damage found") {
		t.Errorf("check after the kill: %v %q %s", err, out, errOut)
	}
}

// errorLines returns the replicas' logged errors.
func errorLines(replicas []*replicaProc) string {
	var b strings.Builder
	for _, r := range replicas {
		for _, line := range strings.Split(r.stderr.String(), "\n") {
			if strings.Contains(line, "level=ERROR") {
				b.WriteString(line + "\n")
			}
		}
	}
	return b.String()
}

// replicaEnv is the environment of both replicas and of check: one fresh
// PostgreSQL database, a fresh prefix of the MinIO bucket, one master key,
// no compaction (nothing but the kill may remove data).
func replicaEnv(t *testing.T) map[string]string {
	t.Helper()
	db := postgresDB(t)
	endpoint, bucket := os.Getenv("S3_ENDPOINT_HOST"), os.Getenv("S3_BUCKET")
	if endpoint == "" || bucket == "" {
		storagetest.SkipOrFail(t, "s3", "no MinIO: eval \"$(../shared/peers/object-store/start)\" (S3_ENDPOINT_HOST, S3_BUCKET)")
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	return map[string]string{
		envDB:          db,
		envBlob:        "s3://" + endpoint + "/" + bucket + "/replicas-" + hex.EncodeToString(rnd[:]) + "?secure=false",
		envS3AccessKey: os.Getenv("S3_ACCESS_KEY"), envS3SecretKey: os.Getenv("S3_SECRET_KEY"),
		envMasterKey:      testMasterKey,
		envCompactEvery:   "0",
		envBootstrapEmail: "root@example.com", envBootstrapPassword: testPassword, envBootstrapToken: testToken,
	}
}

// replicaProc is a `holdfast serve` child process.
type replicaProc struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	exited chan struct{}
	err    error // set before exited closes
}

// startReplica starts the test binary as a replica (TestReplicaChild)
// with env and its own data directory, and waits until it listens. The
// replica is stopped when the test ends.
func startReplica(t *testing.T, env map[string]string, dataDir string) *replicaProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReplicaChild$", "-test.count=1")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOLDFAST_") { // only the test's settings reach the replica
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, envReplicaChild+"=1", envDataDir+"="+dataDir)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	r := &replicaProc{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = r.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				addr <- a
			}
		}
	}()
	go func() { r.err = cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() { r.stop(t) })
	select {
	case a := <-addr:
		r.url = "http://" + a
		return r
	case <-r.exited:
		t.Fatalf("replica exited before listening: %v\n%s", r.err, r.stderr)
	case <-time.After(90 * time.Second):
		t.Fatalf("replica did not listen within 90s:\n%s", r.stderr)
	}
	return nil
}

// kill9 kills the replica with SIGKILL, as kill -9 does: no shutdown, no
// flush, connections dropped mid-request.
func (r *replicaProc) kill9(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-r.exited
	if ws, ok := r.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the replica ended with %v, not killed by SIGKILL", r.err)
	}
}

// stop ends the replica gracefully (SIGTERM), if it still runs.
func (r *replicaProc) stop(t *testing.T) {
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
		t.Errorf("replica did not stop within 30s:\n%s", r.stderr)
	}
}

// roundRobin is a reverse proxy that sends each request to the next
// replica in turn, skipping one it could not reach (a passive health
// check, as load balancers do); a request in flight when its replica
// died is answered 502. It counts the answers.
type roundRobin struct {
	url      string
	backends []*url.URL
	down     []atomic.Bool
	next     atomic.Uint32

	mu       sync.Mutex
	statuses map[int]int // answers by status; guarded by mu
	uploads  map[int]int // chunk uploads stored, by backend; guarded by mu
}

func newRoundRobin(t *testing.T, replicas []*replicaProc) *roundRobin {
	t.Helper()
	rr := &roundRobin{down: make([]atomic.Bool, len(replicas)), statuses: map[int]int{}, uploads: map[int]int{}}
	for _, r := range replicas {
		u, err := url.Parse(r.url)
		if err != nil {
			t.Fatal(err)
		}
		rr.backends = append(rr.backends, u)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(rr.backends[rr.pick()]) },
		ModifyResponse: func(resp *http.Response) error {
			rr.record(resp.StatusCode, rr.backend(resp.Request.URL.Host), resp.Request)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() == nil {
				rr.down[rr.backend(r.URL.Host)].Store(true)
			}
			rr.record(http.StatusBadGateway, -1, r)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	hs := httptest.NewServer(proxy)
	t.Cleanup(hs.Close)
	rr.url = hs.URL
	return rr
}

// pick returns the next backend not known to be down.
func (rr *roundRobin) pick() int {
	n := uint32(len(rr.backends))
	for range n {
		i := int(rr.next.Add(1) % n)
		if !rr.down[i].Load() {
			return i
		}
	}
	return int(rr.next.Add(1) % n)
}

func (rr *roundRobin) backend(host string) int {
	for i, u := range rr.backends {
		if u.Host == host {
			return i
		}
	}
	return -1
}

func (rr *roundRobin) record(status, backend int, r *http.Request) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.statuses[status]++
	if backend >= 0 && status < 300 && strings.Contains(r.URL.Path, "/chunks") {
		rr.uploads[backend]++
	}
}

func (rr *roundRobin) count(status int) int {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return rr.statuses[status]
}

func (rr *roundRobin) counts() map[int]int {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	out := make(map[int]int, len(rr.statuses))
	for k, v := range rr.statuses {
		out[k] = v
	}
	return out
}

// waitUploads waits until backend stored at least n chunk uploads, or no
// backup runs any more.
func (rr *roundRobin) waitUploads(t *testing.T, backend, n int, running *atomic.Int32) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		rr.mu.Lock()
		got := rr.uploads[backend]
		rr.mu.Unlock()
		if got >= n || running.Load() == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %d stored %d uploads in 3 minutes, want %d", backend, got, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// addDevice gives ann@example.com (made by faultUser) another endpoint.
func addDevice(t *testing.T, base, name string) {
	t.Helper()
	var users struct {
		Users []struct {
			ID string `json:"id"`
		} `json:"users"`
	}
	if code, body := call(t, "GET", base+"/api/v1/users", testToken, nil, &users); code != http.StatusOK || len(users.Users) != 1 {
		t.Fatalf("list users = %d %s", code, body)
	}
	if code, body := call(t, "POST", base+"/api/v1/devices", testToken,
		map[string]any{"user_id": users.Users[0].ID, "name": name, "kind": "endpoint", "workload": "endpoints"}, nil); code != http.StatusCreated {
		t.Fatalf("create device %s = %d %s", name, code, body)
	}
}

// treeFiles returns n files of 4 MiB of random bytes (seeds from seed)
// and as many small text files, under dir.
func treeFiles(dir string, seed uint64, n int) map[string][]byte {
	out := map[string][]byte{}
	for i := range n {
		out[fmt.Sprintf("%s/big%d.bin", dir, i)] = randomBytes(seed*100+uint64(i), 4<<20)
		out[fmt.Sprintf("%s/notes/%d.txt", dir, i)] = []byte(strings.Repeat(fmt.Sprintf("note %d of tree %d\n", i, seed), 50))
	}
	return out
}

// writeTree writes the union of sets into a new directory and returns it.
func writeTree(t *testing.T, sets ...map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for _, set := range sets {
		for rel, data := range set {
			writeFile(t, filepath.Join(dir, filepath.FromSlash(rel)), data)
		}
	}
	return dir
}

// checkSnapshots asserts that the stored snapshots are exactly those
// made (no backup stored two), and restores each, comparing every file
// with its tree.
func checkSnapshots(t *testing.T, env map[string]string, server string, made map[string]string) {
	t.Helper()
	var list struct {
		Snapshots []struct {
			ID string `json:"id"`
		} `json:"snapshots"`
	}
	if code, body := call(t, "GET", server+"/api/v1/snapshots?user_id=ann@example.com", testToken, nil, &list); code != http.StatusOK {
		t.Fatalf("list snapshots = %d %s", code, body)
	}
	if len(list.Snapshots) != len(made) {
		t.Errorf("%d snapshots stored, want one per backup (%d)", len(list.Snapshots), len(made))
	}
	for _, sn := range list.Snapshots {
		tree, ok := made[sn.ID]
		if !ok {
			t.Errorf("snapshot %s was made by no backup", sn.ID)
			continue
		}
		to := t.TempDir()
		if _, errOut, err := runCmd(t, env, "restore", "--server", server, "--token", testToken, "--snapshot", sn.ID, "--to", to, "--quiet"); err != nil {
			t.Errorf("restore %s: %v\n%s", sn.ID, err, errOut)
			continue
		}
		sameTree(t, tree, filepath.Join(to, filepath.Base(tree)))
	}
}

// sameTree asserts that every file under want is under got, byte for
// byte.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(want, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(want, path)
		w, _ := os.ReadFile(path)
		g, err := os.ReadFile(filepath.Join(got, rel))
		if err != nil || !bytes.Equal(g, w) {
			t.Errorf("restored %s: %d bytes (%v), want %d identical bytes", rel, len(g), err, len(w))
		}
		n++
		return nil
	})
	if err != nil || n == 0 {
		t.Errorf("compare %s: %d files, %v", want, n, err)
	}
}

// backupSummary is what a backup printed.
type backupSummary struct {
	id                       string
	chunks, stored, uploaded int
}

var summaryLine = regexp.MustCompile(`snapshot (\S+): .* (\d+) chunks: (\d+) already stored, (\d+) uploaded`)

// tryBackup backs up tree as ann's device through server with the
// backup command, and reads its summary.
func tryBackup(env map[string]string, server, device, tree string) (backupSummary, error) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"backup", "--server", server, "--token", testToken, "--user", "ann@example.com",
		"--device", device, "--workers", "2", "--cache-dir", "", "--quiet", tree}, envFunc(env), &stdout, &stderr)
	if err != nil {
		return backupSummary{}, fmt.Errorf("backup of %s: %w\n%s", device, err, stderr.String())
	}
	m := summaryLine.FindStringSubmatch(stdout.String())
	if m == nil {
		return backupSummary{}, fmt.Errorf("backup of %s printed %q, no summary", device, stdout.String())
	}
	res := backupSummary{id: m[1]}
	res.chunks, _ = strconv.Atoi(m[2])
	res.stored, _ = strconv.Atoi(m[3])
	res.uploaded, _ = strconv.Atoi(m[4])
	return res, nil
}

func mustBackup(t *testing.T, env map[string]string, server, device, tree string) backupSummary {
	t.Helper()
	res, err := tryBackup(env, server, device, tree)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestReplicaKilledMidWrite: replica 1 has accepted a chunk and is writing
// its pack (the object store hangs) when another client asks it which
// chunks are missing; it is then killed with SIGKILL before the write
// ends. The chunk was never durable, so replica 1 must have answered it
// missing: the client uploads it to replica 0, and its commit there is not
// refused (422). A private MinIO is frozen for the hanging write.
func TestReplicaKilledMidWrite(t *testing.T) {
	minio := storagetest.StartPeer(t, "object-store", "S3_PORT")
	env := replicaEnv(t)
	env[envBlob] = "s3://" + minio.Env["S3_ENDPOINT_HOST"] + "/" + minio.Env["S3_BUCKET"] + "/midwrite?secure=false"
	env[envS3AccessKey], env[envS3SecretKey] = minio.Env["S3_ACCESS_KEY"], minio.Env["S3_SECRET_KEY"]
	env[envBlobTimeout] = "2m" // the write hangs rather than fails
	replicas := []*replicaProc{startReplica(t, env, t.TempDir())}
	replicas = append(replicas, startReplica(t, env, t.TempDir()))
	faultUser(t, &instance{url: replicas[0].url})
	var target struct {
		DeviceID   string `json:"device_id"`
		ChunkerKey []byte `json:"chunker_key"`
	}
	if code, body := call(t, "POST", replicas[0].url+"/api/v1/backups", testToken, map[string]any{"user": "ann@example.com", "device": "laptop"}, &target); code != http.StatusOK {
		t.Fatalf("start backup = %d %s", code, body)
	}
	var key storage.ChunkerKey
	copy(key[:], target.ChunkerKey)
	data := []byte("one chunk that two clients back up at once\n")
	ref := storage.NewChunker(key).Ref(data)
	backups := "/api/v1/backups/" + target.DeviceID
	missing := func(base string) []holdfast.ChunkRef {
		var out struct {
			Refs []holdfast.ChunkRef `json:"refs"`
		}
		if code, body := call(t, "POST", base+backups+"/missing", testToken, map[string]any{"refs": []holdfast.ChunkRef{ref}}, &out); code != http.StatusOK {
			t.Fatalf("missing = %d %s", code, body)
		}
		return out.Refs
	}
	missing(replicas[1].url) // replica 1 loads the account while the store answers

	minio.Freeze()
	go putChunk(replicas[1].url+backups+"/chunks/"+ref.String(), data) // hangs in the pack write
	time.Sleep(time.Second)
	told := missing(replicas[1].url)
	replicas[1].kill9(t)
	minio.Thaw()
	if len(told) != 1 {
		t.Errorf("replica 1 answered %v missing while the chunk's pack was being written, want the chunk: it is not durable", told)
	}
	for range told {
		if code, body := putChunk(replicas[0].url+backups+"/chunks/"+ref.String(), data); code != http.StatusNoContent {
			t.Fatalf("upload to replica 0 = %d %s", code, body)
		}
	}
	var snap struct {
		ID string `json:"id"`
	}
	items := []map[string]any{{"path": "a.txt", "size": len(data), "chunks": []holdfast.ChunkRef{ref}}}
	if code, body := call(t, "POST", replicas[0].url+backups+"/snapshots", testToken, map[string]any{"source": "device", "items": items}, &snap); code != http.StatusCreated {
		t.Fatalf("commit on replica 0 = %d %s, want 201", code, body)
	}
	code, body := call(t, "GET", replicas[0].url+"/api/v1/snapshots/"+snap.ID+"/content?path=a.txt", testToken, nil, nil)
	if code != http.StatusOK || body != string(data) {
		t.Errorf("content = %d %q, want the chunk's bytes", code, body)
	}
}

// putChunk uploads one chunk and returns the status and body; 0 when the
// request failed (the replica died).
func putChunk(url string, data []byte) (int, string) {
	req, err := http.NewRequest("PUT", url, bytes.NewReader(data))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
