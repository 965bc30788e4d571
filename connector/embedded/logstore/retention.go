package logstore

import (
	"errors"
	"fmt"
	"os"

	"github.com/rustok/rustok-iggy/core"
)

// EnforceRetention drops whole closed segments, oldest first, while the
// oldest one's newest message is older than the message expiry, or while the
// partition holds more bytes than the size cap. It never drops the active
// segment, so the newest data is kept even over the cap. Readers in flight are
// not disturbed: a deleted segment's files stay open until they finish. It
// returns how many segments were deleted; after Close, core.ErrClosed.
func (p *Partition) EnforceRetention() (deletedSegments int, err error) {
	now := uint64(p.opts.Now().UnixMicro())
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, fmt.Errorf("logstore: retention: %w", core.ErrClosed)
	}
	total := p.size
	expiry := uint64(p.expiry.Microseconds())
	k := 0
	for k < len(p.segs)-1 {
		s := p.segs[k]
		old := expiry > 0 && s.lastTS+expiry < now
		big := p.maxSize > 0 && total > p.maxSize
		if !old && !big {
			break
		}
		total -= uint64(s.size)
		k++
	}
	drop := make([]*segment, k)
	copy(drop, p.segs[:k])
	p.segs = append(p.segs[:0], p.segs[k:]...)
	p.size = total
	p.mu.Unlock()
	if k == 0 {
		return 0, nil
	}
	var errs []error
	for _, s := range drop {
		// The log goes first: a crash in between leaves an index without its
		// log, which Open removes; the other order would resurrect the log.
		if err := os.Remove(s.logPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		if err := os.Remove(s.idxPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		s.release()
	}
	p.dirDirty.Store(true)
	if err := errors.Join(errs...); err != nil {
		return k, fmt.Errorf("logstore: retention: %w", err)
	}
	return k, nil
}

// DeleteOldestSegments drops up to n of the oldest closed segments, as
// Iggy's DeleteSegments: the active segment is never dropped, and a closed
// segment holding an offset above barrier (a consumer has not read past
// it) is skipped when hasBarrier is set. It returns how many segments and
// messages it dropped. Readers in flight keep their files until they
// finish. After Close, core.ErrClosed.
func (p *Partition) DeleteOldestSegments(n int, barrier uint64, hasBarrier bool) (segments int, messages uint64, err error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, 0, fmt.Errorf("logstore: delete segments: %w", core.ErrClosed)
	}
	// Only a prefix goes, as with retention: offsets grow along the list,
	// so once one segment is blocked by the barrier every later one is.
	k := 0
	for k < n && k < len(p.segs)-1 {
		s := p.segs[k]
		if hasBarrier && s.next > 0 && s.next-1 > barrier {
			break
		}
		p.size -= uint64(s.size)
		messages += s.next - s.base
		k++
	}
	drop := make([]*segment, k)
	copy(drop, p.segs[:k])
	p.segs = append(p.segs[:0], p.segs[k:]...)
	p.mu.Unlock()
	if len(drop) == 0 {
		return 0, 0, nil
	}
	var errs []error
	for _, s := range drop {
		if err := os.Remove(s.logPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		if err := os.Remove(s.idxPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		s.release()
	}
	p.dirDirty.Store(true)
	if err := errors.Join(errs...); err != nil {
		return len(drop), messages, fmt.Errorf("logstore: delete segments: %w", err)
	}
	return len(drop), messages, nil
}
