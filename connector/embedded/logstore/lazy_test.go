package logstore

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNewPartitionDirSync checks the deferred directory sync of a new
// partition: Open leaves it pending, and under FsyncAlways the first Append
// does it before returning. The index file appears with the first message.
func TestNewPartitionDirSync(t *testing.T) {
	for _, policy := range []FsyncPolicy{FsyncAlways, FsyncInterval, FsyncNever} {
		t.Run(string(policy), func(t *testing.T) {
			dir := t.TempDir()
			p, err := Open(dir, Options{Fsync: policy})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if !p.dirDirty.Load() {
				t.Fatal("a new partition's directory sync is not pending")
			}
			idx := filepath.Join(dir, segmentName(0)+IndexSuffix)
			if _, err := os.Stat(idx); !os.IsNotExist(err) {
				t.Fatalf("index of an empty new segment: %v", err)
			}
			if _, err := p.Append(batchFor(0, 3, 10)); err != nil {
				t.Fatal(err)
			}
			if policy == FsyncAlways && p.dirDirty.Load() {
				t.Fatal("the first acknowledged Append under always left the directory unsynced")
			}
			if _, err := os.Stat(idx); err != nil {
				t.Fatalf("index after the first Append: %v", err)
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
