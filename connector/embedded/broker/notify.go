package broker

import (
	"sync"
	"sync/atomic"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// appendSignal broadcasts "messages were appended" to pollers waiting for
// them. A waiter takes the current channel with wait; the next notify
// closes it, waking every holder, and forgets it. No channel exists while
// nobody waits, so an append without waiters costs one atomic load, and
// one with waiters one lock and a close.
type appendSignal struct {
	waiting atomic.Bool // ch != nil; read without mu on the append path
	mu      sync.Mutex
	ch      chan struct{}
}

// wait returns the channel the next notify closes.
func (s *appendSignal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
		s.waiting.Store(true)
	}
	return s.ch
}

// notify wakes the current waiters, if any.
func (s *appendSignal) notify() {
	if !s.waiting.Load() {
		return
	}
	s.mu.Lock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
		s.waiting.Store(false)
	}
	s.mu.Unlock()
}

// AppendSignal lets a poller that found nothing wait for messages without
// polling in a loop. It returns a channel that is closed by the next
// successful Send to any partition of the topic (or when the topic or its
// stream is deleted), and how many polls without a partition id read every
// partition c reads: the partitions s reads round-robin as a member of c's group (at
// least 1), or 1 for a single consumer. To miss no append, a waiter takes
// the channel first, then polls, and waits on the channel only if the polls
// found nothing; a closed channel promises no message (a poll may still
// find nothing, e.g. on a partition the waiter does not read), so the
// waiter polls again with a fresh channel. It never blocks. Codes: 40,
// 1009, 2010.
func (b *Broker) AppendSignal(s *Session, streamID, topicID iggyproto.Identifier, c Consumer) (<-chan struct{}, int, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if _, err := b.authed(s); err != nil {
		return nil, 0, err
	}
	t, err := b.topicOf(streamID, topicID)
	if err != nil {
		return nil, 0, err
	}
	polls := 1
	if c.Kind == GroupConsumer {
		if g := findGroup(t, c.Group); g != nil {
			if m := g.memberOf(s); m != nil {
				polls = max(len(m.effective()), 1)
			}
		}
	}
	return t.appended.wait(), polls, nil
}
