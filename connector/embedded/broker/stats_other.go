//go:build !linux

package broker

// fillSystemStats leaves the kernel figures at zero off Linux.
func fillSystemStats(st *Stats, dir string) {}
