package logstore

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// allocated returns the size and the allocated bytes of the file at path.
func allocated(t *testing.T, path string) (size, blocks int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size(), fi.Sys().(*syscall.Stat_t).Blocks * 512
}

// TestPreallocation checks the reserve of the active segment: it appears
// once the segment holds preallocFrom bytes, never changes the file's
// size (reads and a reopen see exactly the messages), and is given back
// at rollover.
func TestPreallocation(t *testing.T) {
	dir := t.TempDir()
	const size, per = 1000, 1000 // about 1 MiB per batch
	opts := Options{Fsync: FsyncNever, SegmentSize: 12 << 20}
	p, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	var next uint64
	appendN := func(p *Partition, batches int) {
		for range batches {
			mustAppend(t, p, next, per, size)
			next += per
		}
	}
	appendN(p, 6)
	first := filepath.Join(dir, segmentName(0)+LogSuffix)
	sz, blocks := allocated(t, first)
	if p.w.noPrealloc {
		t.Skipf("the filesystem of %s does not preallocate", dir)
	}
	if st := p.Stats(); uint64(sz) != st.SizeBytes {
		t.Fatalf("file size %d, %d bytes stored", sz, st.SizeBytes)
	}
	if blocks < sz+2<<20 {
		t.Fatalf("file of %d bytes has %d allocated: no reserve", sz, blocks)
	}
	// Reopen (the reserve stays past the end): recovery sees the messages
	// and nothing more, and appends go on after them.
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p = mustOpen(t, dir, opts)
	if st := p.Stats(); st.NextOffset != next {
		t.Fatalf("reopened with next offset %d, want %d", st.NextOffset, next)
	}
	appendN(p, 8) // rolls over past 12 MiB
	if p.Stats().Segments < 2 {
		t.Fatal("no rollover")
	}
	sz, blocks = allocated(t, first)
	if blocks > sz+64<<10 {
		t.Fatalf("closed segment of %d bytes keeps %d allocated", sz, blocks)
	}
	c, err := p.Read(0, int(next), 0)
	if err != nil {
		t.Fatal(err)
	}
	checkChunk(t, c, 0, int(next), size)
}
