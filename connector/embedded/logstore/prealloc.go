package logstore

import (
	"context"
	"log/slog"
	"os"
)

// Preallocation: once the active segment holds preallocFrom bytes, the
// writer reserves disk blocks ahead of its end (as much again as the segment
// holds, at most preallocMax, never past the segment size) without changing
// the file's size, so readers, recovery and the file size see nothing of
// it. Writing into reserved blocks costs the filesystem less than growing
// the file block by block (on ext4 about a third less CPU per MiB). The
// reserve is given back when the segment is closed by a rollover; after a
// crash or Close it stays past the end of the active segment (at most
// preallocMax) until that segment rolls over or is deleted.
const (
	preallocFrom = 4 << 20
	preallocMax  = 64 << 20
)

// preallocate makes sure blocks are reserved up to end (and the next step
// beyond it) in f, the message file of act, the active segment. A
// filesystem that refuses is not asked again for this partition.
func (p *Partition) preallocate(act *segment, f *os.File, end int64) {
	w := &p.w
	if w.noPrealloc || end <= w.prealloc || act.size < preallocFrom {
		return
	}
	target := max(end, min(end+min(act.size, preallocMax), p.opts.SegmentSize))
	from := max(w.prealloc, act.size)
	if err := reserve(f, from, target-from); err != nil {
		w.noPrealloc = true
		p.log.LogAttrs(context.Background(), slog.LevelDebug, "no preallocation of segment space",
			slog.String("segment", act.logPath), slog.Any("err", err))
		return
	}
	w.prealloc = target
}

// releaseReserve gives back the blocks reserved past the end of act, which
// is no longer written (rollover).
func (p *Partition) releaseReserve(act *segment) {
	w := &p.w
	if f := act.data(); f != nil && w.prealloc > act.size {
		if err := unreserve(f, act.size, w.prealloc-act.size); err != nil {
			p.log.LogAttrs(context.Background(), slog.LevelDebug, "cannot release preallocated segment space",
				slog.String("segment", act.logPath), slog.Any("err", err))
		}
	}
	w.prealloc = 0
}
