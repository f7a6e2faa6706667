package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/pim"
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
	for _, p := range []string{"ann@example.com/manifest.csv", "ann@example.com/Calendar/Calendar/ev-1@example.com.ics", "ann@example.com/Contacts/c-1.vcf"} {
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

// corpusDir holds the converters' seed corpus: real-world calendars and
// contacts (storage/pim/testdata/corpus).
const corpusDir = "../storage/pim/testdata/corpus"

// heldCorpus backs the corpus up into the fixture's custodian as the
// backup client does (package pim, one item per calendar object or card)
// and returns what every export must give back: canonical lines by UID
// (pim.ObjectLines, pim.CardLines) of the input, or of the stored object
// for Graph JSON, which has no iCalendar or vCard form of its own.
func (f *davFixture) heldCorpus(t *testing.T) (cals, cards map[string][]string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus: %v", err)
	}
	at := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	cals, cards = map[string][]string{}, map[string][]string{}
	var evItems, cardItems []testItem
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(file)
		switch {
		case strings.HasSuffix(name, ".ics") || name == "graph-events.json":
			evs, err := pim.EventsFromICS(b, at)
			if name == "graph-events.json" {
				evs, err = pim.EventsFromGraph(b, at)
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			src := b
			for _, ev := range evs {
				if name == "graph-events.json" {
					src = []byte(ev.Calendar)
				}
				want, err := pim.ObjectLines(src)
				if err != nil {
					t.Fatal(err)
				}
				cals[ev.UID] = want[ev.UID]
				js, _ := json.Marshal(ev)
				evItems = append(evItems, testItem{path: "Corpus/" + pim.FileName(ev.UID), folder: "Corpus", contentType: storage.ContentTypeEvent, data: js, modified: at})
			}
		case strings.HasSuffix(name, ".vcf") || name == "graph-contacts.json":
			cs, err := pim.ContactsFromVCF(b)
			if name == "graph-contacts.json" {
				cs, err = pim.ContactsFromGraph(b)
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			src := b
			for _, c := range cs {
				if name == "graph-contacts.json" {
					src = []byte(c.Card)
				}
				want, err := pim.CardLines(src)
				if err != nil {
					t.Fatal(err)
				}
				cards[c.UID] = want[c.UID]
				js, _ := json.Marshal(c)
				cardItems = append(cardItems, testItem{path: "People/" + pim.FileName(c.UID), folder: "People", contentType: storage.ContentTypeContact, data: js, modified: at})
			}
		}
	}
	ingest(t, f.data, f.account.ID, f.user, storage.SourceCalendar, "Exchange Online", at, evItems)
	ingest(t, f.data, f.account.ID, f.user, storage.SourceContacts, "Exchange Online", at, cardItems)
	return cals, cards
}

// compareObjects checks that every downloaded file under dir with ext
// holds the object of its UID exactly as wanted, and that every wanted
// UID came. lines reads a file into canonical lines by UID.
func compareObjects(t *testing.T, dir, ext string, want map[string][]string, lines func([]byte) (map[string][]string, error)) {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ext) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		got, err := lines(b)
		if err != nil || len(got) != 1 {
			t.Errorf("%s: %d objects, %v", p, len(got), err)
			return nil
		}
		for uid, g := range got {
			seen[uid] = true
			if w, ok := want[uid]; ok && !slices.Equal(w, g) {
				t.Errorf("%s (UID %s) differs from what was backed up:\n%s", p, uid, lineDiff(w, g))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for uid := range want {
		if !seen[uid] {
			t.Errorf("%s: no %s file holds UID %s", dir, ext, uid)
		}
	}
}

func lineDiff(want, got []string) string {
	var b strings.Builder
	for _, l := range want {
		if !slices.Contains(got, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range got {
		if !slices.Contains(want, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

// TestCorpusRoundTripsThroughRealClients: a hold holding the corpus
// (time zones, a series with exceptions and exclusions, alarms, attendees
// with parameters, all-day and floating events, a to-do and a journal, a
// UID that is no file name, vCard 4.0, 3.0 and 2.1 with typed and grouped
// properties and photos, Graph events and contacts) is read by vdirsyncer
// over CalDAV and CardDAV (REPORT), by khal, and file by file over WebDAV
// (GET); the strict validators accept every file, and each file gives
// back every component, property and parameter that was backed up.
func TestCorpusRoundTripsThroughRealClients(t *testing.T) {
	tool(t, "vdirsyncer", "vdirsyncer")
	script := filepath.Join(sharedDir(), "peers", "webdav-clients", "check-dav-sync")
	if !exists(script) {
		storagetest.SkipOrFail(t, "vdirsyncer", script+" is missing")
	}
	f := newDAVFixture(t)
	cals, cards := f.heldCorpus(t)
	base := f.url + "/dav/holds/" + f.hold
	out := t.TempDir()
	cmd := exec.CommandContext(t.Context(), script, "--khal", "--caldav", base+"/caldav/", "--carddav", base+"/carddav/", f.userName, f.password)
	cmd.Env = append(os.Environ(), "DAV_SYNC_OUT="+out)
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("check-dav-sync: %v\n%s", err, got)
	}
	// The fixture's own event and contact come too.
	for _, want := range []string{fmt.Sprintf("caldav collection ann@example.com: %d items", len(cals)+1),
		fmt.Sprintf("carddav collection ann@example.com: %d items", len(cards)+1),
		fmt.Sprintf("ics: %d valid, 0 invalid", len(cals)+1), fmt.Sprintf("vcf: %d valid, 0 invalid", len(cards)+1),
		"Weekly sync (moved to Paris)", "Christmas Day", "Quarterly board review (moved)"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("check-dav-sync output lacks %q:\n%s", want, got)
		}
	}
	compareObjects(t, filepath.Join(out, "caldav"), ".ics", cals, pim.ObjectLines)
	compareObjects(t, filepath.Join(out, "carddav"), ".vcf", cards, pim.CardLines)

	// The WebDAV tree: <uid>.ics and <uid>.vcf, fetched one by one.
	files := t.TempDir()
	for uid := range cals {
		p := "/dav/holds/" + f.hold + "/ann@example.com/Calendar/Corpus/" + url.PathEscape(pim.FileName(uid)) + ".ics"
		res := f.dav(t, "GET", p, nil)
		if b := body(t, res); res.StatusCode != 200 || os.WriteFile(filepath.Join(files, pim.FileName(uid)+".ics"), b, 0o600) != nil {
			t.Errorf("GET %s: %d", p, res.StatusCode)
		}
	}
	for uid := range cards {
		p := "/dav/holds/" + f.hold + "/ann@example.com/Contacts/People/" + url.PathEscape(pim.FileName(uid)) + ".vcf"
		res := f.dav(t, "GET", p, nil)
		if b := body(t, res); res.StatusCode != 200 || os.WriteFile(filepath.Join(files, pim.FileName(uid)+".vcf"), b, 0o600) != nil {
			t.Errorf("GET %s: %d", p, res.StatusCode)
		}
	}
	compareObjects(t, files, ".ics", cals, pim.ObjectLines)
	compareObjects(t, files, ".vcf", cards, pim.CardLines)
	validate := filepath.Join(sharedDir(), "peers", "validators", "validate-exports")
	if out, err := run(t, "", validate, files); err != nil || !strings.Contains(out, fmt.Sprintf("ics: %d valid, 0 invalid", len(cals))) {
		t.Errorf("validate-exports: %v\n%s", err, out)
	}
}
