package logstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// scanBufSize is the read size used when scanning segments.
const scanBufSize = 1 << 20

// recover loads every segment of the directory (see Open).
func (p *Partition) recover() error {
	ents, err := os.ReadDir(p.dir)
	if err != nil {
		return fmt.Errorf("logstore: %w", err)
	}
	var bases []uint64
	logs := map[string]bool{}
	for _, e := range ents {
		if b, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			bases = append(bases, b)
			logs[segmentName(b)] = true
		}
	}
	for _, e := range ents { // an index without its log is left over from retention
		if stem, ok := strings.CutSuffix(e.Name(), IndexSuffix); ok && !logs[stem] && len(stem) == 20 {
			p.log.LogAttrs(context.Background(), slog.LevelWarn, "removing index without segment", slog.String("index", e.Name()))
			_ = os.Remove(filepath.Join(p.dir, e.Name()))
		}
	}
	slices.Sort(bases)
	for i, base := range bases {
		s, err := openSegment(p.dir, base, segOpen)
		if err != nil {
			return err
		}
		last := i == len(bases)-1
		if err := p.recoverSegment(s, last); err != nil {
			s.release()
			return err
		}
		if s.size == 0 && !last && !s.corrupt {
			// An empty closed segment holds nothing; drop it.
			p.log.LogAttrs(context.Background(), slog.LevelWarn, "removing empty closed segment", slog.String("segment", s.logPath))
			s.release()
			_ = os.Remove(s.logPath)
			_ = os.Remove(s.idxPath)
			continue
		}
		if n := len(p.segs); n > 0 {
			prev := p.segs[n-1]
			if prev.next != s.base {
				p.log.LogAttrs(context.Background(), slog.LevelError, "offset gap between segments",
					slog.String("segment", s.logPath), slog.Uint64("previous_end", prev.next), slog.Uint64("base", s.base))
			}
			if prev.next < s.base {
				// Offsets in between are unreadable: reads report ErrCorrupt
				// rather than skip them silently.
				prev.corrupt = true
				prev.fileNext = s.base
			}
		}
		p.segs = append(p.segs, s)
	}
	if len(p.segs) == 0 || p.segs[len(p.segs)-1].corrupt {
		var base uint64
		if n := len(p.segs); n > 0 {
			base = max(p.segs[n-1].fileNext, p.segs[n-1].base+1)
		}
		mode := segLazy // a partition without segments: see segLazy
		if len(p.segs) > 0 {
			mode = segCreate
		}
		s, err := openSegment(p.dir, base, mode)
		if err != nil {
			return err
		}
		p.segs = append(p.segs, s)
		// A new name (segCreate; segLazy makes it with the first batch)
		// reaches stable storage with the first sync: before the first
		// Append under FsyncAlways returns (see flush), within the
		// interval, or on Sync and Close. Syncing here would cost a
		// directory fsync per partition, and the segment holds no
		// acknowledged data until then.
		if mode == segCreate {
			p.dirDirty.Store(true)
		}
	}
	return nil
}

// recoverSegment validates s's index and tail and sets its published state.
// For the last segment a bad tail is cut; for a closed one it is logged and
// the segment is readable up to it.
func (p *Partition) recoverSegment(s *segment, last bool) error {
	st, err := s.data().Stat()
	if err != nil {
		return fmt.Errorf("logstore: %w", err)
	}
	fileSize := st.Size()
	if fileSize > maxSegmentSize+maxBatchBytes {
		return fmt.Errorf("logstore: segment %s: %d bytes is over the 3 GiB a segment can hold", s.logPath, fileSize)
	}
	idx := s.index() // recovery opens existing segments: never nil
	ist, err := idx.Stat()
	if err != nil {
		return fmt.Errorf("logstore: %w", err)
	}
	nidx := ist.Size() / IndexEntrySize
	stale := ist.Size()%IndexEntrySize != 0

	// Find the last index entry that points at the message it claims.
	var entries []indexEntry // only loaded for the last segment
	k := int64(-1)
	var start indexEntry
	if last {
		buf := make([]byte, nidx*IndexEntrySize)
		if _, err := io.ReadFull(io.NewSectionReader(idx, 0, int64(len(buf))), buf); err != nil {
			return fmt.Errorf("logstore: read index %s: %w", s.idxPath, err)
		}
		entries = make([]indexEntry, 0, nidx)
		for i := range nidx {
			e := getEntry(buf[i*IndexEntrySize:])
			if !entryFollows(entries, e, fileSize) {
				stale = true
				break
			}
			entries = append(entries, e)
		}
		for k = int64(len(entries)) - 1; k >= 0 && !p.entryValid(s, entries[k], fileSize); k-- {
			stale = true
		}
	} else {
		found := false
		for k = nidx - 1; k >= max(0, nidx-8); k-- {
			var b [IndexEntrySize]byte
			if _, err := idx.ReadAt(b[:], k*IndexEntrySize); err == nil {
				e := getEntry(b[:])
				if (k > 0 || (e.rel == 0 && e.pos == 0)) && p.entryValid(s, e, fileSize) {
					found = true
					break
				}
			}
			stale = true
		}
		if !found {
			k = -1
		}
	}
	if k >= 0 {
		if last {
			start = entries[k]
			entries = entries[:k+1]
		} else {
			var b [IndexEntrySize]byte
			_, _ = idx.ReadAt(b[:], k*IndexEntrySize)
			start = getEntry(b[:])
		}
	} else if nidx > 0 || fileSize > 0 {
		stale = true
		entries = entries[:0]
	}
	if k+1 != nidx {
		stale = true
	}

	res, err := p.scan(s, int64(start.pos), s.base+uint64(start.rel), k >= 0, fileSize)
	if err != nil {
		return err
	}
	if len(res.entries) > 0 {
		stale = true
	}
	if stale {
		p.log.LogAttrs(context.Background(), slog.LevelWarn, "rebuilding stale index",
			slog.String("index", s.idxPath), slog.Int64("kept_entries", k+1), slog.Int("rebuilt_entries", len(res.entries)))
		if err := rewriteIndexTail(s, k+1, res.entries); err != nil {
			return err
		}
	}
	s.size, s.next, s.lastTS = res.end, res.next, res.lastTS
	if k >= 0 && res.lastTS == 0 {
		s.lastTS = start.ts
	}
	s.fileNext = res.next
	if last {
		s.mem = append(entries, res.entries...)
	} else {
		s.nidx = k + 1 + int64(len(res.entries))
	}
	if res.end == fileSize {
		return nil
	}
	cut := countMessages(s, res.end, fileSize)
	if last && cut.validAfter == 0 {
		p.log.LogAttrs(context.Background(), slog.LevelWarn, "cutting torn tail",
			slog.String("segment", s.logPath), slog.Int64("from", res.end), slog.Int64("to", fileSize),
			slog.Int64("bytes", fileSize-res.end), slog.Int("messages", cut.messages), slog.String("reason", res.reason))
		if err := s.data().Truncate(res.end); err != nil {
			return fmt.Errorf("logstore: cut torn tail of %s: %w", s.logPath, err)
		}
		return nil
	}
	// Corruption with whole messages behind it: never cut acknowledged data
	// silently. The segment is closed here and stays readable up to the bad
	// message; the log continues in a new segment after the last valid offset.
	s.corrupt = true
	if cut.maxOffset >= s.next {
		s.fileNext = cut.maxOffset + 1
	}
	p.log.LogAttrs(context.Background(), slog.LevelError, "corrupt segment: readable up to the bad message",
		slog.String("segment", s.logPath), slog.Int64("position", res.end), slog.Uint64("offset", res.next),
		slog.Int64("file_size", fileSize), slog.String("reason", res.reason),
		slog.Int("valid_messages_after", cut.validAfter))
	if last { // it is closed now: a new segment follows (see recover)
		s.nidx = int64(len(s.mem))
		s.mem = nil
	}
	return nil
}

// entryFollows reports whether e may follow prev (monotonic, inside the file).
func entryFollows(prev []indexEntry, e indexEntry, fileSize int64) bool {
	if int64(e.pos)+iggyproto.MessageHeaderSize > fileSize {
		return false
	}
	if len(prev) == 0 {
		return e.rel == 0 && e.pos == 0
	}
	l := prev[len(prev)-1]
	return e.rel > l.rel && e.pos > l.pos && e.ts >= l.ts
}

// entryValid reports whether the message e points at has e's offset and
// timestamp and a correct checksum.
func (p *Partition) entryValid(s *segment, e indexEntry, fileSize int64) bool {
	var hb [iggyproto.MessageHeaderSize]byte
	if _, err := s.data().ReadAt(hb[:], int64(e.pos)); err != nil {
		return false
	}
	h, _ := iggyproto.DecodeMessageHeader(hb[:])
	if h.Offset != s.base+uint64(e.rel) || h.Timestamp != e.ts || !lengthsOK(h) || int64(e.pos)+int64(h.Size()) > fileSize {
		return false
	}
	msg := make([]byte, h.Size())
	if _, err := s.data().ReadAt(msg, int64(e.pos)); err != nil {
		return false
	}
	return iggyproto.Checksum(msg) == h.Checksum
}

func lengthsOK(h iggyproto.MessageHeader) bool {
	return h.PayloadLength <= iggyproto.MaxPayloadSize && h.UserHeadersLength <= iggyproto.MaxUserHeadersSize
}

type scanResult struct {
	end     int64  // position after the last valid message
	next    uint64 // offset after it
	lastTS  uint64
	entries []indexEntry // index entries for messages after the start entry
	reason  string       // why the scan stopped before the file's end
}

// scan verifies messages from pos (which holds offset off; haveEntry says an
// index entry already covers it) to fileSize: lengths, offsets in sequence,
// timestamps not decreasing, checksums. It returns where the valid run ends
// and the index entries the run needs.
func (p *Partition) scan(s *segment, pos int64, off uint64, haveEntry bool, fileSize int64) (scanResult, error) {
	res := scanResult{end: pos, next: off}
	lastIdx := int64(-1)
	if haveEntry {
		lastIdx = pos
	}
	buf := make([]byte, min(scanBufSize, max(fileSize-pos, 0)))
	var bufStart, bufLen int64 // buf holds file bytes [bufStart, bufStart+bufLen)
	for pos < fileSize {
		// Make sure the header is buffered.
		if pos+iggyproto.MessageHeaderSize > bufStart+bufLen {
			if n, err := s.data().ReadAt(buf, pos); err != nil && !errors.Is(err, io.EOF) {
				return res, fmt.Errorf("logstore: read %s: %w", s.logPath, err)
			} else {
				bufStart, bufLen = pos, int64(n)
			}
			if bufLen < iggyproto.MessageHeaderSize {
				res.reason = "truncated header"
				return res, nil
			}
		}
		h, _ := iggyproto.DecodeMessageHeader(buf[pos-bufStart:])
		size := int64(h.Size())
		switch {
		case !lengthsOK(h):
			res.reason = "lengths over the limit"
		case pos+size > fileSize:
			res.reason = "truncated message"
		case h.Offset != res.next:
			res.reason = fmt.Sprintf("offset %d where %d expected", h.Offset, res.next)
		case h.Timestamp < res.lastTS:
			res.reason = "timestamp goes backwards"
		}
		if res.reason != "" {
			return res, nil
		}
		var msg []byte
		if pos+size <= bufStart+bufLen {
			msg = buf[pos-bufStart : pos-bufStart+size]
		} else if size <= int64(len(buf)) {
			n, err := s.data().ReadAt(buf, pos)
			if err != nil && !errors.Is(err, io.EOF) {
				return res, fmt.Errorf("logstore: read %s: %w", s.logPath, err)
			}
			bufStart, bufLen = pos, int64(n)
			msg = buf[:size]
		} else {
			msg = make([]byte, size)
			if _, err := s.data().ReadAt(msg, pos); err != nil {
				return res, fmt.Errorf("logstore: read %s: %w", s.logPath, err)
			}
		}
		if iggyproto.Checksum(msg) != h.Checksum {
			res.reason = "checksum mismatch"
			return res, nil
		}
		if lastIdx < 0 || pos-lastIdx >= IndexInterval {
			res.entries = append(res.entries, indexEntry{rel: uint32(h.Offset - s.base), pos: uint32(pos), ts: h.Timestamp})
			lastIdx = pos
		}
		pos += size
		res.end, res.next, res.lastTS = pos, h.Offset+1, h.Timestamp
	}
	return res, nil
}

type cutInfo struct {
	messages   int    // messages starting in the cut range, the torn last one included
	validAfter int    // whole messages after the first one with a correct checksum
	maxOffset  uint64 // highest offset among those
}

// countMessages walks the bytes [pos, fileSize) by declared lengths, for the
// recovery report, and tells whether valid messages follow the bad one. A
// zero-filled header (a power-loss hole) ends the walk.
func countMessages(s *segment, pos, fileSize int64) cutInfo {
	var ci cutInfo
	var hb [iggyproto.MessageHeaderSize]byte
	for first := true; pos < fileSize; first = false {
		n, _ := s.data().ReadAt(hb[:], pos)
		if n < iggyproto.MessageHeaderSize {
			ci.messages++ // a torn header
			break
		}
		if hb == ([iggyproto.MessageHeaderSize]byte{}) {
			break
		}
		ci.messages++
		h, _ := iggyproto.DecodeMessageHeader(hb[:])
		if !lengthsOK(h) || pos+int64(h.Size()) > fileSize {
			break
		}
		if !first {
			msg := make([]byte, h.Size())
			if _, err := s.data().ReadAt(msg, pos); err == nil && iggyproto.Checksum(msg) == h.Checksum {
				ci.validAfter++
				ci.maxOffset = max(ci.maxOffset, h.Offset)
			}
		}
		pos += int64(h.Size())
	}
	return ci
}

// rewriteIndexTail keeps the first keep entries of s's index file and writes
// add after them.
func rewriteIndexTail(s *segment, keep int64, add []indexEntry) error {
	idx := s.index()
	if err := idx.Truncate(keep * IndexEntrySize); err != nil {
		return fmt.Errorf("logstore: rebuild index %s: %w", s.idxPath, err)
	}
	if len(add) == 0 {
		return nil
	}
	buf := make([]byte, len(add)*IndexEntrySize)
	for i, e := range add {
		putEntry(buf[i*IndexEntrySize:], e)
	}
	if _, err := idx.WriteAt(buf, keep*IndexEntrySize); err != nil {
		return fmt.Errorf("logstore: rebuild index %s: %w", s.idxPath, err)
	}
	return nil
}

// loadDedup fills the dedup window from the messages appended within it
// before the partition was (re)opened.
func (p *Partition) loadDedup() {
	now := uint64(p.opts.Now().UnixMicro())
	from := uint64(0)
	if w := p.w.dedup.window; now > w {
		from = now - w
	}
	c, err := p.ReadFromTimestamp(from, 1, 0)
	if err != nil || c.Count == 0 {
		return
	}
	off := c.FirstOffset
	if next := p.segs[len(p.segs)-1].next; next-off > uint64(p.w.dedup.max) {
		off = next - uint64(p.w.dedup.max) // only the newest ids fit anyway
	}
	for {
		c, err := p.Read(off, 10000, 8<<20)
		if err != nil || c.Count == 0 {
			return
		}
		_ = iggyproto.WalkMessages(c.Data, func(m iggyproto.MessageView) error {
			p.w.dedup.prune(m.Header.Timestamp)
			p.w.dedup.remember(m.Header.ID, m.Header.Timestamp)
			return nil
		})
		off = c.FirstOffset + uint64(c.Count)
	}
}
