package postgres_test

import (
	"testing"

	"github.com/holdfast/holdfast/storage/storagetest"
)

func TestIdentityConformance(t *testing.T) {
	testURL(t)
	storagetest.TestIdentityStore(t, func(t *testing.T) storagetest.IdentityMetaStore {
		return openFresh(t).(storagetest.IdentityMetaStore)
	})
}
