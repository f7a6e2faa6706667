package fs_test

import (
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage/fs"
	"github.com/holdfast/holdfast/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.TestBlobStore(t, func(t *testing.T) holdfast.BlobStore {
		s, err := fs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
