package logstore

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// fakeClock is an injectable clock (Options.Now).
type fakeClock struct{ us atomic.Int64 }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.us.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro())
	return c
}
func (c *fakeClock) Now() time.Time      { return time.UnixMicro(c.us.Load()) }
func (c *fakeClock) Add(d time.Duration) { c.us.Add(d.Microseconds()) }
func (c *fakeClock) Micros() uint64      { return uint64(c.us.Load()) }

// logBuffer captures log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }
func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func mustOpen(t testing.TB, dir string, o Options) *Partition {
	t.Helper()
	p, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func mustAppend(t testing.TB, p *Partition, first uint64, n, size int) AppendResult {
	t.Helper()
	r, err := p.Append(batchFor(first, n, size))
	if err != nil {
		t.Fatal(err)
	}
	if r.FirstOffset != first || r.Count != n {
		t.Fatalf("append: %+v, want first %d count %d", r, first, n)
	}
	return r
}

func mustRead(t testing.TB, p *Partition, off uint64, n, maxBytes int) Chunk {
	t.Helper()
	c, err := p.Read(off, n, maxBytes)
	if err != nil {
		t.Fatalf("read %d: %v", off, err)
	}
	return c
}

func segFiles(t testing.TB, dir, suffix string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func TestParseFsyncPolicy(t *testing.T) {
	for in, want := range map[string]FsyncPolicy{"": FsyncInterval, "never": FsyncNever, " Always ": FsyncAlways, "INTERVAL": FsyncInterval} {
		got, err := ParseFsyncPolicy(in)
		if err != nil || got != want {
			t.Errorf("ParseFsyncPolicy(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFsyncPolicy("sometimes"); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("bad policy: %v", err)
	}
	err := Options{SegmentSize: -1, Fsync: "x", FsyncInterval: -1, DedupWindow: -1, MessageExpiry: -1}.Validate()
	if !errors.Is(err, core.ErrInvalid) || strings.Count(err.Error(), "\n") != 4 {
		t.Errorf("Validate: %v", err)
	}
	if _, err := Open(t.TempDir(), Options{SegmentSize: 3 << 30}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("Open with bad options: %v", err)
	}
}

func TestStampingAndIDs(t *testing.T) {
	clock := newClock()
	p := mustOpen(t, t.TempDir(), Options{Now: clock.Now})
	var b []byte
	b = appendMsg(b, idOf(42), []byte("hello"), []byte("hdr"))
	b = appendMsg(b, [16]byte{}, []byte("world"), nil)
	for i := range 40 { // garbage in the fields the store overwrites
		if i < 8 || i >= 24 {
			b[i] = 0xEE
		}
	}
	r, err := p.Append(b)
	if err != nil {
		t.Fatal(err)
	}
	if r.Timestamp != clock.Micros() || r.Count != 2 || r.FirstOffset != 0 {
		t.Fatalf("result %+v", r)
	}
	c := mustRead(t, p, 0, 10, 0)
	var got []iggyproto.MessageView
	iggyproto.WalkMessages(c.Data, func(m iggyproto.MessageView) error { got = append(got, m); return nil })
	if len(got) != 2 {
		t.Fatalf("%d messages", len(got))
	}
	if got[0].Header.ID != idOf(42) {
		t.Errorf("a client id was changed: %x", got[0].Header.ID)
	}
	if id := got[1].Header.ID; id == ([16]byte{}) || id[9]>>4 != 4 || id[7]>>6 != 2 {
		t.Errorf("zero id not replaced by a UUIDv4 (u128 LE): %x", got[1].Header.ID)
	}
	for i, m := range got {
		h := m.Header
		if h.Offset != uint64(i) || h.Timestamp != r.Timestamp || h.OriginTimestamp != 7 || h.Checksum != iggyproto.Checksum(m.Raw) {
			t.Errorf("message %d header %+v", i, h)
		}
	}
	if string(got[0].Payload()) != "hello" || string(got[0].UserHeaders()) != "hdr" || string(got[1].Payload()) != "world" {
		t.Errorf("bodies changed")
	}
	// Timestamps never go backwards, even if the clock does.
	clock.Add(-time.Hour)
	r2 := mustAppend(t, p, 2, 1, 10)
	if r2.Timestamp != r.Timestamp {
		t.Errorf("timestamp went back: %d < %d", r2.Timestamp, r.Timestamp)
	}
}

func TestRolloverTinySegments(t *testing.T) {
	dir := t.TempDir()
	o := Options{SegmentSize: 1000}
	p := mustOpen(t, dir, o)
	// 164-byte messages: 6 fit in 1000 bytes.
	var next uint64
	for _, n := range []int{1, 5, 3, 7, 1, 1, 20, 2} {
		mustAppend(t, p, next, n, 100)
		next += uint64(n)
	}
	st := p.Stats()
	if st.NextOffset != next || st.SizeBytes != next*164 {
		t.Fatalf("stats %+v", st)
	}
	logs := segFiles(t, dir, LogSuffix)
	if len(logs) != st.Segments || len(logs) < 5 {
		t.Fatalf("%d log files, stats %+v", len(logs), st)
	}
	for _, l := range logs {
		fi, _ := os.Stat(l)
		// a batch never splits; a segment only exceeds the size with one batch
		if fi.Size() > 1000 && fi.Size() != 7*164 && fi.Size() != 20*164 {
			t.Errorf("%s: %d bytes", l, fi.Size())
		}
	}
	for off := range next {
		for _, n := range []int{1, 3, 100} {
			c := mustRead(t, p, off, n, 0)
			checkChunk(t, c, off, min(n, int(next-off)), 100)
		}
	}
	// Byte budget across segments.
	c := mustRead(t, p, 3, 1000, 10*164)
	checkChunk(t, c, 3, 10, 100)
	c = mustRead(t, p, 3, 1000, 10*164-1)
	checkChunk(t, c, 3, 9, 100)
	p.Close()
	p = mustOpen(t, dir, o)
	checkChunk(t, mustRead(t, p, 0, 1000, 0), 0, int(next), 100)
	mustAppend(t, p, next, 3, 100)
}

func TestBigMessagesAndIndex(t *testing.T) {
	// Messages bigger than the index interval and than the scan buffer.
	p := mustOpen(t, t.TempDir(), Options{})
	sizes := []int{10, 5000, 1, 70000, 3, 2 << 20, 4}
	for i, s := range sizes {
		mustAppend(t, p, uint64(i), 1, s)
	}
	for i, s := range sizes {
		checkChunk(t, mustRead(t, p, uint64(i), 1, 1), uint64(i), 1, s)
	}
	c := mustRead(t, p, 0, 100, 0)
	if c.Count != len(sizes) {
		t.Fatalf("count %d", c.Count)
	}
}

func TestConcurrentAppendsAndReads(t *testing.T) {
	p := mustOpen(t, t.TempDir(), Options{SegmentSize: 64 << 10, Fsync: FsyncNever})
	const writers, batches, per = 4, 50, 10
	var wg sync.WaitGroup
	results := make(chan AppendResult, writers*batches)
	for w := range writers {
		wg.Go(func() {
			for range batches {
				b := batchFor(0, per, 50+w)
				r, err := p.Append(b)
				if err != nil {
					t.Error(err)
					return
				}
				results <- r
			}
		})
	}
	stop := make(chan struct{})
	var rwg sync.WaitGroup
	rwg.Go(func() { // a reader that must only ever see whole, verified messages
		for {
			select {
			case <-stop:
				return
			default:
			}
			st := p.Stats()
			c, err := p.Read(st.FirstOffset, 1000, 0)
			if err != nil {
				t.Error(err)
				return
			}
			if uint64(c.Count) < min(1000, st.NextOffset-st.FirstOffset) {
				t.Errorf("read %d messages, stats said %d", c.Count, st.NextOffset)
				return
			}
		}
	})
	wg.Wait()
	close(stop)
	rwg.Wait()
	close(results)
	seen := make([]bool, writers*batches*per)
	for r := range results {
		for i := range r.Count {
			if seen[r.FirstOffset+uint64(i)] {
				t.Fatalf("offset %d given twice", r.FirstOffset+uint64(i))
			}
			seen[r.FirstOffset+uint64(i)] = true
		}
	}
	if st := p.Stats(); st.NextOffset != uint64(len(seen)) {
		t.Fatalf("stats %+v", st)
	}
}

func TestReadFromTimestamp(t *testing.T) {
	clock := newClock()
	p := mustOpen(t, t.TempDir(), Options{SegmentSize: 2000, Now: clock.Now})
	var stamps []uint64
	for i := range 40 {
		r := mustAppend(t, p, uint64(i*3), 3, 200)
		stamps = append(stamps, r.Timestamp)
		clock.Add(time.Millisecond)
	}
	for i, ts := range stamps {
		c, err := p.ReadFromTimestamp(ts, 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkChunk(t, c, uint64(i*3), 2, 200)
		c, err = p.ReadFromTimestamp(ts-1, 1, 0) // between batches: the next batch
		if err != nil {
			t.Fatal(err)
		}
		checkChunk(t, c, uint64(i*3), 1, 200)
	}
	c, err := p.ReadFromTimestamp(0, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkChunk(t, c, 0, 1, 200)
	c, err = p.ReadFromTimestamp(stamps[len(stamps)-1]+1, 10, 0)
	if err != nil || c.Count != 0 {
		t.Fatalf("past the end: %+v %v", c, err)
	}
}

func TestRetention(t *testing.T) {
	clock := newClock()
	dir := t.TempDir()
	p := mustOpen(t, dir, Options{SegmentSize: 1000, Now: clock.Now})
	var next uint64
	for range 10 { // 10 segments of 5 x 164 bytes
		mustAppend(t, p, next, 5, 100)
		next += 5
		clock.Add(time.Minute)
	}
	if st := p.Stats(); st.Segments != 10 {
		t.Fatalf("stats %+v", st)
	}
	// A reader holding the oldest segment keeps reading after it is deleted.
	v, err := p.viewAt(0)
	if err != nil {
		t.Fatal(err)
	}
	defer v.s.release()

	p.SetRetention(0, 5*820)
	n, err := p.EnforceRetention()
	if err != nil || n != 5 {
		t.Fatalf("size retention: %d, %v", n, err)
	}
	st := p.Stats()
	if st.FirstOffset != 25 || st.SizeBytes != 5*820 || st.Segments != 5 {
		t.Fatalf("stats after size retention %+v", st)
	}
	if len(segFiles(t, dir, LogSuffix)) != 5 || len(segFiles(t, dir, IndexSuffix)) != 5 {
		t.Fatalf("files left: %v", segFiles(t, dir, ""))
	}
	buf, n2, err := p.readSegment(&v, nil, 0, 5, -1, true)
	if err != nil || n2 != 5 {
		t.Fatalf("reader of a deleted segment: %d %v", n2, err)
	}
	checkChunk(t, Chunk{Data: buf, Count: 5}, 0, 5, 100)
	// Offsets before the first retained one start there.
	checkChunk(t, mustRead(t, p, 0, 2, 0), 25, 2, 100)

	// Age: segments whose newest message is older than 3.5 minutes go.
	p.SetRetention(3*time.Minute+30*time.Second, 0)
	if n, err := p.EnforceRetention(); err != nil || n != 2 {
		t.Fatalf("age retention: %d, %v", n, err)
	}
	// Never the active segment, even if everything is expired.
	clock.Add(time.Hour)
	if n, err := p.EnforceRetention(); err != nil || n != 2 {
		t.Fatalf("age retention 2: %d, %v", n, err)
	}
	st = p.Stats()
	if st.Segments != 1 || st.FirstOffset != 45 || st.NextOffset != 50 {
		t.Fatalf("stats %+v", st)
	}
	p.Close()
	p = mustOpen(t, dir, Options{SegmentSize: 1000, Now: clock.Now})
	if st2 := p.Stats(); st2 != st {
		t.Fatalf("after reopen %+v, want %+v", st2, st)
	}
	// Retention also runs on rollover when configured.
	p.SetRetention(0, 1)
	mustAppend(t, p, 50, 5, 100)
	mustAppend(t, p, 55, 5, 100)
	if st := p.Stats(); st.Segments != 1 || st.FirstOffset != 55 {
		t.Fatalf("rollover retention: %+v", st)
	}
}

func TestDedup(t *testing.T) {
	clock := newClock()
	dir := t.TempDir()
	o := Options{DedupWindow: time.Minute, Now: clock.Now}
	p := mustOpen(t, dir, o)
	mk := func(ids ...uint64) []byte {
		var b []byte
		for _, id := range ids {
			var v [16]byte
			if id != 0 {
				v = idOf(id)
			}
			b = appendMsg(b, v, []byte(fmt.Sprint("p", id)), nil)
		}
		return b
	}
	r, err := p.Append(mk(1, 2, 2, 0, 0))
	if err != nil || r.Count != 4 || r.FirstOffset != 0 {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = p.Append(mk(3, 1))
	if err != nil || r.Count != 1 || r.FirstOffset != 4 {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = p.Append(mk(1, 2))
	if err != nil || r.Count != 0 || r.FirstOffset != 5 {
		t.Fatalf("all duplicates: %+v %v", r, err)
	}
	c := mustRead(t, p, 0, 100, 0)
	var payloads []string
	iggyproto.WalkMessages(c.Data, func(m iggyproto.MessageView) error { payloads = append(payloads, string(m.Payload())); return nil })
	if strings.Join(payloads, ",") != "p1,p2,p0,p0,p3" {
		t.Fatalf("stored %v", payloads)
	}
	// The window survives a reopen.
	p.Close()
	p = mustOpen(t, dir, o)
	if r, err := p.Append(mk(3, 4)); err != nil || r.Count != 1 {
		t.Fatalf("after reopen: %+v %v", r, err)
	}
	// Past the window the id is new again.
	clock.Add(time.Minute + time.Microsecond)
	if r, err := p.Append(mk(1)); err != nil || r.Count != 1 {
		t.Fatalf("after the window: %+v %v", r, err)
	}
	if n := len(p.w.dedup.seen); n > 2 {
		t.Errorf("dedup keeps %d ids after pruning", n)
	}
}

func TestIndexRebuild(t *testing.T) {
	for _, damage := range []string{"delete", "truncate-mid-entry", "empty", "garbage", "flip-entry"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			o := Options{SegmentSize: 64 << 10}
			p := mustOpen(t, dir, o)
			var next uint64
			for range 30 {
				mustAppend(t, p, next, 20, 300)
				next += 20
			}
			p.Close()
			idxs := segFiles(t, dir, IndexSuffix)
			if len(idxs) < 3 {
				t.Fatalf("%d index files", len(idxs))
			}
			want := map[string][]byte{}
			for _, f := range idxs {
				b, _ := os.ReadFile(f)
				want[f] = b
				if len(b) < 3*IndexEntrySize {
					t.Fatalf("%s: %d bytes of index", f, len(b))
				}
			}
			for _, f := range []string{idxs[0], idxs[len(idxs)-1]} { // a closed and the active one
				b := want[f]
				switch damage {
				case "delete":
					os.Remove(f)
				case "truncate-mid-entry":
					os.WriteFile(f, b[:len(b)/2+5], 0o644)
				case "empty":
					os.WriteFile(f, nil, 0o644)
				case "garbage":
					g := slices.Clone(b)
					for i := len(g) - 3*IndexEntrySize; i < len(g); i++ {
						g[i] ^= 0x5A
					}
					os.WriteFile(f, g, 0o644)
				case "flip-entry": // an entry in the middle now points elsewhere
					g := slices.Clone(b)
					g[2*IndexEntrySize+4] ^= 0x40
					os.WriteFile(f, g, 0o644)
				}
			}
			var logs logBuffer
			o.Logger = logs.logger()
			p = mustOpen(t, dir, o)
			for off := uint64(0); off < next; off += 7 {
				checkChunk(t, mustRead(t, p, off, 3, 0), off, 3, 300)
			}
			if damage != "flip-entry" {
				if !strings.Contains(logs.String(), "rebuilding stale index") {
					t.Errorf("no rebuild logged:\n%s", logs.String())
				}
				p.Close()
				for _, f := range idxs {
					b, _ := os.ReadFile(f)
					if !bytes.Equal(b, want[f]) {
						t.Errorf("%s: rebuilt index differs (%d vs %d bytes)", f, len(b), len(want[f]))
					}
				}
			}
		})
	}
}

func TestClosedErrors(t *testing.T) {
	p, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, p, 0, 1, 1)
	if err := p.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"sync": p.Sync(),
		"read": func() error { _, err := p.Read(0, 1, 0); return err }(),
		"time": func() error { _, err := p.ReadFromTimestamp(0, 1, 0); return err }(),
		"ret":  func() error { _, err := p.EnforceRetention(); return err }(),
	} {
		if !errors.Is(err, core.ErrClosed) {
			t.Errorf("%s after close: %v", name, err)
		}
	}
}

func TestDirectoryLocked(t *testing.T) {
	dir := t.TempDir()
	mustOpen(t, dir, Options{})
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("second Open of one directory succeeded")
	}
}

func TestFsyncPolicies(t *testing.T) {
	for _, pol := range []FsyncPolicy{FsyncNever, FsyncInterval, FsyncAlways} {
		t.Run(string(pol), func(t *testing.T) {
			dir := t.TempDir()
			p := mustOpen(t, dir, Options{Fsync: pol, FsyncInterval: time.Millisecond, SegmentSize: 500})
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					for range 10 {
						if _, err := p.Append(batchFor(0, 1, 100+i)); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			p = mustOpen(t, dir, Options{Fsync: pol})
			if st := p.Stats(); st.NextOffset != 80 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestWriteFailure makes one group's write fail halfway: the Append fails,
// nothing is published, the partial bytes are cut, the offsets are reused and
// a retry is not taken for a duplicate.
func TestWriteFailure(t *testing.T) {
	dir := t.TempDir()
	o := Options{DedupWindow: time.Minute}
	p, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	mustAppend(t, p, 0, 3, 100)
	boom := errors.New("disk on fire")
	p.w.write = func(f *os.File, bufs [][]byte, off int64) error {
		half := bufs[0][:len(bufs[0])/2]
		if _, err := f.WriteAt(half, off); err != nil {
			return err
		}
		return boom
	}
	mk := func() []byte {
		var b []byte
		for i := range 4 {
			b = appendMsg(b, idOf(uint64(100+i)), payloadFor(uint64(3+i), 100), nil)
		}
		return b
	}
	if _, err := p.Append(mk()); !errors.Is(err, boom) {
		t.Fatalf("append: %v", err)
	}
	if st := p.Stats(); st.NextOffset != 3 || st.SizeBytes != 3*164 {
		t.Fatalf("stats after failure %+v", st)
	}
	if fi, _ := os.Stat(filepath.Join(dir, segmentName(0)+LogSuffix)); fi.Size() != 3*164 {
		t.Fatalf("partial write left in the file: %d bytes", fi.Size())
	}
	p.w.write = pwritev
	r, err := p.Append(mk())
	if err != nil || r.FirstOffset != 3 || r.Count != 4 {
		t.Fatalf("retry: %+v %v", r, err)
	}
	checkChunk(t, mustRead(t, p, 0, 100, 0), 0, 7, 100)
	if r, err := p.Append(mk()); err != nil || r.Count != 0 {
		t.Fatalf("a real duplicate: %+v %v", r, err)
	}
}

func TestDedupBounded(t *testing.T) {
	d := newDedup(time.Second)
	d.max = 100
	batch := func(first uint64, n int) []byte {
		var b []byte
		for i := range n {
			b = appendMsg(b, idOf(first+uint64(i)), nil, nil)
		}
		return b
	}
	for i := range uint64(50) { // 50 batches of 10 new ids, 1 ms apart
		if _, n := d.filter(batch(i*10, 10), 1_000_000+i*1000); n != 10 {
			t.Fatalf("batch %d: kept %d", i, n)
		}
		if len(d.seen) > d.max+10 || d.n > d.max+10 {
			t.Fatalf("%d ids remembered, cap %d", len(d.seen), d.max)
		}
	}
	// The newest ids are still known; pruned old ones are not.
	if _, n := d.filter(batch(490, 10), 1_050_000); n != 0 {
		t.Errorf("recent ids not deduplicated: kept %d", n)
	}
	if _, n := d.filter(batch(0, 10), 1_050_000); n != 10 {
		t.Errorf("evicted ids still deduplicated: kept %d", n)
	}
	// Time alone prunes everything.
	d.filter(batch(10_000, 1), 10_000_000)
	if len(d.seen) != 1 {
		t.Errorf("%d ids after the window passed", len(d.seen))
	}
}

func TestDeleteOldestSegments(t *testing.T) {
	dir := t.TempDir()
	p := mustOpen(t, dir, Options{SegmentSize: 1000})
	var next uint64
	for range 6 { // 6 segments of 5 messages
		mustAppend(t, p, next, 5, 100)
		next += 5
	}
	if st := p.Stats(); st.Segments != 6 {
		t.Fatalf("stats %+v", st)
	}
	// The limit keeps segment [5..9] (last offset 9 > 8) and all after it.
	segs, msgs, err := p.DeleteOldestSegments(3, 8)
	if err != nil || segs != 1 || msgs != 5 {
		t.Fatalf("limited delete: %d segments %d messages, %v", segs, msgs, err)
	}
	if st := p.Stats(); st.FirstOffset != 5 || st.Segments != 5 || st.SizeBytes != 5*820 {
		t.Fatalf("stats after limited delete %+v", st)
	}
	segs, msgs, err = p.DeleteOldestSegments(2, math.MaxUint64)
	if err != nil || segs != 2 || msgs != 10 {
		t.Fatalf("delete 2: %d %d %v", segs, msgs, err)
	}
	// Never the active segment.
	segs, _, err = p.DeleteOldestSegments(100, math.MaxUint64)
	if err != nil || segs != 2 {
		t.Fatalf("delete all: %d %v", segs, err)
	}
	st := p.Stats()
	if st.Segments != 1 || st.FirstOffset != 25 || st.NextOffset != 30 {
		t.Fatalf("stats %+v", st)
	}
	if len(segFiles(t, dir, LogSuffix)) != 1 {
		t.Fatalf("files left: %v", segFiles(t, dir, ""))
	}
	checkChunk(t, mustRead(t, p, 0, 5, 0), 25, 5, 100)
	if segs, _, err := p.DeleteOldestSegments(1, math.MaxUint64); err != nil || segs != 0 {
		t.Fatalf("only the active segment left: %d %v", segs, err)
	}
	p.Close()
	if _, _, err := p.DeleteOldestSegments(1, math.MaxUint64); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestAppendWriterOwnership checks the writer hand-over of Append: an
// uncontended Append writes on its caller's goroutine and leaves no
// goroutine behind; contended Appends all get distinct, contiguous offsets,
// and once they are done the drainer goroutine is gone and the writer idle.
func TestAppendWriterOwnership(t *testing.T) {
	p := mustOpen(t, t.TempDir(), Options{Fsync: FsyncNever})
	before := goleak.IgnoreCurrent()
	mustAppend(t, p, 0, 3, 100)
	goleak.VerifyNone(t, before)

	const writers, batches = 6, 100
	var wg sync.WaitGroup
	var total atomic.Int64
	for w := range writers {
		wg.Go(func() {
			for range batches {
				r, err := p.Append(batchFor(0, 1+w, 64))
				if err != nil {
					t.Error(err)
					return
				}
				total.Add(int64(r.Count))
			}
		})
	}
	wg.Wait()
	goleak.VerifyNone(t, before) // the drainer, if one ran, has ended
	p.qmu.Lock()
	busy, queued := p.writing, len(p.queue)
	p.qmu.Unlock()
	if busy || queued != 0 {
		t.Fatalf("writer busy %v with %d queued after the appends returned", busy, queued)
	}
	if st := p.Stats(); st.NextOffset != 3+uint64(total.Load()) {
		t.Fatalf("next offset %d, want %d", st.NextOffset, 3+total.Load())
	}
	c, err := p.Read(0, int(3+total.Load()), 0)
	if err != nil || c.Count != int(3+total.Load()) {
		t.Fatalf("read back %d messages: %v", c.Count, err)
	}
}
