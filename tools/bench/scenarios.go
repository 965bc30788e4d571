package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Scenario names, after Iggy's bench tool.
const (
	scPinnedProducer = "pinned-producer"
	scPinnedConsumer = "pinned-consumer"
	scBalancedProd   = "balanced-producer"
	scBalancedGroup  = "balanced-consumer-group"
	scEndToEnd       = "end-to-end"
)

// errStalled ends a consumer that keeps finding nothing where messages
// must be.
var errStalled = errors.New("consumer stalled: no new message for 10s")

const stallTimeout = 10 * time.Second

// makePayloads returns n payloads of size bytes, filled with letters.
func makePayloads(n, size int) [][]byte {
	buf := make([]byte, n*size)
	for i := range buf {
		buf[i] = 'a' + byte(i%26)
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = buf[i*size : (i+1)*size : (i+1)*size]
	}
	return out
}

// split divides total into n nearly equal shares.
func split(total, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = total / n
		if i < total%n {
			out[i]++
		}
	}
	return out
}

// runIggy runs every selected broker-level scenario against t. names
// prefixes the streams, so that a shared server (IGGY_ADDR) keeps runs
// apart.
func runIggy(ctx context.Context, o *options, t iggyTarget, names string) []Row {
	var rows []Row
	add := func(sc string, f func(*Row) error) {
		if !o.wantScenario(sc) || (sc == scBalancedGroup && t.noGroups) {
			return
		}
		beginRow(t.name, sc)
		r := Row{Target: t.name, Scenario: sc, Durability: t.durability, PeerKey: sc, Kind: kindOf(sc)}
		if t.cpuNote != "" {
			r.Notes = append(r.Notes, t.cpuNote)
		}
		if err := f(&r); err != nil {
			r.Err = err.Error()
		}
		o.logf("%-22s %-26s %s", t.name, sc, r.brief())
		rows = append(rows, r)
	}
	pinned := func(i int) string { return fmt.Sprintf("%spinned-%d", names, i) }
	balanced := names + "balanced"
	pinnedOK := false
	add(scPinnedProducer, func(r *Row) error {
		err := iggyProduce(ctx, o, t, r, pinned, false)
		pinnedOK = err == nil
		return err
	})
	add(scPinnedConsumer, func(r *Row) error {
		if !pinnedOK {
			return errors.New("needs pinned-producer's data")
		}
		return iggyPinnedConsume(ctx, o, t, r, pinned)
	})
	balancedOK := false
	add(scBalancedProd, func(r *Row) error {
		err := iggyProduce(ctx, o, t, r, func(int) string { return balanced }, true)
		balancedOK = err == nil
		return err
	})
	add(scBalancedGroup, func(r *Row) error {
		if !balancedOK {
			return errors.New("needs balanced-producer's data")
		}
		return iggyGroupConsume(ctx, o, t, r, balanced)
	})
	add(scEndToEnd, func(r *Row) error { return iggyEndToEnd(ctx, o, t, r, names+"e2e") })
	return rows
}

// iggyProduce runs o.producers producers, each on its own session, sending
// o.messages in all in batches of o.batch. Pinned: producer i sends to
// partition 0 of its own stream stream(i). Balanced: every producer sends
// to the one topic of stream(0) with o.partitions partitions, balanced.
func iggyProduce(ctx context.Context, o *options, t iggyTarget, r *Row, stream func(int) string, balanced bool) error {
	setup, err := t.connect(ctx)
	if err != nil {
		return err
	}
	defer setup.close()
	if balanced {
		if err := setup.createTopic(ctx, stream(0), "t", uint32(o.partitions)); err != nil {
			return err
		}
	} else {
		for i := range o.producers {
			if err := setup.createTopic(ctx, stream(i), "t", 1); err != nil {
				return err
			}
		}
	}
	shares := split(o.messages, o.producers)
	sessions := make([]iggySession, o.producers)
	for i := range sessions {
		if sessions[i], err = t.connect(ctx); err != nil {
			return err
		}
		defer sessions[i].close()
	}
	lat := newLatencies("batch")
	var wg sync.WaitGroup
	errs := make([]error, o.producers)
	m := startMeter()
	for i := range o.producers {
		wg.Go(func() {
			s := sessions[i]
			part := 0
			if balanced {
				part = -1
			}
			full := s.prepare(makePayloads(o.batch, o.msgSize))
			var rec recorder
			defer lat.merge(&rec)
			for left := shares[i]; left > 0; {
				b := full
				if left < o.batch {
					b = s.prepare(makePayloads(left, o.msgSize))
				}
				st := time.Now()
				if err := s.send(ctx, stream(i), "t", part, b); err != nil {
					errs[i] = fmt.Errorf("producer %d: %w", i, err)
					return
				}
				rec.add(time.Since(st))
				left -= min(left, o.batch)
			}
		})
	}
	wg.Wait()
	m.stop(r, int64(o.messages), int64(o.messages)*int64(o.msgSize), lat)
	return errors.Join(errs...)
}

// iggyPinnedConsume runs one consumer per pinned stream, each reading its
// partition from offset 0 in polls of o.batch, without storing offsets.
func iggyPinnedConsume(ctx context.Context, o *options, t iggyTarget, r *Row, stream func(int) string) error {
	shares := split(o.messages, o.producers)
	sessions := make([]iggySession, o.producers)
	for i := range sessions {
		var err error
		if sessions[i], err = t.connect(ctx); err != nil {
			return err
		}
		defer sessions[i].close()
	}
	lat := newLatencies("batch")
	var wg sync.WaitGroup
	var bytes atomic.Int64
	errs := make([]error, o.producers)
	m := startMeter()
	for i := range o.producers {
		wg.Go(func() {
			s := sessions[i]
			var rec recorder
			defer lat.merge(&rec)
			var nb int64
			visit := func(p []byte) { nb += int64(len(p)) }
			var off uint64
			idleSince := time.Time{}
			for int(off) < shares[i] {
				st := time.Now()
				n, err := s.poll(ctx, stream(i), "t", 0, off, uint32(o.batch), visit)
				if err != nil {
					errs[i] = fmt.Errorf("consumer %d: %w", i, err)
					return
				}
				if n == 0 {
					if idleSince.IsZero() {
						idleSince = time.Now()
					} else if time.Since(idleSince) > stallTimeout {
						errs[i] = fmt.Errorf("consumer %d at offset %d: %w", i, off, errStalled)
						return
					}
					runtime.Gosched()
					continue
				}
				idleSince = time.Time{}
				rec.add(time.Since(st))
				off += uint64(n)
			}
			bytes.Add(nb)
		})
	}
	wg.Wait()
	m.stop(r, int64(o.messages), bytes.Load(), lat)
	return errors.Join(errs...)
}

// iggyGroupConsume runs o.consumers members of a new consumer group on the
// balanced topic, each polling the next o.batch messages with auto-commit,
// until the group has read o.messages.
func iggyGroupConsume(ctx context.Context, o *options, t iggyTarget, r *Row, stream string) error {
	setup, err := t.connect(ctx)
	if err != nil {
		return err
	}
	defer setup.close()
	if err := setup.createGroup(ctx, stream, "t", "cg"); err != nil {
		return err
	}
	members := make([]iggyMember, o.consumers)
	for i := range members {
		s, err := t.connect(ctx)
		if err != nil {
			return err
		}
		defer s.close()
		if members[i], err = s.join(ctx, stream, "t", "cg"); err != nil {
			return err
		}
		defer members[i].leave(context.WithoutCancel(ctx))
	}
	lat := newLatencies("batch")
	var wg sync.WaitGroup
	var total, bytes atomic.Int64
	errs := make([]error, o.consumers)
	want := int64(o.messages)
	m := startMeter()
	for i := range members {
		wg.Go(func() {
			var rec recorder
			defer lat.merge(&rec)
			var nb int64
			defer func() { bytes.Add(nb) }()
			visit := func(p []byte) { nb += int64(len(p)) }
			idleSince := time.Time{}
			for total.Load() < want {
				st := time.Now()
				n, err := members[i].pollNext(ctx, uint32(o.batch), visit)
				if err != nil {
					errs[i] = fmt.Errorf("member %d: %w", i, err)
					return
				}
				if n == 0 {
					if idleSince.IsZero() {
						idleSince = time.Now()
					} else if time.Since(idleSince) > stallTimeout {
						errs[i] = fmt.Errorf("member %d: %w", i, errStalled)
						return
					}
					runtime.Gosched()
					continue
				}
				idleSince = time.Time{}
				rec.add(time.Since(st))
				total.Add(int64(n))
			}
		})
	}
	wg.Wait()
	m.stop(r, total.Load(), bytes.Load(), lat)
	err = errors.Join(errs...)
	if got := total.Load(); got != want && err == nil {
		return fmt.Errorf("group read %d messages, want %d", got, want)
	}
	return err
}

// pacer spaces events at a fixed rate: wait blocks until event i is due.
type pacer struct {
	start    time.Time
	interval time.Duration
}

func (p pacer) wait(ctx context.Context, i int) error {
	due := p.start.Add(time.Duration(i) * p.interval)
	for {
		d := time.Until(due)
		if d <= 0 {
			return ctx.Err()
		}
		if d > 200*time.Microsecond {
			time.Sleep(d - 100*time.Microsecond)
		} else {
			runtime.Gosched()
		}
	}
}

// stamp writes now into the payload's first 8 bytes; since reads it back
// and returns the time elapsed since.
func stamp(p []byte) { binary.LittleEndian.PutUint64(p, uint64(time.Now().UnixNano())) }

func since(p []byte) time.Duration {
	return time.Duration(time.Now().UnixNano() - int64(binary.LittleEndian.Uint64(p)))
}

// iggyEndToEnd sends single messages at o.e2eRate for o.e2eDur, each
// stamped with its send time, to a one-partition topic, while one consumer
// polls it (when it finds nothing: sleeping --e2e-idle, or spinning with
// runtime.Gosched when that is 0) and
// records each message's age when it is read.
func iggyEndToEnd(ctx context.Context, o *options, t iggyTarget, r *Row, stream string) error {
	prod, err := t.connect(ctx)
	if err != nil {
		return err
	}
	defer prod.close()
	if err := prod.createTopic(ctx, stream, "t", 1); err != nil {
		return err
	}
	cons, err := t.connect(ctx)
	if err != nil {
		return err
	}
	defer cons.close()
	total := int(float64(o.e2eRate) * o.e2eDur.Seconds())
	payload := makePayloads(1, max(o.msgSize, 8))
	batch := prod.prepare(payload)
	lat := newLatencies("e2e")
	var sent atomic.Int64
	sent.Store(-1) // unknown until the producer ends
	var perr, cerr error
	var wg sync.WaitGroup
	m := startMeter()
	wg.Go(func() {
		p := pacer{start: time.Now(), interval: time.Second / time.Duration(o.e2eRate)}
		n := 0                                  // messages sent and stored
		defer func() { sent.Store(int64(n)) }() // the consumer reads up to n, also after an error
		for ; n < total; n++ {
			if perr = p.wait(ctx, n); perr != nil {
				return
			}
			stamp(payload[0])
			if perr = prod.send(ctx, stream, "t", 0, batch); perr != nil {
				return
			}
		}
	})
	var got int64
	var nb int64
	wg.Go(func() {
		var rec recorder
		defer lat.merge(&rec)
		visit := func(p []byte) { rec.add(since(p)); nb += int64(len(p)) }
		var off uint64
		idleSince := time.Time{}
		for {
			if s := sent.Load(); s >= 0 && got >= s {
				return
			}
			n, err := cons.poll(ctx, stream, "t", 0, off, 1000, visit)
			if err != nil {
				cerr = err
				return
			}
			if n == 0 {
				if idleSince.IsZero() {
					idleSince = time.Now()
				} else if time.Since(idleSince) > stallTimeout {
					cerr = errStalled
					return
				}
				if o.e2eIdle > 0 {
					time.Sleep(o.e2eIdle)
				} else {
					runtime.Gosched()
				}
				continue
			}
			idleSince = time.Time{}
			off += uint64(n)
			got += int64(n)
		}
	})
	wg.Wait()
	m.stop(r, got, nb, lat)
	r.Notes = append(r.Notes, fmt.Sprintf("target rate %d/s, 1 message per send", o.e2eRate))
	if perr != nil {
		return fmt.Errorf("producer: %w", perr)
	}
	if cerr != nil {
		return fmt.Errorf("consumer: %w", cerr)
	}
	return nil
}
