// Package iggywm is a Watermill Pub/Sub (github.com/ThreeDotsLabs/watermill)
// over rustok-iggy: a [Publisher] and a [Subscriber] that work on any
// core.Broker, so with the embedded connector (a broker inside the process)
// and the remote connector (an Iggy server) alike. It passes Watermill's
// universal Pub/Sub test suite with consumer groups, persistence, and
// ordering per partition.
//
// Publish: a Watermill topic is an Iggy topic of one stream
// ([TopicConfig.Stream], "watermill" by default), created with the stream
// on first use. The [Marshaler] ([DefaultMarshaler] unless configured)
// turns each message into an Iggy message: payload as payload, UUID and
// metadata as user headers, byte for byte. The [Partitioner] picks the
// partition: [Balanced] by default, or [ByMetadata] for a key whose
// messages must stay in order. Publish returns once the broker stored
// every message.
//
// Subscribe: with [SubscriberConfig.ConsumerGroup] set, each subscription
// joins that Iggy consumer group and reads the partitions the broker
// assigns it; every group gets every message, the members of a group share
// them. Messages are handed out one at a time; Ack stores the offset in the
// group and moves on, Nack delivers the same message again. A later
// subscription of the group continues after the last acknowledged message;
// a new group starts at the first message. Without a group, each
// subscription reads the whole topic from the start and stores nothing.
// Delivery is at least once.
//
// Ordering: messages of one partition are delivered in publish order, one
// after the other. With the default single partition per topic that is the
// order of the topic; with more partitions, use [ByMetadata] (or a
// [Partitioner]) for order per key.
//
// Neither Publisher nor Subscriber owns the broker: close them, then the
// broker.
package iggywm
