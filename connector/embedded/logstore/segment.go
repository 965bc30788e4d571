package logstore

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
)

// On-disk names and sizes.
const (
	// LogSuffix ends the name of a segment's message file.
	LogSuffix = ".log"
	// IndexSuffix ends the name of a segment's sparse index file.
	IndexSuffix = ".index"
	// IndexEntrySize is the size of one index entry: u32 relative offset,
	// u32 byte position, u64 timestamp (µs), little-endian.
	IndexEntrySize = 16
	// IndexInterval is the number of message bytes after which the next
	// message gets an index entry. The first message of a segment always has one.
	IndexInterval = 4096
)

// indexEntry locates one message inside its segment.
type indexEntry struct {
	rel uint32 // offset - segment base
	pos uint32 // byte position in the .log file
	ts  uint64 // the message's server timestamp, µs
}

func putEntry(b []byte, e indexEntry) {
	binary.LittleEndian.PutUint32(b[0:], e.rel)
	binary.LittleEndian.PutUint32(b[4:], e.pos)
	binary.LittleEndian.PutUint64(b[8:], e.ts)
}

func getEntry(b []byte) indexEntry {
	return indexEntry{
		rel: binary.LittleEndian.Uint32(b[0:]),
		pos: binary.LittleEndian.Uint32(b[4:]),
		ts:  binary.LittleEndian.Uint64(b[8:]),
	}
}

func segmentName(base uint64) string { return fmt.Sprintf("%020d", base) }

// parseSegmentName returns the base offset of a "<20 digits>.log" name.
func parseSegmentName(name string) (uint64, bool) {
	stem, ok := strings.CutSuffix(name, LogSuffix)
	if !ok || len(stem) != 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(stem, 10, 64)
	return v, err == nil
}

// segment is one .log/.index pair. Fields below "published" are written only
// by the writer (or Open) while holding Partition.mu, and read by
// others under Partition.mu.RLock; the writer reads them without the lock.
type segment struct {
	base    uint64
	logPath string
	idxPath string
	// log is the message file; nil only in the first segment of a new
	// partition until the writer stores its first batch (see segLazy).
	// Read with data().
	log atomic.Pointer[os.File]
	// idx is the index file; nil in a segment created by this process
	// until the writer stores its first entry (creating a file is what
	// creating a partition mostly costs, and the index can be rebuilt).
	// Set by the writer; read with index().
	idx atomic.Pointer[os.File]
	// refs counts the owner (the partition's segment list) plus readers in
	// flight; the files are closed when it drops to zero.
	refs atomic.Int32

	// published state
	size    int64        // bytes of whole, verified messages (readers stop here)
	next    uint64       // offset after the last message
	lastTS  uint64       // timestamp of the last message; 0 when empty
	mem     []indexEntry // index in memory (active segment; nil once closed)
	nidx    int64        // entries in the index file (used when mem is nil)
	corrupt bool         // size marks corruption found in a closed segment

	// fileNext is the offset after the last message recovery found in the
	// file, valid or not; a new segment after a corrupt one starts there.
	fileNext uint64

	// writer-owned
	idxBad bool // an index write failed: keep mem, do not trust the file
}

// segMode says how openSegment gets a segment's files.
type segMode int

const (
	// segOpen opens an existing segment (a missing index is created empty).
	segOpen segMode = iota
	// segCreate makes a new segment: its .log, not yet its index (see
	// segment.idx).
	segCreate
	// segLazy makes the first segment of a partition that has none, with
	// no file at all until the first batch: creating files is what
	// creating a partition mostly costs. Only there is it safe: a crash
	// before the first write leaves a directory without segments, which
	// recovery turns into the same empty segment at offset 0. A segment
	// that follows others must exist on disk at once (retention may
	// remove those, and the next offset would be lost with them).
	segLazy
)

// openSegment opens or makes the segment at base (see segMode).
func openSegment(dir string, base uint64, mode segMode) (*segment, error) {
	name := segmentName(base)
	s := &segment{
		base:    base,
		next:    base,
		logPath: filepath.Join(dir, name+LogSuffix),
		idxPath: filepath.Join(dir, name+IndexSuffix),
	}
	s.refs.Store(1)
	if mode == segLazy {
		return s, nil
	}
	flag := os.O_RDWR
	if mode == segCreate {
		flag |= os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(s.logPath, flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("logstore: open segment: %w", err)
	}
	s.log.Store(f)
	if mode == segOpen {
		idx, err := os.OpenFile(s.idxPath, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("logstore: open index: %w", err)
		}
		s.idx.Store(idx)
	}
	return s, nil
}

// data returns the message file, nil if a lazy segment has none yet.
func (s *segment) data() *os.File { return s.log.Load() }

// createData creates the message file of a lazy segment (the writer).
func (s *segment) createData() (*os.File, error) {
	f, err := os.OpenFile(s.logPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	s.log.Store(f)
	return f, nil
}

// syncData fdatasyncs the message file, if there is one.
func (s *segment) syncData() error {
	if f := s.data(); f != nil {
		return fdatasync(f)
	}
	return nil
}

// release drops one reference; the last one closes the files.
func (s *segment) release() {
	if s.refs.Add(-1) == 0 {
		if f := s.data(); f != nil {
			f.Close()
		}
		if idx := s.index(); idx != nil {
			idx.Close()
		}
	}
}

// index returns the index file, nil if the segment has none yet.
func (s *segment) index() *os.File { return s.idx.Load() }

// createIndex creates the index file of a new segment (the writer).
func (s *segment) createIndex() (*os.File, error) {
	f, err := os.OpenFile(s.idxPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	s.idx.Store(f)
	return f, nil
}

// syncIndex fdatasyncs the index file, if there is one.
func (s *segment) syncIndex() error {
	if idx := s.index(); idx != nil {
		return fdatasync(idx)
	}
	return nil
}

// segView is a reader's snapshot of a segment, taken under Partition.mu.RLock
// with a reference held.
type segView struct {
	s       *segment
	base    uint64
	size    int64
	next    uint64
	lastTS  uint64
	mem     []indexEntry
	nidx    int64
	corrupt bool
}

func (s *segment) view() segView {
	s.refs.Add(1)
	return segView{s: s, base: s.base, size: s.size, next: s.next, lastTS: s.lastTS,
		mem: s.mem, nidx: s.nidx, corrupt: s.corrupt}
}

func (v *segView) entries() int64 {
	if v.mem != nil {
		return int64(len(v.mem))
	}
	return v.nidx
}

func (v *segView) entry(i int64) (indexEntry, error) {
	if v.mem != nil {
		return v.mem[i], nil
	}
	var b [IndexEntrySize]byte
	idx := v.s.index()
	if idx == nil { // entries come from mem until the file exists
		return indexEntry{}, os.ErrNotExist
	}
	if _, err := idx.ReadAt(b[:], i*IndexEntrySize); err != nil {
		return indexEntry{}, err
	}
	return getEntry(b[:]), nil
}

// search returns the smallest i in [0, n) with pred(entry(i)) true, or n.
// pred must be monotonic (false...false true...true).
func (v *segView) search(pred func(indexEntry) bool) (int64, error) {
	lo, hi := int64(0), v.entries()
	for lo < hi {
		mid := lo + (hi-lo)/2
		e, err := v.entry(mid)
		if err != nil {
			return 0, err
		}
		if pred(e) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// floor returns the last entry at or before relative offset rel, or the
// segment start when there is none (or the index cannot be read).
func (v *segView) floor(rel uint32) indexEntry {
	i, err := v.search(func(e indexEntry) bool { return e.rel > rel })
	if err != nil || i == 0 {
		return indexEntry{}
	}
	e, err := v.entry(i - 1)
	if err != nil || int64(e.pos) >= v.size {
		return indexEntry{}
	}
	return e
}

// ceilPos returns the position of the first entry at or after relative offset
// rel, if there is one inside the readable part.
func (v *segView) ceilPos(rel uint32) (int64, bool) {
	i, err := v.search(func(e indexEntry) bool { return e.rel >= rel })
	if err != nil || i >= v.entries() {
		return 0, false
	}
	e, err := v.entry(i)
	if err != nil || int64(e.pos) > v.size {
		return 0, false
	}
	return int64(e.pos), true
}

// floorTime returns the last entry whose timestamp is before ts, or the
// segment start.
func (v *segView) floorTime(ts uint64) indexEntry {
	i, err := v.search(func(e indexEntry) bool { return e.ts >= ts })
	if err != nil || i == 0 {
		return indexEntry{}
	}
	e, err := v.entry(i - 1)
	if err != nil || int64(e.pos) >= v.size {
		return indexEntry{}
	}
	return e
}
