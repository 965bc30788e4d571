package logstore

import "testing"

// TestReadOwnsSmallChunks checks that a read served through the pooled
// scratch buffer hands out memory of its own: later reads (which reuse the
// scratch) leave an earlier chunk intact, and the chunk keeps no more than
// the messages returned plus allocator rounding, although the index bound
// made the read fetch more.
func TestReadOwnsSmallChunks(t *testing.T) {
	p, err := Open(t.TempDir(), Options{Fsync: FsyncNever})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const size = 100
	if _, err := p.Append(batchFor(0, 500, size)); err != nil {
		t.Fatal(err)
	}
	first, err := p.Read(3, 5, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkChunk(t, first, 3, 5, size)
	if c := cap(first.Data); c > len(first.Data)+len(first.Data)/4 {
		t.Errorf("chunk of %d bytes has capacity %d", len(first.Data), c)
	}
	for off := uint64(100); off < 400; off += 7 {
		c, err := p.Read(off, 7, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkChunk(t, c, off, 7, size)
		for i := range c.Data {
			c.Data[i] = 0xee
		}
	}
	checkChunk(t, first, 3, 5, size)
}
