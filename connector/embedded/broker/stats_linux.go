//go:build linux

package broker

import (
	"syscall"
)

// fillSystemStats adds memory, kernel and disk figures from the kernel.
func fillSystemStats(st *Stats, dir string) {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) == nil {
		unit := uint64(si.Unit)
		if unit == 0 {
			unit = 1
		}
		st.TotalMemory = uint64(si.Totalram) * unit
		st.AvailableMemory = uint64(si.Freeram) * unit
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		st.OSName = utsString(u.Sysname[:])
		st.KernelVersion = utsString(u.Release[:])
		st.OSVersion = utsString(u.Version[:])
	}
	var fs syscall.Statfs_t
	if syscall.Statfs(dir, &fs) == nil {
		st.FreeDiskSpace = fs.Bavail * uint64(fs.Bsize)
		st.TotalDiskSpace = fs.Blocks * uint64(fs.Bsize)
	}
}

func utsString[T int8 | uint8](b []T) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		out = append(out, byte(c))
	}
	return string(out)
}
