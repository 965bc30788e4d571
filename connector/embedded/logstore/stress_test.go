package logstore

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rustok/rustok-iggy/core"
)

// TestRetentionWhileReading runs appends (tiny segments), retention and
// readers at once: readers only ever get whole, verified, contiguous messages,
// or start at the first retained offset.
func TestRetentionWhileReading(t *testing.T) {
	p := mustOpen(t, t.TempDir(), Options{SegmentSize: 2048, Fsync: FsyncNever})
	p.SetRetention(0, 8<<10)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var next atomic.Uint64
	wg.Go(func() {
		defer stop.Store(true)
		for range 100 {
			off := next.Load()
			if _, err := p.Append(batchFor(off, 3, 100)); err != nil {
				t.Error(err)
				return
			}
			next.Add(3)
		}
	})
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				if _, err := p.EnforceRetention(); err != nil {
					t.Error(err)
					return
				}
				runtime.Gosched()
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				st := p.Stats()
				c, err := p.Read(0, 50, 0)
				if err != nil {
					t.Error(err)
					return
				}
				if c.Count > 0 {
					if c.FirstOffset < st.FirstOffset {
						t.Errorf("read from %d, first retained was already %d", c.FirstOffset, st.FirstOffset)
						return
					}
					if err := chunkErr(c, c.FirstOffset, c.Count, 100); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	st := p.Stats()
	if st.NextOffset != 300 || st.SizeBytes > 8<<10+2048 || st.FirstOffset == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCloseDuringAppends closes while appenders run: each Append either
// succeeds (and is then on disk) or fails with core.ErrClosed.
func TestCloseDuringAppends(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var acked atomic.Int64
	var wg sync.WaitGroup
	started := make(chan struct{})
	var once sync.Once
	for range 8 {
		wg.Go(func() {
			for {
				r, err := p.Append(batchFor(0, 2, 64))
				if errors.Is(err, core.ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				acked.Add(int64(r.Count))
				once.Do(func() { close(started) })
			}
		})
	}
	<-started
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	p = mustOpen(t, dir, Options{})
	if st := p.Stats(); st.NextOffset != uint64(acked.Load()) {
		t.Fatalf("stored %d, acknowledged %d", st.NextOffset, acked.Load())
	}
}
