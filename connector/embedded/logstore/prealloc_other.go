//go:build !linux

package logstore

import (
	"errors"
	"os"
)

// reserve is not available here: no preallocation.
func reserve(*os.File, int64, int64) error { return errors.ErrUnsupported }

// unreserve has nothing to release here.
func unreserve(*os.File, int64, int64) error { return nil }
