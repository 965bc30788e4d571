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
// the broker's rebalancing protocol) whose polled batches one dispatching
// goroutine hands to the topic's workers.
//
// The guarantees come from two rules. A partition with a batch handed out
// and not yet finished ("busy") is not polled again, so one partition's
// events are never handled concurrently and stay in offset order. Each
// batch goes to an idle worker, the one given the fewest events so far
// (ties to the lowest index), or, when none is idle, to the worker given
// the fewest events (see idleSlack): the workers share the events evenly
// however the broker assigned the partitions, down to a single partition,
// and none waits while another has more than a few batches queued.
//
// Polling is shared: the dispatcher polls the partitions that are not
// busy, and a worker that finished a batch (its offset stored) polls the
// same partition again at once and hands what it read back to the
// dispatcher (the partition stays busy meanwhile), which dispatches it
// like any other batch. So while events flow, the polls run on the
// workers, in parallel, and the dispatcher only routes batches; it is not
// a serial stage that a cheap handler would wait for.
type topicRun struct {
	s     *Subscription
	topic string

	mu     sync.Mutex
	member core.GroupMember // replaced after a lost membership; guarded by mu
	busy   map[uint32]bool  // partitions with a batch handed out; guarded by mu
	freed  chan struct{}    // signalled (never blocks) when a batch finishes
	// chained receives the batches that workers polled after finishing
	// one (their partitions stay busy); backlog holds those the
	// dispatcher took while waiting to hand out another. Both are the
	// dispatcher's to read.
	chained chan core.Polled
	backlog []core.Polled

	workers []*worker
}

// worker handles the batches handed to it, one at a time.
type worker struct {
	index int
	queue chan *batch
	// given counts the events handed to this worker; written only by the
	// polling goroutine.
	given uint64
	// pending counts the batches handed to this worker and not finished.
	pending atomic.Int32
	// processed counts events whose handler succeeded on this worker.
	processed atomic.Uint64
}

type batch struct {
	ps     *partState
	polled core.Polled
}

// workerQueue bounds the batches waiting for one worker; the polling
// goroutine waits (stops polling) while the chosen worker's queue is full.
const workerQueue = 64

// idleSlack bounds, in batches of consumer.poll_batch, how far ahead of
// the worker given the fewest events an idle worker may be and still be
// preferred: workers that get the CPU more often than others (on a
// machine busy with other work) would otherwise take most events, since
// they are idle more often.
const idleSlack = 4

// topologyRefresh is how often an idle polling goroutine asks the broker
// for the topic's partition count, to find partitions added meanwhile.
const topologyRefresh = time.Second

func newTopicRun(s *Subscription, topic string, m core.GroupMember, workers int) *topicRun {
	r := &topicRun{s: s, topic: topic, member: m, busy: map[uint32]bool{}, freed: make(chan struct{}, 1),
		chained: make(chan core.Polled, workers)}
	for i := range workers {
		r.workers = append(r.workers, &worker{index: i, queue: make(chan *batch, workerQueue)})
	}
	return r
}

func (r *topicRun) currentMember() core.GroupMember {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.member
}

func (r *topicRun) isBusy(p uint32) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.busy[p]
}

func (r *topicRun) busyCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.busy)
}

// run starts the workers and polls until the subscription stops; it
// returns once every worker has finished, with the member to leave.
func (r *topicRun) run() core.GroupMember {
	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range w.queue {
				r.s.processBatch(r, w, b.ps, &b.polled)
				next, ok := r.pollAgain(b.polled.Partition)
				w.pending.Add(-1)
				if ok {
					select {
					case r.chained <- next:
						continue
					case <-r.s.ctx.Done(): // the dispatcher is gone or going
					}
				}
				r.mu.Lock()
				delete(r.busy, b.polled.Partition)
				r.mu.Unlock()
				select {
				case r.freed <- struct{}{}:
				default:
				}
			}
		}()
	}
	r.poll()
	for _, w := range r.workers {
		close(w.queue)
	}
	wg.Wait()
	return r.currentMember()
}

// pollAgain polls partition p, whose batch this worker just finished, for
// the next batch. It reports false when the subscription stops, the poll
// failed (the dispatcher's next poll of p will meet the error and deal
// with it) or found nothing.
func (r *topicRun) pollAgain(p uint32) (core.Polled, bool) {
	s := r.s
	if s.draining.Load() || s.ctx.Err() != nil {
		return core.Polled{}, false
	}
	polled, err := r.currentMember().Poll(s.ctx, core.GroupPoll{Partition: &p, Strategy: core.Next(), Count: s.t.cfg.Consumer.PollBatch})
	if err != nil || len(polled.Messages) == 0 {
		return core.Polled{}, false
	}
	polled.Partition = p
	return polled, true
}

// dispatch hands a polled batch to a worker: of the idle workers (no
// batch pending) the one given the fewest events, unless it was given
// more than idleSlack batches beyond the worker given the fewest; else
// (none idle, or all idle ones ahead) the one given the fewest events. It
// returns false when the subscription stopped while the worker's queue
// was full.
func (r *topicRun) dispatch(polled core.Polled) bool {
	var idle *worker
	fewest := r.workers[0]
	for _, o := range r.workers {
		if o.pending.Load() == 0 && (idle == nil || o.given < idle.given) {
			idle = o
		}
		if o.given < fewest.given {
			fewest = o
		}
	}
	w := fewest
	if idle != nil && idle.given <= fewest.given+idleSlack*uint64(r.s.t.cfg.Consumer.PollBatch) {
		w = idle
	}
	w.pending.Add(1)
	b := &batch{ps: r.s.part(r.topic, polled.Partition), polled: polled}
	r.mu.Lock()
	r.busy[polled.Partition] = true
	r.mu.Unlock()
	select {
	case w.queue <- b:
		w.given += uint64(len(polled.Messages))
		return true
	default:
	}
	for {
		select {
		case w.queue <- b:
			w.given += uint64(len(polled.Messages))
			return true
		case c := <-r.chained: // its worker may be waiting to hand it over
			r.backlog = append(r.backlog, c)
			continue
		case <-r.s.ctx.Done():
			r.mu.Lock()
			delete(r.busy, polled.Partition)
			r.mu.Unlock()
			w.pending.Add(-1)
			return false
		}
	}
}

// dispatchChained dispatches the batches polled by workers, waiting ones
// first; got reports whether there were any, ok false when the
// subscription stopped.
func (r *topicRun) dispatchChained() (got, ok bool) {
	for {
		var c core.Polled
		if len(r.backlog) > 0 {
			c = r.backlog[0]
			r.backlog[0] = core.Polled{}
			r.backlog = r.backlog[1:]
		} else {
			select {
			case c = <-r.chained:
			default:
				return got, true
			}
		}
		got = true
		if !r.dispatch(c) {
			return got, false
		}
	}
}

// poll is the polling loop. Each round first dispatches the batches that
// workers polled after finishing theirs, then polls every partition of the
// topic that is not busy, by id (a partition the broker did not assign to
// this member reads empty). When a round finds nothing it waits: for a busy
// partition to finish, if there is one (or the idle pause, whichever comes
// first); else, on a core.LongPoller, in a poll of all the member's
// partitions (up to consumer.poll_idle_max); else for the idle pause, which
// doubles from consumer.poll_idle_min up to consumer.poll_idle_max.
func (r *topicRun) poll() {
	s := r.s
	cfg := s.t.cfg.Consumer
	var maxWait time.Duration
	if lp, ok := s.t.broker.(core.LongPoller); ok && lp.LongPoll() {
		maxWait = cfg.PollIdleMax
	}
	pause := cfg.PollIdleMin
	parts := max(s.t.partitions(r.topic), 1)
	refreshed := time.Now()
	var start uint32 // rotates the first partition of a round
	for s.ctx.Err() == nil {
		got, ok := r.dispatchChained()
		if !ok {
			return
		}
		failed := false
		for i := range parts {
			p := (start + i) % parts
			if r.isBusy(p) {
				continue
			}
			polled, err := r.currentMember().Poll(s.ctx, core.GroupPoll{Partition: &p, Strategy: core.Next(), Count: cfg.PollBatch})
			if err != nil {
				if !r.pollFailed(err) {
					return
				}
				failed = true
				break
			}
			if len(polled.Messages) > 0 {
				polled.Partition = p
				if !r.dispatch(polled) {
					return
				}
				got = true
			}
		}
		start++
		if got {
			pause = cfg.PollIdleMin
			continue
		}
		if failed || maxWait <= 0 || r.busyCount() > 0 {
			if !r.idle(pause) {
				return
			}
			pause = min(pause*2, cfg.PollIdleMax)
		} else {
			polled, err := r.currentMember().Poll(s.ctx, core.GroupPoll{Strategy: core.Next(), Count: cfg.PollBatch, MaxWait: maxWait})
			if err != nil {
				if !r.pollFailed(err) || !sleepCtx(s.ctx, pause) {
					return
				}
				pause = min(pause*2, cfg.PollIdleMax)
				continue
			}
			if len(polled.Messages) > 0 && !r.isBusy(polled.Partition) {
				if !r.dispatch(polled) {
					return
				}
			}
			parts = max(parts, polled.Partition+1)
		}
		if time.Since(refreshed) >= topologyRefresh {
			refreshed = time.Now()
			if info, err := s.t.broker.Topic(s.ctx, s.t.cfg.Topology.StreamName, r.topic); err == nil {
				parts = max(info.PartitionsCount, 1)
			}
		}
	}
}

// idle waits for a busy partition to finish (or a worker to hand over
// the batch it polled next) or for d, whichever comes first; it reports
// whether the subscription still runs.
func (r *topicRun) idle(d time.Duration) bool {
	s := r.s
	if r.busyCount() == 0 {
		return sleepCtx(s.ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.freed:
		return true
	case c := <-r.chained:
		r.backlog = append(r.backlog, c)
		return true
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
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
