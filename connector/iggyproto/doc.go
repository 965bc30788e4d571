// Package iggyproto is the Iggy 0.8.0 binary protocol as rustok-iggy's
// embedded broker speaks it: the message layout shared by the wire and the
// segment files, TCP frames, command codes and payloads, identifiers,
// partitioning hashes and the numeric error codes.
//
// Everything here decodes bytes from outside the process; every decoder
// bounds lengths before allocating and returns an error, never panics.
//
// # Serving a connection
//
// ReadRequest reads one frame (8-byte header, then the payload) and applies
// the size limits; a *FrameError says the frame was refused before its
// payload was read, and whether the stream can continue (DiscardPayload)
// or must be closed. DecodeRequest turns the payload into a typed request
// (CreateTopic, PollMessages, SendMessages, ...) or returns an *Error whose
// Code is the status to answer with (CodeOf). Responses are built with the
// Append* record encoders (AppendStreamHeader, AppendPollHead, ...) inside
// AppendResponse or BeginResponse/FinishResponse; an error is AppendError,
// never with a payload. Every request gets exactly one response, and no OK
// response has a 1-byte payload.
//
// What the decoders check is what Iggy's decoders check (truncation, enum
// bytes, UTF-8, name and identifier lengths, the permissions length, the
// whole SendMessages batch); what Iggy checks later (authentication,
// permissions, compression and user status values, name length rules,
// existence) is the server's, in Iggy's order.
package iggyproto
