package backup_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage/backup"
)

// writeFiles writes each path (relative to root) with size bytes.
func writeFiles(t *testing.T, root string, files map[string]int) {
	t.Helper()
	for name, size := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestProfilePolicyObeyed: an endpoint's backup without paths takes the
// profile's folders (a known folder under the home directory, and an
// absolute path), leaves out excluded types and files over the size
// limit (explicit paths too), and a backup past the user's quota is
// refused with 409 and shows as a failed run of the device.
func TestProfilePolicyObeyed(t *testing.T) {
	rs := newRealServer(t)
	ctx := context.Background()
	home, custom := t.TempDir(), t.TempDir()
	writeFiles(t, home, map[string]int{"Documents/a.txt": 100, "Documents/movie.MP4": 10, "Documents/big.bin": 5000, "Desktop/x.txt": 10})
	writeFiles(t, custom, map[string]int{"c.txt": 20})
	pr, err := rs.meta.GetProfile(ctx, rs.account, rs.profile)
	if err != nil {
		t.Fatal(err)
	}
	pr.Backup = holdfast.BackupPolicy{Folders: []string{"Documents", "Pictures", filepath.ToSlash(custom)}, ExcludeTypes: []string{"mp4"}, MaxFileBytes: 1000}
	if err := rs.meta.UpdateProfile(ctx, &pr); err != nil {
		t.Fatal(err)
	}
	c, err := backup.NewClient(rs.hs.URL, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := backup.Run(ctx, backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Home: home})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := c.Snapshot(ctx, res.Snapshot.ID)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, it := range snap.Items {
		paths = append(paths, it.Path)
	}
	cb := filepath.Base(custom)
	want := []string{"Documents", "Documents/a.txt", cb, cb + "/c.txt"}
	slices.Sort(want)
	if !slices.Equal(paths, want) || res.Excluded != 2 {
		t.Errorf("backed up %v (%d excluded), want %v (2 excluded)", paths, res.Excluded, want)
	}
	explicit, err := backup.Run(ctx, backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Paths: []string{filepath.Join(home, "Documents")}})
	if err != nil || explicit.Excluded != 2 || explicit.Items != 2 {
		t.Errorf("explicit path: %d items, %d excluded, %v; want 2 items (the folder and a.txt), 2 excluded", explicit.Items, explicit.Excluded, err)
	}

	pr.Backup.QuotaBytes = 50
	if err := rs.meta.UpdateProfile(ctx, &pr); err != nil {
		t.Fatal(err)
	}
	_, err = backup.Run(ctx, backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Home: home})
	var apiErr *backup.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || !errors.Is(err, holdfast.ErrOverQuota) {
		t.Fatalf("backup over the quota = %v, want 409 quota_exceeded", err)
	}
	devices, err := rs.meta.ListDevices(ctx, rs.account, "")
	if err != nil || len(devices) != 1 {
		t.Fatal(devices, err)
	}
	if st := devices[0].Backup; st.LastResult != holdfast.BackupFailed || st.StoredBytes != 100 || st.LastError == "" {
		t.Errorf("status after the refusal = %+v, want failed with the last snapshot's 100 bytes", st)
	}
}
