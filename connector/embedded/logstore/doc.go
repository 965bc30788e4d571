// Package logstore is the embedded broker's partition log: an append-only,
// crash-safe store of messages in the Iggy 0.8.0 message layout.
//
// One Partition owns one directory of segments. Each segment is a pair of
// files named by the offset of its first message: NNNNNNNNNNNNNNNNNNNN.log
// (messages back to back, exactly as they travel on the wire) and
// NNNNNNNNNNNNNNNNNNNN.index (a sparse index: one 16-byte entry of relative
// offset, byte position and timestamp about every 4 KiB of messages). See
// docs/storage.md in the repository for the full layout.
//
// Flow: Append validates a batch and queues it; the partition's writer (the
// Append that found it idle, on its own goroutine, or a drainer goroutine
// while Appends contend) takes everything queued, stamps offsets, timestamp,
// ids and checksums in place, and writes the whole group with one pwritev
// call, rolling to a new segment when the active one is full. Only after the write does it
// publish the new end of the log, so readers never see a partial message.
// Read and ReadFromTimestamp find the segment, binary-search its sparse index
// (in memory for the active segment, in the index file for closed ones), scan
// at most a few KiB of headers and read the answer with one pread. Open
// recovers: it validates each segment's tail by header lengths and XXH3
// checksums, cuts a torn tail from the last segment and rebuilds missing or
// stale index entries.
//
// All methods of Partition are safe for concurrent use.
package logstore
