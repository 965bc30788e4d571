package broker

import (
	"errors"
	"syscall"
	"testing"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// TestDiskFullPublish: with ENOSPC injected into the log store's writer,
// sends fail (code 1, the error names the cause), StorageFault reports it,
// nothing acknowledged is lost, and both recover once space returns.
func TestDiskFullPublish(t *testing.T) {
	e := newEnv(t)
	e.stream("s")
	e.topic("s", "t", 1)
	p := Partitioning{Kind: PartitionBalanced}
	e.send(e.root, "s", "t", p, 5)
	if _, err := e.b.StorageFault(); err != nil {
		t.Fatal(err)
	}
	tp, err := e.b.topicOf(name("s"), name("t"))
	if err != nil {
		t.Fatal(err)
	}
	tp.partitions[0].log.SetWriteFault(syscall.ENOSPC)
	_, err = e.b.Send(e.root, name("s"), name("t"), p, batch("m", 3))
	wantCode(t, err, iggyproto.CodeError)
	if at, ferr := e.b.StorageFault(); !errors.Is(ferr, syscall.ENOSPC) || at.IsZero() {
		t.Fatalf("storage fault %v at %v", ferr, at)
	}
	if st := tp.partitions[0].log.Stats(); st.NextOffset != 5 {
		t.Fatalf("failed send published: %+v", st)
	}
	tp.partitions[0].log.SetWriteFault(nil)
	if r := e.send(e.root, "s", "t", p, 2); r.FirstOffset != 5 {
		t.Fatalf("after recovery: %+v", r)
	}
	if _, err := e.b.StorageFault(); err != nil {
		t.Fatalf("fault not cleared: %v", err)
	}
	e.reopen()
	tp, _ = e.b.topicOf(name("s"), name("t"))
	if st := tp.partitions[0].log.Stats(); st.NextOffset != 7 {
		t.Fatalf("after reopen: %+v", st)
	}
}
