//go:build linux || darwin

package logstore

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

const maxIovecs = 1024 // IOV_MAX on Linux and the BSDs

// pwritev writes bufs back to back at off with as few syscalls as possible
// (one per maxIovecs buffers), retrying short writes. It may modify bufs.
func pwritev(f *os.File, bufs [][]byte, off int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for len(bufs) > 0 {
			chunk := bufs[:min(len(bufs), maxIovecs)]
			n, e := unix.Pwritev(int(fd), chunk, off)
			if e == unix.EINTR || e == unix.EAGAIN {
				continue
			}
			if e != nil {
				werr = e
				return true
			}
			if n == 0 {
				werr = io.ErrShortWrite
				return true
			}
			off += int64(n)
			for n > 0 {
				if n >= len(bufs[0]) {
					n -= len(bufs[0])
					bufs = bufs[1:]
				} else {
					bufs[0] = bufs[0][n:]
					n = 0
				}
			}
		}
		return true
	})
	return errors.Join(err, werr)
}

// lockDir takes an exclusive advisory lock on the directory so that two
// processes (or two Partitions) never write one partition. The kernel drops
// it when the process dies.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// syncDir fsyncs a directory so created and removed names survive a power loss.
func syncDir(d *os.File) error {
	if skipSync {
		return nil
	}
	return d.Sync()
}
