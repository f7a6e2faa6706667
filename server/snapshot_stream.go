package server

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"github.com/holdfast/holdfast/snapshots"
	"github.com/holdfast/holdfast/storage"
)

// restoreRequest is the body of POST /api/v1/snapshots/{id}/restore.
type restoreRequest struct {
	Paths []string `json:"paths"`
}

// restoreStream serves POST /api/v1/snapshots/{id}/restore
// (restores.manage and user_data.download): the items named in paths (or,
// with none, every item under ?prefix=) as one tar stream, in the order
// asked, each entry with the item's path, size, mode, modification time
// and type. A restore client asks for thousands of files in one request
// instead of one request each. One snapshot.download record is written.
func (s *Server) restoreStream(w http.ResponseWriter, r *http.Request) error {
	var in restoreRequest
	if err := decodeJSONLimit(w, r, &in, maxManifestBody); err != nil {
		return err
	}
	ctx := r.Context()
	d, err := s.snaps.Download(ctx, principal(ctx), r.PathValue("id"), r.URL.Query().Get("prefix"), in.Paths)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Cache-Control", "private, no-store")
	bw := bufio.NewWriterSize(w, 256<<10)
	tw := tar.NewWriter(bw)
	s.streamItems(ctx, d, func(it storage.Item) (io.Writer, error) {
		return tw, tw.WriteHeader(tarHeader(it))
	}, func() error {
		if err := tw.Close(); err != nil {
			return err
		}
		return bw.Flush()
	})
	return nil
}

// tarHeader is the tar entry of an item.
func tarHeader(it storage.Item) *tar.Header {
	h := &tar.Header{Name: it.Path, Size: it.Size, Mode: int64(itemMode(it).Perm()), ModTime: it.Modified, Format: tar.FormatPAX}
	switch it.Type {
	case storage.ItemDir:
		h.Typeflag, h.Name = tar.TypeDir, it.Path+"/"
	case storage.ItemSymlink:
		h.Typeflag, h.Linkname = tar.TypeSymlink, it.Link
	default:
		h.Typeflag = tar.TypeReg
	}
	return h
}

// itemMode is an item's file mode: its type and permission bits (0644 or
// 0755 for a directory when the source kept none).
func itemMode(it storage.Item) fs.FileMode {
	mode := fs.FileMode(it.Mode).Perm()
	switch it.Type {
	case storage.ItemDir:
		if mode == 0 {
			mode = 0o755
		}
		return mode | fs.ModeDir
	case storage.ItemSymlink:
		return 0o777 | fs.ModeSymlink
	}
	if mode == 0 {
		mode = 0o644
	}
	return mode
}

// downloadZip serves GET /api/v1/snapshots/{id}/zip?prefix= (restores.manage
// and user_data.download): every item under prefix as a zip streamed while
// it is read (stored, not compressed: backed-up data is mostly compressed
// or small already, and the download runs at restore speed), for a browser
// or an API client downloading a folder. One snapshot.download record is
// written.
func (s *Server) downloadZip(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	prefix := r.URL.Query().Get("prefix")
	d, err := s.snaps.Download(ctx, principal(ctx), r.PathValue("id"), prefix, nil)
	if err != nil {
		return err
	}
	name := path.Base(strings.TrimSuffix(prefix, "/"))
	if prefix == "" || name == "." || name == "/" {
		name = d.Snapshot.ID
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", strings.Map(safeFileRune, name)+".zip"))
	w.Header().Set("Cache-Control", "private, no-store")
	bw := bufio.NewWriterSize(w, 256<<10)
	zw := zip.NewWriter(bw)
	s.streamItems(ctx, d, func(it storage.Item) (io.Writer, error) {
		h := &zip.FileHeader{Name: it.Path, Method: zip.Store, Modified: it.Modified}
		h.SetMode(itemMode(it))
		switch it.Type {
		case storage.ItemDir:
			h.Name += "/"
		case storage.ItemSymlink:
			zf, err := zw.CreateHeader(h)
			if err == nil {
				_, err = io.WriteString(zf, it.Link)
			}
			return io.Discard, err
		}
		return zw.CreateHeader(h)
	}, func() error {
		if err := zw.Close(); err != nil {
			return err
		}
		return bw.Flush()
	})
	return nil
}

// safeFileRune keeps a download's file name to characters every browser
// and file system takes.
func safeFileRune(r rune) rune {
	if r < ' ' || strings.ContainsRune(`"\/:*?<>|`, r) {
		return '_'
	}
	return r
}

// streamItems writes every item of d: entry starts an item's entry and
// returns where its content goes, finish ends the archive. The status and
// headers are out before the first item is read, so a failure after that
// aborts the response (the client sees a cut archive, never a short file
// taken for whole), and is logged.
func (s *Server) streamItems(ctx context.Context, d *snapshots.Download, entry func(storage.Item) (io.Writer, error), finish func() error) {
	err := func() error {
		for _, it := range d.Items {
			dst, err := entry(it)
			if err != nil {
				return err
			}
			if !it.IsFile() || it.Size == 0 {
				continue
			}
			if err := copyItem(ctx, d, it, dst); err != nil {
				return err
			}
		}
		return finish()
	}()
	if err == nil {
		return
	}
	if ctx.Err() == nil {
		s.log.LogAttrs(ctx, slog.LevelError, "stream snapshot items", slog.String("request_id", requestIDFrom(ctx)),
			slog.String("snapshot", d.Snapshot.ID), slog.String("error", err.Error()))
	}
	panic(http.ErrAbortHandler)
}

// copyItem copies one item's content to dst.
func copyItem(ctx context.Context, d *snapshots.Download, it storage.Item, dst io.Writer) error {
	rd, err := d.Open(ctx, it)
	if err != nil {
		return err
	}
	defer rd.Close()
	if _, err := io.Copy(dst, rd); err != nil {
		return fmt.Errorf("%s: %w", it.Path, err)
	}
	return nil
}
