package broker

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
)

// In-memory metadata. Every field is guarded by Broker.mu unless stated.

type stream struct {
	id        uint32
	name      string
	createdAt uint64 // µs
	topics    map[uint32]*topic
	topicIDs  slab
	byName    map[string]*topic // topics by name, kept by putTopic etc. (resolve.go)
}

type topic struct {
	stream        *stream
	id            uint32
	name          string
	createdAt     uint64
	compression   uint8
	messageExpiry uint64 // raw wire value: u64::MAX never, 0 server default (never)
	maxTopicSize  uint64 // raw wire value: u64::MAX unlimited, 0 server default (unlimited)
	replication   uint8
	partitions    []*partition // index == partition id
	groups        map[uint32]*group
	groupIDs      slab
	balanced      atomic.Uint64 // round-robin counter of balanced sends
	appended      appendSignal  // notified after every append (safe without mu)

	byName map[string]*group // groups by name, kept by putGroup etc. (resolve.go)

	// polledMu guards lastPolled: per group and partition, the offset of
	// the last message a group poll returned (Iggy's last_polled_offsets,
	// in memory only). Keyed by group id, so, as in Iggy, a deleted
	// group's markers stay for a group that reuses its id.
	polledMu   sync.Mutex
	lastPolled map[polledKey]uint64
}

type partition struct {
	id        uint32
	createdAt uint64

	// io is held shared by every append/read and exclusively by whoever
	// closes the partition, so a delete waits for I/O in flight.
	io      sync.RWMutex
	log     *logstore.Partition
	closed  bool // guarded by io
	offsets *offsetLog
}

type group struct {
	topic *topic
	id    uint32
	name  string
	// members in slot order (Iggy's slab key, see slots): the order of
	// GetConsumerGroup and of the full rebalance.
	members []*member
	// slots hands out member slots as Iggy's slab does: a freed slot is
	// reused first, most recently freed first. In memory only, as
	// membership is.
	slots slab
	// cursor guards members' round-robin cursors, which polls advance
	// under a shared Broker.mu.
	cursor sync.Mutex
}

type member struct {
	group      *group
	id         uint32
	slot       uint32
	session    *Session
	partitions []uint32 // in assignment order, pending revocations included
	// pending are this member's partitions being handed over to another
	// member (groups.go): still listed in partitions, no longer polled
	// round-robin.
	pending []revocation
	next    int // round-robin counter of the next poll (guarded by group.cursor)
}

// revocation is a partition pending cooperative hand-over from its member
// to target (Iggy 0.8.0's PendingRevocation).
type revocation struct {
	partition uint32
	target    *member
	created   time.Time
}

// polledKey names a group's "last polled" marker on a partition.
type polledKey struct {
	group, partition uint32
}

// retention maps the topic's expiry and size cap to per-partition logstore
// settings: the cap is shared evenly among the partitions.
func (t *topic) retention() (time.Duration, uint64) {
	var expiry time.Duration
	if v := t.messageExpiry; v != 0 && v != math.MaxUint64 && v <= math.MaxInt64/1000 {
		expiry = time.Duration(v) * time.Microsecond
	}
	var size uint64
	if v := t.maxTopicSize; v != 0 && v != math.MaxUint64 {
		n := uint64(len(t.partitions))
		if n == 0 {
			n = 1
		}
		size = max(v/n, 1)
	}
	return expiry, size
}

func (t *topic) applyRetention() {
	exp, size := t.retention()
	for _, p := range t.partitions {
		p.io.RLock()
		if !p.closed {
			p.log.SetRetention(exp, size)
		}
		p.io.RUnlock()
	}
}
