// Command soak kills the embedded broker with SIGKILL while it is being
// published to and consumed from, many times in a row, and checks after each
// kill that every acknowledged message is still there, intact.
//
// Each cycle starts a child process (this program with -child) that opens
// the broker on one data directory and serves the Iggy TCP protocol on a
// loopback port. The parent logs in over TCP, publishes batches (each
// message's payload is derived from a sequence number, so it can be checked)
// and polls them back on a second connection, then kills the child at a
// random moment. With the child gone, the parent opens the data directory
// itself and reads the whole partition: an acknowledged sequence number
// missing is lost, a message whose payload does not match its sequence
// number is corrupt. Messages sent but not acknowledged may or may not be
// there. It prints the totals and exits 1 when anything was lost or corrupt.
//
//	go run ./soak -cycles 100
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"github.com/rustok/rustok-iggy/connector/embedded/server"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
)

const (
	streamName = "soak"
	topicName  = "t"
	rootUser   = "soak"
	rootPass   = "soak-password" // loopback only, a throwaway data dir
	payloadLen = 100
	batchSize  = 20
)

func main() {
	child := flag.Bool("child", false, "run as the broker child (internal)")
	dir := flag.String("data-dir", "", "data directory (default: a new temporary one, removed at the end)")
	cycles := flag.Int("cycles", 100, "kill cycles")
	minRun := flag.Duration("min-run", 100*time.Millisecond, "shortest run before a kill")
	maxRun := flag.Duration("max-run", 600*time.Millisecond, "longest run before a kill")
	fsync := flag.String("fsync", "interval", "fsync policy of the child: never, interval or always")
	pace := flag.Duration("pace", time.Millisecond, "pause between two published batches (keeps the data set small)")
	flag.Parse()
	if *child {
		fmt.Fprintln(os.Stderr, "child:", runChild(*dir, *fsync)) // returns only on failure
		os.Exit(1)
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "rustok-iggy-soak-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tot, err := soak(ctx, *dir, *fsync, *cycles, *minRun, *maxRun, *pace)
	fmt.Printf("cycles=%d fsync=%s acknowledged=%d stored=%d lost=%d corrupt=%d consumed=%d consumed_corrupt=%d elapsed=%s\n",
		tot.cycles, *fsync, tot.acked, tot.stored, tot.lost, tot.corrupt, tot.consumed, tot.consumedCorrupt, tot.elapsed.Round(time.Millisecond))
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	if tot.lost > 0 || tot.corrupt > 0 || tot.consumedCorrupt > 0 {
		os.Exit(1)
	}
}

// runChild opens the broker and serves it until killed; it returns only
// when it cannot.
func runChild(dir, fsync string) error {
	b, err := broker.Open(broker.Config{DataDir: dir, Fsync: logstore.FsyncPolicy(fsync),
		RootUsername: rootUser, RootPassword: rootPass})
	if err != nil {
		return err
	}
	s := b.NewSystemSession("soak")
	if _, err := b.CreateStream(s, streamName); err != nil && iggyproto.CodeOf(err) != iggyproto.CodeStreamNameAlreadyExists {
		return fmt.Errorf("create stream: %w", err)
	}
	if _, err := b.CreateTopic(s, iggyproto.NamedID(streamName), broker.TopicConfig{Name: topicName, PartitionsCount: 1,
		CompressionAlgorithm: broker.CompressionNone}); err != nil && iggyproto.CodeOf(err) != iggyproto.CodeTopicNameAlreadyExists {
		return fmt.Errorf("create topic: %w", err)
	}
	srv, err := server.New(b, server.Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	addr, err := srv.Start()
	if err != nil {
		return err
	}
	fmt.Printf("ADDR %s\n", addr)
	select {} // until SIGKILL
}

type totals struct {
	cycles                    int
	acked, stored             int
	lost, corrupt             int
	consumed, consumedCorrupt int
	elapsed                   time.Duration
}

// payloadFor is the payload of sequence number seq: seq, then bytes derived
// from it, then a CRC of both.
func payloadFor(seq uint64) []byte {
	p := binary.LittleEndian.AppendUint64(make([]byte, 0, payloadLen), seq)
	x := seq*0x9E3779B97F4A7C15 + 1
	for len(p) < payloadLen-4 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p = append(p, byte(x))
	}
	return binary.LittleEndian.AppendUint32(p, crc32.ChecksumIEEE(p))
}

// checkPayload returns the sequence number of p, or false when p is not a
// payload made by payloadFor.
func checkPayload(p []byte) (uint64, bool) {
	if len(p) != payloadLen {
		return 0, false
	}
	seq := binary.LittleEndian.Uint64(p)
	return seq, string(p) == string(payloadFor(seq))
}

func soak(ctx context.Context, dir, fsync string, cycles int, minRun, maxRun, pace time.Duration) (tot totals, err error) {
	start := time.Now()
	defer func() { tot.elapsed = time.Since(start) }()
	acked := map[uint64]bool{}
	var nextSeq uint64
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for c := 0; c < cycles; c++ {
		if ctx.Err() != nil {
			return tot, ctx.Err()
		}
		run := minRun + time.Duration(rng.Int64N(int64(maxRun-minRun)+1))
		got, consumed, bad, err := cycle(ctx, dir, fsync, &nextSeq, run, pace)
		for _, s := range got {
			acked[s] = true
		}
		tot.consumed += consumed
		tot.consumedCorrupt += bad
		if err != nil {
			return tot, fmt.Errorf("cycle %d: %w", c+1, err)
		}
		var stored, lost, corrupt int
		stored, lost, corrupt, err = verify(dir, acked)
		if err != nil {
			return tot, fmt.Errorf("cycle %d: verify: %w", c+1, err)
		}
		tot.cycles = c + 1
		tot.acked, tot.stored = len(acked), stored
		tot.lost, tot.corrupt = lost, corrupt
		if lost > 0 || corrupt > 0 {
			return tot, fmt.Errorf("cycle %d: %d acknowledged messages lost, %d corrupt", c+1, lost, corrupt)
		}
	}
	return tot, nil
}

// cycle runs one child for about run, publishing and consuming, then kills
// it. It returns the sequence numbers acknowledged, and how many messages
// the consumer read and how many of those were corrupt.
func cycle(ctx context.Context, dir, fsync string, nextSeq *uint64, run, pace time.Duration) ([]uint64, int, int, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, 0, 0, err
	}
	cmd := exec.CommandContext(ctx, exe, "-child", "-data-dir", dir, "-fsync", fsync)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, 0, err
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return nil, 0, 0, fmt.Errorf("child did not start: %w", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDR ")
	if !ok {
		return nil, 0, 0, fmt.Errorf("child said %q", line)
	}

	var (
		mu       sync.Mutex
		acked    []uint64
		consumed int
		bad      int
		wg       sync.WaitGroup
	)
	stop := make(chan struct{})
	wg.Add(2)
	go func() { // publisher: stops at the first error (the kill)
		defer wg.Done()
		c, err := dialLogin(addr)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			select {
			case <-stop:
				return
			default:
			}
			first := *nextSeq
			var msgs []byte
			for i := range uint64(batchSize) {
				p := payloadFor(first + i)
				msgs = iggyproto.AppendMessageHeader(msgs, iggyproto.MessageHeader{PayloadLength: uint32(len(p))})
				msgs = append(msgs, p...)
			}
			*nextSeq += batchSize // never reuse a number, acknowledged or not
			st, _, err := call(c, iggyproto.SendMessages{Stream: iggyproto.NamedID(streamName), Topic: iggyproto.NamedID(topicName),
				Partitioning: iggyproto.BalancedPartitioning(), Count: batchSize, Messages: msgs})
			if err != nil || st != 0 {
				return
			}
			mu.Lock()
			for i := range uint64(batchSize) {
				acked = append(acked, first+i)
			}
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(pace):
			}
		}
	}()
	go func() { // consumer: polls from the start, checking every payload
		defer wg.Done()
		c, err := dialLogin(addr)
		if err != nil {
			return
		}
		defer c.Close()
		var off uint64
		for {
			select {
			case <-stop:
				return
			default:
			}
			st, p, err := call(c, iggyproto.PollMessages{
				Consumer: iggyproto.Consumer{Kind: iggyproto.ConsumerSingle, ID: iggyproto.NumericID(1)},
				Stream:   iggyproto.NamedID(streamName), Topic: iggyproto.NamedID(topicName),
				Partition: iggyproto.OptPartition{Present: true, ID: 0},
				Strategy:  iggyproto.PollingStrategy{Kind: iggyproto.PollOffset, Value: off}, Count: 500})
			if err != nil || st != 0 {
				return
			}
			_, raw, err := iggyproto.DecodePollResponse(p)
			if err != nil {
				return
			}
			n, b := 0, 0
			_ = iggyproto.WalkMessages(raw, func(m iggyproto.MessageView) error {
				n++
				if _, ok := checkPayload(m.Payload()); !ok {
					b++
				}
				off = m.Header.Offset + 1
				return nil
			})
			mu.Lock()
			consumed += n
			bad += b
			mu.Unlock()
		}
	}()

	t := time.NewTimer(run)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	killed = true
	close(stop)
	wg.Wait()
	return acked, consumed, bad, nil
}

func dialLogin(addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	st, _, err := call(c, iggyproto.LoginUser{Username: rootUser, Password: rootPass, Version: "0.8.0"})
	if err == nil && st != 0 {
		err = fmt.Errorf("login: status %d", st)
	}
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func call(c net.Conn, req iggyproto.Request) (iggyproto.Code, []byte, error) {
	frame, err := iggyproto.AppendRequest(nil, req)
	if err != nil {
		return 0, nil, err
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(frame); err != nil {
		return 0, nil, err
	}
	h, p, err := iggyproto.ReadResponse(c, 0)
	if err != nil {
		return 0, nil, err
	}
	return h.Status, p, nil
}

// verify opens the data directory (the child is dead) and reads the whole
// partition: it returns how many messages are stored, how many acknowledged
// sequence numbers are missing and how many stored messages are corrupt.
func verify(dir string, acked map[uint64]bool) (stored, lost, corrupt int, err error) {
	b, err := broker.Open(broker.Config{DataDir: dir, Fsync: logstore.FsyncNever, RootUsername: rootUser, RootPassword: rootPass})
	if err != nil {
		return 0, 0, 0, err
	}
	defer func() { err = errors.Join(err, b.Close()) }()
	s := b.NewSystemSession("verify")
	seen := make(map[uint64]bool, len(acked))
	pid := uint32(0)
	for off := uint64(0); ; {
		r, err := b.Poll(s, broker.PollRequest{Consumer: broker.Consumer{Kind: broker.SingleConsumer, ID: 2},
			Stream: iggyproto.NamedID(streamName), Topic: iggyproto.NamedID(topicName), PartitionID: &pid,
			Strategy: broker.PollStrategy{Kind: broker.PollOffset, Value: off}, Count: 10_000})
		if err != nil {
			return 0, 0, 0, err
		}
		if r.Count == 0 {
			break
		}
		if err := iggyproto.WalkMessages(r.Messages, func(m iggyproto.MessageView) error {
			stored++
			if seq, ok := checkPayload(m.Payload()); ok {
				seen[seq] = true
			} else {
				corrupt++
			}
			off = m.Header.Offset + 1
			return nil
		}); err != nil {
			return 0, 0, 0, err
		}
	}
	for seq := range acked {
		if !seen[seq] {
			lost++
		}
	}
	return stored, lost, corrupt, nil
}
