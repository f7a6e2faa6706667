package backup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/mail"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/pim"
)

// entry is one item to back up and where its bytes come from: a file on
// disk (read when chunked), or bytes already in memory.
type entry struct {
	item storage.Item // Path, Folder, ContentType and times set; Size and Chunks filled when chunked
	file string       // the file to read, or "" when data holds the bytes
	data []byte
	// size and mtime (unix ns) of file as stat saw it, for the cache.
	size  int64
	mtime int64
}

// collect returns the entries of paths for src, sorted by path and with
// unique paths.
func collect(src storage.Source, paths []string) ([]entry, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: no path to back up", holdfast.ErrInvalid)
	}
	var out []entry
	for _, p := range paths {
		var (
			es  []entry
			err error
		)
		switch src {
		case storage.SourceDevice, storage.SourceFiles:
			es, err = fileEntries(p)
		case storage.SourceMail:
			es, err = mailEntries(p)
		case storage.SourceCalendar:
			es, err = structuredEntries(p, ".ics", parseICS, parseGraphEvents)
		case storage.SourceContacts:
			es, err = structuredEntries(p, ".vcf", parseVCF, parseGraphContacts)
		default:
			return nil, fmt.Errorf("%w: unknown source %q", holdfast.ErrInvalid, src)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	slices.SortStableFunc(out, func(a, b entry) int { return strings.Compare(a.item.Path, b.item.Path) })
	// Two arguments may name overlapping trees: keep the first of a path.
	out = slices.CompactFunc(out, func(a, b entry) bool { return a.item.Path == b.item.Path })
	return out, nil
}

// rootName is the name items under the argument p start with: its base.
func rootName(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = p
	}
	base := filepath.Base(abs)
	if base == string(filepath.Separator) || base == "." {
		return "root"
	}
	return base
}

// walkFiles calls fn for every regular file under p (or p itself), with the
// slash path the item gets: the argument's base name, then the path below.
func walkFiles(p string, fn func(file, itemPath string, info fs.FileInfo) error) error {
	root := rootName(p)
	return filepath.WalkDir(p, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read %s: %w", file, err)
		}
		if !d.Type().IsRegular() {
			return nil // directories are walked; links, devices and sockets are not data
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("stat %s: %w", file, err)
		}
		rel, err := filepath.Rel(p, file)
		if err != nil {
			return err
		}
		ip := root
		if rel != "." {
			ip = root + "/" + filepath.ToSlash(rel)
		}
		return fn(file, ip, info)
	})
}

// fileEntries returns the files, directories and symbolic links under p
// (or p itself). A link is kept as a link (its target, not what it points
// to), except p itself, which is followed.
func fileEntries(p string) ([]entry, error) {
	root := rootName(p)
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
	}
	var out []entry
	err := filepath.WalkDir(p, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read %s: %w", file, err)
		}
		typ := d.Type()
		if !typ.IsRegular() && !typ.IsDir() && typ&fs.ModeSymlink == 0 {
			return nil // devices, sockets and pipes are not data
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("stat %s: %w", file, err)
		}
		rel, err := filepath.Rel(p, file)
		if err != nil {
			return err
		}
		ip := root
		if rel != "." {
			ip = root + "/" + filepath.ToSlash(rel)
		}
		it := storage.Item{Path: ip, Folder: path.Dir(ip), Modified: info.ModTime().UTC(), Mode: uint32(info.Mode().Perm())}
		switch {
		case typ.IsDir():
			it.Type = storage.ItemDir
			out = append(out, entry{item: it})
		case typ&fs.ModeSymlink != 0:
			if it.Link, err = os.Readlink(file); err != nil {
				return fmt.Errorf("read link %s: %w", file, err)
			}
			it.Type = storage.ItemSymlink
			out = append(out, entry{item: it})
		default:
			it.ContentType = mime.TypeByExtension(filepath.Ext(file))
			if it.ContentType == "" {
				it.ContentType = "application/octet-stream"
			}
			out = append(out, entry{item: it, file: file, size: info.Size(), mtime: info.ModTime().UnixNano()})
		}
		return nil
	})
	return out, err
}

// mailEntries reads messages from a Maildir (a directory with cur/ or
// new/), a directory tree of .eml and mbox files, an mbox file or an .eml
// file. Each message keeps its original bytes; its folder is the mailbox
// (Maildir folder or mbox file name).
func mailEntries(p string) ([]entry, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return mailFile(p, rootName(p), info)
	}
	var out []entry
	root := rootName(p)
	err = filepath.WalkDir(p, func(dir string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read %s: %w", dir, err)
		}
		rel, _ := filepath.Rel(p, dir)
		folder := root
		if rel != "." {
			folder = root + "/" + filepath.ToSlash(rel)
		}
		if d.IsDir() {
			switch d.Name() {
			case "cur", "new":
				// Maildir: the messages of the folder above.
				es, err := maildirDir(dir, path.Dir(folder))
				out = append(out, es...)
				if err != nil {
					return err
				}
				return filepath.SkipDir
			case "tmp":
				if isMaildir(filepath.Dir(dir)) {
					return filepath.SkipDir // being delivered, not mail yet
				}
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		es, err := mailFile(dir, path.Dir(folder), fi)
		out = append(out, es...)
		return err
	})
	return out, err
}

func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// maildirDir reads the messages of a Maildir cur/ or new/ directory. A
// message's name is its unique name without the ":2,FLAGS" info, so a flag
// change does not make it a new item.
func maildirDir(dir, folder string) ([]entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []entry
	for _, d := range des {
		if !d.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, d.Name()))
		if err != nil {
			return nil, err
		}
		fi, err := d.Info()
		if err != nil {
			return nil, err
		}
		unique, _, _ := strings.Cut(d.Name(), ":")
		out = append(out, messageEntry(folder, safeName(unique)+".eml", b, fi.ModTime()))
	}
	return out, nil
}

// mailFile reads an .eml file (one message) or an mbox file (many);
// anything else under a mail tree is not mail and is skipped.
func mailFile(file, folder string, fi fs.FileInfo) ([]entry, error) {
	name := filepath.Base(file)
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(filepath.Ext(name), ".eml") {
		return []entry{messageEntry(folder, name, b, fi.ModTime())}, nil
	}
	if !bytes.HasPrefix(b, []byte("From ")) {
		return nil, nil
	}
	box := strings.TrimSuffix(name, filepath.Ext(name))
	var out []entry
	for i, msg := range splitMbox(b) {
		out = append(out, messageEntry(folder+"/"+box, fmt.Sprintf("%06d.eml", i+1), msg, fi.ModTime()))
	}
	return out, nil
}

// splitMbox splits an mbox (mboxrd or mboxo) into messages: each starts
// after a "From " separator line, and one level of ">" quoting of
// ">From " lines is removed (mboxrd). The separator's line ending and the
// blank line before the next separator are not part of the message.
func splitMbox(b []byte) [][]byte {
	var msgs [][]byte
	var cur []byte
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	sc.Split(scanLinesKeepEOL)
	flush := func() {
		if in {
			// The separator is preceded by an empty line that belongs to
			// the mbox, not the message.
			switch {
			case bytes.HasSuffix(cur, []byte("\r\n\r\n")):
				cur = cur[:len(cur)-2]
			case bytes.HasSuffix(cur, []byte("\n\n")):
				cur = cur[:len(cur)-1]
			}
			msgs = append(msgs, cur)
		}
		cur, in = nil, true
	}
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte("From ")) {
			flush()
			continue
		}
		if t := bytes.TrimLeft(line, ">"); len(t) < len(line) && bytes.HasPrefix(t, []byte("From ")) {
			line = line[1:]
		}
		cur = append(cur, line...)
	}
	if in {
		flush()
	}
	return msgs
}

// scanLinesKeepEOL is bufio.ScanLines keeping the line ending, so the
// message bytes stay exactly as they were.
func scanLinesKeepEOL(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i+1], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// messageEntry is one message: its bytes unchanged, dated by its Date
// header when it has a readable one.
func messageEntry(folder, name string, b []byte, mtime time.Time) entry {
	it := storage.Item{Path: folder + "/" + name, Folder: folder, ContentType: storage.ContentTypeMail, Modified: mtime.UTC()}
	if m, err := mail.ReadMessage(bytes.NewReader(b)); err == nil {
		if d, err := m.Header.Date(); err == nil {
			it.Created, it.Modified = d.UTC(), d.UTC()
		}
	}
	return entry{item: it, data: b}
}

// safeName makes s usable as one path element.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r < ' ' {
			return '_'
		}
		return r
	}, s)
	if s == "" || s == "." || s == ".." || len(s) > 200 {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:12])
	}
	return s
}

// structuredParser turns one file's bytes into events or contacts, each as
// the JSON the store keeps and its id.
// mtime is the file's modification time (the DTSTAMP of events without
// one).
type structuredParser func(b []byte, mtime time.Time) ([]structured, error)

type structured struct {
	uid      string
	modified time.Time
	created  time.Time
	json     []byte
}

// structuredEntries reads calendar or contacts files under p: files ending
// in ext with native, .json files with graph.
func structuredEntries(p, ext string, native, graph structuredParser) ([]entry, error) {
	var out []entry
	seen := map[string]int{}
	err := walkFiles(p, func(file, ip string, info fs.FileInfo) error {
		var parse structuredParser
		switch strings.ToLower(filepath.Ext(file)) {
		case ext:
			parse = native
		case ".json":
			parse = graph
		default:
			return nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		recs, err := parse(b, info.ModTime().UTC())
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		folder := strings.TrimSuffix(ip, path.Ext(ip))
		ct := storage.ContentTypeEvent
		if ext == ".vcf" {
			ct = storage.ContentTypeContact
		}
		for _, r := range recs {
			// The item is named as the export names its file (pim.FileName);
			// the same UID in two files of a folder gets a suffix.
			name := pim.FileName(r.uid)
			key := folder + "/" + name
			if n := seen[key]; n > 0 {
				name = fmt.Sprintf("%s~%d", name, n+1)
			}
			seen[key]++
			mod := r.modified
			if mod.IsZero() {
				mod = info.ModTime().UTC()
			}
			out = append(out, entry{item: storage.Item{Path: folder + "/" + name, Folder: folder, ContentType: ct,
				Created: r.created, Modified: mod}, data: r.json})
		}
		return nil
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("%w: %s holds no %s or Graph .json file with entries", holdfast.ErrInvalid, p, ext)
	}
	return out, err
}
