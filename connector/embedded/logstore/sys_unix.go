//go:build unix

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

// skipSync turns fdatasync and syncDir into no-ops. Only fuzz targets set it
// (durability is not what they test, and fsync would make them crawl).
var skipSync bool

// fdatasync flushes f's data (and the metadata needed to read it back).
func fdatasync(f *os.File) error {
	if skipSync {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		for {
			serr = unix.Fdatasync(int(fd))
			if serr != unix.EINTR {
				return
			}
		}
	})
	return errors.Join(err, serr)
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
