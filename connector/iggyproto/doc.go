// Package iggyproto is the Iggy 0.8.0 binary protocol as rustok-iggy's
// embedded broker speaks it: the message layout shared by the wire and the
// segment files, TCP frames, command codes and payloads, identifiers,
// partitioning hashes and the numeric error codes.
//
// Everything here decodes bytes from outside the process; every decoder
// bounds lengths before allocating and returns an error, never panics.
package iggyproto
