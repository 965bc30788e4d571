package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// Transport-level scenario names; each is suffixed with "/json" or
// "/cbor".
const (
	scTPSync    = "transport-publish-sync"
	scTPAsync   = "transport-publish-async"
	scTPBatch   = "transport-publish-batch"
	scTPConsume = "transport-consume-group"
)

// makeEnvelopes returns n valid envelopes of 64 tenants whose event data
// is a JSON object of dataSize bytes.
func makeEnvelopes(n, dataSize int) []core.Envelope {
	filler := max(dataSize-len(`{"payload":""}`), 0)
	data := json.RawMessage(`{"payload":"` + strings.Repeat("x", filler) + `"}`)
	tenants := make([]uuid.UUID, 64)
	for i := range tenants {
		tenants[i] = uuid.New()
	}
	out := make([]core.Envelope, n)
	for i := range out {
		out[i] = core.NewEnvelope(tenants[i%len(tenants)], "node.created", core.Event{Type: "NodeCreated", Data: data})
	}
	return out
}

// failHooks counts the events the transport failed to store (async mode
// reports them only through hooks and Acknowledge).
type failHooks struct {
	transport.NopHooks
	failed atomic.Int64
	first  atomic.Pointer[error]
}

func (h *failHooks) Published(_ string, n int, _ time.Duration, err error) {
	if err != nil {
		h.failed.Add(int64(n))
		h.first.CompareAndSwap(nil, &err)
	}
}

func (h *failHooks) err() error {
	if p := h.first.Load(); p != nil {
		return fmt.Errorf("%d events not stored: %w", h.failed.Load(), *p)
	}
	return nil
}

// runTransport runs the transport-level scenarios for one codec over the
// embedded connector b (in-process). Each scenario has its own stream.
func runTransport(ctx context.Context, o *options, b core.Broker, durability, codecName string) []Row {
	cd, err := codec.ByName(codecName)
	if err != nil {
		return []Row{{Target: "rustok-transport", Scenario: "transport/" + codecName, Err: err.Error()}}
	}
	events := makeEnvelopes(o.events, o.eventData)
	var rows []Row
	add := func(sc, peer string, f func(*Row) error) {
		name := sc + "/" + codecName
		if !o.wantScenario(sc) && !o.wantScenario(name) {
			return
		}
		beginRow("rustok-transport", name)
		r := Row{Target: "rustok-transport", Scenario: name, Durability: durability, PeerKey: peer + "/" + codecName, Kind: kindOf(sc)}
		if err := f(&r); err != nil {
			r.Err = err.Error()
		}
		o.logf("%-22s %-26s %s", r.Target, name, r.brief())
		rows = append(rows, r)
	}
	open := func(stream, mode string, h transport.Hooks) (*transport.Transport, error) {
		cfg := transport.Config{}
		cfg.Topology.StreamName = stream
		cfg.Publisher.Mode = mode
		opts := []transport.Option{transport.WithHooks(h)}
		if o.skipDataValidation {
			opts = append(opts, transport.WithoutDataValidation())
		}
		t, err := transport.New(cfg, b, cd, nil, opts...)
		if err != nil {
			return nil, err
		}
		if err := t.Start(ctx); err != nil {
			return nil, err
		}
		return t, nil
	}
	add(scTPSync, scTPSync, func(r *Row) error {
		t, err := open("tp-sync-"+codecName, transport.ModeSync, nil)
		if err != nil {
			return err
		}
		defer t.Shutdown(context.WithoutCancel(ctx))
		return tpPublish(ctx, o, r, events, cd, func(e core.Envelope) error { return t.Publish(ctx, e) }, nil)
	})
	add(scTPAsync, scTPAsync, func(r *Row) error {
		h := &failHooks{}
		t, err := open("tp-async-"+codecName, transport.ModeAsync, h)
		if err != nil {
			return err
		}
		defer t.Shutdown(context.WithoutCancel(ctx))
		err = tpPublish(ctx, o, r, events, cd, func(e core.Envelope) error { return t.Publish(ctx, e) }, func() error { return t.Flush(ctx) })
		return errors.Join(err, h.err())
	})
	var batchT *transport.Transport
	add(scTPBatch, scTPAsync, func(r *Row) error {
		t, err := open("tp-batch-"+codecName, transport.ModeSync, nil)
		if err != nil {
			return err
		}
		if err := tpPublishBatch(ctx, o, r, events, cd, t); err != nil {
			_ = t.Shutdown(context.WithoutCancel(ctx))
			return err
		}
		batchT = t
		return nil
	})
	add(scTPConsume, scTPConsume, func(r *Row) error {
		t := batchT
		if t == nil { // publish-batch not run: fill a stream first, untimed
			var err error
			if t, err = open("tp-consume-"+codecName, transport.ModeSync, nil); err != nil {
				return err
			}
			for i := 0; i < len(events); i += o.tpBatch {
				if err := t.PublishBatch(ctx, events[i:min(i+o.tpBatch, len(events))]); err != nil {
					_ = t.Shutdown(context.WithoutCancel(ctx))
					return err
				}
			}
		}
		defer t.Shutdown(context.WithoutCancel(ctx))
		return tpConsume(ctx, o, r, t, int64(len(events)))
	})
	if batchT != nil && !o.wantScenario(scTPConsume) && !o.wantScenario(scTPConsume+"/"+codecName) {
		_ = batchT.Shutdown(context.WithoutCancel(ctx))
	}
	return rows
}

// encodedSize is the total encoded size of events (the bytes a row moves).
func encodedSize(cd core.Codec, events []core.Envelope) int64 {
	var n int64
	for _, e := range events {
		b, err := cd.Encode(e)
		if err == nil {
			n += int64(len(b))
		}
	}
	return n
}

// tpPublish has o.publishers goroutines call publish for their share of
// events, then calls flush (async mode) inside the measurement.
func tpPublish(ctx context.Context, o *options, r *Row, events []core.Envelope, cd core.Codec, publish func(core.Envelope) error, flush func() error) error {
	size := encodedSize(cd, events)
	lat := newLatencies("call")
	m := startMeter()
	errs := timedShares(events, o.publishers, lat, publish)
	var ferr error
	if flush != nil {
		ferr = flush()
	}
	m.stop(r, int64(len(events)), size, lat)
	r.Notes = append(r.Notes, fmt.Sprintf("%d publishers", o.publishers))
	return errors.Join(append(errs, ferr)...)
}

func tpPublishBatch(ctx context.Context, o *options, r *Row, events []core.Envelope, cd core.Codec, t *transport.Transport) error {
	size := encodedSize(cd, events)
	var batches [][]core.Envelope
	for i := 0; i < len(events); i += o.tpBatch {
		batches = append(batches, events[i:min(i+o.tpBatch, len(events))])
	}
	lat := newLatencies("batch")
	m := startMeter()
	errs := timedShares(batches, o.publishers, lat, func(b []core.Envelope) error { return t.PublishBatch(ctx, b) })
	m.stop(r, int64(len(events)), size, lat)
	r.Notes = append(r.Notes, fmt.Sprintf("%d publishers, batches of %d", o.publishers, o.tpBatch))
	return errors.Join(errs...)
}

// timedShares splits items into workers contiguous shares, runs do on
// each item of a share in its own goroutine, in order, and records each
// call's duration in lat. A worker stops at its first error; the errors
// are returned by worker.
func timedShares[T any](items []T, workers int, lat *latencies, do func(T) error) []error {
	shares := split(len(items), workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := 0
	for i := range workers {
		mine := items[start : start+shares[i]]
		start += shares[i]
		wg.Go(func() {
			var rec recorder
			defer lat.merge(&rec)
			for _, it := range mine {
				st := time.Now()
				if err := do(it); err != nil {
					errs[i] = err
					return
				}
				rec.add(time.Since(st))
			}
		})
	}
	wg.Wait()
	return errs
}

// tpConsume subscribes a new group with a no-op handler and measures until
// it has handled want events.
func tpConsume(ctx context.Context, o *options, r *Row, t *transport.Transport, want int64) error {
	var n, nb atomic.Int64
	done := make(chan struct{})
	m := startMeter()
	sub, err := t.Subscribe(ctx, "bench", func(_ context.Context, d transport.Delivery) error {
		nb.Add(int64(len(d.Message.Payload)))
		if n.Add(1) == want {
			close(done)
		}
		return nil
	}, transport.SubscribeOptions{})
	if err != nil {
		return err
	}
	var werr error
	select {
	case <-done:
	case <-sub.Done():
		werr = fmt.Errorf("subscription ended: %w", sub.Err())
	case <-time.After(stallTimeout + time.Duration(want)*10*time.Microsecond):
		werr = fmt.Errorf("handled %d of %d: %w", n.Load(), want, errStalled)
	}
	m.stop(r, n.Load(), nb.Load(), nil)
	r.Notes = append(r.Notes, "no-op handler, default concurrency")
	return errors.Join(werr, sub.Stop(context.WithoutCancel(ctx)))
}

// runJetStreamTransport is the peer of runTransport: the same envelopes
// encoded with the same codec (no headers) published to a JetStream stream
// from one shared connection, and consumed by a durable pull consumer
// (fetches of consumer.poll_batch, ack all on the last, decode each).
func runJetStreamTransport(ctx context.Context, o *options, j *jsServer, codecName string) []Row {
	cd, err := codec.ByName(codecName)
	if err != nil {
		return []Row{{Target: "jetstream", Scenario: "transport/" + codecName, Err: err.Error()}}
	}
	events := makeEnvelopes(o.events, o.eventData)
	var rows []Row
	add := func(sc string, f func(*Row) error) {
		name := sc + "/" + codecName
		if !o.wantScenario(sc) && !o.wantScenario(name) {
			return
		}
		beginRow("jetstream", name)
		r := Row{Target: "jetstream", Scenario: name, Durability: j.durability, PeerKey: name, Kind: kindOf(sc), IsPeer: true}
		if err := f(&r); err != nil {
			r.Err = err.Error()
		}
		o.logf("%-22s %-26s %s", r.Target, name, r.brief())
		rows = append(rows, r)
	}
	// As many async publishes in flight as the transport's async buffer
	// holds (publisher.buffer_size).
	conn, err := j.connect(transport.DefaultBufferSize)
	if err != nil {
		return []Row{{Target: "jetstream", Scenario: "transport/" + codecName, Err: err.Error()}}
	}
	defer conn.close()
	up := strings.ToUpper(codecName)
	syncStream, asyncStream := "TP_SYNC_"+up, "TP_ASYNC_"+up
	add(scTPSync, func(r *Row) error {
		subj := "tp.sync." + codecName
		if err := conn.createStream(ctx, syncStream, subj); err != nil {
			return err
		}
		return tpPublish(ctx, o, r, events, cd, func(e core.Envelope) error {
			b, err := cd.Encode(e)
			if err != nil {
				return err
			}
			_, err = conn.js.Publish(ctx, subj, b)
			return err
		}, nil)
	})
	asyncOK := false
	add(scTPAsync, func(r *Row) error {
		subj := "tp.async." + codecName
		if err := conn.createStream(ctx, asyncStream, subj); err != nil {
			return err
		}
		var mu sync.Mutex
		var futs []jetstream.PubAckFuture
		err := tpPublish(ctx, o, r, events, cd, func(e core.Envelope) error {
			b, err := cd.Encode(e)
			if err != nil {
				return err
			}
			f, err := conn.js.PublishAsync(subj, b, jetstream.WithStallWait(stallTimeout)) // block while max pending are in flight, as the transport blocks on a full buffer
			if err != nil {
				return err
			}
			mu.Lock()
			futs = append(futs, f)
			mu.Unlock()
			return nil
		}, func() error { return waitAcks(ctx, conn.js, futs) })
		if err == nil {
			err = errors.Join(conn.err(), conn.checkStored(ctx, asyncStream, uint64(len(events))))
		}
		asyncOK = err == nil
		return err
	})
	add(scTPConsume, func(r *Row) error {
		if !asyncOK {
			return errors.New("needs transport-publish-async's data")
		}
		return jsTPConsume(ctx, o, r, j, asyncStream, cd, int64(len(events)))
	})
	return rows
}

func jsTPConsume(ctx context.Context, o *options, r *Row, j *jsServer, stream string, cd core.Codec, want int64) error {
	n := o.consumers
	conses := make([]jetstream.Consumer, n)
	var conns []*jsConn
	for i := range conses {
		c, err := j.connect(1)
		if err != nil {
			return err
		}
		defer c.close()
		if conses[i], err = c.consumer(ctx, stream, "bench", jetstream.AckAllPolicy); err != nil {
			return err
		}
		conns = append(conns, c)
	}
	batch := int(transport.DefaultPollBatch)
	var total, bytes atomic.Int64
	errs := make([]error, n)
	var wg sync.WaitGroup
	m := startMeter()
	for i := range conses {
		wg.Go(func() {
			idleSince := time.Time{}
			for total.Load() < want {
				mb, err := conses[i].FetchNoWait(batch)
				if err != nil {
					errs[i] = err
					return
				}
				var last jetstream.Msg
				got := 0
				for msg := range mb.Messages() {
					if _, err := cd.Decode(msg.Data()); err != nil {
						errs[i] = err
					}
					bytes.Add(int64(len(msg.Data())))
					last = msg
					got++
				}
				if got == 0 {
					if idleSince.IsZero() {
						idleSince = time.Now()
					} else if time.Since(idleSince) > stallTimeout {
						errs[i] = fmt.Errorf("fetcher %d (all fetchers: %d of %d): %w", i, total.Load(), want, errStalled)
						return
					}
					continue
				}
				idleSince = time.Time{}
				if err := last.Ack(); err != nil {
					errs[i] = err
					return
				}
				total.Add(int64(got))
			}
		})
	}
	wg.Wait()
	m.stop(r, total.Load(), bytes.Load(), nil)
	r.Notes = append(r.Notes, fmt.Sprintf("%d fetchers, batches of %d, decode + no-op", n, batch))
	return errors.Join(errors.Join(errs...), connErrs(conns))
}
