// Package embedded is the stream port (core.Broker) served by the embedded
// Iggy broker inside the application process: no other process, no TCP hop.
//
// Flow:
//
//	Open ──► broker.Open(DataDir) ─► a system session (root) ─► optional
//	         TCP listener (package server) on Config.TCPAddr, so the Iggy CLI,
//	         SDKs and the remote connector of other processes reach the same data
//	Send ──► messages encoded once, in the Iggy layout, into one pooled batch
//	         buffer ─► broker.Send (the log store stamps it in place) ─► buffer
//	         back to the pool
//	Poll ──► broker.Poll (a fresh buffer owned by the caller) ─► decoded in
//	         place: payloads alias that buffer, nothing else is copied;
//	         with MaxWait (a long poll, core.LongPoller) an empty poll waits
//	         on the topic's append signal (broker.AppendSignal), holding no
//	         lock, and polls again after each append
//	JoinGroup ──► one broker session per member, logged in as root
//	Close ──► members leave, the TCP server shuts down, the broker flushes,
//	         syncs and closes
//
// Errors from the broker are *iggyproto.Error values carrying the Iggy code;
// errors.Is matches the core sentinels (core.ErrNotFound, ...) and errors.As
// recovers the code. Every error is wrapped with the operation and the names
// it was about. Where the broker answers "not found" with an empty result
// (a stream, topic, group or stored offset that does not exist) the
// connector returns core.ErrNotFound.
//
// The broker's calls do not block on the network, so a call's ctx is
// checked when it starts: a call already running finishes (its I/O is
// local and short) even if ctx ends meanwhile. The one call that waits, a
// poll with MaxWait, ends its wait when ctx ends.
package embedded
