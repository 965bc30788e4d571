package integration

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok-iggy/transport"
	"github.com/rustok/rustok-iggy/transport/transporttest"
)

// healthRestart: a transport with a running subscription reports Healthy;
// with the broker stopped (the serve process killed, the embedded broker
// closed) Unhealthy with the broker check naming it; after the restart
// Healthy again, every check. Over the remote connector the subscription
// also survives the restart: its members reconnect and rejoin, and events
// published before and after the restart are all handled, in order.
func healthRestart(t *testing.T, tg target) {
	if tg.down == nil || tg.up == nil {
		t.Skipf("target %s: the suite cannot stop and restart this broker", tg.name)
	}
	b := tg.newBroker(t)
	cfg := transport.Config{}
	cfg.Topology.StreamName = transporttest.StreamName(t)
	cfg.Topology.DomainPartitions = 4
	cfg.Consumer.PollIdleMax = 10 * time.Millisecond
	cfg.Consumer.InitialBackoff = time.Millisecond
	cfg.Consumer.MaxBackoff = 10 * time.Millisecond
	tr := startTransport(t, cfg, b, mustCodec(t, "json"))
	ctx := testCtx(t)
	survives := tg.remote != nil

	tenant := uuid.New()
	const n = 20
	k := transporttest.NewTracker(n)
	half := make(chan struct{})
	handled := 0
	sub, err := tr.Subscribe(ctx, "health", func(ctx context.Context, d transport.Delivery) error {
		k.Record(d.Envelope)
		if handled++; handled == n/2 { // serial: one tenant, one partition
			close(half)
		}
		return nil
	}, transport.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop(ctx)
	publish := func(from, to int) {
		t.Helper()
		for s := from; s < to; s++ {
			if err := tr.Publish(ctx, transporttest.Event(tenant, "node.updated", s)); err != nil {
				t.Fatalf("publish %d: %v", s, err)
			}
		}
	}
	publish(0, n/2)
	awaitClosed(t, half, "the first half handled")
	awaitHealth(t, tr, transport.Healthy, "before the stop")

	tg.down(t, b)
	r := tr.Health(ctx)
	if r.Status != transport.Unhealthy || checkOf(r, "broker").Status != transport.Unhealthy {
		t.Fatalf("broker stopped:\n%s", r)
	}
	tg.up(t, b)
	awaitHealth(t, tr, transport.Healthy, "after the restart")
	if !survives {
		return
	}
	publish(n/2, n)
	awaitClosed(t, k.Done(), "every event, before and after the restart")
	total, dups, errs := k.Result()
	if total != n || len(errs) > 0 {
		t.Fatalf("handled %d of %d, order errors %v", total, n, errs)
	}
	if err := sub.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sub.Err(); err != nil {
		t.Errorf("subscription error after the restart: %v", err)
	}
	t.Logf("health: restart survived, %d redelivered", dups)
}

// awaitHealth waits until Health reports want overall; a connector that
// is still reconnecting reports Degraded meanwhile.
func awaitHealth(t *testing.T, tr *transport.Transport, want transport.Status, when string) {
	t.Helper()
	deadline := time.Now().Add(scenarioTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r := tr.Health(ctx)
		cancel()
		if r.Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health %s is not %s after %s:\n%s", when, want, scenarioTimeout, r)
		}
		time.Sleep(20 * time.Millisecond) // health has no change notification
	}
}

func checkOf(r transport.HealthReport, name string) transport.Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return transport.Check{Name: name, Status: transport.Unhealthy, Detail: "missing"}
}
