package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/iggy/foreign/go/client/tcp"
	iggcon "github.com/apache/iggy/foreign/go/contracts"
	"github.com/rustok/rustok-iggy/core"
)

// iggyTarget is a broker with Iggy's model (streams, topics, partitions,
// consumer groups): the embedded connector in-process, or a broker over TCP
// driven by the official Go SDK. The broker-level scenarios run against it.
type iggyTarget struct {
	name       string
	durability string
	// cpuNote says whose CPU the row's CPU figure counts.
	cpuNote string
	// noGroups skips the consumer-group scenario (Iggy's HTTP API has no
	// group join).
	noGroups bool
	// connect opens a session: a new logged-in TCP connection for the SDK,
	// the shared connector in-process. Each producer and consumer of a
	// scenario has its own session, as in Iggy's bench tool.
	connect func(ctx context.Context) (iggySession, error)
}

// iggySession is what one producer or consumer of a scenario uses.
type iggySession interface {
	// createTopic creates the stream (unless it exists) and a topic.
	createTopic(ctx context.Context, stream, topic string, partitions uint32) error
	createGroup(ctx context.Context, stream, topic, group string) error
	// prepare turns payloads into a reusable batch; the batch aliases the
	// payloads, so changing a payload's bytes changes the next send.
	prepare(payloads [][]byte) any
	// send sends a prepared batch to a partition (partition < 0: balanced).
	send(ctx context.Context, stream, topic string, partition int, batch any) error
	// poll reads up to count messages from offset as a plain consumer,
	// without storing an offset, and returns how many it read.
	poll(ctx context.Context, stream, topic string, partition uint32, offset uint64, count uint32, visit func([]byte)) (int, error)
	// join joins an existing consumer group.
	join(ctx context.Context, stream, topic, group string) (iggyMember, error)
	close() error
}

// iggyMember is one consumer-group member.
type iggyMember interface {
	// pollNext reads the next messages of one of its partitions, storing
	// the group's offset (auto-commit), and returns how many it read.
	pollNext(ctx context.Context, count uint32, visit func([]byte)) (int, error)
	leave(ctx context.Context) error
}

// --- in-process: the embedded connector through core.Broker ---

type coreSession struct{ b core.Broker }

func (s coreSession) createTopic(ctx context.Context, stream, topic string, partitions uint32) error {
	if _, err := s.b.CreateStream(ctx, stream); err != nil && !errors.Is(err, core.ErrAlreadyExists) {
		return err
	}
	_, err := s.b.CreateTopic(ctx, stream, topic, core.TopicConfig{Partitions: partitions})
	return err
}

func (s coreSession) createGroup(ctx context.Context, stream, topic, group string) error {
	_, err := s.b.CreateGroup(ctx, stream, topic, group)
	return err
}

func (coreSession) prepare(payloads [][]byte) any {
	msgs := make([]core.Message, len(payloads))
	for i, p := range payloads {
		msgs[i].Payload = p
	}
	return msgs
}

func (s coreSession) send(ctx context.Context, stream, topic string, partition int, batch any) error {
	p := core.Balanced()
	if partition >= 0 {
		p = core.ToPartition(uint32(partition))
	}
	return s.b.Send(ctx, stream, topic, p, batch.([]core.Message))
}

func (s coreSession) poll(ctx context.Context, stream, topic string, partition uint32, offset uint64, count uint32, visit func([]byte)) (int, error) {
	res, err := s.b.Poll(ctx, core.PollRequest{
		Stream: stream, Topic: topic, Partition: partition,
		Consumer: core.Consumer{Kind: core.SingleConsumer, Name: "bench"},
		Strategy: core.FromOffset(offset), Count: count,
	})
	if err != nil {
		return 0, err
	}
	for i := range res.Messages {
		visit(res.Messages[i].Payload)
	}
	return len(res.Messages), nil
}

func (s coreSession) join(ctx context.Context, stream, topic, group string) (iggyMember, error) {
	m, err := s.b.JoinGroup(ctx, stream, topic, group)
	if err != nil {
		return nil, err
	}
	return coreMember{m}, nil
}

func (coreSession) close() error { return nil } // the broker is shared and closed by its owner

type coreMember struct{ m core.GroupMember }

func (m coreMember) pollNext(ctx context.Context, count uint32, visit func([]byte)) (int, error) {
	res, err := m.m.Poll(ctx, core.GroupPoll{Strategy: core.Next(), Count: count, AutoCommit: true})
	if err != nil {
		return 0, err
	}
	for i := range res.Messages {
		visit(res.Messages[i].Payload)
	}
	return len(res.Messages), nil
}

func (m coreMember) leave(ctx context.Context) error { return m.m.Leave(ctx) }

// --- over TCP: the official Iggy Go SDK's TCP client ---

// sdkConnect returns a connect func that opens a TCP client of the
// official SDK to addr and logs in.
func sdkConnect(addr, user, pass string) func(context.Context) (iggySession, error) {
	return func(context.Context) (iggySession, error) {
		cli, err := tcp.NewIggyTcpClient(tcp.WithServerAddress(addr))
		if err != nil {
			return nil, fmt.Errorf("connect %s: %w", addr, err)
		}
		if _, err := cli.LoginUser(user, pass); err != nil {
			_ = cli.Close()
			return nil, fmt.Errorf("login to %s as %s: %w", addr, user, err)
		}
		return &sdkSession{c: cli}, nil
	}
}

type sdkSession struct{ c *tcp.IggyTcpClient }

// ident names a stream, topic or group by its name.
func ident(name string) iggcon.Identifier {
	id, err := iggcon.NewIdentifier(name)
	if err != nil { // only for names over 255 bytes, which this program never makes
		panic(err)
	}
	return id
}

func (s *sdkSession) createTopic(_ context.Context, stream, topic string, partitions uint32) error {
	if _, err := s.c.GetStream(ident(stream)); err != nil {
		if _, err := s.c.CreateStream(stream); err != nil {
			return fmt.Errorf("create stream %s: %w", stream, err)
		}
	}
	if _, err := s.c.CreateTopic(ident(stream), topic, partitions, iggcon.CompressionAlgorithmNone, iggcon.IggyExpiryNeverExpire, 0, nil); err != nil {
		return fmt.Errorf("create topic %s/%s: %w", stream, topic, err)
	}
	return nil
}

func (s *sdkSession) createGroup(_ context.Context, stream, topic, group string) error {
	_, err := s.c.CreateConsumerGroup(ident(stream), ident(topic), group)
	return err
}

func (*sdkSession) prepare(payloads [][]byte) any {
	msgs := make([]iggcon.IggyMessage, len(payloads))
	for i, p := range payloads {
		m, err := iggcon.NewIggyMessage(p)
		if err != nil { // empty or > 10 MB payloads, refused by flag checks
			panic(err)
		}
		msgs[i] = m
	}
	return msgs
}

func (s *sdkSession) send(_ context.Context, stream, topic string, partition int, batch any) error {
	p := iggcon.None()
	if partition >= 0 {
		p = iggcon.PartitionId(uint32(partition))
	}
	return s.c.SendMessages(ident(stream), ident(topic), p, batch.([]iggcon.IggyMessage))
}

func (s *sdkSession) poll(_ context.Context, stream, topic string, partition uint32, offset uint64, count uint32, visit func([]byte)) (int, error) {
	res, err := s.c.PollMessages(ident(stream), ident(topic), iggcon.NewSingleConsumer(ident("bench")),
		iggcon.OffsetPollingStrategy(offset), count, false, &partition)
	if err != nil {
		return 0, err
	}
	for i := range res.Messages {
		visit(res.Messages[i].Payload)
	}
	return len(res.Messages), nil
}

func (s *sdkSession) join(_ context.Context, stream, topic, group string) (iggyMember, error) {
	if err := s.c.JoinConsumerGroup(ident(stream), ident(topic), ident(group)); err != nil {
		return nil, err
	}
	return &sdkMember{s: s, stream: ident(stream), topic: ident(topic), group: ident(group)}, nil
}

func (s *sdkSession) close() error { return s.c.Close() }

type sdkMember struct {
	s                    *sdkSession
	stream, topic, group iggcon.Identifier
}

func (m *sdkMember) pollNext(_ context.Context, count uint32, visit func([]byte)) (int, error) {
	res, err := m.s.c.PollMessages(m.stream, m.topic, iggcon.NewGroupConsumer(m.group),
		iggcon.NextPollingStrategy(), count, true, nil)
	if err != nil {
		return 0, err
	}
	for i := range res.Messages {
		visit(res.Messages[i].Payload)
	}
	return len(res.Messages), nil
}

func (m *sdkMember) leave(context.Context) error {
	return m.s.c.LeaveConsumerGroup(m.stream, m.topic, m.group)
}
