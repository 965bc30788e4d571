package transport

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustok/rustok-iggy/core"
)

// topicRun is a subscription's consumption of one topic: one group member
// (one broker session, so one share of the broker's assignment, whatever
// the broker's rebalancing protocol), whose partitions are read by the
// topic's workers, under the direction of one dispatching goroutine.
//
// The dispatcher hands out turns: a turn is one partition, polled and
// then handled by the worker that receives it. The guarantees come from
// two rules. A partition with a turn handed out and not yet finished
// ("busy") gets no other turn, so it is not polled again until its batch
// was handled and its offset stored; one partition's events are never
// handled concurrently and stay in offset order. Each turn goes to an idle
// worker, the one given the fewest events so far (ties to the lowest
// index), or, when none is idle, to the worker given the fewest events:
// the workers share the events evenly however the broker assigned the
// partitions, down to a single partition, and none waits while another
// has a queue.
//
// The polls themselves run on the workers, in parallel: the dispatcher
// only keeps the books (which partitions are busy, which read empty), so
// it is never the bottleneck of a cheap handler.
type topicRun struct {
	s     *Subscription
	topic string

	mu     sync.Mutex
	member core.GroupMember // replaced after a lost membership; guarded by mu

	workers []*worker
	// results receives each finished turn. The dispatcher reads it
	// whenever it would wait, so a worker waits on it only briefly.
	results chan turnResult
}

// worker polls and handles the turns handed to it, one at a time.
type worker struct {
	index int
	queue chan turn
	// given counts the events this worker received; written by the
	// worker, read by the dispatcher.
	given atomic.Uint64
	// pending counts the turns handed to this worker and not finished.
	pending atomic.Int32
	// processed counts events whose handler succeeded on this worker.
	processed atomic.Uint64
}

// turn is one partition handed to a worker: poll it (unless polled is set,
// a batch the dispatcher read already) and handle what was read.
type turn struct {
	partition uint32
	ps        *partState
	polled    *core.Polled
}

// turnResult is what a worker reports about a finished turn.
type turnResult struct {
	partition uint32
	events    int              // events read (0: the partition read empty)
	err       error            // the poll failed
	member    core.GroupMember // the member that polled (for err)
}

// workerQueue bounds the turns waiting for one worker; the dispatcher
// waits while the chosen worker's queue is full.
const workerQueue = 64

// topologyRefresh is how often an idle dispatcher asks the broker for the
// topic's partition count, to find partitions added meanwhile.
const topologyRefresh = time.Second

func newTopicRun(s *Subscription, topic string, m core.GroupMember, workers int) *topicRun {
	r := &topicRun{s: s, topic: topic, member: m, results: make(chan turnResult, workers*(workerQueue+1))}
	for i := range workers {
		r.workers = append(r.workers, &worker{index: i, queue: make(chan turn, workerQueue)})
	}
	return r
}

func (r *topicRun) currentMember() core.GroupMember {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.member
}

// run starts the workers and dispatches until the subscription stops; it
// returns once every worker has finished, with the member to leave.
func (r *topicRun) run() core.GroupMember {
	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range w.queue {
				r.results <- r.work(w, t)
				w.pending.Add(-1)
			}
		}()
	}
	r.dispatch()
	for _, w := range r.workers {
		close(w.queue)
	}
	wg.Wait()
	return r.currentMember()
}

// work runs one turn on worker w.
func (r *topicRun) work(w *worker, t turn) turnResult {
	s := r.s
	res := turnResult{partition: t.partition}
	polled := t.polled
	if polled == nil {
		if s.ctx.Err() != nil {
			return res
		}
		m := r.currentMember()
		p := t.partition
		got, err := m.Poll(s.ctx, core.GroupPoll{Partition: &p, Strategy: core.Next(), Count: s.t.cfg.Consumer.PollBatch})
		if err != nil {
			res.err, res.member = err, m
			return res
		}
		if len(got.Messages) == 0 {
			return res
		}
		got.Partition = p
		polled = &got
	}
	res.events = len(polled.Messages)
	w.given.Add(uint64(res.events))
	s.processBatch(r, w, t.ps, polled)
	return res
}

// pick returns the worker for the next turn: of the idle workers (no turn
// pending) the one given the fewest events; if none is idle, the one
// given the fewest events.
func (r *topicRun) pick() *worker {
	var w *worker
	var wg uint64
	for _, o := range r.workers {
		if o.pending.Load() != 0 {
			continue
		}
		if g := o.given.Load(); w == nil || g < wg {
			w, wg = o, g
		}
	}
	if w != nil {
		return w
	}
	w, wg = r.workers[0], r.workers[0].given.Load()
	for _, o := range r.workers[1:] {
		if g := o.given.Load(); g < wg {
			w, wg = o, g
		}
	}
	return w
}

// hand gives a turn to a worker. While the chosen worker's queue is full
// it collects finished turns (so the workers never wait for the
// dispatcher) and chooses again. It returns false when the subscription
// stopped meanwhile or collect said to stop.
func (r *topicRun) hand(t turn, collect func(turnResult) bool) bool {
	for {
		w := r.pick()
		w.pending.Add(1)
		select {
		case w.queue <- t:
			return true
		default:
		}
		select {
		case w.queue <- t:
			return true
		case res := <-r.results:
			w.pending.Add(-1)
			if !collect(res) {
				return false
			}
		case <-r.s.ctx.Done():
			w.pending.Add(-1)
			return false
		}
	}
}

// dispatch is the dispatching loop. It hands a turn to every partition of
// the topic that is neither busy nor known to read empty (by id: a
// partition the broker did not assign to this member reads empty), and
// collects the finished turns; a partition that read something gets its
// next turn at once. While partitions are busy, the empty ones are tried
// again after the idle pause. When nothing is busy and every partition
// read empty, it waits: on a core.LongPoller in a poll of all the member's
// partitions (up to consumer.poll_idle_max), whose batch becomes a turn;
// else for the idle pause. The pause doubles from consumer.poll_idle_min
// up to consumer.poll_idle_max while nothing is read.
func (r *topicRun) dispatch() {
	s := r.s
	cfg := s.t.cfg.Consumer
	var maxWait time.Duration
	if lp, ok := s.t.broker.(core.LongPoller); ok && lp.LongPoll() {
		maxWait = cfg.PollIdleMax
	}
	pause := cfg.PollIdleMin
	parts := max(s.t.partitions(r.topic), 1)
	busy := map[uint32]bool{}
	empty := map[uint32]bool{}
	refreshed := time.Now()
	var start uint32 // rotates the first partition of a round
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	// collect books a finished turn; it reports whether polling goes on.
	collect := func(res turnResult) bool {
		delete(busy, res.partition)
		switch {
		case res.err != nil:
			empty[res.partition] = true
			if res.member == r.currentMember() && !r.pollFailed(res.err) {
				return false
			}
		case res.events == 0:
			empty[res.partition] = true
		default:
			delete(empty, res.partition)
			pause = cfg.PollIdleMin
		}
		return true
	}
	for s.ctx.Err() == nil {
		for i := range parts {
			p := (start + i) % parts
			if busy[p] || empty[p] {
				continue
			}
			busy[p] = true
			if !r.hand(turn{partition: p, ps: s.part(r.topic, p)}, collect) {
				return
			}
		}
		start++
		if len(busy) > 0 {
			// Wait for a turn to finish; retry the empty partitions after
			// the pause meanwhile.
			var retry <-chan time.Time
			if len(empty) > 0 {
				if timer == nil {
					timer = time.NewTimer(pause)
				} else {
					timer.Reset(pause)
				}
				retry = timer.C
			}
			select {
			case res := <-r.results:
				if !collect(res) {
					return
				}
			drain:
				for {
					select {
					case res := <-r.results:
						if !collect(res) {
							return
						}
					default:
						break drain
					}
				}
			case <-retry:
				clear(empty)
				pause = min(pause*2, cfg.PollIdleMax)
			case <-s.ctx.Done():
				return
			}
			if timer != nil && !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			continue
		}
		// Nothing busy, every partition read empty.
		if maxWait <= 0 {
			if !sleepCtx(s.ctx, pause) {
				return
			}
			pause = min(pause*2, cfg.PollIdleMax)
		} else {
			m := r.currentMember()
			polled, err := m.Poll(s.ctx, core.GroupPoll{Strategy: core.Next(), Count: cfg.PollBatch, MaxWait: maxWait})
			if err != nil {
				if !r.pollFailed(err) || !sleepCtx(s.ctx, pause) {
					return
				}
				pause = min(pause*2, cfg.PollIdleMax)
			} else if len(polled.Messages) > 0 {
				p := polled.Partition
				busy[p] = true
				if !r.hand(turn{partition: p, ps: s.part(r.topic, p), polled: &polled}, collect) {
					return
				}
				parts = max(parts, p+1)
				pause = cfg.PollIdleMin
			}
		}
		clear(empty)
		if time.Since(refreshed) >= topologyRefresh {
			refreshed = time.Now()
			if info, err := s.t.broker.Topic(s.ctx, s.t.cfg.Topology.StreamName, r.topic); err == nil {
				parts = max(info.PartitionsCount, 1)
			}
		}
	}
}

// pollFailed deals with a failed poll; it reports whether polling goes on.
func (r *topicRun) pollFailed(err error) bool {
	s := r.s
	if s.ctx.Err() != nil {
		return false
	}
	switch {
	case errors.Is(err, core.ErrClosed):
		s.setErr(fmt.Errorf("subscription %q on %s: %w", s.group, r.topic, err))
		return false
	case errors.Is(err, core.ErrNotMember):
		s.report(fmt.Errorf("group %q on %s: membership lost, joining again: %w", s.group, r.topic, err))
		nm, jerr := s.t.broker.JoinGroup(s.ctx, s.t.cfg.Topology.StreamName, r.topic, s.group)
		if jerr == nil {
			old := r.currentMember()
			r.mu.Lock()
			r.member = nm
			r.mu.Unlock()
			_ = old.Leave(s.ctx)
		}
	default:
		s.report(fmt.Errorf("group %q: poll %s: %w", s.group, r.topic, err))
	}
	return true
}
