package server

import (
	"errors"
	"math/bits"
	"sync"
	"time"
)

// bufPool recycles big request buffers between connections: SendMessages
// batches of one to a hundred MiB would otherwise be allocated (and grown
// chunk by chunk) for every frame. Buffers sit in power-of-two classes; a
// buffer of class c has a capacity of at least 1<<c. Idle buffers are
// released by the garbage collector (sync.Pool).
type bufPool struct {
	classes [64]sync.Pool // of *[]byte
}

// bigBufs is shared by every connection of every server.
var bigBufs bufPool

// get returns a buffer with capacity >= n and length 0, or nil when none
// is free. The pointer is the buffer's handle: give it back with put.
func (p *bufPool) get(n int) *[]byte {
	if n <= 0 {
		return nil
	}
	c := bits.Len(uint(n - 1)) // smallest c with 1<<c >= n
	if c >= len(p.classes) {
		return nil
	}
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		*b = (*b)[:0]
		return b
	}
	// A buffer grown to fit a frame of n bytes usually has a capacity
	// below the next power of two and sits one class lower.
	if c > 0 {
		if b, ok := p.classes[c-1].Get().(*[]byte); ok {
			if cap(*b) >= n {
				*b = (*b)[:0]
				return b
			}
			p.classes[c-1].Put(b)
		}
	}
	return nil
}

// put offers *b for reuse; b is kept as its handle (so a buffer that went
// around once is pooled again without allocating). nil and empty buffers
// are ignored.
func (p *bufPool) put(b *[]byte) {
	if b == nil || cap(*b) == 0 {
		return
	}
	c := bits.Len(uint(cap(*b))) - 1 // largest c with 1<<c <= cap
	*b = (*b)[:0]
	p.classes[c].Put(b)
}

// chunkSize is the unit in which a big request payload is buffered and
// charged to the memory budget: memory held for a frame is the bytes that
// arrived, rounded up to a chunk, never its declared length.
const chunkSize = 1 << 20

// chunks recycles chunkSize buffers between frames and connections.
var chunks = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// errBudgetWait is returned by memBudget.acquire when the deadline passed
// or the server closed connections forcibly while waiting.
var errBudgetWait = errors.New("iggy server: frame memory budget: gave up waiting")

// memBudget is the in-flight frame memory shared by all connections of a
// server: a byte semaphore with FIFO waiters. A connection that cannot get
// its next chunk stops reading its socket, so the kernel's TCP window
// pushes back on the client.
type memBudget struct {
	mu      sync.Mutex
	free    int64
	waiters []*budgetWaiter // FIFO
}

type budgetWaiter struct {
	n     int64
	ready chan struct{} // closed once n was granted
}

func newMemBudget(total int64) *memBudget { return &memBudget{free: total} }

// acquire takes n bytes, waiting (first come, first served) until they are
// free, deadline passes (zero: no deadline) or kill is closed.
func (b *memBudget) acquire(n int64, deadline time.Time, kill <-chan struct{}) error {
	b.mu.Lock()
	if len(b.waiters) == 0 && b.free >= n {
		b.free -= n
		b.mu.Unlock()
		return nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()

	var timeout <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-w.ready:
		return nil
	case <-timeout:
	case <-kill:
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready: // granted meanwhile: give it back
		b.free += n
		b.grantLocked()
	default:
		for i, x := range b.waiters {
			if x == w {
				b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
				break
			}
		}
		b.grantLocked() // the head may have changed
	}
	return errBudgetWait
}

// release returns n bytes and wakes the waiters they satisfy, in order.
func (b *memBudget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	b.grantLocked()
	b.mu.Unlock()
}

func (b *memBudget) grantLocked() {
	for len(b.waiters) > 0 && b.free >= b.waiters[0].n {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.free -= w.n
		close(w.ready)
	}
}

// available returns the free bytes (tests).
func (b *memBudget) available() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.free
}

// waiting returns the number of waiters (tests).
func (b *memBudget) waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiters)
}
