package broker

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLazyPartitionFiles checks that a new partition holds no file: its
// first segment's .log and .index come with the first message, the offsets
// file with the first stored offset; and that they survive a reopen.
func TestLazyPartitionFiles(t *testing.T) {
	e := newEnv(t)
	st := e.stream("s")
	tp := e.topic("s", "t", 2)
	partDir := e.b.partitionDir(st.ID, tp.ID, 0)
	offPath := e.b.offsetsPath(st.ID, tp.ID, 0)
	seg := filepath.Join(partDir, "00000000000000000000")
	exists := func(path string) bool {
		t.Helper()
		_, err := os.Stat(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		return err == nil
	}
	if !exists(partDir) || exists(seg+".log") || exists(seg+".index") || exists(offPath) {
		t.Fatalf("new partition: dir %v log %v index %v offsets %v, want only the directory",
			exists(partDir), exists(seg+".log"), exists(seg+".index"), exists(offPath))
	}
	e.send(e.root, "s", "t", Partitioning{Kind: PartitionByID, PartitionID: 0}, 3)
	if !exists(seg+".log") || !exists(seg+".index") {
		t.Fatal("no segment files after the first message")
	}
	c := Consumer{Kind: SingleConsumer, ID: 7}
	if err := e.b.StoreOffset(e.root, c, name("s"), name("t"), ptr[uint32](0), 1); err != nil {
		t.Fatal(err)
	}
	if !exists(offPath) {
		t.Fatal("no offsets file after the first store")
	}
	e.reopen()
	oi, ok, err := e.b.GetOffset(e.root, c, name("s"), name("t"), ptr[uint32](0))
	if err != nil || !ok || oi.StoredOffset != 1 || oi.CurrentOffset != 2 {
		t.Fatalf("after reopen: %+v %v %v", oi, ok, err)
	}
	// The untouched partition still has no offsets file, and accepts a store.
	if exists(e.b.offsetsPath(st.ID, tp.ID, 1)) {
		t.Fatal("partition 1 got an offsets file without a store")
	}
	e.send(e.root, "s", "t", Partitioning{Kind: PartitionByID, PartitionID: 1}, 1)
	if err := e.b.StoreOffset(e.root, c, name("s"), name("t"), ptr[uint32](1), 0); err != nil {
		t.Fatal(err)
	}
}
