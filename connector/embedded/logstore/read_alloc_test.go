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

// TestAppendReadReusesBuffer checks AppendRead: messages land after dst's
// content, a buffer with room is used without allocating (small and big
// reads, by offset and by time), one without room grows, and a read of
// nothing gives dst back unchanged.
func TestAppendReadReusesBuffer(t *testing.T) {
	p, err := Open(t.TempDir(), Options{Fsync: FsyncNever})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	const size = 1000
	if _, err := p.Append(batchFor(0, 300, size)); err != nil {
		t.Fatal(err)
	}
	prefix := []byte("prefix")
	buf := make([]byte, 0, 1<<20)
	for _, n := range []int{3, 200} { // through the scratch buffer, then straight in
		c, err := p.AppendRead(append(buf[:0], prefix...), 10, n, 0)
		if err != nil {
			t.Fatal(err)
		}
		if string(c.Data[:len(prefix)]) != string(prefix) || &c.Data[0] != &buf[:1][0] {
			t.Fatalf("count %d: prefix lost or buffer not reused", n)
		}
		checkChunk(t, Chunk{Data: c.Data[len(prefix):], Count: c.Count, FirstOffset: c.FirstOffset}, 10, n, size)
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := p.AppendRead(buf[:0], 10, n, 0); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 0 && !raceEnabled {
			t.Errorf("count %d: %.1f allocations per read into a buffer with room", n, allocs)
		}
	}
	st := p.Stats()
	c, err := p.AppendReadFromTimestamp(buf[:0], st.LastTimestamp, 300, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkChunk(t, c, 0, 300, size) // one batch: one timestamp
	if &c.Data[0] != &buf[:1][0] {
		t.Error("read by time did not reuse the buffer")
	}
	small := make([]byte, 0, 10)
	if c, err = p.AppendRead(small, 0, 50, 0); err != nil {
		t.Fatal(err)
	}
	checkChunk(t, c, 0, 50, size)
	if c, err = p.AppendRead(prefix, 300, 10, 0); err != nil || c.Count != 0 || string(c.Data) != string(prefix) {
		t.Fatalf("read at the end: %d messages, data %q, %v", c.Count, c.Data, err)
	}
}
