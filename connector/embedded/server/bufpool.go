package server

import (
	"math/bits"
	"sync"
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

// get returns a buffer with capacity >= n, or nil when none is free.
func (p *bufPool) get(n int) []byte {
	if n <= 0 {
		return nil
	}
	c := bits.Len(uint(n - 1)) // smallest c with 1<<c >= n
	if c >= len(p.classes) {
		return nil
	}
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		return (*b)[:0]
	}
	// A buffer grown to fit a frame of n bytes usually has a capacity
	// below the next power of two and sits one class lower.
	if c > 0 {
		if b, ok := p.classes[c-1].Get().(*[]byte); ok {
			if cap(*b) >= n {
				return (*b)[:0]
			}
			p.classes[c-1].Put(b)
		}
	}
	return nil
}

// put offers b for reuse.
func (p *bufPool) put(b []byte) {
	if cap(b) == 0 {
		return
	}
	c := bits.Len(uint(cap(b))) - 1 // largest c with 1<<c <= cap
	b = b[:0]
	p.classes[c].Put(&b)
}
