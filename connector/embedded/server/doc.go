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
// buffers shared by all connections through a pool and handed to the
// broker without a copy (the broker is done with them when Send returns).
// A frame's declared length alone never makes the server allocate it: the
// buffer grows as bytes arrive.
//
// Where this server knowingly differs from Iggy 0.8.0 (none of it is
// visible to the Go SDK in normal use):
//
//   - A frame whose length field is below 4 is answered InvalidCommand (3)
//     and the connection closed (Iggy answers and reads on, out of step).
//   - A refused frame (over 10 MiB for a control command, over MaxSendFrame
//     for SendMessages, or a SendMessages before login) is read to its end
//     before the answer, so the connection stays in step; Iggy answers
//     without draining it. Iggy has no SendMessages frame cap.
//   - MaxConnections caps open connections (Iggy has no cap); a connection
//     over it is closed at once.
//   - GetSnapshotFile (11), FlushUnsavedBuffer (102) and DeleteSegments
//     (503), which the Go SDK never sends, are answered InvalidCommand.
//     GetMe (20), PurgeStream (205) and PurgeTopic (305) are served.
//   - Client ids are the broker's session ids, not XXH32 of "ip:port".
//
// The server does not own the broker: whoever opened it closes it, after
// Shutdown returned.
package server
