// Package broker is the embedded Iggy 0.8.0 broker's brain: everything Iggy
// does above the per-partition log (package logstore). It keeps the
// metadata (streams, topics, partitions, consumer groups, users, personal
// access tokens), sessions and their authentication, permissions, partition
// selection on send, polling strategies, consumer offsets and consumer group
// assignment, and persists all of it under Config.DataDir.
//
// Two faces call it: the Iggy TCP protocol server, which turns frames into
// method calls and an *iggyproto.Error into a response status, and the
// in-process embedded connector. Every operation takes the calling *Session
// first; a session is a client connection (NewSession) or, for the
// connector, a root session (NewSystemSession).
//
// # Errors
//
// Every failure a client can cause is an *iggyproto.Error carrying the exact
// Iggy 0.8.0 code (40 before login, 41 without permission, 1009 unknown
// stream, ...). Where Iggy answers "not found" with an empty OK payload
// (GetStream, GetTopic, GetTopics, GetUser, GetConsumerGroup,
// GetConsumerGroups, GetClient, GetConsumerOffset), the method returns
// ok == false and a nil error; the server sends an empty payload. A closed
// broker answers CodeDisconnected (8); a session removed from the registry
// (closed, or its user deleted) answers CodeClientNotFound (100).
//
// # Concurrency
//
// A Broker is safe for concurrent use. Metadata sits behind one RWMutex that
// is never held across partition I/O: Send and Poll resolve their partition
// under a read lock and append or read under that partition's own lock, so
// appends to different partitions run in parallel. Deletes wait for in-flight
// I/O of the partitions they remove.
//
// # Storage
//
//	<DataDir>/metadata.json                         streams, topics, groups, users, PATs (atomic rewrite)
//	<DataDir>/streams/<s>/topics/<t>/partitions/<p>  one logstore.Partition each
//	<DataDir>/streams/<s>/topics/<t>/offsets/<p>.log consumer offsets, append-only, compacted
//
// A background goroutine (started by Open, stopped by Close) enforces
// retention every Config.RetentionInterval and, under the "interval" fsync
// policy, syncs offset logs once a second.
package broker
