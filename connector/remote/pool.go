package remote

import (
	"context"
	"errors"

	"sync"

	"github.com/rustok/rustok-iggy/core"
)

// pool hands out its links to one caller at a time. A caller gets an idle
// link that is up; if every up link is busy it waits for one; if no link
// is up it fails at once with core.ErrUnavailable.
type pool struct {
	mu      sync.Mutex
	links   []*link
	idle    []*link
	changed chan struct{} // closed and replaced on every change
	closed  bool
}

func newPool() *pool { return &pool{changed: make(chan struct{})} }

// add puts a new link in the pool, idle.
func (p *pool) add(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.links = append(p.links, l)
	p.idle = append(p.idle, l)
	p.broadcastLocked()
}

func (p *pool) broadcastLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// notify wakes waiters: a link went up or down.
func (p *pool) notify() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.broadcastLocked()
	}
}

// get returns an idle link that is up, waiting while every up link is
// busy.
func (p *pool) get(ctx context.Context) (*link, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, core.ErrClosed
		}
		for i, l := range p.idle {
			if l.up() {
				p.idle = append(p.idle[:i], p.idle[i+1:]...)
				p.mu.Unlock()
				return l, nil
			}
		}
		var causes []error
		anyUp := false
		for _, l := range p.links {
			if l.up() {
				anyUp = true
				break
			}
			if _, err := l.state(); err != nil {
				causes = append(causes, err)
			}
		}
		if !anyUp {
			p.mu.Unlock()
			if len(causes) > 0 {
				return nil, causes[0]
			}
			return nil, unavailable(errors.New("no connection"))
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctxErr(ctx)
		}
	}
}

// tryTake removes l from the idle list if it is there and up.
func (p *pool) tryTake(l *link) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for i, x := range p.idle {
		if x == l && l.up() {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return true
		}
	}
	return false
}

// put returns a link taken with get or tryTake.
func (p *pool) put(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.idle = append(p.idle, l)
	p.broadcastLocked()
}

// reconnecting reports whether any link is being re-established.
func (p *pool) reconnecting() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.links {
		if l.isReconnecting() {
			return true
		}
	}
	return false
}

// all returns the links.
func (p *pool) all() []*link {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*link(nil), p.links...)
}

// close fails waiters with core.ErrClosed and closes every link.
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	p.broadcastLocked()
	links := p.links
	p.mu.Unlock()
	for _, l := range links {
		l.close()
	}
}
