package logstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// ErrCorrupt is wrapped by a read that starts at a message that failed its
// length, offset or checksum check (the error names the segment, byte
// position and offset). Messages before it stay readable; a read that reaches
// it after returning some messages stops there without an error.
var ErrCorrupt = errors.New("logstore: corrupt segment")

// smallRead is the size of the pooled scratch buffers; a read of at most
// this many bytes goes through one (see readSegmentOnce).
const smallRead = 16 << 10

var scratchPool = sync.Pool{New: func() any { b := make([]byte, smallRead); return &b }}

// Read returns up to maxCount messages starting at offset, and about maxBytes:
// messages are added while the total stays within maxBytes, but the first one
// is always returned, whatever its size (maxBytes <= 0 = no byte limit).
// An offset before the first retained one starts at the first retained one.
// Reading at or past the end (or with maxCount <= 0) returns an empty Chunk and
// no error. Every returned message's checksum has been verified. The Chunk's
// Data is a fresh buffer owned by the caller. Reads never see a partially
// written message and do not block Appends.
func (p *Partition) Read(offset uint64, maxCount int, maxBytes int) (Chunk, error) {
	return p.AppendRead(nil, offset, maxCount, maxBytes)
}

// AppendRead is Read appending the messages to dst: the Chunk's Data is dst
// with the messages after its old content (maxBytes counts only the new
// bytes). A dst with room for them is used without allocating, so a caller
// that reuses its buffers reads without garbage; without room it grows as
// append does. With no message read, Data is dst unchanged (nil for Read).
func (p *Partition) AppendRead(dst []byte, offset uint64, maxCount int, maxBytes int) (Chunk, error) {
	c := Chunk{Data: dst}
	base := len(dst)
	if maxCount <= 0 {
		if _, err := p.viewAt(offset); err != nil && !errors.Is(err, io.EOF) {
			return Chunk{Data: dst}, err
		}
		return c, nil
	}
	for c.Count < maxCount {
		v, err := p.viewAt(offset)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Chunk{Data: dst}, err
		}
		if offset < v.base {
			if c.Count > 0 {
				// Retention removed the rest of what this read was
				// walking; stop rather than leave a gap.
				v.s.release()
				break
			}
			offset = v.base
		}
		if offset >= v.next && !v.corrupt {
			v.s.release()
			break
		}
		bytesLeft := -1
		if maxBytes > 0 {
			bytesLeft = max(maxBytes-(len(c.Data)-base), 0)
		}
		var n int
		c.Data, n, err = p.readSegment(&v, c.Data, offset, maxCount-c.Count, bytesLeft, c.Count == 0)
		v.s.release()
		if c.Count == 0 && n > 0 {
			c.FirstOffset = offset
		}
		c.Count += n
		offset += uint64(n)
		if err != nil {
			if c.Count > 0 {
				break
			}
			return Chunk{Data: dst}, err
		}
		if n == 0 || (maxBytes > 0 && len(c.Data)-base >= maxBytes) {
			break
		}
	}
	if c.Count == 0 {
		c.Data = dst
	}
	return c, nil
}

// ReadFromTimestamp is Read starting at the first message whose server
// timestamp is at or after ts (µs). Server timestamps never decrease along
// the log, so this is also the offset order.
func (p *Partition) ReadFromTimestamp(ts uint64, maxCount int, maxBytes int) (Chunk, error) {
	return p.AppendReadFromTimestamp(nil, ts, maxCount, maxBytes)
}

// AppendReadFromTimestamp is ReadFromTimestamp appending to dst, as
// AppendRead.
func (p *Partition) AppendReadFromTimestamp(dst []byte, ts uint64, maxCount int, maxBytes int) (Chunk, error) {
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return Chunk{Data: dst}, fmt.Errorf("logstore: read: %w", core.ErrClosed)
	}
	i, _ := slices.BinarySearchFunc(p.segs, ts, func(s *segment, ts uint64) int {
		if s.lastTS < ts && s.next != s.base { // an empty (active) segment sorts last
			return -1
		}
		return 1
	})
	if i == len(p.segs) {
		p.mu.RUnlock()
		return Chunk{Data: dst}, nil
	}
	v := p.segs[i].view()
	p.mu.RUnlock()
	off, err := p.seekTime(&v, ts)
	v.s.release()
	if err != nil {
		return Chunk{Data: dst}, err
	}
	return p.AppendRead(dst, off, maxCount, maxBytes)
}

// viewAt returns a view (with a reference) of the segment holding offset, or
// of the first retained segment when offset is before it; io.EOF when offset
// is at or past the end.
func (p *Partition) viewAt(offset uint64) (segView, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return segView{}, fmt.Errorf("logstore: read: %w", core.ErrClosed)
	}
	i, found := slices.BinarySearchFunc(p.segs, offset, func(s *segment, off uint64) int {
		switch {
		case s.base < off:
			return -1
		case s.base > off:
			return 1
		}
		return 0
	})
	if !found && i > 0 {
		i-- // the last segment starting before offset
	}
	for ; i < len(p.segs); i++ {
		s := p.segs[i]
		if offset < s.next || s.corrupt && offset < s.fileNext {
			return s.view(), nil
		}
	}
	return segView{}, io.EOF
}

// corruptErr reports a bad message found by a read.
func (p *Partition) corruptErr(v *segView, pos int64, off uint64, why string) error {
	p.log.LogAttrs(context.Background(), slog.LevelError, "corrupt message",
		slog.String("segment", v.s.logPath), slog.Int64("position", pos), slog.Uint64("offset", off), slog.String("reason", why))
	return fmt.Errorf("%w: %s at byte %d (offset %d): %s", ErrCorrupt, v.s.logPath, pos, off, why)
}

// headerReader reads the message headers of one segment through a pooled
// scratch buffer, so walking many small messages costs few syscalls.
type headerReader struct {
	f          *os.File
	size       int64 // readable bytes of the segment
	bp         *[]byte
	start, end int64 // the buffer holds file bytes [start, end)
}

func newHeaderReader(v *segView) headerReader {
	return headerReader{f: v.s.data(), size: v.size, bp: scratchPool.Get().(*[]byte)}
}

func (r *headerReader) close() { scratchPool.Put(r.bp) }

// at decodes the header at pos; the caller checked pos+header <= size.
func (r *headerReader) at(pos int64) (iggyproto.MessageHeader, error) {
	buf := *r.bp
	if pos < r.start || pos+iggyproto.MessageHeaderSize > r.end {
		n, err := r.f.ReadAt(buf[:min(int64(len(buf)), r.size-pos)], pos)
		if err != nil && !errors.Is(err, io.EOF) {
			return iggyproto.MessageHeader{}, fmt.Errorf("logstore: read %s: %w", r.f.Name(), err)
		}
		r.start, r.end = pos, pos+int64(n)
		if n < iggyproto.MessageHeaderSize {
			return iggyproto.MessageHeader{}, fmt.Errorf("%w: %s: short read at byte %d", ErrCorrupt, r.f.Name(), pos)
		}
	}
	return iggyproto.DecodeMessageHeader(buf[pos-r.start:])
}

// locate returns the byte position of offset off inside v, scanning headers
// forward from the closest index entry (or, without useIndex, from the start).
func (p *Partition) locate(v *segView, off uint64, useIndex bool) (int64, error) {
	var e indexEntry
	if useIndex {
		e = v.floor(uint32(off - v.base))
	}
	pos, cur := int64(e.pos), v.base+uint64(e.rel)
	if cur == off && pos+iggyproto.MessageHeaderSize <= v.size {
		return pos, nil
	}
	hr := newHeaderReader(v)
	defer hr.close()
	for cur < off {
		if pos+iggyproto.MessageHeaderSize > v.size {
			return 0, p.corruptErr(v, pos, cur, "offset not found before the end of the valid data")
		}
		h, err := hr.at(pos)
		if err != nil {
			return 0, err
		}
		if h.Offset != cur || !lengthsOK(h) {
			return 0, p.corruptErr(v, pos, cur, "bad header while seeking")
		}
		pos += int64(h.Size())
		cur++
	}
	return pos, nil
}

// readSegment appends to dst up to maxCount messages of v starting at off,
// within bytesLeft (< 0 = unlimited; mustOne = the first message regardless).
// If the index leads it astray it retries once without the index.
func (p *Partition) readSegment(v *segView, dst []byte, off uint64, maxCount, bytesLeft int, mustOne bool) ([]byte, int, error) {
	if off >= v.next {
		// Inside the unreadable part of a corrupt segment.
		return dst, 0, p.corruptErr(v, v.size, off, "offset lies after a corruption")
	}
	dst, n, err, suspect := p.readSegmentOnce(v, dst, off, maxCount, bytesLeft, mustOne, true)
	if suspect {
		p.log.LogAttrs(context.Background(), slog.LevelWarn, "index does not match the segment; reading without it",
			slog.String("index", v.s.idxPath), slog.Uint64("offset", off))
		dst, n, err, _ = p.readSegmentOnce(v, dst, off, maxCount, bytesLeft, mustOne, false)
	}
	return dst, n, err
}

// readSegmentOnce is one attempt of readSegment; suspect reports a failure
// that a wrong index entry could explain.
func (p *Partition) readSegmentOnce(v *segView, dst []byte, off uint64, maxCount, bytesLeft int, mustOne, useIndex bool) (_ []byte, n int, err error, suspect bool) {
	pos, err := p.locate(v, off, useIndex)
	if err != nil {
		return dst, 0, err, useIndex
	}
	end := v.size
	byCeil := false
	if useIndex && maxCount < int(min(v.next-off, 1<<31)) {
		if cp, ok := v.ceilPos(uint32(off - v.base + uint64(maxCount))); ok && cp > pos {
			end, byCeil = cp, true
		}
	}
	if bytesLeft >= 0 && end-pos > int64(bytesLeft) {
		end, byCeil = pos+int64(bytesLeft), false
		if mustOne {
			var hb [iggyproto.MessageHeaderSize]byte
			if _, err := v.s.data().ReadAt(hb[:], pos); err != nil {
				return dst, 0, fmt.Errorf("logstore: read %s: %w", v.s.logPath, err), false
			}
			h, _ := iggyproto.DecodeMessageHeader(hb[:])
			if !lengthsOK(h) || pos+int64(h.Size()) > v.size {
				return dst, 0, p.corruptErr(v, pos, off, "bad header"), useIndex
			}
			end = max(end, pos+int64(h.Size()))
		}
	}
	if end <= pos {
		return dst, 0, nil, false
	}
	start := len(dst)
	var b []byte
	small := end-pos <= smallRead
	if small {
		// Read into pooled scratch memory, then copy exactly the messages
		// returned into the caller's buffer: append allocates it without
		// clearing it first, and the index's overshoot is not kept.
		bp := scratchPool.Get().(*[]byte)
		defer scratchPool.Put(bp)
		b = (*bp)[:end-pos]
	} else {
		// A big read goes straight into the caller's buffer, sized to the
		// span (grown only when its capacity is short; only the verified
		// messages below are kept).
		dst = slices.Grow(dst, int(end-pos))[:start+int(end-pos)]
		b = dst[start:]
	}
	if _, err := v.s.data().ReadAt(b, pos); err != nil {
		return dst[:start], 0, fmt.Errorf("logstore: read %s: %w", v.s.logPath, err), false
	}
	mp := 0
	for n < maxCount && len(b)-mp >= iggyproto.MessageHeaderSize {
		h, _ := iggyproto.DecodeMessageHeader(b[mp:])
		if !lengthsOK(h) {
			err = p.corruptErr(v, pos+int64(mp), off+uint64(n), "lengths over the limit")
			break
		}
		size := h.Size()
		if size > len(b)-mp {
			if pos+int64(mp+size) > v.size {
				err = p.corruptErr(v, pos+int64(mp), off+uint64(n), "message runs past the valid data")
			}
			break // cut by the byte budget
		}
		if h.Offset != off+uint64(n) {
			err = p.corruptErr(v, pos+int64(mp), off+uint64(n), fmt.Sprintf("offset %d found", h.Offset))
			break
		}
		if iggyproto.Checksum(b[mp:mp+size]) != h.Checksum {
			err = p.corruptErr(v, pos+int64(mp), off+uint64(n), "checksum mismatch")
			break
		}
		mp += size
		n++
	}
	if small {
		dst = append(dst, b[:mp]...)
	} else {
		dst = dst[:start+mp]
	}
	if n > 0 {
		return dst, n, nil, false // a bad message is reported by the read that starts at it
	}
	if err == nil && byCeil {
		err = p.corruptErr(v, pos, off, "index bound cuts the first message")
	}
	if err == nil && len(b) < iggyproto.MessageHeaderSize && (bytesLeft < 0 || mustOne) {
		err = p.corruptErr(v, pos, off, "truncated")
	}
	return dst, 0, err, useIndex && err != nil
}

// seekTime returns the offset of the first message of v whose timestamp is
// >= ts (v.next if none), starting from the index; a wrong index entry makes
// it rescan from the segment start once.
func (p *Partition) seekTime(v *segView, ts uint64) (uint64, error) {
	e := v.floorTime(ts)
	pos, cur := int64(e.pos), v.base+uint64(e.rel)
	hr := newHeaderReader(v)
	defer hr.close()
	retried := false
	for pos+iggyproto.MessageHeaderSize <= v.size {
		h, err := hr.at(pos)
		if err != nil {
			return 0, err
		}
		if !lengthsOK(h) || h.Offset != cur {
			if pos != 0 && !retried {
				pos, cur, retried = 0, v.base, true
				continue
			}
			return 0, p.corruptErr(v, pos, cur, "bad header while seeking by time")
		}
		if h.Timestamp >= ts {
			return cur, nil
		}
		pos += int64(h.Size())
		cur++
	}
	return v.next, nil
}
