package transport

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/rustok/rustok-iggy/core"
)

// asyncPublisher gathers Publish calls into batches. Callers validate and
// encode in their own goroutine; the message then goes into the current
// batch under mu. One flusher goroutine, started by Start and ended by
// close, sends batches in order, so events keep the order in which Publish
// accepted them.
type asyncPublisher struct {
	t        *Transport
	linger   time.Duration
	maxBatch int
	bufSize  int

	mu       sync.Mutex
	cur      *pendingBatch   // accumulating; nil when empty
	queue    []*pendingBatch // full or lingered, waiting for the flusher
	tail     *pendingBatch   // newest batch that received an event
	inflight int             // events accepted and not yet completed
	space    chan struct{}   // closed (and replaced) whenever room frees
	open     []*pendingBatch // batches not completed, oldest first (Acknowledge searches their ids)
	failed   map[uuid.UUID]error
	failRing []uuid.UUID // insertion order of failed, bounded by bufSize
	failNext int
	closing  bool

	wake    chan struct{} // capacity 1: work for the flusher
	stop    context.CancelFunc
	sendCtx context.Context
	done    chan struct{} // closed when the flusher exits
	started bool
	free    sync.Pool // *pendingBatch
}

type pendingBatch struct {
	s       sendScratch
	ids     []uuid.UUID
	firstAt time.Time
	done    chan struct{}
}

func newAsyncPublisher(t *Transport) *asyncPublisher {
	c := t.cfg.Publisher
	a := &asyncPublisher{
		t:        t,
		linger:   c.Linger,
		maxBatch: c.MaxBatch,
		bufSize:  c.BufferSize,
		space:    make(chan struct{}),
		failed:   map[uuid.UUID]error{},
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	a.sendCtx, a.stop = context.WithCancel(context.Background())
	a.free.New = func() any {
		b := &pendingBatch{ids: make([]uuid.UUID, 0, a.maxBatch)}
		b.s.reset(a.maxBatch)
		return b
	}
	return a
}

// start launches the flusher goroutine, owned by a and ended by close.
func (a *asyncPublisher) start() {
	a.mu.Lock()
	a.started = true
	a.mu.Unlock()
	go a.run()
}

func (a *asyncPublisher) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// publish buffers one encoded event; traced says ctx carries a span
// context to inject into its headers.
func (a *asyncPublisher) publish(ctx context.Context, e *core.Envelope, payload []byte, traced bool) error {
	// Headers and partition are built before taking the lock, which then
	// covers only copying them into the batch.
	var vb [256]byte
	ct := a.t.codec.ContentType()
	vals := eventValues(vb[:0], e, ct)
	topic := TopicFor(e.EventType)
	part := PartitionFor(vals[:36], a.t.partitions(topic))
	a.mu.Lock()
	for a.inflight >= a.bufSize && !a.closing {
		space := a.space
		a.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return fmt.Errorf("publish %s: async buffer full: %w", e.ID, context.Cause(ctx))
		}
		a.mu.Lock()
	}
	if a.closing {
		a.mu.Unlock()
		return fmt.Errorf("publish %s: %w", e.ID, core.ErrClosed)
	}
	b := a.cur
	if b == nil {
		b = a.free.Get().(*pendingBatch)
		b.done = make(chan struct{})
		b.firstAt = time.Now()
		a.cur = b
		a.open = append(a.open, b)
	}
	first := len(b.ids) == 0
	b.s.addValues(e, payload, ct, vals)
	if traced {
		a.t.tel.injectLast(ctx, &b.s)
	}
	b.s.topic = append(b.s.topic, topicIndex(topic))
	b.s.part = append(b.s.part, part)
	b.ids = append(b.ids, e.ID)
	a.tail = b
	a.inflight++
	full := len(b.ids) >= a.maxBatch
	if full {
		a.queue = append(a.queue, b)
		a.cur = nil
	}
	a.mu.Unlock()
	if first || full {
		a.signal()
	}
	return nil
}

// run is the flusher: it takes the oldest full batch, or the current batch
// once it lingered, and sends it.
func (a *asyncPublisher) run() {
	defer close(a.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		a.mu.Lock()
		var b *pendingBatch
		for b == nil {
			if len(a.queue) > 0 {
				b = a.queue[0]
				a.queue[0] = nil
				a.queue = a.queue[1:]
				break
			}
			if a.cur != nil {
				wait := a.linger - time.Since(a.cur.firstAt)
				if wait <= 0 || a.closing {
					b, a.cur = a.cur, nil
					break
				}
				a.mu.Unlock()
				timer.Reset(wait)
				select {
				case <-a.wake:
				case <-timer.C:
				}
				timer.Stop()
				a.mu.Lock()
				continue
			}
			if a.closing {
				a.mu.Unlock()
				return
			}
			a.mu.Unlock()
			<-a.wake
			a.mu.Lock()
		}
		a.mu.Unlock()
		a.send(b)
	}
}

func (a *asyncPublisher) send(b *pendingBatch) {
	var failed []FailedEvent
	if err := a.sendCtx.Err(); err != nil {
		for i, id := range b.ids {
			failed = append(failed, FailedEvent{i, id, fmt.Errorf("%w: transport shut down before the event was sent", core.ErrClosed)})
		}
	} else {
		a.t.sendGrouped(a.sendCtx, &b.s, func(i int, err error) {
			failed = append(failed, FailedEvent{i, b.ids[i], err})
		})
	}
	a.mu.Lock()
	for _, f := range failed {
		a.recordFailure(f.ID, f.Err)
	}
	for i, o := range a.open {
		if o == b {
			a.open = slices.Delete(a.open, i, i+1)
			break
		}
	}
	a.inflight -= len(b.ids)
	close(a.space)
	a.space = make(chan struct{})
	if a.tail == b {
		a.tail = nil
	}
	a.mu.Unlock()
	if len(failed) > 0 {
		a.t.log.LogAttrs(context.Background(), slogError, "async publish failed",
			u64Attr("events", uint64(len(failed))), errAttr(failed[0].Err))
	}
	close(b.done)
	b.ids = b.ids[:0]
	b.s.reset(0)
	a.free.Put(b)
}

// recordFailure keeps the error of a failed event for Acknowledge, keeping
// at most bufSize failures. Called with mu held.
func (a *asyncPublisher) recordFailure(id uuid.UUID, err error) {
	if len(a.failRing) < a.bufSize {
		a.failRing = append(a.failRing, id)
	} else {
		delete(a.failed, a.failRing[a.failNext])
		a.failRing[a.failNext] = id
		a.failNext = (a.failNext + 1) % a.bufSize
	}
	a.failed[id] = err
}

// openBatchOf returns the newest batch not completed that holds id, by a
// linear search (at most publisher.buffer_size ids; it keeps the map and
// its cost out of every Publish). Called with mu held.
func (a *asyncPublisher) openBatchOf(id uuid.UUID) (*pendingBatch, bool) {
	for i := len(a.open) - 1; i >= 0; i-- {
		ids := a.open[i].ids
		for j := len(ids) - 1; j >= 0; j-- {
			if ids[j] == id {
				return a.open[i], true
			}
		}
	}
	return nil, false
}

func (a *asyncPublisher) acknowledge(ctx context.Context, id uuid.UUID) error {
	a.mu.Lock()
	b, ok := a.openBatchOf(id)
	var done chan struct{}
	if ok {
		done = b.done
		if a.cur == b { // do not wait for the linger time of a lone event
			a.queue = append(a.queue, b)
			a.cur = nil
			a.signal()
		}
	}
	a.mu.Unlock()
	if ok {
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("acknowledge %s: %w", id, context.Cause(ctx))
		}
	}
	a.mu.Lock()
	err := a.failed[id]
	a.mu.Unlock()
	if err != nil {
		return fmt.Errorf("acknowledge %s: %w", id, err)
	}
	return nil
}

// flush waits until every event accepted before the call has completed.
func (a *asyncPublisher) flush(ctx context.Context) error {
	a.mu.Lock()
	tail := a.tail
	if tail == nil {
		a.mu.Unlock()
		return nil
	}
	if a.cur == tail {
		a.queue = append(a.queue, tail)
		a.cur = nil
	}
	done := tail.done
	started := a.started
	a.mu.Unlock()
	if !started {
		return fmt.Errorf("flush: %w", ErrNotStarted)
	}
	a.signal()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flush: %w", context.Cause(ctx))
	}
}

// close refuses new events, flushes the pending ones until ctx ends, then
// fails what is left with core.ErrClosed and waits for the flusher to exit.
func (a *asyncPublisher) close(ctx context.Context) error {
	a.mu.Lock()
	a.closing = true
	close(a.space) // wake blocked publishers; they see closing
	a.space = make(chan struct{})
	started := a.started
	a.mu.Unlock()
	if !started {
		a.mu.Lock()
		n := a.inflight
		a.mu.Unlock()
		if n > 0 {
			return fmt.Errorf("async publisher: %d event(s) never sent: %w", n, ErrNotStarted)
		}
		return nil
	}
	err := a.flush(ctx)
	a.mu.Lock()
	lost := a.inflight
	a.mu.Unlock()
	a.stop() // remaining batches fail with ErrClosed; an in-flight send is cancelled
	a.signal()
	<-a.done
	if err != nil {
		return fmt.Errorf("async publisher: %d event(s) not stored before the deadline: %w", lost, err)
	}
	return nil
}
