package server

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/holdfast/holdfast/storage/storagetest"
)

// Real WebDAV clients against the server on loopback: rclone and cadaver
// (Debian packages), and the strict parsers of the shared validators. Each
// test skips when its tool is missing, and fails instead when
// HOLDFAST_TEST_REQUIRE names it (CI: rclone,cadaver,validators).

// tool returns the path of a command, or skips (or fails) the test.
func tool(t *testing.T, requireName, cmd string) string {
	t.Helper()
	p, err := exec.LookPath(cmd)
	if err != nil {
		storagetest.SkipOrFail(t, requireName, cmd+" is not installed")
	}
	return p
}

// sharedDir finds the shared directory holding peers/: HOLDFAST_SHARED,
// ../shared beside the repository, or /work/shared.
func sharedDir() string {
	if d := os.Getenv("HOLDFAST_SHARED"); d != "" {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		if d := filepath.Join(wd, "..", "..", "shared"); exists(filepath.Join(d, "peers")) {
			return d
		}
	}
	return "/work/shared"
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func run(t *testing.T, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// rcloneArgs are the flags pointing rclone at the hold without a config
// file.
func (f *davFixture) rcloneArgs(t *testing.T, rclone, user, pass string) []string {
	t.Helper()
	obscured, err := run(t, "", rclone, "obscure", pass)
	if err != nil {
		t.Fatalf("rclone obscure: %v %s", err, obscured)
	}
	return []string{"--webdav-url", f.url + "/dav/holds/" + f.hold + "/", "--webdav-user", user,
		"--webdav-pass", strings.TrimSpace(obscured), "--webdav-vendor", "other", "--config", "/dev/null", "-q"}
}

func TestRcloneCopiesEveryByte(t *testing.T) {
	rclone := tool(t, "rclone", "rclone")
	f := newDAVFixture(t)
	dir := t.TempDir()
	args := f.rcloneArgs(t, rclone, f.userName, f.password)
	if out, err := run(t, "", rclone, append([]string{"copy", ":webdav:", dir}, args...)...); err != nil {
		t.Fatalf("rclone copy: %v\n%s", err, out)
	}
	for p, want := range f.files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, %v; want %d identical bytes", p, len(got), err, len(want))
		}
	}
	for _, p := range []string{"ann@example.com/manifest.csv", "ann@example.com/Calendar/Calendar/ev-1.ics", "ann@example.com/Contacts/c-1.vcf"} {
		if !exists(filepath.Join(dir, filepath.FromSlash(p))) {
			t.Errorf("rclone did not copy %s", p)
		}
	}
	// rclone check compares sizes (and names) of both sides: the listing
	// and the content agree.
	if out, err := run(t, "", rclone, append([]string{"check", ":webdav:", dir, "--size-only"}, args...)...); err != nil {
		t.Errorf("rclone check: %v\n%s", err, out)
	}
	// Every rendered file passes the strict parsers.
	validate := filepath.Join(sharedDir(), "peers", "validators", "validate-exports")
	if !exists(validate) {
		storagetest.SkipOrFail(t, "validators", validate+" is missing")
	}
	out, err := run(t, "", validate, dir)
	if err != nil || !strings.Contains(out, "eml: 1 valid, 0 invalid") || !strings.Contains(out, "ics: 1 valid") || !strings.Contains(out, "vcf: 1 valid") {
		t.Errorf("validate-exports: %v\n%s", err, out)
	}

	// Wrong and revoked credentials list nothing.
	bad := f.rcloneArgs(t, rclone, f.userName, f.password+"x")
	if out, err := run(t, "", rclone, append([]string{"lsf", ":webdav:"}, bad...)...); err == nil || strings.Contains(out, "ann@example.com") {
		t.Errorf("rclone with a wrong password: %v\n%s", err, out)
	}
}

func TestCadaverListsAndDownloads(t *testing.T) {
	cadaver := tool(t, "cadaver", "cadaver")
	f := newDAVFixture(t)
	home := t.TempDir()
	host := strings.TrimPrefix(f.url, "http://")
	host = host[:strings.IndexByte(host, ':')]
	if err := os.WriteFile(filepath.Join(home, ".netrc"), []byte("machine "+host+"\nlogin "+f.userName+"\npassword "+f.password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "report.txt")
	script := "cd ann@example.com/laptop/docs\nls\nget report.txt " + local + "\nput " + local + " new.txt\nquit\n"
	cmd := exec.CommandContext(t.Context(), cadaver, f.url+"/dav/holds/"+f.hold+"/")
	cmd.Stdin = strings.NewReader(script)
	cmd.Env = append(os.Environ(), "HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cadaver: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "report.txt") || !strings.Contains(string(out), "big.bin") {
		t.Errorf("cadaver ls:\n%s", out)
	}
	got, err := os.ReadFile(local)
	if err != nil || string(got) != "Q3 report\n" {
		t.Errorf("cadaver get: %q %v\n%s", got, err, out)
	}
	if !strings.Contains(string(out), "403") {
		t.Errorf("cadaver put was not refused with 403:\n%s", out)
	}
}

func TestVdirsyncerSyncsCalDAVAndCardDAV(t *testing.T) {
	tool(t, "vdirsyncer", "vdirsyncer")
	script := filepath.Join(sharedDir(), "peers", "webdav-clients", "check-dav-sync")
	if !exists(script) {
		storagetest.SkipOrFail(t, "vdirsyncer", script+" is missing")
	}
	f := newDAVFixture(t)
	base := f.url + "/dav/holds/" + f.hold
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), script, "--caldav", base+"/caldav/", "--carddav", base+"/carddav/", f.userName, f.password)
	cmd.Env = append(os.Environ(), "DAV_SYNC_OUT="+out)
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("check-dav-sync: %v\n%s", err, got)
	}
	for _, want := range []string{"caldav collection ann@example.com: 1 items", "carddav collection ann@example.com: 1 items", "ics: 1 valid, 0 invalid", "vcf: 1 valid, 0 invalid"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("check-dav-sync output lacks %q:\n%s", want, got)
		}
	}
	// The synced event is the one backed up.
	ics, err := filepath.Glob(filepath.Join(out, "caldav", "*", "*.ics"))
	if err != nil || len(ics) != 1 {
		t.Fatalf("synced events: %v %v", ics, err)
	}
	if b, _ := os.ReadFile(ics[0]); !strings.Contains(string(b), "UID:ev-1@example.com") {
		t.Errorf("synced event:\n%s", b)
	}
}
