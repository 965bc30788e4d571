//go:build !linux

package main

import "os"

// datasync flushes f (fsync; fdatasync is Linux-only here).
func datasync(f *os.File) error { return f.Sync() }
