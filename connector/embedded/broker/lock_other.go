//go:build !unix

package broker

import (
	"os"
	"path/filepath"
)

// lockDir opens <dir>/.lock; without flock it cannot exclude a second
// broker.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
}
