package logstore

import "testing"

// BenchmarkReadPoll1000x1KiB is the broker's poll shape in the benchmark
// program's pinned-consumer row: Reads of 1000 messages of 1 KiB payload
// (about 1 MiB each) cycling over 20,000 stored messages; ns/op and
// allocs/op are per Read.
func BenchmarkReadPoll1000x1KiB(b *testing.B) {
	const total, per = 20_000, 1000
	p := benchPartition(b, Options{Fsync: FsyncNever})
	batch := batchFor(0, per, 1024)
	for range total / per {
		if _, err := p.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(per * (64 + 1024))
	b.ReportAllocs()
	off := uint64(0)
	for b.Loop() {
		c, err := p.Read(off, per, 64<<20)
		if err != nil || c.Count != per {
			b.Fatalf("read at %d: %d, %v", off, c.Count, err)
		}
		off = (off + per) % total
	}
}

// BenchmarkReadPoll10x100B is a small poll: Reads of 10 messages of
// 100-byte payload cycling over 20,000 stored messages; ns/op, B/op and
// allocs/op are per Read (the index has an entry every IndexInterval bytes,
// so a read bounded by it may fetch more than it returns).
func BenchmarkReadPoll10x100B(b *testing.B) {
	const total, per = 20_000, 10
	p := benchPartition(b, Options{Fsync: FsyncNever})
	batch := batchFor(0, 1000, 100)
	for range total / 1000 {
		if _, err := p.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(per * (64 + 100))
	b.ReportAllocs()
	off := uint64(0)
	for b.Loop() {
		c, err := p.Read(off, per, 64<<20)
		if err != nil || c.Count != per {
			b.Fatalf("read at %d: %d, %v", off, c.Count, err)
		}
		off = (off + per) % total
	}
}
