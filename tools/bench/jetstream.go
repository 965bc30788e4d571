package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// jsServer is an embedded NATS server with JetStream on file storage in
// dir, reached through in-process connections (no TCP).
type jsServer struct {
	s          *server.Server
	durability string
	tcp        bool // connect over loopback TCP instead of in-process pipes
}

// startJetStream starts the server with the durability matching the fsync
// policy of the rustok targets: never -> sync_interval default (2 min,
// page cache otherwise), interval -> sync_interval 1s (rustok's interval),
// always -> sync_interval always.
func startJetStream(dir, fsync string, useTCP bool) (*jsServer, error) {
	opts := &server.Options{
		ServerName: "bench",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		DontListen: !useTCP,
		JetStream:  true,
		StoreDir:   dir,
		NoLog:      true,
		NoSigs:     true,
	}
	var dur string
	switch fsync {
	case "never":
		dur = "file, sync_interval 2m (default)"
	case "interval":
		opts.SyncInterval = time.Second
		dur = "file, sync_interval 1s"
	case "always":
		opts.SyncAlways = true
		dur = "file, sync_interval always"
	default:
		return nil, fmt.Errorf("jetstream: fsync %q", fsync)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	go s.Start() // returns once the server runs; the server's goroutines end with Shutdown
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("jetstream: server not ready after 10s")
	}
	if useTCP {
		dur += ", tcp"
	}
	return &jsServer{s: s, durability: dur, tcp: useTCP}, nil
}

func (j *jsServer) close() {
	j.s.Shutdown()
	j.s.WaitForShutdown()
}

// conn is one client connection and its JetStream context.
type jsConn struct {
	nc *nats.Conn
	js jetstream.JetStream
	// asyncErr is the first error the client reported asynchronously
	// (a slow consumer, a disconnect): such events drop messages or acks.
	asyncErr atomic.Pointer[error]
}

// err returns the connection's first asynchronous error, or nil.
func (c *jsConn) err() error {
	if p := c.asyncErr.Load(); p != nil {
		return fmt.Errorf("nats client: %w", *p)
	}
	return nil
}

func (j *jsServer) connect(maxPending int) (*jsConn, error) {
	c := &jsConn{}
	record := func(err error) {
		if err != nil {
			c.asyncErr.CompareAndSwap(nil, &err)
		}
	}
	url, opt := "", nats.InProcessServer(j.s)
	if j.tcp {
		url, opt = j.s.ClientURL(), nil
	}
	nc, err := nats.Connect(url, opt,
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { record(err) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { record(err) }))
	if err != nil {
		return nil, fmt.Errorf("jetstream connect: %w", err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(max(maxPending, 1)))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream context: %w", err)
	}
	c.nc, c.js = nc, js
	return c, nil
}

func (c *jsConn) close() { c.nc.Close() }

// connErrs joins the asynchronous errors of conns.
func connErrs(conns []*jsConn) error {
	var errs []error
	for _, c := range conns {
		if c != nil {
			errs = append(errs, c.err())
		}
	}
	return errors.Join(errs...)
}

// checkStored compares a stream's message count with want.
func (c *jsConn) checkStored(ctx context.Context, stream string, want uint64) error {
	st, err := c.js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s info: %w", stream, err)
	}
	if info.State.Msgs != want {
		return fmt.Errorf("stream %s holds %d messages, %d were acknowledged", stream, info.State.Msgs, want)
	}
	return nil
}

func (c *jsConn) createStream(ctx context.Context, name, subject string) error {
	_, err := c.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: name, Subjects: []string{subject}, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return fmt.Errorf("create stream %s: %w", name, err)
	}
	return nil
}

func (c *jsConn) consumer(ctx context.Context, stream, durable string, ack jetstream.AckPolicy) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{Durable: durable, AckPolicy: ack, MaxAckPending: -1}
	if ack == jetstream.AckNonePolicy {
		cfg.MaxAckPending = 0
	}
	cons, err := c.js.CreateOrUpdateConsumer(ctx, stream, cfg)
	if err != nil {
		return nil, fmt.Errorf("create consumer %s on %s: %w", durable, stream, err)
	}
	return cons, nil
}

// publishAsyncBatch publishes payloads asynchronously to subject and waits
// for every acknowledgement.
func (c *jsConn) publishAsyncBatch(ctx context.Context, subject string, payloads [][]byte, futs []jetstream.PubAckFuture) ([]jetstream.PubAckFuture, error) {
	futs = futs[:0]
	for _, p := range payloads {
		f, err := c.js.PublishAsync(subject, p, jetstream.WithStallWait(stallTimeout))
		if err != nil {
			return futs, err
		}
		futs = append(futs, f)
	}
	return futs, waitAcks(ctx, c.js, futs)
}

// waitAcks waits until no async publish is pending and checks futs.
func waitAcks(ctx context.Context, js jetstream.JetStream, futs []jetstream.PubAckFuture) error {
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return ctx.Err()
	}
	for _, f := range futs {
		select {
		case err := <-f.Err():
			return err
		default:
		}
	}
	return nil
}

// runJetStream runs the broker-level scenarios against JetStream: the same
// shapes as runIggy, with a stream per pinned producer, one stream for the
// balanced producers (JetStream streams are not partitioned), a durable
// pull consumer per stream for the pinned consumers (ack none), and one
// durable pull consumer shared by o.consumers fetchers for the group
// (ack all, the last message of each fetch: one offset store per batch,
// like Iggy's auto-commit).
func runJetStream(ctx context.Context, o *options, j *jsServer) []Row {
	var rows []Row
	add := func(sc string, f func(*Row) error) {
		if !o.wantScenario(sc) {
			return
		}
		beginRow("jetstream", sc)
		r := Row{Target: "jetstream", Scenario: sc, Durability: j.durability, PeerKey: sc, Kind: kindOf(sc), IsPeer: true}
		if err := f(&r); err != nil {
			r.Err = err.Error()
		}
		o.logf("%-22s %-26s %s", "jetstream", sc, r.brief())
		rows = append(rows, r)
	}
	pinnedOK, balancedOK := false, false
	add(scPinnedProducer, func(r *Row) error {
		err := jsProduce(ctx, o, j, r, false)
		pinnedOK = err == nil
		return err
	})
	add(scPinnedConsumer, func(r *Row) error {
		if !pinnedOK {
			return errors.New("needs pinned-producer's data")
		}
		return jsConsume(ctx, o, j, r, false)
	})
	add(scBalancedProd, func(r *Row) error {
		err := jsProduce(ctx, o, j, r, true)
		balancedOK = err == nil
		return err
	})
	add(scBalancedGroup, func(r *Row) error {
		if !balancedOK {
			return errors.New("needs balanced-producer's data")
		}
		return jsConsume(ctx, o, j, r, true)
	})
	add(scEndToEnd, func(r *Row) error { return jsEndToEnd(ctx, o, j, r) })
	return rows
}

func jsStreamName(balanced bool, i int) (name, subject string) {
	if balanced {
		return "BALANCED", "balanced"
	}
	return fmt.Sprintf("PINNED_%d", i), fmt.Sprintf("pinned.%d", i)
}

func jsProduce(ctx context.Context, o *options, j *jsServer, r *Row, balanced bool) error {
	conns := make([]*jsConn, o.producers)
	for i := range conns {
		c, err := j.connect(o.batch)
		if err != nil {
			return err
		}
		defer c.close()
		conns[i] = c
		if i == 0 || !balanced {
			name, subj := jsStreamName(balanced, i)
			if err := c.createStream(ctx, name, subj); err != nil {
				return err
			}
		}
	}
	shares := split(o.messages, o.producers)
	lat := newLatencies("batch")
	errs := make([]error, o.producers)
	var wg sync.WaitGroup
	m := startMeter()
	for i, c := range conns {
		wg.Go(func() {
			_, subj := jsStreamName(balanced, i)
			payloads := makePayloads(o.batch, o.msgSize)
			futs := make([]jetstream.PubAckFuture, 0, o.batch)
			var rec recorder
			defer lat.merge(&rec)
			for left := shares[i]; left > 0; {
				n := min(left, o.batch)
				st := time.Now()
				var err error
				if futs, err = c.publishAsyncBatch(ctx, subj, payloads[:n], futs); err != nil {
					errs[i] = fmt.Errorf("producer %d: %w", i, err)
					return
				}
				rec.add(time.Since(st))
				left -= n
			}
		})
	}
	wg.Wait()
	m.stop(r, int64(o.messages), int64(o.messages)*int64(o.msgSize), lat)
	if err := errors.Join(errors.Join(errs...), connErrs(conns)); err != nil {
		return err
	}
	if balanced {
		name, _ := jsStreamName(true, 0)
		return conns[0].checkStored(ctx, name, uint64(o.messages))
	}
	for i, c := range conns {
		name, _ := jsStreamName(false, i)
		if err := c.checkStored(ctx, name, uint64(shares[i])); err != nil {
			return err
		}
	}
	return nil
}

func jsConsume(ctx context.Context, o *options, j *jsServer, r *Row, group bool) error {
	n := o.producers
	if group {
		n = o.consumers
	}
	conns := make([]*jsConn, n)
	conses := make([]jetstream.Consumer, n)
	for i := range conns {
		c, err := j.connect(1)
		if err != nil {
			return err
		}
		defer c.close()
		conns[i] = c
		name, _ := jsStreamName(group, i)
		if group {
			if conses[i], err = c.consumer(ctx, name, "cg", jetstream.AckAllPolicy); err != nil {
				return err
			}
		} else if conses[i], err = c.consumer(ctx, name, "pc", jetstream.AckNonePolicy); err != nil {
			return err
		}
	}
	shares := split(o.messages, o.producers)
	lat := newLatencies("batch")
	errs := make([]error, n)
	var total, bytes atomic.Int64
	want := int64(o.messages)
	var wg sync.WaitGroup
	m := startMeter()
	for i := range conns {
		wg.Go(func() {
			var rec recorder
			defer lat.merge(&rec)
			var nb, mine int64
			defer func() { bytes.Add(nb) }()
			idleSince := time.Time{}
			for {
				if group && total.Load() >= want || !group && mine >= int64(shares[i]) {
					return
				}
				st := time.Now()
				mb, err := conses[i].FetchNoWait(o.batch)
				if err != nil {
					errs[i] = fmt.Errorf("fetcher %d: %w", i, err)
					return
				}
				var last jetstream.Msg
				got := 0
				for msg := range mb.Messages() {
					nb += int64(len(msg.Data()))
					last = msg
					got++
				}
				if err := mb.Error(); err != nil {
					errs[i] = fmt.Errorf("fetcher %d: %w", i, err)
					return
				}
				if got == 0 {
					if idleSince.IsZero() {
						idleSince = time.Now()
					} else if time.Since(idleSince) > stallTimeout {
						errs[i] = fmt.Errorf("fetcher %d after %d messages (all fetchers: %d of %d): %w", i, mine, total.Load(), want, errStalled)
						return
					}
					runtime.Gosched()
					continue
				}
				idleSince = time.Time{}
				if group {
					if err := last.Ack(); err != nil {
						errs[i] = fmt.Errorf("fetcher %d: ack: %w", i, err)
						return
					}
				}
				rec.add(time.Since(st))
				mine += int64(got)
				total.Add(int64(got))
			}
		})
	}
	wg.Wait()
	m.stop(r, total.Load(), bytes.Load(), lat)
	return errors.Join(errors.Join(errs...), connErrs(conns))
}

// jsEndToEnd: a synchronous publish per message at o.e2eRate (each waits
// for the stream's ack, as an Iggy send waits for the store) and a pull
// consumer's Consume callback (ack none) recording each message's age.
func jsEndToEnd(ctx context.Context, o *options, j *jsServer, r *Row) error {
	prod, err := j.connect(1)
	if err != nil {
		return err
	}
	defer prod.close()
	if err := prod.createStream(ctx, "E2E", "e2e"); err != nil {
		return err
	}
	cc, err := j.connect(1)
	if err != nil {
		return err
	}
	defer cc.close()
	cons, err := cc.consumer(ctx, "E2E", "e2e", jetstream.AckNonePolicy)
	if err != nil {
		return err
	}
	total := int(float64(o.e2eRate) * o.e2eDur.Seconds())
	lat := newLatencies("e2e")
	var (
		recMu sync.Mutex // the handler runs serially; the lock orders it before the merge
		rec   recorder
	)
	var got, nb atomic.Int64
	var sent atomic.Int64
	sent.Store(-1)
	done := make(chan struct{})
	var once sync.Once
	m := startMeter()
	cctx, err := cons.Consume(func(msg jetstream.Msg) {
		// Consume calls the handler serially.
		age := since(msg.Data())
		recMu.Lock()
		rec.add(age)
		recMu.Unlock()
		nb.Add(int64(len(msg.Data())))
		n := got.Add(1)
		if s := sent.Load(); s >= 0 && n >= s {
			once.Do(func() { close(done) })
		}
	})
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	payload := makePayloads(1, max(o.msgSize, 8))[0]
	p := pacer{start: time.Now(), interval: time.Second / time.Duration(o.e2eRate)}
	n := 0
	var perr error
	for ; n < total; n++ {
		if perr = p.wait(ctx, n); perr != nil {
			break
		}
		stamp(payload)
		if _, perr = prod.js.Publish(ctx, "e2e", payload); perr != nil {
			break
		}
	}
	sent.Store(int64(n))
	if got.Load() >= int64(n) {
		once.Do(func() { close(done) })
	}
	var cerr error
	select {
	case <-done:
	case <-time.After(stallTimeout):
		cerr = errStalled
	}
	cctx.Stop()
	<-cctx.Closed()
	recMu.Lock()
	lat.merge(&rec)
	recMu.Unlock()
	m.stop(r, got.Load(), nb.Load(), lat)
	r.Notes = append(r.Notes, fmt.Sprintf("target rate %d/s, sync publish per message", o.e2eRate))
	if perr != nil {
		return fmt.Errorf("producer: %w", perr)
	}
	return cerr
}
