package logstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

// AppendResult describes a stored batch.
type AppendResult struct {
	FirstOffset uint64 // offset of the first stored message
	Count       int    // messages stored (after deduplication)
	Timestamp   uint64 // the batch's server timestamp, µs
}

// Chunk is the answer to a read: whole messages, exactly as stored.
type Chunk struct {
	Data        []byte // Count messages, Iggy layout, back to back; owned by the caller
	Count       int
	FirstOffset uint64
}

// Stats is a snapshot of a partition's extent.
type Stats struct {
	FirstOffset   uint64 // first retained offset
	NextOffset    uint64 // offset the next message will get; Messages() == NextOffset-FirstOffset
	SizeBytes     uint64 // bytes of messages retained
	Segments      int
	LastTimestamp uint64 // server timestamp of the newest message, µs; 0 when empty
}

// Messages returns the number of retained messages.
func (s Stats) Messages() uint64 { return s.NextOffset - s.FirstOffset }

// Partition is one partition's log in one directory. It is safe for
// concurrent use. Under FsyncInterval it owns one syncer goroutine until
// Close; while Appends contend it runs one drainer goroutine (see Append),
// which Close also waits for.
type Partition struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File // the locked directory

	// mu guards segs, the published fields of every segment, retention
	// settings, lastTS and closed. Never held across I/O.
	mu       sync.RWMutex
	segs     []*segment // ascending base; the last one is active
	expiry   time.Duration
	maxSize  uint64
	lastTS   uint64
	size     uint64 // sum of the segments' sizes
	closed   bool
	closeErr error

	// queue of Appends waiting for the writer
	qmu     sync.Mutex
	queue   []*request
	closing bool
	failed  error                 // sticky fsync failure
	fault   atomic.Pointer[error] // SetWriteFault
	// writing: an Append (lead) or the drainer goroutine owns the writer
	// state w and will commit what is queued.
	writing bool
	quit    chan struct{}
	wg      sync.WaitGroup // the writer's owner and the syncer goroutine
	once    sync.Once

	// sync bookkeeping
	smu      sync.Mutex
	toSync   []*segment // closed segments not yet fsynced (a reference held)
	dirty    atomic.Bool
	dirDirty atomic.Bool

	w writer // writer state, owned by whoever set writing
}

// Open opens or creates the partition in dir, recovering it: each segment's
// tail is checked by header lengths and checksum, a torn or corrupt tail of
// the last segment is cut (and logged), and missing or stale indexes are
// rebuilt. Corruption inside a closed segment is logged and the segment stays
// readable up to it. Open takes an exclusive lock on dir until Close.
func Open(dir string, opts Options) (*Partition, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("logstore: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("logstore: lock %s: %w", dir, err)
	}
	p := &Partition{
		dir:     dir,
		opts:    opts,
		log:     opts.Logger.With("component", "logstore", "dir", dir),
		lock:    lock,
		expiry:  opts.MessageExpiry,
		maxSize: opts.MaxSize,
		quit:    make(chan struct{}),
	}
	if err := p.recover(); err != nil {
		for _, s := range p.segs {
			s.release()
		}
		lock.Close()
		return nil, err
	}
	act := p.segs[len(p.segs)-1]
	for _, s := range p.segs {
		p.size += uint64(s.size)
	}
	for _, s := range slices.Backward(p.segs) {
		if s.lastTS != 0 {
			p.lastTS = s.lastTS
			break
		}
	}
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	p.w.init(p, act, seed)
	if opts.DedupWindow > 0 {
		p.w.dedup = newDedup(opts.DedupWindow)
		p.loadDedup()
	}
	if opts.Fsync == FsyncInterval {
		p.wg.Add(1)
		go p.syncLoop()
	}
	return p, nil
}

// newRand returns the writer's id generator (ChaCha8 seeded from crypto/rand).
func newRand(seed [32]byte) *mrand.ChaCha8 { return mrand.NewChaCha8(seed) }

// Stats returns a snapshot of the partition's extent. After Close it returns
// the zero Stats.
func (p *Partition) Stats() Stats {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed || len(p.segs) == 0 {
		return Stats{}
	}
	st := Stats{
		FirstOffset:   p.segs[0].base,
		NextOffset:    p.segs[len(p.segs)-1].next,
		Segments:      len(p.segs),
		LastTimestamp: p.lastTS,
	}
	st.SizeBytes = p.size
	return st
}

// SetRetention changes the message expiry and size cap (0 = off) used by
// EnforceRetention and by the check made on each segment rollover.
func (p *Partition) SetRetention(expiry time.Duration, maxSize uint64) {
	p.mu.Lock()
	p.expiry, p.maxSize = expiry, maxSize
	p.mu.Unlock()
}

// Sync forces everything appended so far to stable storage (data of the
// active segment and of segments closed since the last sync, their indexes
// and the directory). It returns core.ErrClosed after Close.
func (p *Partition) Sync() error {
	p.mu.RLock()
	closed := p.closed
	p.mu.RUnlock()
	if closed {
		return fmt.Errorf("logstore: sync: %w", core.ErrClosed)
	}
	return p.syncNow()
}

// syncNow fsyncs pending closed segments, the active segment and, if names
// changed, the directory.
func (p *Partition) syncNow() error {
	p.smu.Lock()
	defer p.smu.Unlock()
	pending := p.toSync
	p.toSync = nil
	p.dirty.Store(false)
	var errs []error
	for _, s := range pending {
		errs = append(errs, s.syncData(), s.syncIndex())
		s.release()
	}
	p.mu.RLock()
	var act *segment
	if !p.closed && len(p.segs) > 0 {
		act = p.segs[len(p.segs)-1]
		act.refs.Add(1)
	}
	p.mu.RUnlock()
	if act != nil {
		errs = append(errs, act.syncData(), act.syncIndex())
		act.release()
	}
	if p.dirDirty.Swap(false) {
		errs = append(errs, syncDir(p.lock))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("logstore: sync %s: %w", p.dir, err)
	}
	return nil
}

// syncLoop is the FsyncInterval goroutine: it fsyncs what was written every
// interval. It exits when quit is closed.
func (p *Partition) syncLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.opts.FsyncInterval)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			p.smu.Lock()
			needed := len(p.toSync) > 0 || p.dirDirty.Load()
			p.smu.Unlock()
			if needed || p.dirty.Load() {
				if err := p.syncNow(); err != nil {
					p.log.LogAttrs(context.Background(), slog.LevelError, "periodic fsync failed", slog.Any("err", err))
				}
			}
		}
	}
}

// Close stops accepting Appends, waits for queued ones to be written, fsyncs
// everything, stops the goroutines and closes the files (a reader still in
// flight keeps its files open until it finishes). Later calls return the first
// call's result. Every other method returns core.ErrClosed afterwards.
func (p *Partition) Close() error {
	p.once.Do(func() {
		p.qmu.Lock()
		p.closing = true
		p.qmu.Unlock()
		close(p.quit)
		p.wg.Wait()
		err := p.syncNow()
		p.mu.Lock()
		p.closed = true
		segs := p.segs
		p.segs = nil
		p.mu.Unlock()
		for _, s := range segs {
			s.release()
		}
		p.w.release()
		p.closeErr = errors.Join(err, p.lock.Close())
	})
	return p.closeErr
}
