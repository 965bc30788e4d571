package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// Broker is the embedded Iggy broker above the partition logs. Create it
// with Open; it is safe for concurrent use; Close releases it.
type Broker struct {
	lock      *os.File // flock on <DataDir>/.lock
	cfg       Config
	log       *slog.Logger
	startedAt time.Time

	mu       sync.RWMutex
	closed   bool
	streams  map[uint32]*stream
	streamID slab
	byName   map[string]*stream // streams by name, kept by putStream etc. (resolve.go)
	users    map[uint32]*user
	userIDs  slab
	clients  map[uint32]*Session

	// storageFault is the last failed append, cleared by the next
	// successful one (StorageFault).
	storageFault atomic.Pointer[storageFault]

	throttle *throttle                // login attempts (throttle.go)
	sleep    func(time.Duration) bool // waits for a login turn; tests replace it

	readBytes    atomic.Uint64
	writtenBytes atomic.Uint64

	// retentionHook, when set (tests), is called after each background
	// retention pass with the number of segments deleted.
	retentionHook func(deleted int)

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

const metadataFile = "metadata.json"

// SetWriteFault makes every partition open now fail its writes of message
// data with err, as a full disk would (see logstore.Partition.SetWriteFault);
// nil restores them. For fault-injection tests and soak tools.
func (b *Broker) SetWriteFault(err error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, st := range b.streams {
		for _, t := range st.topics {
			for _, p := range t.partitions {
				if p != nil && p.log != nil {
					p.log.SetWriteFault(err)
				}
			}
		}
	}
}

type storageFault struct {
	err error
	at  time.Time
}

// StorageFault returns when the last append that failed to reach the log
// store (a full disk, an unwritable data directory) happened and its error, as long as no append succeeded since; nil when writes succeed.
// Health checks report the broker unhealthy while it is set.
func (b *Broker) StorageFault() (time.Time, error) {
	if f := b.storageFault.Load(); f != nil {
		return f.at, f.err
	}
	return time.Time{}, nil
}

// testRetentionHook is copied into each Broker by Open (tests only).
var testRetentionHook func(deleted int)

// Open opens (or creates) the broker in cfg.DataDir: it loads the
// metadata, opens every partition (recovering it), removes directories a
// crash left behind, creates the root user on the first start, and starts
// the retention goroutine. On error nothing stays open.
func Open(cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("broker config: %w", err)
	}
	cfg = cfg.withDefaults()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	lock, err := lockDir(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	b := &Broker{
		lock:      lock,
		cfg:       cfg,
		log:       cfg.Logger.With("component", "broker"),
		startedAt: cfg.Now(),
		streams:   map[uint32]*stream{},
		users:     map[uint32]*user{},
		clients:   map[uint32]*Session{},
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	b.throttle = newThrottle(cfg.LoginThrottleBase, cfg.LoginThrottleMax)
	b.sleep = b.sleepReal
	b.retentionHook = testRetentionHook
	fail := func(err error) (*Broker, error) {
		_ = b.closePartitions()
		_ = b.lock.Close()
		return nil, err
	}
	if err := b.load(); err != nil {
		return fail(err)
	}
	if len(b.users) == 0 {
		hash, err := hashPassword(cfg.RootPassword)
		if err != nil {
			return fail(fmt.Errorf("broker: root user: %w", err))
		}
		b.userIDs = slab{}
		id := b.userIDs.alloc()
		b.users[id] = &user{ID: id, Username: cfg.RootUsername, PasswordHash: hash, Status: UserActive, CreatedAt: b.nowMicros(),
			Permissions: rootPermissions()}
		b.log.Info("root user created", slog.String("username", cfg.RootUsername))
		if err := b.saveLocked(); err != nil {
			return fail(fmt.Errorf("broker: %w", err))
		}
	}
	go b.background()
	return b, nil
}

// Close stops the background goroutine, ends every session, closes every
// partition and offset log (flushing and syncing them) and persists the
// metadata. It is idempotent; later calls return the first result. Calls
// made after Close answer CodeDisconnected.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		close(b.stop)
		<-b.done
		b.mu.Lock()
		b.closed = true
		for _, s := range b.clients {
			s.registered = false
		}
		b.clients = map[uint32]*Session{}
		b.clearMembersLocked()
		err := b.saveLocked()
		b.mu.Unlock()
		b.closeErr = errors.Join(err, b.closePartitions(), b.lock.Close())
	})
	return b.closeErr
}

func (b *Broker) clearMembersLocked() {
	for _, st := range b.streams {
		for _, t := range st.topics {
			for _, g := range t.groups {
				g.clearMembers()
			}
		}
	}
}

func (b *Broker) closePartitions() error {
	var errs []error
	for _, st := range b.streams {
		for _, t := range st.topics {
			for _, p := range t.partitions {
				errs = append(errs, p.close())
			}
		}
	}
	return errors.Join(errs...)
}

// close closes the partition's log and offsets, waiting for I/O in flight.
func (p *partition) close() error {
	p.io.Lock()
	defer p.io.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	var errs []error
	if p.log != nil {
		errs = append(errs, p.log.Close())
	}
	if p.offsets != nil {
		errs = append(errs, p.offsets.close())
	}
	return errors.Join(errs...)
}

// background enforces retention and drops expired personal access tokens
// every RetentionInterval, force-completes consumer-group hand-overs older
// than RebalancingTimeout every RebalancingCheckInterval, verifies
// heartbeats every HeartbeatInterval when they are enabled and, under the
// interval fsync policy, syncs
// offset logs every second. It ends when
// Close closes b.stop.
func (b *Broker) background() {
	defer close(b.done)
	ret := time.NewTicker(b.cfg.RetentionInterval)
	defer ret.Stop()
	revoke := time.NewTicker(b.cfg.RebalancingCheckInterval)
	defer revoke.Stop()
	var syncC <-chan time.Time
	if b.cfg.Fsync == logstore.FsyncInterval {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		syncC = t.C
	}
	var beatC <-chan time.Time
	if b.cfg.HeartbeatEnabled {
		t := time.NewTicker(b.cfg.HeartbeatInterval)
		defer t.Stop()
		beatC = t.C
	}
	for {
		select {
		case <-b.stop:
			return
		case <-beatC:
			b.VerifyHeartbeats()
		case <-ret.C:
			b.removeExpiredTokens()
			n := b.EnforceRetention()
			if b.retentionHook != nil {
				b.retentionHook(n)
			}
		case <-revoke.C:
			b.expireRevocations()
		case <-syncC:
			for _, p := range b.allPartitions() {
				if err := p.offsets.sync(); err != nil {
					b.log.Warn("offsets sync failed", slog.Any("error", err))
				}
			}
		}
	}
}

func (b *Broker) allPartitions() []*partition {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var ps []*partition
	for _, st := range b.streams {
		for _, t := range st.topics {
			ps = append(ps, t.partitions...)
		}
	}
	return ps
}

// EnforceRetention runs retention on every partition now (the background
// goroutine calls it every RetentionInterval) and returns the number of
// segments deleted. Errors are logged, not returned.
func (b *Broker) EnforceRetention() int {
	total := 0
	for _, p := range b.allPartitions() {
		p.io.RLock()
		if !p.closed {
			n, err := p.log.EnforceRetention()
			total += n
			if err != nil {
				b.log.Warn("retention failed", slog.Uint64("partition", uint64(p.id)), slog.Any("error", err))
			}
		}
		p.io.RUnlock()
	}
	return total
}

func (b *Broker) nowMicros() uint64 { return uint64(b.cfg.Now().UnixMicro()) }

// Paths.

func (b *Broker) streamDir(sid uint32) string {
	return filepath.Join(b.cfg.DataDir, "streams", strconv.FormatUint(uint64(sid), 10))
}

func (b *Broker) topicDir(sid, tid uint32) string {
	return filepath.Join(b.streamDir(sid), "topics", strconv.FormatUint(uint64(tid), 10))
}

func (b *Broker) partitionDir(sid, tid, pid uint32) string {
	return filepath.Join(b.topicDir(sid, tid), "partitions", strconv.FormatUint(uint64(pid), 10))
}

func (b *Broker) offsetsPath(sid, tid, pid uint32) string {
	return filepath.Join(b.topicDir(sid, tid), "offsets", strconv.FormatUint(uint64(pid), 10)+".log")
}

// openPartition opens partition pid of t. fresh removes whatever a crash
// may have left in its place first.
func (b *Broker) openPartition(t *topic, pid uint32, createdAt uint64, fresh bool) (*partition, error) {
	dir := b.partitionDir(t.stream.id, t.id, pid)
	offPath := b.offsetsPath(t.stream.id, t.id, pid)
	if fresh {
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		if err := os.Remove(offPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	exp, size := t.retention()
	lg, err := logstore.Open(dir, logstore.Options{
		SegmentSize:   b.cfg.SegmentSize,
		Fsync:         b.cfg.Fsync,
		MessageExpiry: exp,
		MaxSize:       size,
		DedupWindow:   b.cfg.DedupWindow,
		Logger:        b.log,
		Now:           b.cfg.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("open partition %d of topic %d/%d: %w", pid, t.stream.id, t.id, err)
	}
	offs, err := openOffsetLog(offPath, b.cfg.Fsync == logstore.FsyncAlways)
	if err != nil {
		_ = lg.Close()
		return nil, err
	}
	return &partition{id: pid, createdAt: createdAt, log: lg, offsets: offs}, nil
}

// openWorkers bounds the partitions opened at once. Opening is mostly
// syscalls (mkdir, open, flock, getdents; reads of index tails on reopen)
// that block in the kernel, so a few run side by side even on few cores.
const openWorkers = 8

// openPartitions replaces each placeholder of ps (an id, closed) by the
// opened partition, up to openWorkers at a time; fresh is openPartition's,
// and created says they are new. On error every partition it opened is
// closed again (and if created, its files removed), ps keeps the
// placeholders, and the errors are returned joined.
func (b *Broker) openPartitions(t *topic, ps []*partition, createdAt func(*partition) uint64, fresh, created bool) error {
	opened := make([]*partition, len(ps))
	errs := make([]error, len(ps))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(openWorkers, len(ps)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ps) {
					return
				}
				opened[i], errs[i] = b.openPartition(t, ps[i].id, createdAt(ps[i]), fresh)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, p := range opened {
			if p == nil {
				continue
			}
			b.logIOErr("open partitions", p.close())
			if created {
				b.logIOErr("open partitions", os.RemoveAll(b.partitionDir(t.stream.id, t.id, p.id)))
			}
		}
		return err
	}
	copy(ps, opened)
	return nil
}

// Persistence of metadata.

type metaFile struct {
	Version   int          `json:"version"`
	StreamIDs slab         `json:"stream_ids"`
	Streams   []metaStream `json:"streams"`
	UserIDs   slab         `json:"user_ids"`
	Users     []*user      `json:"users"`
}

type metaStream struct {
	ID        uint32      `json:"id"`
	Name      string      `json:"name"`
	CreatedAt uint64      `json:"created_at"`
	TopicIDs  slab        `json:"topic_ids"`
	Topics    []metaTopic `json:"topics"`
}

type metaTopic struct {
	ID                uint32          `json:"id"`
	Name              string          `json:"name"`
	CreatedAt         uint64          `json:"created_at"`
	Compression       uint8           `json:"compression"`
	MessageExpiry     uint64          `json:"message_expiry"`
	MaxTopicSize      uint64          `json:"max_topic_size"`
	ReplicationFactor uint8           `json:"replication_factor"`
	Partitions        []metaPartition `json:"partitions"`
	GroupIDs          slab            `json:"group_ids"`
	Groups            []metaGroup     `json:"groups"`
}

type metaPartition struct {
	ID        uint32 `json:"id"`
	CreatedAt uint64 `json:"created_at"`
}

type metaGroup struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
}

// saveLocked persists the metadata atomically; the caller holds mu for
// writing (or owns b exclusively).
func (b *Broker) saveLocked() error {
	m := metaFile{Version: 1, StreamIDs: b.streamID, UserIDs: b.userIDs}
	for _, sid := range sortedKeys(b.streams) {
		st := b.streams[sid]
		ms := metaStream{ID: st.id, Name: st.name, CreatedAt: st.createdAt, TopicIDs: st.topicIDs}
		for _, tid := range sortedKeys(st.topics) {
			t := st.topics[tid]
			mt := metaTopic{ID: t.id, Name: t.name, CreatedAt: t.createdAt, Compression: t.compression,
				MessageExpiry: t.messageExpiry, MaxTopicSize: t.maxTopicSize, ReplicationFactor: t.replication,
				GroupIDs: t.groupIDs}
			for _, p := range t.partitions {
				mt.Partitions = append(mt.Partitions, metaPartition{ID: p.id, CreatedAt: p.createdAt})
			}
			for _, gid := range sortedKeys(t.groups) {
				mt.Groups = append(mt.Groups, metaGroup{ID: gid, Name: t.groups[gid].name})
			}
			ms.Topics = append(ms.Topics, mt)
		}
		m.Streams = append(m.Streams, ms)
	}
	for _, uid := range sortedKeys(b.users) {
		m.Users = append(m.Users, b.users[uid])
	}
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(b.cfg.DataDir, metadataFile), data); err != nil {
		return fmt.Errorf("write metadata: %w", err)
	}
	return nil
}

// persist saves the metadata after a change and turns a failure into an
// Iggy error (code 1); the in-memory change stays.
func (b *Broker) persist(op string) error {
	if err := b.saveLocked(); err != nil {
		b.log.Error("metadata not persisted", slog.String("op", op), slog.Any("error", err))
		return iggyproto.Errorf(iggyproto.CodeError, "%s: %v", op, err)
	}
	return nil
}

// load reads the metadata file (if any), opens every partition and removes
// directories and temp files that the metadata does not name.
func (b *Broker) load() error {
	path := filepath.Join(b.cfg.DataDir, metadataFile)
	removeTemps(b.cfg.DataDir, metadataFile+".tmp")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return b.removeOrphans()
	}
	if err != nil {
		return fmt.Errorf("broker: read metadata: %w", err)
	}
	var m metaFile
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("broker: metadata %s is corrupt: %w", path, err)
	}
	if m.Version != 1 {
		return fmt.Errorf("broker: metadata %s: unknown version %d", path, m.Version)
	}
	b.streamID = m.StreamIDs
	used := map[uint32]bool{}
	for _, ms := range m.Streams {
		if b.streams[ms.ID] != nil {
			return fmt.Errorf("broker: metadata: stream id %d twice", ms.ID)
		}
		st := &stream{id: ms.ID, name: ms.Name, createdAt: ms.CreatedAt, topics: map[uint32]*topic{}, topicIDs: ms.TopicIDs}
		b.putStream(st)
		used[st.id] = true
		tused := map[uint32]bool{}
		for _, mt := range ms.Topics {
			if st.topics[mt.ID] != nil {
				return fmt.Errorf("broker: metadata: topic id %d/%d twice", st.id, mt.ID)
			}
			t := &topic{stream: st, id: mt.ID, name: mt.Name, createdAt: mt.CreatedAt, compression: mt.Compression,
				messageExpiry: mt.MessageExpiry, maxTopicSize: mt.MaxTopicSize, replication: mt.ReplicationFactor,
				groups: map[uint32]*group{}, groupIDs: mt.GroupIDs}
			putTopic(st, t)
			tused[t.id] = true
			// Partition ids are contiguous; the retention share needs the count first.
			t.partitions = make([]*partition, 0, len(mt.Partitions))
			for i, mp := range mt.Partitions {
				if mp.ID != uint32(i) {
					return fmt.Errorf("broker: metadata: topic %d/%d: partition ids not contiguous", st.id, t.id)
				}
				t.partitions = append(t.partitions, &partition{id: mp.ID, createdAt: mp.CreatedAt, closed: true})
			}
			created := make(map[uint32]uint64, len(mt.Partitions))
			for _, mp := range mt.Partitions {
				created[mp.ID] = mp.CreatedAt
			}
			if err := b.openPartitions(t, t.partitions, func(p *partition) uint64 { return created[p.id] }, false, false); err != nil {
				t.partitions = nil
				return fmt.Errorf("broker: %w", err)
			}
			gused := map[uint32]bool{}
			for _, mg := range mt.Groups {
				putGroup(t, &group{topic: t, id: mg.ID, name: mg.Name})
				gused[mg.ID] = true
			}
			t.groupIDs.fix(gused)
		}
		st.topicIDs.fix(tused)
	}
	b.streamID.fix(used)
	uused := map[uint32]bool{}
	for _, u := range m.Users {
		if u == nil || b.users[u.ID] != nil {
			return fmt.Errorf("broker: metadata: bad or repeated user entry")
		}
		b.users[u.ID] = u
		uused[u.ID] = true
	}
	b.userIDs = m.UserIDs
	b.userIDs.fix(uused)
	return b.removeOrphans()
}

func removeTemps(dir, prefix string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if len(e.Name()) > len(prefix) && e.Name()[:len(prefix)] == prefix {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// removeOrphans deletes stream, topic and partition directories (and offset
// logs) that the metadata does not know: left by a crash between a delete's
// metadata write and its directory removal, or by a create that never got
// persisted.
func (b *Broker) removeOrphans() error {
	var errs []error
	rm := func(path string) {
		b.log.Warn("removing orphaned data", slog.String("path", path))
		errs = append(errs, os.RemoveAll(path))
	}
	streamsDir := filepath.Join(b.cfg.DataDir, "streams")
	for _, e := range readDirNames(streamsDir) {
		sid, ok := parseID(e)
		st := b.streams[sid]
		if !ok || st == nil {
			rm(filepath.Join(streamsDir, e))
			continue
		}
		topicsDir := filepath.Join(streamsDir, e, "topics")
		for _, te := range readDirNames(topicsDir) {
			tid, ok := parseID(te)
			t := st.topics[tid]
			if !ok || t == nil {
				rm(filepath.Join(topicsDir, te))
				continue
			}
			partsDir := filepath.Join(topicsDir, te, "partitions")
			for _, pe := range readDirNames(partsDir) {
				if pid, ok := parseID(pe); !ok || pid >= uint32(len(t.partitions)) {
					rm(filepath.Join(partsDir, pe))
				}
			}
			offDir := filepath.Join(topicsDir, te, "offsets")
			for _, oe := range readDirNames(offDir) {
				name := oe
				if filepath.Ext(name) == ".log" {
					name = name[:len(name)-4]
				}
				if pid, ok := parseID(name); !ok || pid >= uint32(len(t.partitions)) || filepath.Ext(oe) != ".log" {
					rm(filepath.Join(offDir, oe))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func readDirNames(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func parseID(s string) (uint32, bool) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || strconv.FormatUint(v, 10) != s {
		return 0, false
	}
	return uint32(v), true
}
