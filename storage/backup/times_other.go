//go:build !unix

package backup

import (
	"os"

	"github.com/holdfast/holdfast/storage"
)

// setTimes gives a restored item its modification time; a link keeps the
// time it was made (the platform cannot set a link's own time).
func setTimes(name string, it storage.Item, link bool) error {
	if it.Modified.IsZero() || link {
		return nil
	}
	return os.Chtimes(name, it.Modified, it.Modified)
}
