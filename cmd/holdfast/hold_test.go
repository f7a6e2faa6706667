package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLegalHoldExportEndToEnd: holdfast serve; a custodian's files, mail,
// calendar and contacts backed up with holdfast backup; a legal hold and
// its WebDAV credential made through the API; counsel reads everything
// back over WebDAV from the same process, byte for byte.
func TestLegalHoldExportEndToEnd(t *testing.T) {
	dataDir := t.TempDir()
	env := map[string]string{envDataDir: dataDir, envBootstrapEmail: "root@example.com", envBootstrapPassword: testPassword, envBootstrapToken: testToken}
	inst := startServe(t, env)
	ids := map[string]string{}
	for _, u := range []struct{ email, device, kind, workload string }{
		{"ann@example.com", "laptop", "endpoint", "endpoints"},
		{"ann@example.com", "Exchange Online", "saas", "exchange_online"},
		{"bob@example.com", "desktop", "endpoint", "endpoints"},
	} {
		var user struct {
			ID string `json:"id"`
		}
		code, body := call(t, "POST", inst.url+"/api/v1/users", testToken, map[string]any{"email": u.email, "name": u.email}, &user)
		if code == http.StatusConflict {
			var list struct {
				Users []struct {
					ID string `json:"id"`
				} `json:"users"`
			}
			call(t, "GET", inst.url+"/api/v1/users?search="+u.email, testToken, nil, &list)
			user.ID = list.Users[0].ID
		} else if code != http.StatusCreated {
			t.Fatalf("create user = %d %s", code, body)
		}
		ids[u.email] = user.ID
		d := map[string]any{"user_id": user.ID, "name": u.device, "kind": u.kind, "workload": u.workload}
		if code, body := call(t, "POST", inst.url+"/api/v1/devices", testToken, d, nil); code != http.StatusCreated {
			t.Fatalf("create device = %d %s", code, body)
		}
	}
	src := t.TempDir()
	report := bytes.Repeat([]byte("held report line\n"), 100000)
	writeFile(t, filepath.Join(src, "home", "docs", "report.txt"), report)
	writeFile(t, filepath.Join(src, "home", "docs", "café.txt"), []byte("unicode name\n"))
	// RFC 5322 appendix A.1.1.
	msg := "From: John Doe <jdoe@machine.example>\r\nTo: Mary Smith <mary@example.net>\r\nSubject: Saying Hello\r\nDate: Fri, 21 Nov 1997 09:55:06 -0600\r\nMessage-ID: <1234@local.machine.example>\r\n\r\nThis is a message just to say hello.\r\nSo, \"Hello\".\r\n"
	writeFile(t, filepath.Join(src, "Mail", "hello.eml"), []byte(msg))
	writeFile(t, filepath.Join(src, "Calendar", "conf.ics"), []byte(ics))
	writeFile(t, filepath.Join(src, "Contacts", "simon.vcf"), []byte(vcf))
	client := []string{"--server", inst.url, "--token", testToken, "--quiet"}
	for _, b := range [][]string{
		{"--user", "ann@example.com", "--device", "laptop", filepath.Join(src, "home")},
		{"--user", "ann@example.com", "--source", "mail", filepath.Join(src, "Mail")},
		{"--user", "ann@example.com", "--source", "calendar", filepath.Join(src, "Calendar")},
		{"--user", "ann@example.com", "--source", "contacts", filepath.Join(src, "Contacts")},
		{"--user", "bob@example.com", "--device", "desktop", filepath.Join(src, "home")},
	} {
		if out, errOut, err := runCmd(t, env, append(append([]string{"backup"}, client...), b...)...); err != nil {
			t.Fatalf("backup %v: %v\n%s%s", b, err, out, errOut)
		}
	}
	var hold struct {
		ID        string `json:"id"`
		WebDAVURL string `json:"webdav_url"`
	}
	if code, body := call(t, "POST", inst.url+"/api/v1/legal-holds", testToken, map[string]any{"name": "Acme v. Initech", "custodians": []string{"ann@example.com"}}, &hold); code != http.StatusCreated {
		t.Fatalf("create hold = %d %s", code, body)
	}
	var custodians struct {
		Custodians []struct {
			Email          string `json:"email"`
			DataSources    int    `json:"data_sources"`
			CollectedBytes int64  `json:"collected_bytes"`
		} `json:"custodians"`
	}
	if code, body := call(t, "GET", inst.url+"/api/v1/legal-holds/"+hold.ID+"/custodians", testToken, nil, &custodians); code != http.StatusOK ||
		len(custodians.Custodians) != 1 || custodians.Custodians[0].DataSources != 2 || custodians.Custodians[0].CollectedBytes < int64(len(report)) {
		t.Errorf("custodians = %d %s", code, body)
	}
	var got struct {
		DeviceCount    int `json:"device_count"`
		CustodianCount int `json:"custodian_count"`
	}
	if code, body := call(t, "GET", inst.url+"/api/v1/legal-holds/"+hold.ID, testToken, nil, &got); code != http.StatusOK || got.DeviceCount != 2 || got.CustodianCount != 1 {
		t.Errorf("hold = %d %s", code, body)
	}
	var cred struct {
		URL      string `json:"url"`
		UserName string `json:"user_name"`
		Password string `json:"password"`
	}
	if code, body := call(t, "POST", inst.url+"/api/v1/legal-holds/"+hold.ID+"/webdav", testToken, nil, &cred); code != http.StatusCreated {
		t.Fatalf("credential = %d %s", code, body)
	}
	// Ann is held: she cannot be deleted.
	if code, body := call(t, "DELETE", inst.url+"/api/v1/users/"+ids["ann@example.com"], testToken, nil, nil); code != http.StatusConflict || !strings.Contains(body, "Acme v. Initech") {
		t.Errorf("delete a custodian = %d %s, want 409 naming the hold", code, body)
	}
	get := func(path string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", cred.URL+path, nil)
		req.SetBasicAuth(cred.UserName, cred.Password)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	for p, want := range map[string][]byte{
		"ann@example.com/laptop/home/docs/report.txt": report,
		"ann@example.com/laptop/home/docs/café.txt":   []byte("unicode name\n"),
	} {
		if code, got := get(p); code != 200 || !bytes.Equal(got, want) {
			t.Errorf("GET %s = %d, %d bytes; want %d identical bytes", p, code, len(got), len(want))
		}
	}
	if code, _ := get("bob@example.com/"); code != http.StatusNotFound {
		t.Errorf("a user who is not a custodian: %d, want 404", code)
	}

	// rclone copies the whole tree; the mail is the message as backed up,
	// and every .eml, .ics and .vcf passes the strict validators.
	rclone, err := exec.LookPath("rclone")
	if err != nil {
		t.Skip("rclone is not installed; the rest needs it")
	}
	obscured, err := exec.Command(rclone, "obscure", cred.Password).Output()
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	cmd := exec.Command(rclone, "copy", ":webdav:", dst, "--webdav-url", cred.URL, "--webdav-user", cred.UserName,
		"--webdav-pass", strings.TrimSpace(string(obscured)), "--config", "/dev/null", "-q")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rclone copy: %v\n%s", err, out)
	}
	emls, _ := filepath.Glob(filepath.Join(dst, "ann@example.com", "Mail", "*", "*", "*", "*.eml"))
	if len(emls) != 1 {
		t.Fatalf("mail files: %v", emls)
	}
	if got, _ := os.ReadFile(emls[0]); string(got) != msg {
		t.Errorf("the .eml is not the backed-up message: %q", got)
	}
	for _, pattern := range []string{"*/Calendar/*.ics", "*/Calendar/*/*.ics", "*/Contacts/*.vcf", "*/Contacts/*/*.vcf"} {
		m, _ := filepath.Glob(filepath.Join(dst, pattern))
		for _, f := range m {
			b, _ := os.ReadFile(f)
			if !bytes.Contains(b, []byte("\r\nEND:")) {
				t.Errorf("%s is not iCalendar or vCard: %q", f, b)
			}
		}
	}
	validate := filepath.Join(sharedDir(), "peers", "validators", "validate-exports")
	if _, err := os.Stat(validate); err == nil {
		if out, err := exec.Command(validate, dst).CombinedOutput(); err != nil || !strings.Contains(string(out), "ics: 1 valid, 0 invalid") || !strings.Contains(string(out), "vcf: 1 valid, 0 invalid") {
			t.Errorf("validate-exports: %v\n%s", err, out)
		}
	}
}

// sharedDir finds the shared directory holding peers/.
func sharedDir() string {
	if d := os.Getenv("HOLDFAST_SHARED"); d != "" {
		return d
	}
	if wd, err := os.Getwd(); err == nil {
		if d := filepath.Join(wd, "..", "..", "..", "shared"); isDir(filepath.Join(d, "peers")) {
			return d
		}
	}
	return "/work/shared"
}

func isDir(p string) bool { fi, err := os.Stat(p); return err == nil && fi.IsDir() }
