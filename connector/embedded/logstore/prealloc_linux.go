package logstore

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// reserve allocates blocks for [off, off+n) of f without changing its size.
func reserve(f *os.File, off, n int64) error {
	return fallocate(f, unix.FALLOC_FL_KEEP_SIZE, off, n)
}

// unreserve frees the blocks reserved past off, the end of f's data (and
// its size): a truncation to the same size (ext4 clamps a hole punched
// past the end to the size, freeing nothing).
func unreserve(f *os.File, off, _ int64) error { return f.Truncate(off) }

func fallocate(f *os.File, mode uint32, off, n int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = rc.Control(func(fd uintptr) {
		for {
			ferr = unix.Fallocate(int(fd), mode, off, n)
			if ferr != unix.EINTR {
				return
			}
		}
	})
	return errors.Join(err, ferr)
}
