package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// faultRequest sends one request and returns its status, Retry-After and
// error envelope (zero for a success), failing the test on a transport
// error.
func faultRequest(tb testing.TB, method, url, body string) (int, string, errorEnvelopeJSON, time.Duration) {
	tb.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env errorEnvelopeJSON
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(raw, &env); err != nil {
			tb.Errorf("%s %s = %d with a body that is not the JSON envelope: %s", method, url, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), env, time.Since(start)
}

// errorEnvelopeJSON is the error envelope as a client reads it.
type errorEnvelopeJSON struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// TestFaultPostgres runs serve on a private PostgreSQL, then stops it and
// freezes it: every request, decisions included, answers 503 with
// Retry-After and the envelope within the deadline, the failure is logged
// with its cause, a write made during the outage leaves nothing behind, and
// service resumes without a restart when the database is back.
func TestFaultPostgres(t *testing.T) {
	pg := storagetest.StartPeer(t, "postgres", "POSTGRES_PORT")
	const timeout = time.Second
	inst, err := launch(t, map[string]string{
		envDB:                pg.Env["DATABASE_URL"],
		envDBTimeout:         timeout.String(),
		envBootstrapEmail:    "root@example.com",
		envBootstrapPassword: testPassword,
		envBootstrapToken:    testToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	admins := inst.url + "/api/v1/administrators"
	decision := inst.url + "/access/v1/evaluation"
	const decisionBody = `{"subject":{"type":"user","id":"root@example.com"},"action":{"name":"view"},"resource":{"type":"user","id":"u1"}}`
	newAdmin := `{"name":"Outage Admin","email":"outage@example.com","role":"help_desk_admin","scopes":{"all_profiles":true,"all_workloads":true}}`

	healthy := func(t *testing.T) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, _, _, _ := faultRequest(t, "GET", admins, "")
			if code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET administrators = %d 30s after the database came back, want 200", code)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if code, _, env, _ := faultRequest(t, "POST", decision, decisionBody); code != http.StatusOK {
			t.Fatalf("POST evaluation = %d %+v, want 200", code, env)
		}
		var list adminList
		if code, body := call(t, "GET", admins, testToken, nil, &list); code != http.StatusOK || len(list.Administrators) != 1 {
			t.Fatalf("GET administrators = %d, %d administrators, want 200 and only the bootstrap one (nothing half-written): %s", code, len(list.Administrators), body)
		}
	}
	unavailable := func(t *testing.T, fault string) {
		t.Helper()
		// The engine answers from its state at the last revision the
		// watcher saw. A stopped database breaks the watcher's connection,
		// so that state is dropped and a decision is an outage; a frozen
		// one keeps it up, and since nothing can change while it is frozen
		// a decision may still be answered, within the deadline, from that
		// state (a question not asked before, so not from the cache).
		fresh := strings.NewReplacer(`"id":"u1"`, `"id":"outage-`+fault+`"`, `"name":"view"`, `"name":"users.view"`).Replace(decisionBody)
		for _, r := range []struct {
			method, url, body string
			mayAnswer         bool
		}{
			{"GET", admins, "", false},
			{"POST", decision, fresh, fault == "frozen"},
			{"POST", admins, newAdmin, false},
		} {
			code, retry, env, took := faultRequest(t, r.method, r.url, r.body)
			// One statement's deadline, a few for a request that makes
			// several calls, never the client's patience.
			if took > 8*timeout {
				t.Errorf("%s %s with the database %s took %s, want the %s deadline to end it", r.method, r.url, fault, took, timeout)
			}
			if r.mayAnswer && code == http.StatusOK {
				continue
			}
			if code != http.StatusServiceUnavailable || retry == "" || env.Error.Code != "unavailable" {
				t.Errorf("%s %s with the database %s = %d (Retry-After %q, %+v), want 503 unavailable with Retry-After",
					r.method, r.url, fault, code, retry, env.Error)
			}
			if !strings.Contains(env.Error.Message, "database") || strings.Contains(env.Error.Message, "127.0.0.1") {
				t.Errorf("message %q, want one naming the database and not its address", env.Error.Message)
			}
			if !strings.Contains(inst.stderr.String(), "request_id="+env.Error.RequestID) {
				t.Errorf("request %s is not logged:\n%s", env.Error.RequestID, inst.stderr)
			}
		}
		if !strings.Contains(inst.stderr.String(), "status=503") {
			t.Errorf("no 503 logged:\n%s", inst.stderr)
		}
	}

	healthy(t)
	t.Run("stopped", func(t *testing.T) {
		pg.Stop()
		unavailable(t, "stopped")
		pg.Start()
		healthy(t)
	})
	t.Run("frozen", func(t *testing.T) {
		pg.Freeze()
		unavailable(t, "frozen")
		pg.Thaw()
		healthy(t)
	})
}

// TestFaultDiskFull backs up onto a blob store on a tmpfs too small for
// one pack: the upload stops at once with 507 and says why, the cause is
// logged once, no snapshot and no temporary file is left, and once space
// is freed the same backup succeeds without a restart.
func TestFaultDiskFull(t *testing.T) {
	blobs := storagetest.MountTmpfs(t, "200k")
	env := map[string]string{
		envDataDir: t.TempDir(), envBlob: "file:" + blobs,
		envBootstrapEmail: "root@example.com", envBootstrapPassword: testPassword, envBootstrapToken: testToken,
	}
	inst := startServe(t, env)
	user := faultUser(t, inst)
	// More than one 16 MiB pack of incompressible data.
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "big.raw"), randomBytes(7, 24<<20))
	args := []string{"backup", "--server", inst.url, "--token", testToken, "--user", "ann@example.com",
		"--device", "laptop", "--cache-dir", t.TempDir(), src}

	start := time.Now()
	_, errOut, err := runCmd(t, env, args...)
	if err == nil {
		t.Fatalf("backup onto a full disk succeeded:\n%s", errOut)
	}
	msg := err.Error()
	if !strings.Contains(msg, "507") || !strings.Contains(msg, "full") {
		t.Errorf("backup error = %q, want the 507 saying the store is full", msg)
	}
	// A 422 status, not the digits inside a hex request id.
	if regexp.MustCompile(`(^|[^0-9a-z_])422([^0-9a-z]|$)`).MatchString(msg) || len(msg) > 1000 {
		t.Errorf("backup error = %q, want no commit attempt and no list of hashes", msg)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the backup took %s to give up, want it to stop at the first refused chunk", took)
	}
	logs := inst.stderr.String()
	if n := strings.Count(logs, "no space left on device"); n != 1 {
		t.Errorf("\"no space left on device\" is logged %d times, want once per condition:\n%s", n, logs)
	}
	if !strings.Contains(logs, "status=507") {
		t.Errorf("no 507 in the access log:\n%s", logs)
	}
	// A chunk is acknowledged only once its pack is written, so the
	// upload itself is refused, and the client never tries to commit.
	refused := 0
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, "msg=request ") {
			continue
		}
		// One chunk (PUT .../chunks/{ref}) or a batch (POST .../chunks).
		if strings.Contains(line, "/chunks") && (strings.Contains(line, "method=PUT") || strings.Contains(line, "method=POST")) {
			switch {
			case strings.Contains(line, "status=507"):
				refused++
			case strings.Contains(line, "status=204"):
				// Every chunk is larger than the disk: none can be stored.
				t.Errorf("a chunk was acknowledged although nothing fits on the disk: %s", line)
			}
		}
		if strings.Contains(line, "method=POST") && strings.Contains(line, "/snapshots ") {
			t.Errorf("the client committed after an upload was refused: %s", line)
		}
	}
	if refused == 0 {
		t.Errorf("no chunk upload was refused with 507:\n%s", logs)
	}
	var snaps struct {
		Snapshots []json.RawMessage `json:"snapshots"`
	}
	if code, body := call(t, "GET", inst.url+"/api/v1/snapshots?user_id="+user, testToken, nil, &snaps); code != http.StatusOK || len(snaps.Snapshots) != 0 {
		t.Errorf("snapshots after the failed backup = %d %s, want none", code, body)
	}
	if left, _ := filepath.Glob(filepath.Join(blobs, ".tmp", "*")); len(left) != 0 {
		t.Errorf("temporary files left on the full disk: %v", left)
	}

	storagetest.ResizeTmpfs(t, blobs, "64m")
	out, errOut, err := runCmd(t, env, args...)
	if err != nil {
		t.Fatalf("backup after space was freed: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "snapshot ") {
		t.Errorf("backup output = %q, want a snapshot", out)
	}
}

// faultUser creates the user ann@example.com with the endpoint "laptop"
// and returns the user's id.
func faultUser(t *testing.T, inst *instance) string {
	t.Helper()
	if code, body := call(t, "POST", inst.url+"/api/v1/users", testToken, map[string]any{"email": "ann@example.com", "name": "Ann"}, nil); code != http.StatusCreated {
		t.Fatalf("create user = %d %s", code, body)
	}
	var users struct {
		Users []struct {
			ID string `json:"id"`
		} `json:"users"`
	}
	if code, body := call(t, "GET", inst.url+"/api/v1/users", testToken, nil, &users); code != http.StatusOK || len(users.Users) != 1 {
		t.Fatalf("list users = %d %s", code, body)
	}
	if code, body := call(t, "POST", inst.url+"/api/v1/devices", testToken,
		map[string]any{"user_id": users.Users[0].ID, "name": "laptop", "kind": "endpoint", "workload": "endpoints"}, nil); code != http.StatusCreated {
		t.Fatalf("create device = %d %s", code, body)
	}
	return users.Users[0].ID
}

// TestFaultObjectStore runs serve on a private MinIO, then stops it and
// freezes it in the middle of a backup: the uploads meanwhile answer 503
// with Retry-After and the envelope within the store's deadline, the
// cause is logged once, the client retries until the store is back and
// its backup completes, nothing is half-written (check finds no damage),
// and service resumes without a restart.
func TestFaultObjectStore(t *testing.T) {
	minio := storagetest.StartPeer(t, "object-store", "S3_PORT")
	o := &objectStoreOutage{timeout: 2 * time.Second}
	o.env = map[string]string{
		envDataDir:     t.TempDir(),
		envBlob:        "s3://" + minio.Env["S3_ENDPOINT_HOST"] + "/" + minio.Env["S3_BUCKET"] + "/faults?secure=false",
		envS3AccessKey: minio.Env["S3_ACCESS_KEY"], envS3SecretKey: minio.Env["S3_SECRET_KEY"],
		envBlobTimeout:    o.timeout.String(),
		envBootstrapEmail: "root@example.com", envBootstrapPassword: testPassword, envBootstrapToken: testToken,
	}
	o.inst = startServe(t, o.env)
	o.snapshots = o.inst.url + "/api/v1/snapshots?user_id=" + faultUser(t, o.inst)
	if code, body := call(t, "POST", o.inst.url+"/api/v1/backups", testToken, map[string]any{"user": "ann@example.com", "device": "laptop"}, &o.target); code != http.StatusOK {
		t.Fatalf("start backup = %d %s", code, body)
	}
	if _, errOut, err := runCmd(t, o.env, o.backupArgs(t, 1)...); err != nil {
		t.Fatalf("backup with the object store up: %v\n%s", err, errOut)
	}

	t.Run("stopped", func(t *testing.T) { o.midBackup(t, "stopped", minio.Stop, minio.Start) })
	t.Run("frozen", func(t *testing.T) { o.midBackup(t, "frozen", minio.Freeze, minio.Thaw) })

	// Logged once per condition: both outages are "object store
	// unavailable" within a minute.
	logs := o.inst.stderr.String()
	failed := 0
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "msg=\"request failed\"") && strings.Contains(line, "object store: service unavailable") {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("the object store outage is logged %d times, want once:\n%s", failed, logs)
	}
	var snaps struct {
		Snapshots []json.RawMessage `json:"snapshots"`
	}
	if code, body := call(t, "GET", o.snapshots, testToken, nil, &snaps); code != http.StatusOK || len(snaps.Snapshots) != 3 {
		t.Errorf("snapshots after the outages = %d %s, want the three backups", code, body)
	}
	if err := o.inst.stop(); err != nil {
		t.Fatal(err)
	}
	if out, errOut, err := runCmd(t, o.env, "check", "--read-data"); err != nil || !strings.Contains(out, "no damage found") {
		t.Errorf("check after the outages: %v %q %s", err, out, errOut)
	}
}

// objectStoreOutage is serve on a private MinIO, with ann's laptop as the
// backup target.
type objectStoreOutage struct {
	inst      *instance
	env       map[string]string
	timeout   time.Duration // the object store's deadline
	snapshots string        // the URL of ann's snapshots
	target    struct {
		DeviceID   string `json:"device_id"`
		ChunkerKey []byte `json:"chunker_key"`
	}
}

// backupArgs returns the arguments of a backup of 24 MiB of new data
// (seed), one upload at a time so that a fault lands in the middle.
func (o *objectStoreOutage) backupArgs(t *testing.T, seed uint64) []string {
	src := t.TempDir()
	for i := range 4 {
		writeFile(t, filepath.Join(src, fmt.Sprintf("f%d.raw", i)), randomBytes(seed*10+uint64(i), 6<<20))
	}
	return []string{"backup", "--server", o.inst.url, "--token", testToken, "--user", "ann@example.com",
		"--device", "laptop", "--workers", "1", "--cache-dir", "", src}
}

// unavailable checks a read and an upload while the store is down: 503
// with Retry-After and a message naming the object store, not its address,
// within the store's deadline.
func (o *objectStoreOutage) unavailable(t *testing.T, fault string) {
	t.Helper()
	data := []byte("a chunk uploaded while the object store is " + fault)
	var key storage.ChunkerKey
	copy(key[:], o.target.ChunkerKey)
	put := o.inst.url + "/api/v1/backups/" + o.target.DeviceID + "/chunks/" + storage.NewChunker(key).Ref(data).String()
	for _, r := range []struct{ method, url, body string }{{"GET", o.snapshots, ""}, {"PUT", put, string(data)}} {
		code, retry, envl, took := faultRequest(t, r.method, r.url, r.body)
		if code != http.StatusServiceUnavailable || retry == "" || envl.Error.Code != "unavailable" {
			t.Errorf("%s %s with the object store %s = %d (Retry-After %q, %+v), want 503 unavailable with Retry-After",
				r.method, r.url, fault, code, retry, envl.Error)
		}
		if !strings.Contains(envl.Error.Message, "object store") || strings.Contains(envl.Error.Message, "127.0.0.1") {
			t.Errorf("message %q, want one naming the object store and not its address", envl.Error.Message)
		}
		if took > 4*o.timeout {
			t.Errorf("%s %s with the object store %s took %s, want the %s deadline to end it", r.method, r.url, fault, took, o.timeout)
		}
	}
}

// midBackup starts a backup, injects the fault once its first chunk is
// stored, checks the outage, clears the fault, and waits for the backup,
// which must succeed by retrying.
func (o *objectStoreOutage) midBackup(t *testing.T, fault string, inject, clear func()) {
	stored := strings.Count(o.inst.stderr.String(), "status=204")
	done := make(chan error, 1)
	go func() {
		_, errOut, err := runCmd(t, o.env, o.backupArgs(t, uint64(len(fault)))...)
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, errOut)
		}
		done <- err
	}()
	for strings.Count(o.inst.stderr.String(), "status=204") == stored {
		select {
		case err := <-done:
			t.Fatalf("the backup ended before any chunk was stored: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	inject()
	o.unavailable(t, fault)
	clear()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("backup through an object store %s mid-way: %v", fault, err)
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("the backup did not finish after the object store came back")
	}
	if !strings.Contains(o.inst.stderr.String(), "method=PUT") || !strings.Contains(o.inst.stderr.String(), "status=503") {
		t.Errorf("no upload was answered 503 during the outage:\n%s", o.inst.stderr)
	}
}
