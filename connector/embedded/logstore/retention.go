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
	if err := p.removeSegments(drop); err != nil {
		return k, fmt.Errorf("logstore: retention: %w", err)
	}
	return k, nil
}

// DeleteOldestSegments deletes up to count of the oldest closed segments,
// as Iggy's DeleteSegments command does: the active segment is never
// deleted, and neither is a segment whose last offset is above limit (the
// lowest offset a consumer stored on the partition; math.MaxUint64 for no
// limit) nor any segment after it. It returns how many segments and
// messages went. Readers in flight are not disturbed, as for retention.
// After Close it returns core.ErrClosed.
func (p *Partition) DeleteOldestSegments(count int, limit uint64) (segments int, messages uint64, err error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return 0, 0, fmt.Errorf("logstore: delete segments: %w", core.ErrClosed)
	}
	k := 0
	for k < count && k < len(p.segs)-1 {
		s := p.segs[k]
		if s.next > s.base && s.next-1 > limit {
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
	if k == 0 {
		return 0, 0, nil
	}
	if err := p.removeSegments(drop); err != nil {
		return k, messages, fmt.Errorf("logstore: delete segments: %w", err)
	}
	return k, messages, nil
}

// removeSegments deletes the files of segments already taken off the list.
func (p *Partition) removeSegments(drop []*segment) error {
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
	return errors.Join(errs...)
}
