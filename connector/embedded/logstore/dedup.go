package logstore

import (
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// maxDedupIDs bounds the ids remembered for deduplication; past it the oldest
// are forgotten early (Iggy bounds its cache the same way, 10 000 by default).
const maxDedupIDs = 1 << 20

type dedupEntry struct {
	id [16]byte
	ts uint64
}

// dedup remembers the client-given (non-zero) ids appended within a window:
// a map for lookups plus a FIFO ring in append order for pruning by time, so
// memory is bounded by the window's traffic and by maxDedupIDs. Owned by the
// writer (and Open before the first Append).
type dedup struct {
	window uint64 // µs
	max    int    // maxDedupIDs; tests lower it
	seen   map[[16]byte]uint64
	ring   []dedupEntry
	head   int // oldest
	n      int
}

func newDedup(window time.Duration) *dedup {
	return &dedup{window: uint64(window.Microseconds()), max: maxDedupIDs, seen: make(map[[16]byte]uint64)}
}

func (d *dedup) prune(now uint64) {
	for d.n > 0 {
		e := d.ring[d.head]
		if e.ts+d.window >= now && d.n < d.max {
			return
		}
		if t, ok := d.seen[e.id]; ok && t == e.ts {
			delete(d.seen, e.id)
		}
		d.ring[d.head] = dedupEntry{}
		d.head = (d.head + 1) % len(d.ring)
		d.n--
	}
}

func (d *dedup) push(e dedupEntry) {
	if d.n == len(d.ring) {
		nr := make([]dedupEntry, max(64, 2*len(d.ring)))
		for i := range d.n {
			nr[i] = d.ring[(d.head+i)%len(d.ring)]
		}
		d.ring, d.head = nr, 0
	}
	d.ring[(d.head+d.n)%len(d.ring)] = e
	d.n++
}

// remember records id as appended at ts.
func (d *dedup) remember(id [16]byte, ts uint64) {
	d.seen[id] = ts
	d.push(dedupEntry{id: id, ts: ts})
}

// filter drops from batch (in place) every message whose non-zero id was
// appended within the window, or earlier in the same batch, records the kept
// ids and returns the compacted batch and its message count.
func (d *dedup) filter(batch []byte, ts uint64) ([]byte, int) {
	d.prune(ts)
	out, n := 0, 0
	for pos := 0; pos < len(batch); {
		size := msgSize(batch, pos)
		var id [16]byte
		copy(id[:], batch[pos+8:pos+24])
		keep := true
		if id != ([16]byte{}) {
			if t, ok := d.seen[id]; ok && t+d.window >= ts {
				keep = false
			} else {
				d.remember(id, ts)
			}
		}
		if keep {
			if out != pos {
				copy(batch[out:], batch[pos:pos+size])
			}
			out += size
			n++
		}
		pos += size
	}
	return batch[:out], n
}

// forget removes the ids of a batch that failed to be written at ts, so a
// retry is not taken for a duplicate.
func (d *dedup) forget(batch []byte, ts uint64) {
	_ = iggyproto.WalkMessages(batch, func(m iggyproto.MessageView) error {
		if t, ok := d.seen[m.Header.ID]; ok && t == ts {
			delete(d.seen, m.Header.ID)
		}
		return nil
	})
}
