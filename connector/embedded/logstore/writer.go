package logstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/core"
)

// request is one Append waiting for the writer.
type request struct {
	batch []byte
	n     int
	res   AppendResult
	err   error
	done  chan struct{}
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

// writer is the state owned by the writer: the Append leading a group
// commit or the drainer goroutine (Partition.writing says who).
type writer struct {
	write  func(f *os.File, bufs [][]byte, off int64) error // pwritev; tests inject failures
	act    *segment
	lastTS uint64
	rng    *mrand.ChaCha8
	newID  func() [16]byte
	dedup  *dedup
	spare  []*request
	iovs   [][]byte
	pend   []indexEntry
	idxBuf []byte
	// prealloc is the end of the blocks reserved in act (prealloc.go); 0
	// when none are known. noPrealloc: the filesystem refused.
	prealloc   int64
	noPrealloc bool
}

func (w *writer) init(p *Partition, act *segment, seed [32]byte) {
	w.write = pwritev
	w.act = act
	w.lastTS = p.lastTS
	w.rng = newRand(seed)
	w.newID = w.randomID
}

func (w *writer) release() { w.spare, w.iovs, w.pend = nil, nil, nil }

// randomID returns a random UUIDv4 as Iggy assigns for a zero id: the UUID
// read as a big-endian u128 and written little-endian, so UUID byte i is wire
// byte 15-i (version nibble in byte 9, variant bits in byte 7).
func (w *writer) randomID() [16]byte {
	var id [16]byte
	binary.LittleEndian.PutUint64(id[0:], w.rng.Uint64())
	binary.LittleEndian.PutUint64(id[8:], w.rng.Uint64())
	id[15-6] = id[15-6]&0x0f | 0x40
	id[15-8] = id[15-8]&0x3f | 0x80
	return id
}

// msgSize returns the size of the message at b[pos:]; the batch was validated.
func msgSize(b []byte, pos int) int {
	return iggyproto.MessageHeaderSize +
		int(binary.LittleEndian.Uint32(b[pos+48:])) +
		int(binary.LittleEndian.Uint32(b[pos+52:]))
}

// validateBatch checks that batch is one or more whole messages within the
// size limits and returns how many.
func validateBatch(batch []byte) (int, error) {
	if len(batch) == 0 {
		return 0, fmt.Errorf("%w: empty batch", core.ErrInvalid)
	}
	if len(batch) > maxBatchBytes {
		return 0, fmt.Errorf("%w: batch of %d bytes over the %d limit", core.ErrInvalid, len(batch), maxBatchBytes)
	}
	n, pos := 0, 0
	for pos < len(batch) {
		if len(batch)-pos < iggyproto.MessageHeaderSize {
			return 0, fmt.Errorf("%w: message %d at byte %d: truncated header", core.ErrInvalid, n, pos)
		}
		h := binary.LittleEndian.Uint32(batch[pos+48:])
		pl := binary.LittleEndian.Uint32(batch[pos+52:])
		if pl > iggyproto.MaxPayloadSize || h > iggyproto.MaxUserHeadersSize {
			return 0, fmt.Errorf("%w: message %d at byte %d: payload %d / user headers %d bytes over the limit", core.ErrInvalid, n, pos, pl, h)
		}
		size := iggyproto.MessageHeaderSize + int(pl) + int(h)
		if size > len(batch)-pos {
			return 0, fmt.Errorf("%w: message %d at byte %d: %d bytes declared, %d left", core.ErrInvalid, n, pos, size, len(batch)-pos)
		}
		pos += size
		n++
	}
	return n, nil
}

// Append stores a batch: one or more messages in the Iggy layout, back to
// back (offset, timestamp and checksum fields may hold anything). It validates
// the lengths (core.ErrInvalid otherwise), stamps each message in place
// (offset, one server timestamp for the batch in µs, never earlier than the
// previous batch's, a random UUIDv4 id where the id is zero, then the XXH3
// checksum) and writes it. It returns once the batch is in the file, so it
// survives a crash of the process, and, under FsyncAlways, once it is fsynced.
// Concurrent Appends are written in one group commit, in the order they
// reached the writer; each batch's messages get consecutive offsets. Append
// owns batch until it returns; afterwards batch holds the stored messages,
// stamped, at its start (duplicates dropped by deduplication are compacted
// away, and are neither stored nor counted). After Close it returns
// core.ErrClosed.
//
// An Append that finds the writer idle writes on its own goroutine (with
// whatever else is queued by then), so an uncontended append costs no
// goroutine switch; Appends that arrive meanwhile queue, and if any are left
// when it is done, a drainer goroutine takes over until the queue is empty.
func (p *Partition) Append(batch []byte) (AppendResult, error) {
	n, err := validateBatch(batch)
	if err != nil {
		return AppendResult{}, fmt.Errorf("logstore: append: %w", err)
	}
	r := requestPool.Get().(*request)
	r.batch, r.n = batch, n
	p.qmu.Lock()
	if p.closing || p.failed != nil {
		err := p.failed
		p.qmu.Unlock()
		r.batch = nil
		requestPool.Put(r)
		if err == nil {
			err = core.ErrClosed
		}
		return AppendResult{}, fmt.Errorf("logstore: append: %w", err)
	}
	p.queue = append(p.queue, r)
	lead := !p.writing
	if lead {
		// Counted before Close can see closing, so Close waits for it.
		p.writing = true
		p.wg.Add(1)
	}
	p.qmu.Unlock()
	if lead {
		p.lead()
	}
	<-r.done
	res, err := r.res, r.err
	r.batch, r.err, r.res = nil, nil, AppendResult{}
	requestPool.Put(r)
	if err != nil {
		return AppendResult{}, fmt.Errorf("logstore: append: %w", err)
	}
	return res, nil
}

// lead is run by the Append that made the writer busy (p.writing, counted
// in wg): it commits one group, everything queued, its own batch included;
// then it hands the writer to a drainer goroutine if more was queued
// meanwhile, or makes it idle.
func (p *Partition) lead() {
	defer p.wg.Done()
	if p.commitQueued() {
		return // the queue was empty after all: the writer is idle again
	}
	p.qmu.Lock()
	if len(p.queue) == 0 {
		p.writing = false
		p.qmu.Unlock()
		return
	}
	p.wg.Add(1) // the count of this lead is still held
	p.qmu.Unlock()
	go p.drain()
}

// drain is the drainer goroutine (counted in wg, owning the writer): it
// commits groups until the queue is empty, then makes the writer idle.
func (p *Partition) drain() {
	defer p.wg.Done()
	for !p.commitQueued() {
		if p.opts.Fsync == FsyncAlways {
			// Let the Appenders just released queue their next batches, so
			// the next fsync covers more of them.
			runtime.Gosched()
		}
	}
}

// commitQueued commits everything queued as one group and releases its
// Appends; with nothing queued it makes the writer idle (p.writing false)
// and reports true. The caller owns the writer.
func (p *Partition) commitQueued() (idle bool) {
	p.qmu.Lock()
	reqs := p.queue
	if len(reqs) == 0 {
		p.writing = false
		p.qmu.Unlock()
		return true
	}
	p.queue = p.w.spare[:0]
	p.qmu.Unlock()
	p.commit(reqs)
	for i, r := range reqs {
		r.done <- struct{}{}
		reqs[i] = nil
	}
	p.w.spare = reqs[:0]
	return false
}

// commit stamps and writes one group, rolling segments as needed.
func (p *Partition) commit(reqs []*request) {
	w := &p.w
	ts := max(uint64(p.opts.Now().UnixMicro()), w.lastTS)
	act := w.act
	pos := act.size
	next := act.next
	lastIdx := int64(-1)
	if n := len(act.mem); n > 0 {
		lastIdx = int64(act.mem[n-1].pos)
	}
	start, filtered := 0, -1
	fail := func(from int, err error) {
		for j, r := range reqs[from:] {
			if r.err == nil {
				r.err = err
			}
			if w.dedup != nil && from+j <= filtered {
				w.dedup.forget(r.batch, ts) // a retry must not count as a duplicate
			}
		}
	}
	for i, r := range reqs {
		if w.dedup != nil {
			r.batch, r.n = w.dedup.filter(r.batch, ts)
			filtered = i
		}
		if r.n == 0 {
			r.res = AppendResult{FirstOffset: next, Timestamp: ts}
			continue
		}
		if pos > 0 && pos+int64(len(r.batch)) > p.opts.SegmentSize {
			if err := p.flush(act, pos, next, ts, reqs[start:i]); err != nil {
				fail(start, err)
				return
			}
			var err error
			if act, err = p.roll(act); err != nil {
				fail(i, err)
				return
			}
			pos, lastIdx, start = 0, -1, i
		}
		r.res = AppendResult{FirstOffset: next, Count: r.n, Timestamp: ts}
		b := r.batch
		for mp := 0; mp < len(b); {
			size := msgSize(b, mp)
			iggyproto.Stamp(b[mp:mp+size], next, ts, w.newID)
			if lastIdx < 0 || pos-lastIdx >= IndexInterval {
				w.pend = append(w.pend, indexEntry{rel: uint32(next - act.base), pos: uint32(pos), ts: ts})
				lastIdx = pos
			}
			pos += int64(size)
			mp += size
			next++
		}
		w.iovs = append(w.iovs, b)
	}
	if err := p.flush(act, pos, next, ts, reqs[start:]); err != nil {
		fail(start, err)
	}
}

// flush writes the gathered buffers at the end of act, fsyncs under
// FsyncAlways, appends the pending index entries and publishes the new end.
func (p *Partition) flush(act *segment, end int64, next, ts uint64, reqs []*request) error {
	w := &p.w
	defer func() {
		clear(w.iovs)
		w.iovs = w.iovs[:0]
		w.pend = w.pend[:0]
	}()
	if len(w.iovs) == 0 {
		return nil
	}
	write := w.write
	if f := p.fault.Load(); f != nil {
		write = faultyWrite(*f)
	}
	f := act.data()
	if f == nil { // the first batch of a new partition (segLazy)
		var err error
		if f, err = act.createData(); err != nil {
			return fmt.Errorf("create %s: %w", act.logPath, err)
		}
		p.dirDirty.Store(true) // a new name: synced below under FsyncAlways
	}
	p.preallocate(act, f, end)
	if err := write(f, w.iovs, act.size); err != nil {
		// Cut whatever part of the group reached the file; offsets are reused.
		w.prealloc = 0 // the cut may free the reserve too
		if terr := f.Truncate(act.size); terr != nil {
			p.log.LogAttrs(context.Background(), slog.LevelError, "cannot cut failed write",
				slog.String("segment", act.logPath), slog.Any("err", terr))
		}
		return fmt.Errorf("write %s: %w", act.logPath, err)
	}
	var syncErr error
	if p.opts.Fsync == FsyncAlways {
		err := fdatasync(f)
		if err == nil {
			err = p.syncDirIfDirty()
		}
		if err != nil {
			// The data is in the file but its durability is unknown: refuse
			// further appends rather than pretend.
			syncErr = fmt.Errorf("fsync %s: %w", act.logPath, err)
			p.qmu.Lock()
			p.failed = syncErr
			p.qmu.Unlock()
		}
	}
	if len(w.pend) > 0 && !act.idxBad {
		need := len(w.pend) * IndexEntrySize
		w.idxBuf = slices.Grow(w.idxBuf[:0], need)[:need]
		for i, e := range w.pend {
			putEntry(w.idxBuf[i*IndexEntrySize:], e)
		}
		off := int64(len(act.mem)) * IndexEntrySize
		idx := act.index()
		var err error
		if idx == nil {
			idx, err = act.createIndex()
		}
		if err == nil {
			_, err = idx.WriteAt(w.idxBuf, off)
		}
		if err != nil {
			act.idxBad = true
			p.log.LogAttrs(context.Background(), slog.LevelWarn, "index write failed; index kept in memory and rebuilt on next open",
				slog.String("index", act.idxPath), slog.Any("err", err))
		}
	}
	p.mu.Lock()
	act.mem = append(act.mem, w.pend...)
	p.size += uint64(end - act.size)
	act.size = end
	act.next = next
	act.lastTS = ts
	p.lastTS = ts
	p.mu.Unlock()
	w.lastTS = ts
	p.dirty.Store(true)
	return syncErr
}

// SetWriteFault makes every later write of message data fail with err, as a
// full disk would (pass syscall.ENOSPC): half of the first buffer reaches
// the file, then err is returned; the writer cuts the partial bytes, the
// appends fail and nothing is published. nil restores normal writes. It is
// safe for concurrent use; it exists for fault-injection tests and soak
// tools.
func (p *Partition) SetWriteFault(err error) {
	if err == nil {
		p.fault.Store(nil)
		return
	}
	p.fault.Store(&err)
}

func faultyWrite(fault error) func(f *os.File, bufs [][]byte, off int64) error {
	return func(f *os.File, bufs [][]byte, off int64) error {
		if len(bufs) > 0 {
			if _, err := f.WriteAt(bufs[0][:len(bufs[0])/2], off); err != nil {
				return err
			}
		}
		return fault
	}
}

// syncDirIfDirty fsyncs the directory if a name in it may not be durable
// yet (a new partition's first segment). It holds smu, so it also waits for
// a syncNow that already took the flag and is syncing the directory.
func (p *Partition) syncDirIfDirty() error {
	p.smu.Lock()
	defer p.smu.Unlock()
	if !p.dirDirty.Swap(false) {
		return nil
	}
	if err := syncDir(p.lock); err != nil {
		p.dirDirty.Store(true)
		return err
	}
	return nil
}

// roll closes act and starts a new active segment at its next offset.
func (p *Partition) roll(act *segment) (*segment, error) {
	ns, err := openSegment(p.dir, act.next, segCreate)
	if err != nil {
		return nil, fmt.Errorf("rollover: %w", err)
	}
	p.releaseReserve(act)
	switch p.opts.Fsync {
	case FsyncAlways:
		err = errors.Join(act.syncIndex(), syncDir(p.lock))
	case FsyncInterval:
		act.refs.Add(1)
		p.smu.Lock()
		p.toSync = append(p.toSync, act)
		p.smu.Unlock()
		p.dirDirty.Store(true)
	}
	if err != nil {
		ns.release()
		return nil, fmt.Errorf("rollover: %w", err)
	}
	p.mu.Lock()
	if !act.idxBad {
		act.nidx = int64(len(act.mem))
		act.mem = nil
	}
	p.segs = append(p.segs, ns)
	retain := p.expiry > 0 || p.maxSize > 0
	p.mu.Unlock()
	p.w.act = ns
	if retain {
		if n, err := p.EnforceRetention(); err != nil {
			p.log.LogAttrs(context.Background(), slog.LevelError, "retention on rollover failed", slog.Any("err", err))
		} else if n > 0 {
			p.log.LogAttrs(context.Background(), slog.LevelDebug, "retention dropped segments", slog.Int("segments", n))
		}
	}
	return ns, nil
}
