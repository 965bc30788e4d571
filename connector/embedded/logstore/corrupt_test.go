package logstore

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// buildLog writes batches of 10 messages of 300 bytes (364 on disk) and
// closes; with 8 KiB segments each closed segment holds 20 messages.
func buildLog(t *testing.T, dir string, batches int) Options {
	t.Helper()
	o := Options{SegmentSize: 8 << 10}
	p := mustOpen(t, dir, o)
	for i := range batches {
		mustAppend(t, p, uint64(i*10), 10, 300)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	return o
}

const msgOnDisk = 64 + 300

func segPath(dir string, base uint64) string {
	return filepath.Join(dir, segmentName(base)+LogSuffix)
}

func reopenLogged(t *testing.T, dir string, o Options) (*Partition, *logBuffer) {
	t.Helper()
	var logs logBuffer
	o.Logger = logs.logger()
	return mustOpen(t, dir, o), &logs
}

func TestTornTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  int64 // bytes kept of the last message (of 364)
	}{{"mid-header", 30}, {"header-only", 64}, {"mid-payload", 200}, {"one-byte-short", msgOnDisk - 1}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := buildLog(t, dir, 5) // 50 messages: segments 0, 20, 40 (10 messages)
			f := segPath(dir, 40)
			if err := os.Truncate(f, 9*msgOnDisk+tc.cut); err != nil {
				t.Fatal(err)
			}
			p, logs := reopenLogged(t, dir, o)
			st := p.Stats()
			if st.NextOffset != 49 {
				t.Fatalf("stats %+v\n%s", st, logs)
			}
			if !strings.Contains(logs.String(), "cutting torn tail") || !strings.Contains(logs.String(), "bytes="+itoa(tc.cut)) ||
				!strings.Contains(logs.String(), "messages=1 ") {
				t.Errorf("cut not logged:\n%s", logs)
			}
			if fi, _ := os.Stat(f); fi.Size() != 9*msgOnDisk {
				t.Errorf("file not cut: %d", fi.Size())
			}
			checkChunk(t, mustRead(t, p, 0, 100, 0), 0, 49, 300)
			mustAppend(t, p, 49, 3, 300) // the offset is reused: it was never acknowledged whole
			checkChunk(t, mustRead(t, p, 40, 100, 0), 40, 12, 300)
		})
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x10
	if _, err := f.WriteAt(b[:], at); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptLastMessage(t *testing.T) {
	dir := t.TempDir()
	o := buildLog(t, dir, 5)
	flipByte(t, segPath(dir, 40), 9*msgOnDisk+100) // payload of offset 49
	p, logs := reopenLogged(t, dir, o)
	if st := p.Stats(); st.NextOffset != 49 {
		t.Fatalf("stats %+v", st)
	}
	if !strings.Contains(logs.String(), "checksum mismatch") || !strings.Contains(logs.String(), "messages=1") {
		t.Errorf("log:\n%s", logs)
	}
}

func TestCorruptClosedSegment(t *testing.T) {
	for _, tc := range []struct {
		name   string
		msg    int64 // message index inside segment 20..39 that gets a flipped byte
		at     int64 // byte inside that message
		atOpen bool  // found by Open (in the segment's tail) or only by reads
	}{
		{"payload-mid-segment", 3, 100, false},
		{"header-mid-segment", 3, 52, false},
		{"payload-at-tail", 19, 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := buildLog(t, dir, 6) // segments 0, 20, 40
			flipByte(t, segPath(dir, 20), tc.msg*msgOnDisk+tc.at)
			p, logs := reopenLogged(t, dir, o)
			bad := 20 + uint64(tc.msg)
			if tc.atOpen != strings.Contains(logs.String(), "corrupt segment") {
				t.Errorf("open-time detection = %v, want %v:\n%s", !tc.atOpen, tc.atOpen, logs)
			}
			if st := p.Stats(); st.NextOffset != 60 || st.FirstOffset != 0 {
				t.Fatalf("stats %+v", st)
			}
			// Readable up to the bad message, never past it within one read.
			c := mustRead(t, p, 0, 100, 0)
			checkChunk(t, c, 0, int(bad), 300)
			if _, err := p.Read(bad, 5, 0); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("read at the bad message: %v", err)
			}
			// The following segment is intact; appends go on.
			checkChunk(t, mustRead(t, p, 40, 100, 0), 40, 20, 300)
			mustAppend(t, p, 60, 2, 300)
			if !strings.Contains(logs.String(), "position="+itoa(tc.msg*msgOnDisk)) {
				t.Errorf("position not logged:\n%s", logs)
			}
		})
	}
}

func TestCorruptMiddleOfLastSegmentTail(t *testing.T) {
	// A bad message with whole valid messages after it in the last segment is
	// not cut: the segment is closed there and the log continues after it.
	dir := t.TempDir()
	o := buildLog(t, dir, 5) // last segment 40: offsets 40..49
	// Offsets 40..49 sit at 0..3640; index entries at 0 and 4096+ only: the
	// whole segment is scanned on open.
	flipByte(t, segPath(dir, 40), 5*msgOnDisk+70)
	p, logs := reopenLogged(t, dir, o)
	if !strings.Contains(logs.String(), "corrupt segment") || !strings.Contains(logs.String(), "valid_messages_after=4") {
		t.Fatalf("log:\n%s", logs)
	}
	st := p.Stats()
	if st.NextOffset != 50 {
		t.Fatalf("stats %+v (acknowledged offsets must not be reused)", st)
	}
	checkChunk(t, mustRead(t, p, 30, 100, 0), 30, 15, 300)
	if _, err := p.Read(46, 1, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read after the corruption: %v", err)
	}
	mustAppend(t, p, 50, 2, 300)
	checkChunk(t, mustRead(t, p, 50, 100, 0), 50, 2, 300)
	p.Close()
	p, _ = reopenLogged(t, dir, o)
	if st := p.Stats(); st.NextOffset != 52 {
		t.Fatalf("after reopen %+v", st)
	}
}

func TestZeroFilledTail(t *testing.T) {
	// After a power loss a file can end in zeros (size updated, data not).
	dir := t.TempDir()
	o := buildLog(t, dir, 5)
	f, err := os.OpenFile(segPath(dir, 40), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(make([]byte, 5000))
	f.Close()
	p, logs := reopenLogged(t, dir, o)
	if st := p.Stats(); st.NextOffset != 50 {
		t.Fatalf("stats %+v", st)
	}
	if !strings.Contains(logs.String(), "bytes=5000") || !strings.Contains(logs.String(), "messages=0 ") {
		t.Errorf("log:\n%s", logs)
	}
	mustAppend(t, p, 50, 1, 300)
}

func TestMissingAndStrayFiles(t *testing.T) {
	dir := t.TempDir()
	o := buildLog(t, dir, 6)
	// A stray index (retention crashed between the two removes) and an empty
	// closed segment (crash right after a rollover created it, then more).
	os.WriteFile(filepath.Join(dir, segmentName(999)+IndexSuffix), []byte("junk"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	// A crash right after a rollover leaves an empty last segment.
	os.WriteFile(segPath(dir, 60), nil, 0o644)
	p, _ := reopenLogged(t, dir, o)
	if _, err := os.Stat(filepath.Join(dir, segmentName(999)+IndexSuffix)); !os.IsNotExist(err) {
		t.Errorf("stray index kept: %v", err)
	}
	checkChunk(t, mustRead(t, p, 0, 100, 0), 0, 60, 300)
	c, err := p.ReadFromTimestamp(0, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkChunk(t, c, 0, 1, 300)
	if st := p.Stats(); st.Segments != 4 || st.NextOffset != 60 {
		t.Fatalf("stats %+v", st)
	}
	mustAppend(t, p, 60, 1, 300)
}

func TestWrongIndexEntries(t *testing.T) {
	// Index entries that pass the open-time checks but point at the wrong
	// message: reads notice, log, and fall back to scanning.
	dir := t.TempDir()
	o := Options{SegmentSize: 64 << 10}
	p := mustOpen(t, dir, o)
	for i := range 40 {
		mustAppend(t, p, uint64(i*10), 10, 300)
	}
	p.Close()
	idx := filepath.Join(dir, segmentName(0)+IndexSuffix)
	b, _ := os.ReadFile(idx)
	if len(b) < 6*IndexEntrySize {
		t.Fatalf("index %d bytes", len(b))
	}
	// Swap the positions of entries 2 and 3: still plausible numbers.
	e2, e3 := getEntry(b[2*IndexEntrySize:]), getEntry(b[3*IndexEntrySize:])
	e2.pos, e3.pos = e3.pos, e2.pos
	putEntry(b[2*IndexEntrySize:], e2)
	putEntry(b[3*IndexEntrySize:], e3)
	os.WriteFile(idx, b, 0o644)
	p, logs := reopenLogged(t, dir, o)
	for off := uint64(0); off < 60; off++ {
		checkChunk(t, mustRead(t, p, off, 7, 0), off, 7, 300)
	}
	if !strings.Contains(logs.String(), "index does not match") {
		t.Errorf("no warning:\n%s", logs)
	}
}
