package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Scale scenarios: one partition of --scale-messages messages, and one
// topic of --scale-partitions partitions, in a `rustok-iggy serve` child.
const (
	scScaleCreate  = "scale-create-partitions"
	scScalePublish = "scale-publish"
	scScaleReopen  = "scale-reopen-after-sigkill"
	scScalePoll    = "scale-poll-at-" // + "0", "middle", "end"
	scScaleConsume = "scale-consume"
)

const scaleTarget = "rustok-serve"

// runScale runs the scale rows. Each needs the previous one's data, so a
// failure ends the target.
func runScale(ctx context.Context, o *options, base string) []Row {
	var rows []Row
	durability := "fsync=" + o.fsync
	add := func(sc, kind string, f func(*Row) error) bool {
		if ctx.Err() != nil {
			return false
		}
		beginRow(scaleTarget, sc)
		r := Row{Target: scaleTarget, Scenario: sc, Durability: durability, Kind: kind}
		err := f(&r)
		if err != nil {
			r.Err = err.Error()
		}
		o.logf("%-22s %-26s %s", scaleTarget, sc, r.brief())
		rows = append(rows, r)
		return err == nil
	}
	fail := func(what string, err error) []Row {
		o.logf("%-22s %s: %v", scaleTarget, what, err)
		return append(rows, Row{Target: scaleTarget, Scenario: "scale-" + what, Err: err.Error()})
	}
	bin, err := serveBinary(ctx, o, base)
	if err != nil {
		return fail("build", err)
	}
	dir := filepath.Join(base, "scale")
	defer os.RemoveAll(dir)
	p, err := startServe(ctx, bin, dir, o.fsync)
	if err != nil {
		return fail("start", err)
	}
	emptyStart := p.ready
	defer func() {
		measuredServer = nil
		if p != nil {
			if err := p.stop(); err != nil {
				o.logf("%s: stop: %v", scaleTarget, err)
			}
		}
	}()
	measuredServer = p
	connect := func() (*sdkSession, error) {
		s, err := sdkConnect(p.addr, "iggy", "iggy")(ctx)
		if err != nil {
			return nil, err
		}
		return s.(*sdkSession), nil
	}

	ok := add(scScaleCreate, kindLatency, func(r *Row) error {
		s, err := connect()
		if err != nil {
			return err
		}
		defer s.close()
		const stream = "scale-partitions"
		if err := s.createTopic(ctx, stream, "warm-up", 1); err != nil {
			return err
		}
		m := startMeter()
		cpu0, _ := procCPU(p.pid())
		st := time.Now()
		err = s.createTopic(ctx, stream, "t", uint32(o.scalePartitions))
		took := time.Since(st)
		cpu1, _ := procCPU(p.pid())
		m.stop(r, 0, 0, nil)
		if err != nil {
			return err
		}
		r.LatencyOf, r.Samples, r.P50us = "one CreateTopic", 1, us(took)
		r.Notes = append(r.Notes, fmt.Sprintf("one topic of %d partitions in one request; server CPU %s (user+system)",
			o.scalePartitions, (cpu1-cpu0).Round(time.Millisecond)))
		// The reopen row measures the big partition alone.
		return s.c.DeleteStream(ident(stream))
	})
	if !ok {
		return rows
	}

	const stream, topic = "scale", "t"
	payloads := makePayloads(o.batch, o.msgSize)
	ok = add(scScalePublish, kindWrite, func(r *Row) error {
		setup, err := connect()
		if err != nil {
			return err
		}
		defer setup.close()
		if err := setup.createTopic(ctx, stream, topic, 1); err != nil {
			return err
		}
		sessions := make([]*sdkSession, o.producers)
		for i := range sessions {
			if sessions[i], err = connect(); err != nil {
				return err
			}
			defer sessions[i].close()
		}
		lat := newLatencies("batch")
		shares := split(o.scaleMessages, o.producers)
		errs := make([]error, len(sessions))
		var wg sync.WaitGroup
		m := startMeter()
		for i, s := range sessions {
			wg.Go(func() {
				var rec recorder
				defer lat.merge(&rec)
				full := s.prepare(payloads)
				for left := shares[i]; left > 0; {
					b := full
					if left < o.batch {
						b = s.prepare(payloads[:left])
					}
					st := time.Now()
					if err := s.send(ctx, stream, topic, 0, b); err != nil {
						errs[i] = fmt.Errorf("producer %d: %w", i, err)
						return
					}
					rec.add(time.Since(st))
					left -= min(left, o.batch)
				}
			})
		}
		wg.Wait()
		m.stop(r, int64(o.scaleMessages), int64(o.scaleMessages)*int64(o.msgSize), lat)
		r.Notes = append(r.Notes, fmt.Sprintf("%d producers into one partition", o.producers))
		return errors.Join(errs...)
	})
	if !ok {
		return rows
	}

	// total is what the partition holds after the reopen.
	total := uint64(o.scaleMessages)
	ok = add(scScaleReopen, kindLatency, func(r *Row) error {
		s, err := connect()
		if err != nil {
			return err
		}
		// A producer keeps writing until the server is killed under it.
		var acked atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer s.close()
			b := s.prepare(payloads)
			for s.send(ctx, stream, topic, 0, b) == nil {
				acked.Add(int64(len(payloads)))
			}
		}()
		for acked.Load() < 5*int64(o.batch) {
			select {
			case <-done:
				return errors.New("the producer stopped before the kill")
			case <-time.After(time.Millisecond):
			}
		}
		measuredServer = nil
		p.kill()
		<-done
		p = nil
		ack := uint64(acked.Load()) + uint64(o.scaleMessages)
		// The data directory is reopened here, in this process, to time
		// the broker's open (recovery included) without a process start.
		m := startMeter()
		st := time.Now()
		b, err := broker.Open(broker.Config{DataDir: dir, Fsync: logstore.FsyncPolicy(o.fsync), RootUsername: "iggy", RootPassword: "iggy"})
		took := time.Since(st)
		if err != nil {
			return fmt.Errorf("reopen after SIGKILL: %w", err)
		}
		ti, found, err := b.GetTopic(b.NewSystemSession("bench"), iggyproto.NamedID(stream), iggyproto.NamedID(topic))
		m.stop(r, 0, 0, nil)
		if cerr := b.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if !found || len(ti.Partitions) != 1 {
			return fmt.Errorf("after the reopen the topic is missing or has %d partitions, want 1", len(ti.Partitions))
		}
		got := ti.Partitions[0].MessagesCount
		r.Messages = int64(got)
		r.ElapsedMS = float64(took) / float64(time.Millisecond)
		r.LatencyOf, r.Samples, r.P50us = "broker.Open", 1, us(took)
		if p, err = startServe(ctx, bin, dir, o.fsync); err != nil {
			return fmt.Errorf("restart after SIGKILL: %w", err)
		}
		measuredServer = p
		r.Notes = append(r.Notes, fmt.Sprintf("SIGKILL mid-write with %d messages acknowledged; %d recovered; "+
			"serve's exec to listening: %s on the empty data dir at the start, %s on this one after the reopen",
			ack, got, emptyStart.Round(time.Millisecond), p.ready.Round(time.Millisecond)))
		if got < ack {
			return fmt.Errorf("lost acknowledged messages: %d recovered, %d acknowledged", got, ack)
		}
		total = got
		return nil
	})
	if !ok {
		return rows
	}

	// Poll latency right after the reopen (first polls find cold state).
	batch := uint64(o.batch)
	for _, at := range []struct {
		name string
		off  uint64
	}{{"0", 0}, {"middle", total / 2}, {"end", total - min(total, batch)}} {
		ok = add(scScalePoll+at.name, kindLatency, func(r *Row) error {
			s, err := connect()
			if err != nil {
				return err
			}
			defer s.close()
			lat := newLatencies("batch")
			var rec recorder
			var nb int64
			visit := func(p []byte) { nb += int64(len(p)) }
			var first time.Duration
			var msgs int64
			m := startMeter()
			for i := range o.scalePolls {
				st := time.Now()
				n, err := s.poll(ctx, stream, topic, 0, at.off, uint32(o.batch), visit)
				d := time.Since(st)
				if err != nil {
					return err
				}
				if n == 0 {
					return fmt.Errorf("poll at offset %d found nothing", at.off)
				}
				if i == 0 {
					first = d
				}
				rec.add(d)
				msgs += int64(n)
			}
			lat.merge(&rec)
			m.stop(r, msgs, nb, lat)
			r.Notes = append(r.Notes, fmt.Sprintf("%d polls of %d at offset %d of %d; the first took %s",
				o.scalePolls, o.batch, at.off, total, first.Round(time.Microsecond)))
			return nil
		})
		if !ok {
			return rows
		}
	}

	add(scScaleConsume, kindRead, func(r *Row) error {
		s, err := connect()
		if err != nil {
			return err
		}
		defer s.close()
		lat := newLatencies("batch")
		var rec recorder
		var nb int64
		visit := func(p []byte) { nb += int64(len(p)) }
		var off uint64
		m := startMeter()
		for off < total {
			st := time.Now()
			n, err := s.poll(ctx, stream, topic, 0, off, uint32(o.batch), visit)
			if err != nil {
				return fmt.Errorf("at offset %d: %w", off, err)
			}
			if n == 0 {
				return fmt.Errorf("poll at offset %d of %d found nothing", off, total)
			}
			rec.add(time.Since(st))
			off += uint64(n)
		}
		lat.merge(&rec)
		m.stop(r, int64(off), nb, lat)
		r.Notes = append(r.Notes, "one consumer reads the partition from offset 0")
		return nil
	})
	return rows
}
