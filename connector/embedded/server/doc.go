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
// and no payload. [Server.Shutdown] stops accepting, lets requests in flight
// finish, closes idle connections and waits for every goroutine;
// [Server.Close] does the same without waiting for requests.
//
// The server does not own the broker: whoever opened it closes it, after
// Shutdown returned.
package server
