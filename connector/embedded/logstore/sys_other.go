//go:build !(linux || darwin)

package logstore

import "os"

// pwritev writes bufs back to back at off (one WriteAt each: no vectored
// write on this platform).
func pwritev(f *os.File, bufs [][]byte, off int64) error {
	for _, b := range bufs {
		if _, err := f.WriteAt(b, off); err != nil {
			return err
		}
		off += int64(len(b))
	}
	return nil
}

// lockDir opens the directory; there is no advisory lock on this platform,
// so the broker must not open one partition twice.
func lockDir(dir string) (*os.File, error) { return os.Open(dir) }

// syncDir is a no-op: directories cannot be fsynced on this platform.
func syncDir(*os.File) error { return nil }
