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
// the broker's rebalancing protocol) polled by one goroutine, which hands
// each polled batch to one of the topic's workers.
//
// The guarantees come from two rules. A partition with a batch handed out
// and not yet finished ("busy") is not polled again, so one partition's
// events are never handled concurrently and stay in offset order. Each
// batch goes to an idle worker, the one given the fewest events so far
// (ties to the lowest index), or, when none is idle, to the worker given
// the fewest events: the workers share the events evenly however the
// broker assigned the partitions, down to a single partition, and none
// waits while another has a queue.
type topicRun struct {
	s     *Subscription
	topic string

	mu     sync.Mutex
	member core.GroupMember // replaced after a lost membership; guarded by mu
	busy   map[uint32]bool  // partitions with a batch handed out; guarded by mu
	freed  chan struct{}    // signalled (never blocks) when a batch finishes

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

// topologyRefresh is how often an idle polling goroutine asks the broker
// for the topic's partition count, to find partitions added meanwhile.
const topologyRefresh = time.Second

func newTopicRun(s *Subscription, topic string, m core.GroupMember, workers int) *topicRun {
	r := &topicRun{s: s, topic: topic, member: m, busy: map[uint32]bool{}, freed: make(chan struct{}, 1)}
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
				r.s.processBatch(r, w, b)
				r.mu.Lock()
				delete(r.busy, b.polled.Partition)
				r.mu.Unlock()
				w.pending.Add(-1)
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

// dispatch hands a polled batch to a worker: of the idle workers (no
// batch pending) the one given the fewest events; if none is idle, the
// one given the fewest events. It returns false when the subscription
// stopped while the worker's queue was full.
func (r *topicRun) dispatch(polled core.Polled) bool {
	var w *worker
	for _, o := range r.workers {
		if o.pending.Load() == 0 && (w == nil || o.given < w.given) {
			w = o
		}
	}
	if w == nil {
		w = r.workers[0]
		for _, o := range r.workers[1:] {
			if o.given < w.given {
				w = o
			}
		}
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
	select {
	case w.queue <- b:
		w.given += uint64(len(polled.Messages))
		return true
	case <-r.s.ctx.Done():
		r.mu.Lock()
		delete(r.busy, polled.Partition)
		r.mu.Unlock()
		w.pending.Add(-1)
		return false
	}
}

// poll is the polling loop. Each round polls every partition of the topic
// that is not busy, by id (a partition the broker did not assign to this
// member reads empty). When a round finds nothing it waits: for a busy
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
		got, failed := false, false
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

// idle waits for a busy partition to finish or for d, whichever comes
// first; it reports whether the subscription still runs.
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
