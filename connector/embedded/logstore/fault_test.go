package logstore

import (
	"errors"
	"os"
	"syscall"
	"testing"
)

// TestDiskFull injects ENOSPC into the writer: appends fail with it and
// publish nothing, everything acknowledged before stays readable (also after
// a reopen), and appends succeed again, at the next offset, once space
// returns.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(dir, Options{Fsync: FsyncAlways, SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	acked := 0
	for range 10 {
		mustAppend(t, p, uint64(acked), 3, 100)
		acked += 3
	}
	p.SetWriteFault(syscall.ENOSPC)
	for range 5 {
		_, err := p.Append(batchFor(uint64(acked), 3, 100))
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("append on a full disk: %v", err)
		}
	}
	if st := p.Stats(); st.NextOffset != uint64(acked) {
		t.Fatalf("failed appends published: %+v", st)
	}
	checkChunk(t, mustRead(t, p, 0, acked, 0), 0, acked, 100)

	p.SetWriteFault(nil) // space is back
	if r := mustAppend(t, p, uint64(acked), 3, 100); r.FirstOffset != uint64(acked) {
		t.Fatalf("after recovery: %+v", r)
	}
	acked += 3
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p, err = Open(dir, Options{Fsync: FsyncAlways, SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if st := p.Stats(); st.NextOffset != uint64(acked) {
		t.Fatalf("after reopen: %+v", st)
	}
	checkChunk(t, mustRead(t, p, 0, acked, 0), 0, acked, 100)
}

// TestReadOnlyDataDir makes the partition directory read-only under an
// open partition: appends that need a new segment fail clearly, nothing
// acknowledged is lost, and appends work again once it is writable.
func TestReadOnlyDataDir(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	dir := t.TempDir()
	p, err := Open(dir, Options{SegmentSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	mustAppend(t, p, 0, 3, 100)
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Chmod(dir, 0o700) }()
	var failed error
	next := uint64(3)
	for range 20 { // enough to need a new segment
		r, err := p.Append(batchFor(next, 3, 100))
		if err != nil {
			failed = err
			break
		}
		next += uint64(r.Count)
	}
	if !errors.Is(failed, os.ErrPermission) {
		t.Fatalf("want a permission error once a segment must be created, got %v", failed)
	}
	checkChunk(t, mustRead(t, p, 0, int(next), 0), 0, int(next), 100)
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if r := mustAppend(t, p, next, 3, 100); r.FirstOffset != next {
		t.Fatalf("after recovery: %+v", r)
	}
}
