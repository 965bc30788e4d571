package logstore

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

// The crash test re-executes the test binary as a child (crashChildEnv set to
// the partition directory); the child appends from 4 goroutines as fast as it
// can and prints "offset count first-id" for every acknowledged batch.
const (
	crashChildEnv  = "LOGSTORE_CRASH_CHILD_DIR"
	crashFsyncEnv  = "LOGSTORE_CRASH_CHILD_FSYNC"
	crashCycleEnv  = "LOGSTORE_CRASH_CHILD_CYCLE"
	crashCyclesEnv = "LOGSTORE_CRASH_CYCLES"
	crashSegment   = 256 << 10
)

// crashID is the id of message seq of writer w in a cycle.
func crashID(cycle, w, seq uint64) uint64 { return cycle<<40 | w<<32 | seq }

func crashPayloadSize(id uint64) int { return 1 + int(id*2654435761%300) }

func crashChild() int {
	dir := os.Getenv(crashChildEnv)
	cycle, _ := strconv.ParseUint(os.Getenv(crashCycleEnv), 10, 64)
	p, err := Open(dir, Options{SegmentSize: crashSegment, Fsync: FsyncPolicy(os.Getenv(crashFsyncEnv)), FsyncInterval: 5 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		return 3
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := range uint64(4) {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(cycle, w))
			var seq uint64
			var b []byte
			var line []byte
			for {
				n := 1 + rng.IntN(40)
				b = b[:0]
				first := crashID(cycle, w, seq)
				for i := range uint64(n) {
					id := first + i
					b = appendMsg(b, idOf(id), payloadFor(id, crashPayloadSize(id)), nil)
				}
				seq += uint64(n)
				r, err := p.Append(b)
				if err != nil {
					fmt.Fprintln(os.Stderr, "child append:", err)
					os.Exit(4)
				}
				line = fmt.Appendf(line[:0], "%d %d %d\n", r.FirstOffset, r.Count, first)
				out.Lock()
				os.Stdout.Write(line)
				out.Unlock()
			}
		})
	}
	wg.Wait()
	return 0
}

type ack struct{ off, count, id uint64 }

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the binary")
	}
	cycles := 20
	if s := os.Getenv(crashCyclesEnv); s != "" {
		var err error
		if cycles, err = strconv.Atoi(s); err != nil {
			t.Fatalf("%s: %v", crashCyclesEnv, err)
		}
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d cycles", seed, cycles)
	rng := rand.New(rand.NewPCG(seed, 1))
	policies := []FsyncPolicy{FsyncNever, FsyncInterval, FsyncAlways}
	var dir string
	totalAcked, torn := 0, 0
	for cycle := range cycles {
		if cycle%3 == 0 {
			dir = t.TempDir() // bound the log each cycle verifies
		}
		pol := policies[cycle%len(policies)]
		acks := runCrashChild(t, dir, uint64(cycle+1), pol, time.Duration(5+rng.IntN(80))*time.Millisecond)
		totalAcked += len(acks)
		if verifyCrashDir(t, dir, acks) {
			torn++
		}
	}
	t.Logf("%d acknowledged batches verified; %d recoveries cut a torn tail", totalAcked, torn)
}

// runCrashChild starts a child appending to dir, kills it with SIGKILL after
// runFor (counted from its first acknowledgement) and returns its acks.
func runCrashChild(t *testing.T, dir string, cycle uint64, pol FsyncPolicy, runFor time.Duration) []ack {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashFsyncEnv+"="+string(pol), crashCycleEnv+"="+strconv.FormatUint(cycle, 10))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr logBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make(chan struct{})
	var acks []ack
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.OnceFunc(func() { close(first) })
		for sc.Scan() {
			var a ack
			if _, err := fmt.Sscanf(sc.Text(), "%d %d %d", &a.off, &a.count, &a.id); err != nil {
				done <- fmt.Errorf("child line %q: %w", sc.Text(), err)
				once()
				return
			}
			acks = append(acks, a)
			once()
		}
		once()
		done <- sc.Err()
	}()
	select {
	case <-first:
	case <-time.After(10 * time.Second):
		t.Log("child never acknowledged")
	}
	time.Sleep(runFor) // the random moment of the crash
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil { // EOF once the child is dead
		t.Fatal(err)
	}
	werr := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v; stderr:\n%s", werr, stderr.String())
	}
	if len(acks) == 0 {
		t.Fatalf("child acknowledged nothing; stderr:\n%s", stderr.String())
	}
	return acks
}

// verifyCrashDir reopens dir and checks every acknowledged message.
func verifyCrashDir(t *testing.T, dir string, acks []ack) (cutTail bool) {
	t.Helper()
	var logs logBuffer
	p, err := Open(dir, Options{SegmentSize: crashSegment, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	st := p.Stats()
	var maxEnd uint64
	for _, a := range acks {
		maxEnd = max(maxEnd, a.off+a.count)
		c, err := p.Read(a.off, int(a.count), 0)
		if err != nil {
			t.Fatalf("acked batch %+v: %v\nlog:\n%s", a, err, logs.String())
		}
		if c.Count != int(a.count) || c.FirstOffset != a.off {
			t.Fatalf("acked batch %+v: read %d at %d (stats %+v)\nlog:\n%s", a, c.Count, c.FirstOffset, st, logs.String())
		}
		i := uint64(0)
		iggyproto.WalkMessages(c.Data, func(m iggyproto.MessageView) error {
			id := binary.LittleEndian.Uint64(m.Header.ID[:])
			if m.Header.Offset != a.off+i || id != a.id+i || !crashMessageOK(m, id) {
				t.Fatalf("acked batch %+v: message %d differs (offset %d id %x)", a, i, m.Header.Offset, id)
			}
			i++
			return nil
		})
	}
	if st.NextOffset < maxEnd {
		t.Fatalf("next offset %d < acknowledged end %d", st.NextOffset, maxEnd)
	}
	// Everything present (acked or not) is whole, in order and without gaps.
	for off := st.FirstOffset; off < st.NextOffset; {
		c, err := p.Read(off, 100000, 0)
		if err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if c.Count == 0 || c.FirstOffset != off {
			t.Fatalf("gap at %d (stats %+v)", off, st)
		}
		iggyproto.WalkMessages(c.Data, func(m iggyproto.MessageView) error {
			id := binary.LittleEndian.Uint64(m.Header.ID[:])
			if m.Header.Offset != off || !crashMessageOK(m, id) {
				t.Fatalf("message at %d is not one the child wrote", off)
			}
			off++
			return nil
		})
	}
	return strings.Contains(logs.String(), "cutting torn tail")
}

// crashMessageOK reports whether m is byte for byte the message the child
// built for id, apart from the fields the store stamps (checksum, offset,
// timestamp), and whether its checksum is right.
func crashMessageOK(m iggyproto.MessageView, id uint64) bool {
	want := appendMsg(nil, idOf(id), payloadFor(id, crashPayloadSize(id)), nil)
	return len(want) == len(m.Raw) &&
		string(want[8:24]) == string(m.Raw[8:24]) &&
		string(want[40:]) == string(m.Raw[40:]) &&
		iggyproto.Checksum(m.Raw) == m.Header.Checksum
}
