package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// diskRate measures the disk's sequential write rate in dir: size bytes
// written in chunks of syncEvery bytes to a new file, with an fdatasync
// after each chunk when syncEvery > 0, else one fdatasync at the end; the
// time includes the syncs. The file is removed afterwards.
func diskRate(dir string, size, syncEvery int64) (mbps float64, err error) {
	f, err := os.CreateTemp(dir, "disk-rate-*")
	if err != nil {
		return 0, fmt.Errorf("disk rate: %w", err)
	}
	name := f.Name()
	defer os.Remove(name)
	defer f.Close()
	chunk := make([]byte, 4<<20)
	if syncEvery > 0 {
		chunk = make([]byte, syncEvery)
	}
	_, _ = rand.Read(chunk) // incompressible, though no file system here compresses
	start := time.Now()
	for written := int64(0); written < size; {
		n := int64(len(chunk))
		if size-written < n {
			n = size - written
		}
		if _, err := f.Write(chunk[:n]); err != nil {
			return 0, fmt.Errorf("disk rate: write %s: %w", filepath.Base(name), err)
		}
		written += n
		if syncEvery > 0 {
			if err := datasync(f); err != nil {
				return 0, fmt.Errorf("disk rate: fdatasync: %w", err)
			}
		}
	}
	if err := datasync(f); err != nil {
		return 0, fmt.Errorf("disk rate: fdatasync: %w", err)
	}
	return float64(size) / time.Since(start).Seconds() / 1e6, nil
}

// memcpyRate measures copy() of a 64 MiB buffer into another, on one
// goroutine, for at least minDur.
func memcpyRate(minDur time.Duration) float64 {
	const size = 64 << 20
	src := make([]byte, size)
	dst := make([]byte, size)
	for i := range src {
		src[i] = byte(i)
	}
	copy(dst, src) // fault the pages in before timing
	var total int64
	start := time.Now()
	for time.Since(start) < minDur {
		copy(dst, src)
		total += size
	}
	return float64(total) / time.Since(start).Seconds() / 1e6
}
