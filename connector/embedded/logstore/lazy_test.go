package logstore

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestNewPartitionDirSync checks the files and the deferred directory sync
// of a new partition: Open creates no file and has nothing to sync; the
// first Append creates the segment's files and, under FsyncAlways, syncs
// the directory before returning; otherwise the next Sync does.
func TestNewPartitionDirSync(t *testing.T) {
	for _, policy := range []FsyncPolicy{FsyncAlways, FsyncInterval, FsyncNever} {
		t.Run(string(policy), func(t *testing.T) {
			dir := t.TempDir()
			// The periodic sync must not run between the checks.
			p, err := Open(dir, Options{Fsync: policy, FsyncInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if p.dirDirty.Load() {
				t.Fatal("a directory sync is pending with no file created")
			}
			idx := filepath.Join(dir, segmentName(0)+IndexSuffix)
			log := filepath.Join(dir, segmentName(0)+LogSuffix)
			for _, f := range []string{idx, log} {
				if _, err := os.Stat(f); !os.IsNotExist(err) {
					t.Fatalf("%s of an empty new partition: %v", f, err)
				}
			}
			if _, err := p.Append(batchFor(0, 3, 10)); err != nil {
				t.Fatal(err)
			}
			if pending := p.dirDirty.Load(); pending != (policy != FsyncAlways) {
				t.Fatalf("after the first Append under %s: directory sync pending %v", policy, pending)
			}
			for _, f := range []string{idx, log} {
				if _, err := os.Stat(f); err != nil {
					t.Fatalf("%s after the first Append: %v", f, err)
				}
			}
			if err := p.Sync(); err != nil {
				t.Fatal(err)
			}
			if p.dirDirty.Load() {
				t.Fatal("Sync left the directory unsynced")
			}
		})
	}
}

// TestEmptyPartitionReopen closes (and abandons, as a crash would) a new
// partition before its first Append: reopening finds no segment file and
// starts at offset 0 again, and a Read of the empty partition is empty.
func TestEmptyPartitionReopen(t *testing.T) {
	dir := t.TempDir()
	p, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := p.Read(0, 10, 0); err != nil || c.Count != 0 {
		t.Fatalf("read of an empty partition: %+v %v", c, err)
	}
	if err := p.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if p, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if st := p.Stats(); st.NextOffset != 0 || st.Segments != 1 {
		t.Fatalf("stats after reopen: %+v", st)
	}
	r, err := p.Append(batchFor(0, 2, 10))
	if err != nil || r.FirstOffset != 0 {
		t.Fatalf("append after reopen: %+v %v", r, err)
	}
	c, err := p.Read(0, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkChunk(t, c, 0, 2, 10)
}
