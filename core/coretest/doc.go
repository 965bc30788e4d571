// Package coretest is the workspace's one in-memory implementation of the
// stream port ([core.Broker], [core.GroupMember], [core.LongPoller],
// [core.Deleter]) for tests. It lives in core so that, under the dependency
// rule, the tests of every module may import it.
//
// It follows the port's documented semantics and Iggy 0.8.0's, and
// connector/connectortest's conformance suite runs against it (in
// connector/connectortest/coretest_test.go) so that it behaves like both
// connectors: partitions and offsets from 0, messages-key partitioning by
// XXH32(key) modulo the partition count, balanced sends round robin,
// cooperative joins (a joining member takes at most one partition, handed
// over once its owner stored the offset it polled there), full rebalances
// on leave, group polls round robin over the member's partitions, Next =
// stored offset + 1, names up to 255 bytes, a topic MaxSize below 1 GiB
// refused as Iggy 0.8.0 refuses it, and ErrClosed after Close.
//
// # Options and fault injection
//
// [Options] chooses what differs between brokers: LongPoll makes polls
// honour MaxWait (the embedded connector); without it MaxWait is ignored
// (the remote connector). FullRebalance makes joins rebalance the whole
// group, as a broker without Iggy's cooperative hand-over does: the
// transport's tests check that they cope with such a broker, and the
// conformance suite's self-test that the suite rejects it.
//
// Tests inject faults at run time, safe for concurrent use with calls in
// flight:
//
//   - [Broker.SetHooks]: a [Hooks] value whose Send and Poll functions run
//     before a send is stored or a poll is read, outside every lock. A
//     hook may block (a slow broker, a send held until the test releases
//     it) and its error fails the call (a broker error on one partition).
//     Hooks also observe: the [SendCall] and [PollCall] name the stream,
//     topic, partition, group and MaxWait.
//   - [Broker.SetDown]: while down, every call of every connection fails
//     with an error wrapping [core.ErrUnavailable], as an unreachable
//     broker's would.
//   - [Broker.SetReconnecting]: what [Broker.Reconnecting] reports (the
//     optional capability the transport's health check looks for).
//
// Several connectors may share one broker: [Broker.Connect] returns a new
// connection to the same in-memory state, with its own Close and group
// members. Options, hooks and the down flag belong to the shared broker.
//
// The fake keeps everything in memory and never expires or trims a
// message. Its checksums are FNV-1a 64 of the payload (never 0), not
// Iggy's XXH3-64. Polled messages share their payload and header bytes
// with the store: they may be kept but must not be modified.
package coretest
