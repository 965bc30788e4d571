package logstore

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

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
