package sqlite_test

import (
	"testing"

	"github.com/holdfast/holdfast/storage/storagetest"
)

func TestIdentityConformance(t *testing.T) {
	storagetest.TestIdentityStore(t, func(t *testing.T) storagetest.IdentityMetaStore {
		return openFile(t).(storagetest.IdentityMetaStore)
	})
}
