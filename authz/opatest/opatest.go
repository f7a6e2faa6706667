// Package opatest runs stock OPA for tests and benchmarks that compare it
// with the engine. It is test support, not part of the service.
package opatest

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Binary finds stock OPA: $HOLDFAST_OPA, then PATH, then GOPATH/bin.
func Binary() (string, error) {
	if p := os.Getenv("HOLDFAST_OPA"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("opa"); err == nil {
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "opa")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("opa not found (go install github.com/open-policy-agent/opa@v1.22.2)")
}

// Serve runs stock OPA (bin) as a server on a free loopback port with
// bundle loaded, waits until it reports the bundle healthy, and returns
// its base URL. The process is killed when tb's test ends. OPA listens
// with its defaults otherwise, so benchmarks measure it as users run it.
func Serve(tb testing.TB, bin, bundle string) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "run", "--server", "--addr", addr, "--disable-telemetry", "--log-level", "error", "--bundle", bundle)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/health?bundles")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("opa did not become healthy: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
