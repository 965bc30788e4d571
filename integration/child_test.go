package integration

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/connector/embedded"
	"github.com/rustok/rustok-iggy/connector/remote"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

// Child roles and the environment of a consumer child.
const (
	roleConsumer = "consumer"

	envMode       = "RUSTOK_IT_MODE" // "embedded" or "remote"
	envDataDir    = "RUSTOK_IT_DATA_DIR"
	envAddr       = "RUSTOK_IT_ADDR"
	envUsername   = "RUSTOK_IT_USERNAME"
	envPassword   = "RUSTOK_IT_PASSWORD"
	envStream     = "RUSTOK_IT_STREAM"
	envGroup      = "RUSTOK_IT_GROUP"
	envPartitions = "RUSTOK_IT_PARTITIONS"
	envLog        = "RUSTOK_IT_LOG"
	// envGate, when > 0, makes every handler call after that many block
	// until the process is killed: the crash then comes mid-batch.
	envGate = "RUSTOK_IT_GATE"
)

// childMain runs the test binary as a child process in role and returns
// its exit status.
func childMain(role string) int {
	var err error
	switch role {
	case roleConsumer:
		err = runConsumer()
	case roleOutboxRelay:
		err = runOutboxRelay()
	default:
		err = fmt.Errorf("unknown child role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// runConsumer is a consumer process: one subscription of three members on
// the domain topic. It appends "H <partition> <offset> <event id>" to the
// log file for each event its handler accepts (before returning success)
// and "S <partition> <offset>" for each group offset the broker confirmed
// storing. With a gate, once that many events were handled, a handler
// call on a partition with handled but unstored events logs
// "B <partition> <offset>" and blocks until the process is killed.
// SIGTERM makes it shut down gracefully and exit 0.
func runConsumer() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	parts, err := strconv.ParseUint(os.Getenv(envPartitions), 10, 32)
	if err != nil {
		return fmt.Errorf("%s: %w", envPartitions, err)
	}
	gate, _ := strconv.ParseInt(os.Getenv(envGate), 10, 64)
	lf, err := os.OpenFile(os.Getenv(envLog), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	w := &lineLog{f: lf}

	var b core.Broker
	openCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	switch os.Getenv(envMode) {
	case "embedded":
		b, err = embedded.Open(openCtx, embedded.Config{DataDir: os.Getenv(envDataDir), Logger: logger})
	case "remote":
		cfg := remoteConfig(os.Getenv(envAddr), os.Getenv(envUsername), os.Getenv(envPassword))
		cfg.Logger = logger
		b, err = remote.New(openCtx, cfg)
	default:
		err = fmt.Errorf("%s=%q", envMode, os.Getenv(envMode))
	}
	if err != nil {
		return fmt.Errorf("open broker: %w", err)
	}
	jsonC, err := codec.ByName("json")
	if err != nil {
		return err
	}
	cborC, err := codec.ByName("cbor")
	if err != nil {
		return err
	}
	cfg := transport.Config{}
	cfg.Topology.StreamName = os.Getenv(envStream)
	cfg.Topology.DomainPartitions = uint32(parts)
	cfg.Consumer.PollBatch = 50
	cfg.Consumer.PollIdleMax = 10 * time.Millisecond
	tr, err := transport.New(cfg, &recordingBroker{Broker: b, log: w}, jsonC, logger,
		transport.WithCodecs(cborC), transport.WithOwnedBroker())
	if err != nil {
		_ = b.Close()
		return err
	}
	if err := tr.Start(openCtx); err != nil {
		_ = tr.Shutdown(context.Background())
		return fmt.Errorf("start: %w", err)
	}
	var handled atomic.Int64
	_, err = tr.Subscribe(openCtx, os.Getenv(envGroup), func(hctx context.Context, d transport.Delivery) error {
		if gate > 0 && handled.Load() >= gate && w.unstored(d.Partition) {
			// Hold this batch open until the crash: its events handled so
			// far have no stored offset.
			if err := w.printf("B %d %d\n", d.Partition, d.Message.Offset); err != nil {
				return err
			}
			<-hctx.Done()
			return hctx.Err()
		}
		if err := w.printf("H %d %d %s\n", d.Partition, d.Message.Offset, d.Envelope.ID); err != nil {
			return err
		}
		w.setHandled(d.Partition, d.Message.Offset)
		handled.Add(1)
		return nil
	}, transport.SubscribeOptions{Concurrency: 3, OnError: func(err error) { logger.Warn("subscription", "err", err) }})
	if err != nil {
		_ = tr.Shutdown(context.Background())
		return fmt.Errorf("subscribe: %w", err)
	}
	<-ctx.Done()
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	return tr.Shutdown(sctx)
}

// lineLog appends whole lines to a file, one write each, so that a crash
// leaves only complete lines behind. It also tracks, per partition, the
// last offset handled and the last the broker confirmed storing.
type lineLog struct {
	mu      sync.Mutex
	f       *os.File
	handled map[uint32]uint64
	stored  map[uint32]uint64
}

func (l *lineLog) setHandled(p uint32, off uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.handled == nil {
		l.handled = map[uint32]uint64{}
	}
	l.handled[p] = off
}

// unstored reports whether an event handled on p has no stored offset.
func (l *lineLog) unstored(p uint32) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.handled[p]
	if !ok {
		return false
	}
	s, ok := l.stored[p]
	return !ok || h > s
}

func (l *lineLog) printf(format string, args ...any) error {
	line := fmt.Sprintf(format, args...)
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.f.WriteString(line)
	return err
}

// recordingBroker logs each group offset its members stored successfully.
type recordingBroker struct {
	core.Broker
	log *lineLog
}

func (r *recordingBroker) JoinGroup(ctx context.Context, stream, topic, group string) (core.GroupMember, error) {
	m, err := r.Broker.JoinGroup(ctx, stream, topic, group)
	if err != nil {
		return nil, err
	}
	return &recordingMember{GroupMember: m, log: r.log}, nil
}

type recordingMember struct {
	core.GroupMember
	log *lineLog
}

func (m *recordingMember) StoreOffset(ctx context.Context, partition uint32, offset uint64) error {
	if err := m.GroupMember.StoreOffset(ctx, partition, offset); err != nil {
		return err
	}
	l := m.log
	l.mu.Lock()
	if l.stored == nil {
		l.stored = map[uint32]uint64{}
	}
	l.stored[partition] = max(l.stored[partition], offset)
	_, err := fmt.Fprintf(l.f, "S %d %d\n", partition, offset)
	l.mu.Unlock()
	if err != nil {
		return errors.Join(errors.New("offset stored but not logged"), err)
	}
	return nil
}
