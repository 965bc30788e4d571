//go:build !unix

package outbox

import (
	"errors"
	"os"
)

// lockFile is not implemented off Unix: the SQLite relay lock needs flock.
func lockFile(path string) (*os.File, bool, error) {
	return nil, false, errors.New("outbox: the sqlite relay lock needs a Unix system")
}

func unlockFile(f *os.File) { _ = f.Close() }
