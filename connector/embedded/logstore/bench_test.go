package logstore

import (
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// -logstore.big (or LOGSTORE_BIG=1) makes BenchmarkReopen write 10M messages.
var bigBench = flag.Bool("logstore.big", os.Getenv("LOGSTORE_BIG") != "", "reopen benchmark with 10M messages")

// BenchmarkDiskSequentialWrite is the disk's own rate, for comparison: write
// 64 MiB in 1 MiB chunks and fdatasync, per iteration.
func BenchmarkDiskSequentialWrite(b *testing.B) {
	const total, chunk = 64 << 20, 1 << 20
	f, err := os.Create(filepath.Join(b.TempDir(), "seq"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := payloadFor(1, chunk)
	b.SetBytes(total)
	for b.Loop() {
		if _, err := f.Seek(0, 0); err != nil {
			b.Fatal(err)
		}
		if err := f.Truncate(0); err != nil {
			b.Fatal(err)
		}
		for range total / chunk {
			if _, err := f.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := fdatasync(f); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPartition(b *testing.B, o Options) *Partition {
	b.Helper()
	if o.SegmentSize == 0 {
		o.SegmentSize = 256 << 20
	}
	if o.MaxSize == 0 {
		o.MaxSize = 768 << 20 // keep the disk use of long runs bounded
	}
	p, err := Open(b.TempDir(), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p
}

// BenchmarkAppend1KiBx1000 appends batches of 1000 messages of 1 KiB payload
// from one goroutine (fsync interval); MB/s counts message bytes on disk.
func BenchmarkAppend1KiBx1000(b *testing.B) {
	p := benchPartition(b, Options{})
	batch := batchFor(0, 1000, 1024)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := p.Sync(); err != nil { // what the interval policy owes the disk
		b.Fatal(err)
	}
}

// BenchmarkAppend256Bx100x4 appends batches of 100 messages of 256 bytes from
// 4 goroutines (fsync interval) and reports messages per second.
func BenchmarkAppend256Bx100x4(b *testing.B) {
	p := benchPartition(b, Options{})
	const writers, per = 4, 100
	batches := make([][]byte, writers)
	for i := range batches {
		batches[i] = batchFor(0, per, 256)
	}
	b.SetBytes(int64(len(batches[0])))
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range writers {
		n := b.N / writers
		if w < b.N%writers {
			n++
		}
		wg.Go(func() {
			for range n {
				if _, err := p.Append(batches[w]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkFsyncAlways16x1 has 16 goroutines appending one 256-byte message
// each at a time under FsyncAlways: group commit shares each fsync.
func BenchmarkFsyncAlways16x1(b *testing.B) {
	p := benchPartition(b, Options{Fsync: FsyncAlways})
	const writers = 16
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range writers {
		n := b.N / writers
		if w < b.N%writers {
			n++
		}
		wg.Go(func() {
			msg := batchFor(0, 1, 256)
			for range n {
				if _, err := p.Append(msg); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkFsyncPerMessageBaseline is what FsyncAlways would cost without
// group commit: one write and one fdatasync per 320-byte message.
func BenchmarkFsyncPerMessageBaseline(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "baseline"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	msg := batchFor(0, 1, 256)
	for b.Loop() {
		if _, err := f.Write(msg); err != nil {
			b.Fatal(err)
		}
		if err := fdatasync(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRead1M reads 1M messages (100-byte payloads) from the start, 1000
// per Read, checksums verified; reports messages per second.
func BenchmarkRead1M(b *testing.B) { benchRead1M(b, 0) }

// BenchmarkRead1MClosedSegments is BenchmarkRead1M over 8 MiB segments, so
// nearly every read searches an index file rather than the in-memory index.
func BenchmarkRead1MClosedSegments(b *testing.B) { benchRead1M(b, 8<<20) }

func benchRead1M(b *testing.B, segmentSize int64) {
	const total, per = 1_000_000, 1000
	p := benchPartition(b, Options{Fsync: FsyncNever, SegmentSize: segmentSize, MaxSize: 1 << 40})
	batch := batchFor(0, per, 100)
	for range total / per {
		if _, err := p.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(total * (64 + 100))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for off := uint64(0); off < total; {
			c, err := p.Read(off, per, 0)
			if err != nil || c.Count == 0 {
				b.Fatalf("read at %d: %d, %v", off, c.Count, err)
			}
			off += uint64(c.Count)
			n += c.Count
		}
		if n != total {
			b.Fatalf("read %d", n)
		}
	}
	b.ReportMetric(float64(b.N*total)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkReopen measures Open (recovery included) + Close of a partition
// holding 1M (10M with -logstore.big) small messages in 1 GiB segments, and
// the process RSS with it open.
func BenchmarkReopen(b *testing.B) {
	total := 1_000_000
	if *bigBench {
		total = 10_000_000
	}
	dir := b.TempDir()
	p, err := Open(dir, Options{Fsync: FsyncNever})
	if err != nil {
		b.Fatal(err)
	}
	const per = 1000
	batch := batchFor(0, per, 16)
	for range total / per {
		if _, err := p.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var rss float64
	for b.Loop() {
		p, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if p.Stats().NextOffset != uint64(total) {
			b.Fatalf("stats %+v", p.Stats())
		}
		rss = rssMB()
		p.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/open")
	b.ReportMetric(rss, "MB-RSS")
	b.ReportMetric(float64(total), "msgs")
}

// rssMB reads the process's resident set size from /proc (0 elsewhere).
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
