package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/holdfast/holdfast/storage"
)

// runCmd runs the real run() with args and returns stdout, stderr and the
// error.
func runCmd(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, envFunc(env), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(b)
	return b
}

// mbox is an mbox of two messages; the second quotes a "From " line
// (mboxrd), which must come back unquoted.
const mbox = "From alice@example.com Mon Mar  2 10:00:00 2026\n" +
	"From: Alice <alice@example.com>\nTo: ann@example.com\nSubject: Q3 budget\nDate: Mon, 02 Mar 2026 10:00:00 +0000\nMessage-ID: <1@example.com>\n\nNumbers attached.\n\n" +
	"From bob@example.com Tue Mar  3 11:00:00 2026\n" +
	"From: Bob <bob@example.com>\nTo: ann@example.com\nSubject: Re: Q3 budget\nDate: Tue, 03 Mar 2026 11:00:00 +0000\n\n>From the top, please.\n"

// ics is RFC 5545's section 4 example event, shortened.
const ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//xyz Corp//NONSGML PDA Calendar Version 1.0//EN\r\n" +
	"BEGIN:VEVENT\r\nDTSTAMP:19960704T120000Z\r\nUID:uid1@example.com\r\nORGANIZER:mailto:jsmith@example.com\r\n" +
	"DTSTART:19960918T143000Z\r\nDTEND:19960920T220000Z\r\nSTATUS:CONFIRMED\r\nCATEGORIES:CONFERENCE\r\n" +
	"SUMMARY:Networld+Interop Conference\r\nDESCRIPTION:Networld+Interop Conference\r\n  and Exhibit\\nAtlanta World Congress Center\\n\r\n Atlanta\\, Georgia\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

const graphEvents = `{"value":[{"id":"AAMk1","iCalUId":"040000008200E0","subject":"Hold review","body":{"contentType":"html","content":"<p>Agenda</p>"},
"start":{"dateTime":"2026-03-05T09:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-03-05T10:00:00.0000000","timeZone":"UTC"},
"organizer":{"emailAddress":{"name":"Ann","address":"ann@example.com"}},"attendees":[{"emailAddress":{"name":"Bob","address":"bob@example.com"},"status":{"response":"accepted"}}],
"recurrence":{"pattern":{"type":"weekly","interval":1,"daysOfWeek":["thursday"]},"range":{"type":"numbered","numberOfOccurrences":4}}}]}`

// vcf is RFC 6350's section 8 example, shortened.
const vcf = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Simon Perreault\r\nN:Perreault;Simon;;;ing. jr,M.Sc.\r\nBDAY:--0203\r\n" +
	"EMAIL;TYPE=work:simon.perreault@viagenie.ca\r\nTEL;VALUE=uri;TYPE=\"work,voice\";PREF=1:tel:+1-418-656-9254;ext=102\r\n" +
	"ADR;TYPE=work:;Suite D2-630;2875 Laurier;Quebec;QC;G1V 2M2;Canada\r\nEND:VCARD\r\n"

const graphContacts = `[{"id":"c1","displayName":"Dana Scully","givenName":"Dana","surname":"Scully","emailAddresses":[{"name":"Dana","address":"dana@example.com"}],
"businessPhones":["+1 555 0100"],"companyName":"FBI","jobTitle":"Agent"}]`

func TestBackupRestoreEndToEnd(t *testing.T) {
	dataDir := t.TempDir()
	env := map[string]string{envDataDir: dataDir, envBootstrapEmail: "root@example.com", envBootstrapPassword: testPassword, envBootstrapToken: testToken}
	inst := startServe(t, env)
	var user struct {
		ID string `json:"id"`
	}
	if code, body := call(t, "POST", inst.url+"/api/v1/users", testToken, map[string]any{"email": "ann@example.com", "name": "Ann"}, &user); code != http.StatusCreated {
		t.Fatalf("create user = %d %s", code, body)
	}
	for _, d := range []map[string]any{
		{"user_id": user.ID, "name": "laptop", "kind": "endpoint", "workload": "endpoints"},
		{"user_id": user.ID, "name": "Exchange Online", "kind": "saas", "workload": "exchange_online"},
	} {
		if code, body := call(t, "POST", inst.url+"/api/v1/devices", testToken, d, nil); code != http.StatusCreated {
			t.Fatalf("create device = %d %s", code, body)
		}
	}

	src := t.TempDir()
	files := map[string][]byte{
		"docs/report.txt":  bytes.Repeat([]byte("quarterly report line\n"), 200000),
		"docs/notes.md":    []byte("# notes\n"),
		"bin/image.raw":    randomBytes(1, 5<<20+77),
		"bin/copy.raw":     randomBytes(1, 5<<20+77), // same content: deduplicated
		"empty":            nil,
		"deep/a/b/c/d.txt": []byte("deep"),
	}
	for p, b := range files {
		writeFile(t, filepath.Join(src, "home", filepath.FromSlash(p)), b)
	}
	client := []string{"--server", inst.url, "--token", testToken, "--user", "ann@example.com"}
	cache := t.TempDir()
	backupArgs := append(append([]string{"backup"}, client...), "--device", "laptop", "--cache-dir", cache, filepath.Join(src, "home"))
	out, errOut, err := runCmd(t, env, backupArgs...)
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, errOut)
	}
	if strings.Contains(errOut, "\r") || strings.Contains(errOut, "dedup") {
		t.Errorf("a progress bar on a standard error that is not a terminal: %q", errOut)
	}
	var first struct{ id string }
	if _, err := fmt.Sscanf(out, "snapshot %s", &first.id); err != nil {
		t.Fatalf("backup output %q", out)
	}
	first.id = strings.TrimSuffix(first.id, ":")

	// Unchanged: nothing is uploaded again.
	out, errOut, err = runCmd(t, env, backupArgs...)
	if err != nil || !strings.Contains(out, " 0 uploaded") {
		t.Fatalf("second backup: %v, %q %s", err, out, errOut)
	}

	restoreTo := t.TempDir()
	out, errOut, err = runCmd(t, env, append(append([]string{"restore"}, client...), "--device", "laptop", "--to", restoreTo)...)
	// 6 files and 7 directories: home, docs, bin, deep, deep/a, deep/a/b, deep/a/b/c.
	if err != nil || !strings.Contains(out, "restored 13 items") {
		t.Fatalf("restore: %v %q %s", err, out, errOut)
	}
	for p, want := range files {
		got, err := os.ReadFile(filepath.Join(restoreTo, "home", filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("restored %s: %d bytes, want %d (%v)", p, len(got), len(want), err)
		}
	}
	// The first snapshot by id, one subtree.
	restoreTo = t.TempDir()
	if _, errOut, err := runCmd(t, env, append(append([]string{"restore"}, client...), "--snapshot", first.id, "--path", "home/docs/", "--to", restoreTo)...); err != nil {
		t.Fatalf("restore --snapshot: %v %s", err, errOut)
	}
	if _, err := os.Stat(filepath.Join(restoreTo, "home/bin/image.raw")); err == nil {
		t.Errorf("--path home/docs/ restored home/bin")
	}
	if got, _ := os.ReadFile(filepath.Join(restoreTo, "home/docs/notes.md")); string(got) != "# notes\n" {
		t.Errorf("--path restore: notes.md = %q", got)
	}

	// Mail: mbox, Maildir and .eml.
	mailDir := filepath.Join(src, "Mail")
	writeFile(t, filepath.Join(mailDir, "Archive.mbox"), []byte(mbox))
	writeFile(t, filepath.Join(mailDir, "Inbox", "cur", "1700000000.M1P1.host:2,S"), []byte("From: c@example.com\r\nSubject: maildir\r\n\r\nbody\r\n"))
	writeFile(t, filepath.Join(mailDir, "Inbox", "new", "1700000001.M2P1.host"), []byte("From: d@example.com\r\nSubject: new\r\n\r\nbody2\r\n"))
	writeFile(t, filepath.Join(mailDir, "single.eml"), []byte("From: e@example.com\r\nSubject: eml\r\n\r\nbody3\r\n"))
	if out, errOut, err := runCmd(t, env, append(append([]string{"backup"}, client...), "--source", "mail", "--quiet", mailDir)...); err != nil || !strings.Contains(out, "5 items") {
		t.Fatalf("mail backup: %v %q %s", err, out, errOut)
	}
	calDir := filepath.Join(src, "Calendar")
	writeFile(t, filepath.Join(calDir, "work.ics"), []byte(ics))
	writeFile(t, filepath.Join(calDir, "graph.json"), []byte(graphEvents))
	if out, errOut, err := runCmd(t, env, append(append([]string{"backup"}, client...), "--source", "calendar", "--quiet", calDir)...); err != nil || !strings.Contains(out, "2 items") {
		t.Fatalf("calendar backup: %v %q %s", err, out, errOut)
	}
	conDir := filepath.Join(src, "Contacts")
	writeFile(t, filepath.Join(conDir, "people.vcf"), []byte(vcf))
	writeFile(t, filepath.Join(conDir, "graph.json"), []byte(graphContacts))
	if out, errOut, err := runCmd(t, env, append(append([]string{"backup"}, client...), "--source", "contacts", "--quiet", conDir)...); err != nil || !strings.Contains(out, "2 items") {
		t.Fatalf("contacts backup: %v %q %s", err, out, errOut)
	}

	var list struct {
		Snapshots []storage.Snapshot `json:"snapshots"`
	}
	if code, body := call(t, "GET", inst.url+"/api/v1/snapshots?user_id=ann@example.com", testToken, nil, &list); code != 200 || len(list.Snapshots) != 5 {
		t.Fatalf("snapshots = %d %s", code, body)
	}
	content := func(snap storage.Snapshot, ct string) map[string][]byte {
		t.Helper()
		var full storage.Snapshot
		call(t, "GET", inst.url+"/api/v1/snapshots/"+snap.ID, testToken, nil, &full)
		out := map[string][]byte{}
		for _, it := range full.Items {
			if it.ContentType != ct {
				t.Errorf("%s: content type %q, want %q", it.Path, it.ContentType, ct)
			}
			req, _ := http.NewRequest("GET", inst.url+"/api/v1/snapshots/"+snap.ID+"/content?path="+strings.ReplaceAll(it.Path, " ", "%20"), nil)
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out[it.Path] = b
		}
		return out
	}
	mail := content(list.Snapshots[2], storage.ContentTypeMail)
	if got := string(mail["Mail/Archive/000002.eml"]); !strings.HasSuffix(got, "\n\nFrom the top, please.\n") || !strings.HasPrefix(got, "From: Bob") {
		t.Errorf("mbox message 2 = %q", got)
	}
	if got := string(mail["Mail/Archive/000001.eml"]); !strings.HasSuffix(got, "Numbers attached.\n") {
		t.Errorf("mbox message 1 = %q (the separator's blank line must not be part of it)", got)
	}
	if got := string(mail["Mail/Inbox/1700000000.M1P1.host.eml"]); !strings.Contains(got, "Subject: maildir") {
		t.Errorf("Maildir message = %q (all: %v)", got, keys(mail))
	}
	for path, b := range content(list.Snapshots[3], storage.ContentTypeEvent) {
		var ev storage.Event
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch ev.UID {
		case "uid1@example.com":
			if ev.Summary != "Networld+Interop Conference" || ev.Start.Format("20060102T150405") != "19960918T143000" || ev.Organizer.Email != "jsmith@example.com" ||
				ev.Description != "Networld+Interop Conference and Exhibit\nAtlanta World Congress Center\nAtlanta, Georgia" {
				t.Errorf("ics event = %+v", ev)
			}
		case "040000008200E0":
			if ev.Summary != "Hold review" || len(ev.Attendees) != 1 || ev.Attendees[0].Status != "accepted" || ev.Recurrence[0] != "FREQ=WEEKLY;BYDAY=TH;COUNT=4" {
				t.Errorf("graph event = %+v", ev)
			}
		default:
			t.Errorf("unexpected event %s: %+v", path, ev)
		}
	}
	for path, b := range content(list.Snapshots[4], storage.ContentTypeContact) {
		var c storage.Contact
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if c.DisplayName != "Simon Perreault" && c.DisplayName != "Dana Scully" {
			t.Errorf("contact = %+v", c)
		}
		if c.DisplayName == "Simon Perreault" && (c.Surname != "Perreault" || c.Addresses[0].City != "Quebec" || c.Emails[0].Label != "work") {
			t.Errorf("vcard contact = %+v", c)
		}
	}

	// Bad input: a clear error and nothing committed.
	for _, args := range [][]string{
		append(append([]string{"backup"}, client...), "--device", "desktop", src),
		append([]string{"backup", "--server", inst.url, "--token", testToken, "--device", "laptop"}, src),
		append(append([]string{"backup"}, client...), "--source", "fax", src),
		append(append([]string{"backup"}, client...), "--source", "calendar", filepath.Join(src, "home")),
	} {
		if _, _, err := runCmd(t, env, args...); err == nil {
			t.Errorf("backup %v succeeded", args[1:])
		}
	}
	// A source that is not a SaaS one is refused before any request.
	for _, bad := range []string{"fax", "device"} {
		args := []string{"backup", "--server", inst.url, "--token", testToken, "--user", "ann@example.com", "--source", bad, src}
		if _, _, err := runCmd(t, env, args...); err == nil || !strings.Contains(err.Error(), "--source: \""+bad+"\"") {
			t.Errorf("backup --source %s: %v, want a --source error", bad, err)
		}
	}
	if code, _ := call(t, "GET", inst.url+"/api/v1/snapshots?user_id=ann@example.com", testToken, nil, &list); code != 200 || len(list.Snapshots) != 5 {
		t.Errorf("after refused backups: %d snapshots, want 5", len(list.Snapshots))
	}

	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = runCmd(t, env, "check", "--read-data")
	if err != nil || !strings.Contains(out, "no damage found") || !strings.Contains(out, "5 snapshots") {
		t.Errorf("check: %v %q %s", err, out, errOut)
	}
	out, _, err = runCmd(t, env, "keys", "rotate")
	if err != nil || !strings.Contains(out, "new data key 2") {
		t.Errorf("keys rotate: %v %q", err, out)
	}
	// New data after a rotation is sealed with the new key; old stays readable.
	inst = startServe(t, env)
	client[1] = inst.url
	writeFile(t, filepath.Join(src, "home", "docs", "new.txt"), []byte("after rotation"))
	if _, errOut, err := runCmd(t, env, append(append([]string{"backup"}, client...), "--device", "laptop", "--quiet", filepath.Join(src, "home"))...); err != nil {
		t.Fatalf("backup after rotation: %v %s", err, errOut)
	}
	restoreTo = t.TempDir()
	if _, errOut, err := runCmd(t, env, append(append([]string{"restore"}, client...), "--device", "laptop", "--to", restoreTo)...); err != nil {
		t.Fatalf("restore after rotation: %v %s", err, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(restoreTo, "home/bin/image.raw")); !bytes.Equal(got, files["bin/image.raw"]) {
		t.Errorf("old data after rotation: %d bytes", len(got))
	}
	if got, _ := os.ReadFile(filepath.Join(restoreTo, "home/docs/new.txt")); string(got) != "after rotation" {
		t.Errorf("new data after rotation: %q", got)
	}
	inst.stop()

	// A damaged pack is reported with the snapshots it affects.
	var packs []string
	filepath.WalkDir(filepath.Join(dataDir, "blobs", "packs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			packs = append(packs, p)
		}
		return nil
	})
	if len(packs) == 0 {
		t.Fatal("no packs on disk")
	}
	// The largest pack holds chunks of bin/image.raw, which every laptop
	// snapshot names; a small one may hold only chunks of a refused backup
	// that no snapshot names, and its damage would affect none.
	victim, size := "", int64(-1)
	for _, p := range packs {
		if fi, err := os.Stat(p); err == nil && fi.Size() > size {
			victim, size = p, fi.Size()
		}
	}
	b, _ := os.ReadFile(victim)
	b[len(b)/2] ^= 0xff
	os.Chmod(victim, 0o644)
	if err := os.WriteFile(victim, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCmd(t, env, "check", "--read-data")
	if err == nil || !strings.Contains(out, "DAMAGED") || !strings.Contains(out, "snapshots affected") {
		t.Errorf("check of a damaged store: %v %q", err, out)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
