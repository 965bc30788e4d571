// Package remote is the stream port (core.Broker) over an external Apache
// Iggy 0.8.x server, through the official Go SDK
// (github.com/apache/iggy/foreign/go v0.8.0).
//
// The SDK has no contexts, no deadlines and no reconnection after a broken
// connection, and its first connect retries forever. This package wraps it:
//
//	New ──► dial each address in order: bounded TCP (and TLS) probe,
//	        SDK connect in its own goroutine, login ─► pool of connections
//	call ─► take an idle pooled connection ─► SDK call in a goroutine,
//	        raced against ctx and RequestTimeout ─► mapped error
//	broken connection ─► socket closed, replaced in the background with
//	        backoff and jitter (log in again, re-join the group for a
//	        member); calls fail with core.ErrUnavailable meanwhile
//
// Errors carrying an Iggy code are *Error values: errors.Is matches the
// core sentinels (ErrNotFound, ErrAlreadyExists, ...), errors.As recovers
// the code (*iggyproto.Error) and the SDK's own error value.
//
// Streams, topics and consumer groups are addressed by name (string
// identifiers). A single consumer is addressed by name as well; the server
// hashes it with XXH32.
//
// Known limits of the SDK that show through: it logs to the standard
// library's global logger on every login (cluster metadata check), and it
// does not know every server error code (those become code 1, which maps
// to no sentinel).
package remote
