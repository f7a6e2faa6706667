package policies_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/holdfast/holdfast/policies"
)

// TestNoRoleIDInGo: role behaviour is catalog data, so no Go source
// outside policies/ and tests names a catalog role by its id (as a quoted
// string or a struct tag).
func TestNoRoleIDInGo(t *testing.T) {
	cat, err := policies.Load()
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "policies" || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, r := range cat.RoleList() {
			if strings.Contains(string(src), `"`+r.ID+`"`) {
				t.Errorf("%s names the catalog role %q", rel, r.ID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
