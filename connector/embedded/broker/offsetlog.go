package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"sync"
)

// Offset log record (little-endian, 20 bytes):
//
//	0  u8  op (1 store, 2 delete)
//	1  u8  consumer kind (1 consumer, 2 group)
//	2  u16 zero
//	4  u32 consumer id (XXH32 of a name or the numeric id; group id)
//	8  u64 offset (0 for delete)
//	16 u32 CRC-32C of bytes [0,16)
const (
	offRecSize   = 20
	offOpStore   = 1
	offOpDelete  = 2
	offCompactAt = 1024 // compact once dead records exceed this and the live ones
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

type offKey struct {
	kind uint8
	id   uint32
}

// offsetLog holds one partition's consumer offsets in memory and in an
// append-only file. A record is written (and, under FsyncAlways, synced)
// before the in-memory map changes. Open reads the file, drops a torn or
// corrupt tail and compacts. The file is created by the first record, so a
// partition nobody consumed with offsets costs no inode (creating a file
// is the dominant cost of creating partitions). Safe for concurrent use.
type offsetLog struct {
	mu      sync.Mutex
	path    string
	f       *os.File // nil until the first record, or after close
	closed  bool
	live    map[offKey]uint64
	records int
	dirty   bool
	always  bool
}

func openOffsetLog(path string, always bool) (*offsetLog, error) {
	l := &offsetLog{path: path, live: map[offKey]uint64{}, always: always}
	data, err := os.ReadFile(path)
	missing := errors.Is(err, os.ErrNotExist)
	if err != nil && !missing {
		return nil, fmt.Errorf("offsets %s: %w", path, err)
	}
	valid, records := 0, 0
	for pos := 0; pos+offRecSize <= len(data); pos += offRecSize {
		r := data[pos : pos+offRecSize]
		if crc32.Checksum(r[:16], crcTable) != binary.LittleEndian.Uint32(r[16:]) {
			break // torn or corrupt tail: dropped by the rewrite below
		}
		k := offKey{kind: r[1], id: binary.LittleEndian.Uint32(r[4:])}
		switch r[0] {
		case offOpStore:
			l.live[k] = binary.LittleEndian.Uint64(r[8:])
		case offOpDelete:
			delete(l.live, k)
		}
		valid += offRecSize
		records++
	}
	if missing { // the first record creates the file
		return l, nil
	}
	if valid < len(data) || records > offCompactAt+2*len(l.live) {
		if err := l.rewrite(); err != nil {
			return nil, err
		}
		return l, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("offsets %s: %w", path, err)
	}
	l.f, l.records = f, records
	return l, nil
}

func encodeOffRec(op uint8, k offKey, offset uint64) []byte {
	var r [offRecSize]byte
	r[0] = op
	r[1] = k.kind
	binary.LittleEndian.PutUint32(r[4:], k.id)
	binary.LittleEndian.PutUint64(r[8:], offset)
	binary.LittleEndian.PutUint32(r[16:], crc32.Checksum(r[:16], crcTable))
	return r[:]
}

// rewrite writes the live set to a new file, syncs it and renames it over
// the log (caller holds mu or owns l).
func (l *offsetLog) rewrite() error {
	buf := make([]byte, 0, len(l.live)*offRecSize)
	for k, v := range l.live {
		buf = append(buf, encodeOffRec(offOpStore, k, v)...)
	}
	if err := writeFileAtomic(l.path, buf); err != nil {
		return fmt.Errorf("offsets %s: %w", l.path, err)
	}
	if l.f != nil {
		_ = l.f.Close()
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		l.f = nil
		return fmt.Errorf("offsets %s: %w", l.path, err)
	}
	l.f = f
	l.records = len(l.live)
	l.dirty = false
	return nil
}

func (l *offsetLog) get(k offKey) (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.live[k]
	return v, ok
}

func (l *offsetLog) store(k offKey, offset uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appendLocked(offOpStore, k, offset)
}

// remove deletes k; it reports whether k was stored.
func (l *offsetLog) remove(k offKey) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.live[k]; !ok {
		return false, nil
	}
	return true, l.appendLocked(offOpDelete, k, 0)
}

// removeAll deletes the offset of (kind, id); used when a group goes.
func (l *offsetLog) removeAll(kind uint8, id uint32) error {
	_, err := l.remove(offKey{kind: kind, id: id})
	return err
}

func (l *offsetLog) appendLocked(op uint8, k offKey, offset uint64) error {
	if l.closed {
		return os.ErrClosed
	}
	if l.f == nil {
		if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
			return fmt.Errorf("offsets %s: %w", l.path, err)
		}
		f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("offsets %s: %w", l.path, err)
		}
		l.f = f
	}
	if _, err := l.f.Write(encodeOffRec(op, k, offset)); err != nil {
		return fmt.Errorf("offsets %s: %w", l.path, err)
	}
	if l.always {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("offsets %s: %w", l.path, err)
		}
	} else {
		l.dirty = true
	}
	if op == offOpStore {
		l.live[k] = offset
	} else {
		delete(l.live, k)
	}
	l.records++
	if l.records > offCompactAt+2*len(l.live) {
		return l.rewrite()
	}
	return nil
}

func (l *offsetLog) sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil || !l.dirty {
		return nil
	}
	l.dirty = false
	return l.f.Sync()
}

func (l *offsetLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.f == nil {
		return nil
	}
	err := l.f.Sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// writeFileAtomic replaces path with data so that a crash leaves the old or
// the new content: temp file, fsync, rename, fsync of the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		_ = os.Remove(name)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// min returns the lowest offset stored by any consumer or group, and
// whether any is stored.
func (l *offsetLog) min() (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lo, found := uint64(math.MaxUint64), false
	for _, v := range l.live {
		lo, found = min(lo, v), true
	}
	return lo, found
}
