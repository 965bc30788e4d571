package logstore

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// segmentSeed returns the bytes of a valid segment and its index.
func segmentSeed(t testing.TB, sizes ...int) ([]byte, []byte) {
	dir := t.(interface{ TempDir() string }).TempDir()
	p, err := Open(dir, Options{Fsync: FsyncNever})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range sizes {
		if _, err := p.Append(batchFor(uint64(i), 1, s)); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	log, _ := os.ReadFile(filepath.Join(dir, segmentName(0)+LogSuffix))
	idx, _ := os.ReadFile(filepath.Join(dir, segmentName(0)+IndexSuffix))
	return log, idx
}

// FuzzOpenSegment writes arbitrary bytes as a partition's only segment (and
// index), opens it, reads everything every way there is, appends and reopens.
// Nothing may panic, and what is readable must stay readable. Each run does
// real file I/O, so fuzz with a short -fuzzminimizetime (e.g. 3s): the default
// 60 s of minimizing per new input looks like a stall.
func FuzzOpenSegment(f *testing.F) {
	skipSync = true
	f.Cleanup(func() { skipSync = false })
	log, idx := segmentSeed(f, 10, 500, 0, 3, 900, 100)
	f.Add(log, idx)
	f.Add(log, []byte(nil))
	f.Add(log[:len(log)-7], idx)
	f.Add(log[:100], idx[:20])
	bad := append([]byte(nil), log...)
	bad[70] ^= 1
	f.Add(bad, idx)
	bad2 := append([]byte(nil), log...)
	bad2[48] = 0xFF // user headers length
	f.Add(bad2, idx)
	f.Add([]byte{}, []byte{})
	f.Add(make([]byte, 200), make([]byte, 32))
	f.Fuzz(func(t *testing.T, log, idx []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, segmentName(0)+LogSuffix), log, 0o644)
		os.WriteFile(filepath.Join(dir, segmentName(0)+IndexSuffix), idx, 0o644)
		p, err := Open(dir, Options{Fsync: FsyncNever, SegmentSize: 4096})
		if err != nil {
			return
		}
		defer p.Close()
		st := p.Stats()
		if st.NextOffset < st.FirstOffset {
			t.Fatalf("stats %+v", st)
		}
		readable := 0
		for off := st.FirstOffset; off < st.NextOffset && off < st.FirstOffset+1000; {
			c, err := p.Read(off, 3, 5000)
			if err != nil || c.Count == 0 {
				off++
				continue
			}
			readable += c.Count
			off = c.FirstOffset + uint64(c.Count)
		}
		p.ReadFromTimestamp(0, 10, 0)
		p.ReadFromTimestamp(1<<62, 10, 0)
		if _, err := p.Append(batchFor(0, 2, 50)); err != nil {
			t.Fatalf("append after recovery: %v", err)
		}
		next := p.Stats().NextOffset
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		p2, err := Open(dir, Options{Fsync: FsyncNever, SegmentSize: 4096})
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer p2.Close()
		if st2 := p2.Stats(); st2.NextOffset != next {
			t.Fatalf("reopen: next %d, want %d", st2.NextOffset, next)
		}
		c, err := p2.Read(next-2, 2, 0)
		if err != nil || c.Count != 2 {
			t.Fatalf("appended messages lost: %+v %v", c, err)
		}
		_ = readable
	})
}

// FuzzAppend feeds arbitrary bytes to Append: a malformed batch is refused
// with core.ErrInvalid and stores nothing; a well-formed one is stored whole
// and reads back with the same bodies.
func FuzzAppend(f *testing.F) {
	f.Add(batchFor(0, 3, 10))
	f.Add(appendMsg(nil, idOf(1), []byte("payload"), []byte("headers")))
	f.Add(batchFor(0, 2, 0)[:100])
	f.Add([]byte{})
	f.Add(make([]byte, 64))
	skipSync = true
	f.Cleanup(func() { skipSync = false })
	p, err := Open(f.TempDir(), Options{Fsync: FsyncNever, SegmentSize: 1 << 16})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { p.Close() })
	f.Fuzz(func(t *testing.T, batch []byte) {
		orig := append([]byte(nil), batch...)
		before := p.Stats().NextOffset
		r, err := p.Append(batch)
		if err != nil {
			if !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			if p.Stats().NextOffset != before {
				t.Fatal("a refused batch was stored")
			}
			return
		}
		c, err := p.Read(r.FirstOffset, r.Count, 0)
		if err != nil || c.Count != r.Count || r.FirstOffset != before {
			t.Fatalf("read back: %+v %v (append %+v)", c, err, r)
		}
		var want, got []string
		iggyproto.WalkMessages(orig, func(m iggyproto.MessageView) error {
			want = append(want, string(m.Raw[iggyproto.MessageHeaderSize:])+string(m.Raw[40:48]))
			return nil
		})
		iggyproto.WalkMessages(c.Data, func(m iggyproto.MessageView) error {
			got = append(got, string(m.Raw[iggyproto.MessageHeaderSize:])+string(m.Raw[40:48]))
			return nil
		})
		if !slices.Equal(want, got) {
			t.Fatal("stored bodies differ from the batch")
		}
	})
}
