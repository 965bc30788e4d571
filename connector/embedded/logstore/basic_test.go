package logstore

import (
	"errors"
	"testing"

	"github.com/rustok/rustok-iggy/core"
)

func TestAppendReadReopen(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(dir, Options{SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	var next uint64
	for range 50 {
		r, err := p.Append(batchFor(next, 7, 100))
		if err != nil {
			t.Fatal(err)
		}
		if r.FirstOffset != next || r.Count != 7 || r.Timestamp == 0 {
			t.Fatalf("append result %+v, want first %d", r, next)
		}
		next += 7
	}
	check := func(p *Partition) {
		t.Helper()
		st := p.Stats()
		if st.NextOffset != next || st.FirstOffset != 0 || st.Segments < 2 {
			t.Fatalf("stats %+v", st)
		}
		c, err := p.Read(0, int(next), 0)
		if err != nil {
			t.Fatal(err)
		}
		checkChunk(t, c, 0, int(next), 100)
		c, err = p.Read(123, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkChunk(t, c, 123, 10, 100)
		c, err = p.Read(next, 10, 0)
		if err != nil || c.Count != 0 {
			t.Fatalf("read at end: %+v %v", c, err)
		}
		c, err = p.Read(5, 100, 1) // byte limit below one message: still one
		if err != nil {
			t.Fatal(err)
		}
		checkChunk(t, c, 5, 1, 100)
		c, err = p.Read(5, 100, 3*164)
		if err != nil {
			t.Fatal(err)
		}
		checkChunk(t, c, 5, 3, 100)
	}
	check(p)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := p.Append(batchFor(0, 1, 1)); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	p, err = Open(dir, Options{SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	check(p)
}

func TestAppendInvalid(t *testing.T) {
	p, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	b := batchFor(0, 2, 10)
	for _, bad := range [][]byte{nil, b[:10], b[:len(b)-1], append(b[:len(b):len(b)], 1)} {
		if _, err := p.Append(bad); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("append %d bytes: %v, want ErrInvalid", len(bad), err)
		}
	}
	if st := p.Stats(); st.NextOffset != 0 {
		t.Fatalf("invalid batches stored: %+v", st)
	}
}
