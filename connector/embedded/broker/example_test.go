package broker_test

import (
	"fmt"
	"os"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// The in-process flow of the embedded connector: a root session, a stream
// and topic, a keyed send and a poll.
func Example() {
	dir, _ := os.MkdirTemp("", "broker-example")
	defer os.RemoveAll(dir)
	b, err := broker.Open(broker.Config{DataDir: dir, Fsync: "never"})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	s := b.NewSystemSession("in-process")
	defer b.CloseSession(s)

	st, _ := b.CreateStream(s, "events")
	_, _ = b.CreateTopic(s, iggyproto.NumericID(st.ID), broker.TopicConfig{Name: "domain", PartitionsCount: 3, CompressionAlgorithm: broker.CompressionNone})

	payload := []byte(`{"hello":"world"}`)
	msg := iggyproto.AppendMessageHeader(nil, iggyproto.MessageHeader{PayloadLength: uint32(len(payload))})
	msg = append(msg, payload...)
	res, err := b.Send(s, iggyproto.NamedID("events"), iggyproto.NamedID("domain"),
		broker.Partitioning{Kind: broker.PartitionByKey, Key: []byte("tenant-1")}, msg)
	if err != nil {
		panic(err)
	}

	polled, _ := b.Poll(s, broker.PollRequest{
		Consumer:    broker.Consumer{Kind: broker.SingleConsumer, ID: broker.ConsumerIDFromName("replayer")},
		Stream:      iggyproto.NamedID("events"),
		Topic:       iggyproto.NamedID("domain"),
		PartitionID: &res.PartitionID,
		Strategy:    broker.PollStrategy{Kind: broker.PollNext},
		Count:       10,
		AutoCommit:  true,
	})
	_ = iggyproto.WalkMessages(polled.Messages, func(m iggyproto.MessageView) error {
		fmt.Printf("partition %d offset %d: %s\n", polled.PartitionID, m.Header.Offset, m.Payload())
		return nil
	})
	// Output: partition 1 offset 0: {"hello":"world"}
}
