package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
	"github.com/rustok/rustok-iggy/transport/transporttest"
)

// goldenDir holds the envelopes exactly as the Rust service serialises
// them (the foundation's goldens).
const goldenDir = "../core/testdata"

// rustMessage is a golden envelope as a Rust producer sends it: the serde
// JSON bytes as the payload, the message id from the event's UUID, string
// headers for the envelope's metadata, the topic by event type and the
// tenant id as the messages key.
type rustMessage struct {
	file  string
	raw   []byte
	want  core.Envelope
	topic string
	msg   core.Message
}

func loadRustGoldens(t *testing.T) []rustMessage {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(goldenDir, "envelope_*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Rust goldens in %s: %v", goldenDir, err)
	}
	var out []rustMessage
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raw = bytes.TrimRight(raw, "\r\n") // serde_json::to_vec writes no newline
		var e core.Envelope
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		hs := core.Headers{
			core.StringHeader(transport.HeaderTenantID, e.TenantID.String()),
			core.StringHeader(transport.HeaderEventType, e.EventType),
			core.StringHeader(transport.HeaderSchemaVersion, strconv.Itoa(int(e.SchemaVersion))),
			core.StringHeader(transport.HeaderContentType, "application/json"),
			core.StringHeader(transport.HeaderCorrelationID, e.CorrelationID.String()),
		}
		if e.CausationID != uuid.Nil {
			hs = append(hs, core.StringHeader(transport.HeaderCausationID, e.CausationID.String()))
		}
		if e.TraceID != "" {
			hs = append(hs, core.StringHeader(transport.HeaderTraceID, e.TraceID))
		}
		out = append(out, rustMessage{
			file:  filepath.Base(f),
			raw:   raw,
			want:  e,
			topic: transport.TopicFor(e.EventType),
			msg:   core.Message{ID: core.MessageIDFromUUID(e.ID), Headers: hs, Payload: raw},
		})
	}
	return out
}

// rustProduced: every golden, sent as raw bytes with the headers a Rust
// producer sets, is consumed by a Go subscription (domain and system
// topics) whose transport's own codec is primary: the JSON payload is
// decoded by its content type. Each arrives intact, on the partition the
// Go side computes for its tenant, and replays by tenant and type find
// them.
func rustProduced(t *testing.T, tg target, primary core.Codec, extra ...core.Codec) {
	goldens := loadRustGoldens(t)
	b := tg.newBroker(t)
	cfg := transport.Config{}
	cfg.Topology.StreamName = transporttest.StreamName(t)
	cfg.Topology.DomainPartitions = 8
	cfg.Consumer.PollIdleMax = 10 * time.Millisecond
	tr := startTransport(t, cfg, b, primary, extra...)
	ctx := testCtx(t)
	stream := cfg.Topology.StreamName
	for _, g := range goldens {
		key := []byte(g.want.TenantID.String())
		if err := b.Send(ctx, stream, g.topic, core.ByKey(key), []core.Message{g.msg}); err != nil {
			t.Fatalf("send %s: %v", g.file, err)
		}
	}
	var mu sync.Mutex
	var got []transport.Delivery
	all := make(chan struct{})
	sub, err := tr.Subscribe(ctx, "rust-consumer", func(ctx context.Context, d transport.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
		if len(got) == len(goldens) {
			close(all)
		}
		return nil
	}, transport.SubscribeOptions{IncludeSystem: true})
	if err != nil {
		t.Fatal(err)
	}
	awaitClosed(t, all, "the Rust-produced events")
	if err := sub.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(goldens) {
		t.Fatalf("%d deliveries, want %d", len(got), len(goldens))
	}
	for _, g := range goldens {
		i := slices.IndexFunc(got, func(d transport.Delivery) bool { return bytes.Equal(d.Message.Payload, g.raw) })
		if i < 0 {
			t.Errorf("%s: not delivered byte for byte", g.file)
			continue
		}
		d := got[i]
		if !sameEnvelope(d.Envelope, g.want) {
			t.Errorf("%s: decoded\n %+v\nwant\n %+v", g.file, d.Envelope, g.want)
		}
		if d.Topic != g.topic || d.Partition != transport.TenantPartition(g.want.TenantID, 8) {
			t.Errorf("%s: read from %s/%d, want %s/%d", g.file, d.Topic, d.Partition, g.topic, transport.TenantPartition(g.want.TenantID, 8))
		}
		if uuid.UUID(core.UUIDFromMessageID(d.Message.ID)) != g.want.ID {
			t.Errorf("%s: message id %x", g.file, d.Message.ID)
		}
	}
	if st := sub.Stats(); st.DecodeErrors != 0 || st.DeadLettered != 0 {
		t.Errorf("stats %+v", st)
	}
	// Replays filter Rust-produced events by their headers.
	tenant := goldens[0].want.TenantID
	var domain, system int
	for _, g := range goldens {
		if g.want.TenantID == tenant {
			if g.topic == transport.TopicSystem {
				system++
			} else {
				domain++
			}
		}
	}
	if n := replayCount(t, tr, transport.ReplayRequest{Tenants: []uuid.UUID{tenant}}); n != domain {
		t.Errorf("tenant replay of domain: %d events, want %d", n, domain)
	}
	if n := replayCount(t, tr, transport.ReplayRequest{Topic: transport.TopicSystem, Tenants: []uuid.UUID{tenant}}); n != system {
		t.Errorf("tenant replay of system: %d events, want %d", n, system)
	}
	if n := replayCount(t, tr, transport.ReplayRequest{EventTypes: []string{goldens[0].want.EventType}, Topic: goldens[0].topic}); n != 1 {
		t.Errorf("type replay of %s: %d events, want 1", goldens[0].want.EventType, n)
	}
}

// sameEnvelope compares envelopes, event data as JSON values.
func sameEnvelope(a, b core.Envelope) bool {
	da, db := a.Event.Data, b.Event.Data
	a.Event.Data, b.Event.Data = nil, nil
	if !a.Timestamp.Equal(b.Timestamp) {
		return false
	}
	a.Timestamp, b.Timestamp = time.Time{}, time.Time{}
	if !reflect.DeepEqual(a, b) {
		return false
	}
	if len(da) == 0 || len(db) == 0 {
		return len(da) == len(db)
	}
	var va, vb any
	return json.Unmarshal(da, &va) == nil && json.Unmarshal(db, &vb) == nil && reflect.DeepEqual(va, vb)
}

// mixedCodecs: one tenant's events published alternately by a JSON and a
// CBOR transport onto one stream are consumed by a subscription and read
// by a replay, each decoding every message by its content_type header;
// the envelopes come back equal, in per-tenant order.
func mixedCodecs(t *testing.T, tg target) {
	jsonC, cborC := mustCodec(t, "json"), mustCodec(t, "cbor")
	b := tg.newBroker(t)
	cfg := transport.Config{}
	cfg.Topology.StreamName = transporttest.StreamName(t)
	cfg.Topology.DomainPartitions = 8
	cfg.Consumer.PollIdleMax = 10 * time.Millisecond
	trJSON := startTransport(t, cfg, b, jsonC, cborC)
	trCBOR := startTransport(t, cfg, b, cborC, jsonC)
	ctx := testCtx(t)
	tenants := transporttest.Tenants(5)
	const n = 40
	sent := map[uuid.UUID]core.Envelope{}
	for s := range n {
		for _, tn := range tenants {
			e := transporttest.Event(tn, "node.updated", s)
			e.TraceID = "trace-" + strconv.Itoa(s)
			e.CausationID = uuid.New()
			pub := trJSON
			if s%2 == 1 {
				pub = trCBOR
			}
			if err := pub.Publish(ctx, e); err != nil {
				t.Fatal(err)
			}
			sent[e.ID] = e
		}
	}
	check := func(where string, d transport.Delivery) {
		want, ok := sent[d.Envelope.ID]
		if !ok {
			t.Errorf("%s: unknown event %s", where, d.Envelope.ID)
			return
		}
		if !sameEnvelope(d.Envelope, want) {
			t.Errorf("%s: decoded %+v, sent %+v", where, d.Envelope, want)
		}
		ct := jsonC.ContentType()
		if transporttest.Seq(want)%2 == 1 {
			ct = cborC.ContentType()
		}
		if got := d.Message.Headers.Value(transport.HeaderContentType); got != ct {
			t.Errorf("%s: content_type %q, want %q", where, got, ct)
		}
	}
	k := transporttest.NewTracker(len(sent))
	var mu sync.Mutex
	sub, err := trCBOR.Subscribe(ctx, "mixed", func(ctx context.Context, d transport.Delivery) error {
		mu.Lock()
		check("subscription", d)
		mu.Unlock()
		k.Record(d.Envelope)
		return nil
	}, transport.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	awaitClosed(t, k.Done(), "every mixed-codec event")
	if err := sub.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if total, dups, errs := k.Result(); total != len(sent) || dups != 0 || len(errs) != 0 {
		t.Fatalf("handled %d, duplicates %d, order errors %v", total, dups, errs)
	}
	seen := 0
	if _, err := trJSON.Replay(ctx, transport.ReplayRequest{}, func(ctx context.Context, d transport.Delivery) error {
		if d.DecodeErr != nil {
			return d.DecodeErr
		}
		check("replay", d)
		seen++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if seen != len(sent) {
		t.Errorf("replay delivered %d events, want %d", seen, len(sent))
	}
}

// startTransport starts a transport over b and shuts it down when t ends.
func startTransport(t *testing.T, cfg transport.Config, b core.Broker, c core.Codec, extra ...core.Codec) *transport.Transport {
	t.Helper()
	tr, err := transport.New(cfg, b, c, nil, transport.WithCodecs(extra...))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
		defer cancel()
		if err := tr.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return tr
}

// testCtx is a context bounded by scenarioTimeout, cancelled when t ends.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	t.Cleanup(cancel)
	return ctx
}

// awaitClosed waits for ch to close, up to scenarioTimeout.
func awaitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	timer := time.NewTimer(scenarioTimeout)
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
		t.Fatalf("timed out after %s waiting for %s", scenarioTimeout, what)
	}
}

func replayCount(t *testing.T, tr *transport.Transport, req transport.ReplayRequest) int {
	t.Helper()
	n := 0
	if _, err := tr.Replay(testCtx(t), req, func(ctx context.Context, d transport.Delivery) error {
		if d.DecodeErr != nil {
			return d.DecodeErr
		}
		n++
		return nil
	}); err != nil {
		t.Fatalf("Replay(%+v): %v", req, err)
	}
	return n
}
