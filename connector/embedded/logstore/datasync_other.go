//go:build !linux

package logstore

import "os"

// skipSync turns fdatasync and syncDir into no-ops (fuzz targets only).
var skipSync bool

// fdatasync flushes f to stable storage (fsync; F_FULLFSYNC on Darwin).
func fdatasync(f *os.File) error {
	if skipSync {
		return nil
	}
	return f.Sync()
}
