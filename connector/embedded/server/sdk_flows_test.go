package server

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	iggcon "github.com/apache/iggy/foreign/go/contracts"
	"github.com/google/uuid"
)

func TestSDKRestartKeepsMessagesAndGroupOffsets(t *testing.T) {
	e := newEnv(t)
	const parts = 3
	{
		cli := e.root(t)
		s, tp := mkTopic(t, cli, "orders", "events", parts)
		for i := range 30 {
			ok(t, cli.SendMessages(nid(s), nid(tp), iggcon.None(), msgs(t, "m"+itoa(i), 2)))
		}
		g := must(cli.CreateConsumerGroup(nid(s), nid(tp), "g"))(t).Id
		ok(t, cli.JoinConsumerGroup(nid(s), nid(tp), nid(g)))
		// Consume 5 messages from every partition, committing.
		for p := uint32(0); p < parts; p++ {
			got := must(cli.PollMessages(nid(s), nid(tp), iggcon.NewGroupConsumer(nid(g)), iggcon.NextPollingStrategy(), 5, true, ptr(p)))(t)
			if len(got.Messages) != 5 {
				t.Fatalf("partition %d: %d", p, len(got.Messages))
			}
		}
		must(cli.CreateUser("keeper", "keeper-pw", iggcon.Active, nil))(t)
		ok(t, cli.Close())
	}
	e.restart()

	cli := e.root(t)
	tp := must(cli.GetTopic(sid("orders"), sid("events")))(t)
	if tp.MessagesCount != 60 || tp.PartitionsCount != parts {
		t.Fatalf("after restart %+v", tp.Topic)
	}
	total := 0
	for p := uint32(0); p < parts; p++ {
		got := must(cli.PollMessages(sid("orders"), sid("events"), iggcon.DefaultConsumer(), iggcon.FirstPollingStrategy(), 100, false, ptr(p)))(t)
		total += len(got.Messages)
		for i, m := range got.Messages {
			if m.Header.Offset != uint64(i) {
				t.Fatalf("partition %d message %d has offset %d", p, i, m.Header.Offset)
			}
		}
		off := must(cli.GetConsumerOffset(iggcon.NewGroupConsumer(sid("g")), sid("orders"), sid("events"), ptr(p)))(t)
		if off == nil || off.StoredOffset != 4 {
			t.Fatalf("group offset on %d after restart: %+v", p, off)
		}
	}
	if total != 60 {
		t.Fatalf("polled %d messages after restart", total)
	}
	// The group continues where it stopped (membership is per connection
	// and was not kept).
	ok(t, cli.JoinConsumerGroup(sid("orders"), sid("events"), sid("g")))
	got := must(cli.PollMessages(sid("orders"), sid("events"), iggcon.NewGroupConsumer(sid("g")), iggcon.NextPollingStrategy(), 100, true, ptr(uint32(0))))(t)
	if len(got.Messages) != 15 || got.Messages[0].Header.Offset != 5 {
		t.Fatalf("group resumed with %d messages", len(got.Messages))
	}
	e.login(t, "keeper", "keeper-pw")
}

// TestSDKConcurrentClients runs 50 SDK clients sending and polling at once.
func TestSDKConcurrentClients(t *testing.T) {
	e := newEnv(t)
	admin := e.root(t)
	const clients, batches, perBatch, parts = 50, 30, 5, 4
	s, tp := mkTopic(t, admin, "load", "t", parts)

	// The clients log in with a personal access token: 50 password
	// logins would spend seconds in the password hash under -race.
	tok := must(admin.CreatePersonalAccessToken("load-test", 0))(t)
	cls := make([]iggcon.Client, clients)
	for i := range cls {
		cls[i] = e.connect(t)
		must(cls[i].LoginWithPersonalAccessToken(tok.Token))(t)
	}
	var wg sync.WaitGroup
	for i, cli := range cls {
		wg.Go(func() {
			for b := range batches {
				batch := msgs(t, fmt.Sprintf("c%d-b%d", i, b), perBatch)
				if err := cli.SendMessages(nid(s), nid(tp), iggcon.None(), batch); err != nil {
					t.Errorf("client %d send: %v", i, err)
					return
				}
				// Interleave polls with sends.
				p := uint32((i + b) % parts)
				if _, err := cli.PollMessages(nid(s), nid(tp), iggcon.NewSingleConsumer(nid(uint32(i))), iggcon.NextPollingStrategy(), 10, true, &p); err != nil {
					t.Errorf("client %d poll: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	const want = clients * batches * perBatch
	seen := map[string]bool{}
	for p := uint32(0); p < parts; p++ {
		var next uint64
		for {
			got := must(admin.PollMessages(nid(s), nid(tp), iggcon.DefaultConsumer(), iggcon.OffsetPollingStrategy(next), 1000, false, ptr(p)))(t)
			if len(got.Messages) == 0 {
				break
			}
			for _, m := range got.Messages {
				if m.Header.Offset != next {
					t.Fatalf("partition %d: offset %d, want %d (gap or duplicate)", p, m.Header.Offset, next)
				}
				next++
				if seen[string(m.Payload)] {
					t.Fatalf("duplicate message %q", m.Payload)
				}
				seen[string(m.Payload)] = true
			}
		}
	}
	if len(seen) != want {
		t.Fatalf("%d messages stored, want %d", len(seen), want)
	}
}

// sampleEnvelope mirrors the SDK samples' shared envelope.
type sampleEnvelope struct {
	MessageType string `json:"message_type"`
	Payload     string `json:"payload"`
}

// TestSDKSamplesProducerConsumerFlow follows foreign/go/samples: the
// producer and the consumer each ensure stream 0 / topic 0 exist (GetStream,
// GetTopic, create when missing), the producer sends to partition 0 with
// fresh UUIDs, and the consumer polls partition 0 as consumer 0 with "next"
// and auto-commit. One deviation: the samples pass compression 0, which
// Iggy 0.8.0 refuses with InvalidCommand; this test passes None (1).
func TestSDKSamplesProducerConsumerFlow(t *testing.T) {
	e := newEnv(t)
	producer, consumer := e.root(t), e.root(t)
	ensure := func(cli iggcon.Client) {
		if _, err := cli.GetStream(nid(0)); err != nil {
			must(cli.CreateStream("Test Producer Stream"))(t)
		}
		if _, err := cli.GetTopic(nid(0), nid(0)); err != nil {
			must(cli.CreateTopic(nid(0), "Test Topic From Producer Sample", 12, iggcon.CompressionAlgorithmNone, 0, 0, nil))(t)
		}
	}
	ensure(producer)
	ensure(consumer) // the second call finds both

	const rounds = 20
	sent := map[uuid.UUID]string{}
	for i := range rounds {
		payload, _ := json.Marshal(sampleEnvelope{MessageType: "order_created", Payload: fmt.Sprintf(`{"id":%d}`, i)})
		id := uuid.New()
		sent[id] = string(payload)
		m := iggcon.IggyMessage{
			Header: iggcon.MessageHeader{
				Id:              iggcon.MessageID(id),
				OriginTimestamp: uint64(time.Now().UnixMicro()),
				PayloadLength:   uint32(len(payload)),
			},
			Payload: payload,
		}
		ok(t, producer.SendMessages(nid(0), nid(0), iggcon.PartitionId(0), []iggcon.IggyMessage{m}))
	}
	got := 0
	for range rounds + 1 {
		p := uint32(0)
		w := must(consumer.PollMessages(nid(0), nid(0), iggcon.NewSingleConsumer(nid(0)), iggcon.NextPollingStrategy(), 1, true, &p))(t)
		if w == nil {
			t.Fatal("nil poll result")
		}
		for _, m := range w.Messages {
			var env sampleEnvelope
			ok(t, json.Unmarshal(m.Payload, &env))
			if sent[uuid.UUID(m.Header.Id)] != string(m.Payload) || m.Header.Offset != uint64(got) {
				t.Fatalf("message %d: id %x offset %d", got, m.Header.Id, m.Header.Offset)
			}
			got++
		}
	}
	if got != rounds {
		t.Fatalf("consumed %d of %d", got, rounds)
	}
}
