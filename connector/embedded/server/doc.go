// Package server is the Iggy 0.8.0 TCP protocol server in front of the
// embedded broker: the official Iggy SDKs and CLI connect to it and cannot
// tell it from an Iggy 0.8.0 server.
//
// Flow: [Server.Listen] binds the TCP (optionally TLS) listener;
// [Server.Serve] accepts connections. Each connection gets one goroutine
// and one broker session (registered on accept, closed on disconnect, which
// also leaves the session's consumer groups). The goroutine reads request
// frames strictly one at a time ([u32 length][u32 code][payload], always the
// whole frame), decodes the payload with iggyproto, calls the broker, and
// writes exactly one response frame ([u32 status][u32 length][payload])
// before it reads the next request. Errors are answered with their Iggy code
// and no payload; after ClientNotFound (100) or StaleClient (30) the
// connection is closed, as Iggy does. A panic in a handler is answered with
// code 1 and logged; the connection and the process go on.
// [Server.Shutdown] stops accepting, lets requests in flight finish, closes
// idle connections and waits for every goroutine; [Server.Close] does the
// same without waiting for requests.
//
// Buffers: a connection reuses its request and response buffers while they
// are small; SendMessages batches (up to Config.MaxSendFrame) are read into
// buffers shared by all connections through a pool (straight into a pooled
// buffer when one is big enough) and handed to the broker without a copy
// (the broker is done with them when Send returns). A frame's declared
// length alone never makes the server allocate it: new memory grows as
// bytes arrive. PollMessages reads the messages into a pooled buffer the
// size of the connection's last answer, and writes the response header,
// head and messages with one writev (plain TCP; TLS copies through the
// connection's buffer); the buffer goes back to the pool once written. So
// neither a send nor a poll allocates per request in the steady state.
// Go sets TCP_NODELAY on every connection (no Nagle delay on responses).
//
// Where this server knowingly differs from Iggy 0.8.0 (none of it is
// visible to the Go SDK in normal use):
//
//   - A frame whose length field is below 4 is answered InvalidCommand (3)
//     and the connection closed (Iggy answers and reads on, out of step).
//   - A frame over its limit (10 MiB for a control command, MaxSendFrame
//     for SendMessages, 16 KiB before login) is answered from its header
//     (InvalidCommand, or Unauthenticated before login) and the connection
//     closed without reading the rest. Iggy has no SendMessages frame cap.
//   - A SendMessages before login of at most 16 KiB is read and answered
//     Unauthenticated, keeping the connection in step.
//   - Hostile clients (none of this is in Iggy): a connection must log in
//     within LoginTimeout; MaxConnections caps logged-in connections only,
//     while connections not logged in yet have their own caps, in total
//     and per IP address, where a new connection evicts the oldest pending
//     one, so silent connections cannot keep a client from logging in.
//     Frame payloads are buffered as they arrive in 1 MiB chunks charged
//     to MaxFrameMemory, shared by all connections; when it is spent,
//     sockets are no longer read (TCP backpressure). A frame must arrive
//     whole within ReadTimeout; responses are bounded by WriteTimeout, and
//     logged-in connections by IdleTimeout.
//   - GetSnapshotFile (11) answers a zip as Iggy does, with the same
//     entry names, but the contents are this server's equivalents of
//     Iggy's shell commands, read without a shell: filesystem_overview
//     lists the data directory (Iggy: ls -la /tmp /proc); process_list
//     and resource_usage read /proc, the Go runtime and the broker's
//     statistics, plus the streams and topics the caller may read (Iggy:
//     ps aux, top); on a system without /proc those parts say they are
//     unavailable. server_logs says where the logs go (no log files are
//     kept); server_config prints the broker and listener configuration
//     with the root password redacted (Iggy: its current_config.toml).
//     Bzip2, Lzma and Xz compression write deflated entries (no encoder
//     here); Stored, Deflated and Zstd are as Iggy's.
//   - Client ids are XXH32 of "ip:port" as in Iggy; where two live
//     sessions have the same address string (only in-process sessions can)
//     the second takes the next free id instead of replacing the first.
//     An IPv6 address with a zone prints the zone by name in Go ("%eth0")
//     and by index in Rust ("%2"), so such a client's id differs.
//
// The server does not own the broker: whoever opened it closes it, after
// Shutdown returned.
package server
