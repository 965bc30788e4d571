package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"testing"

	"github.com/rustok/rustok-iggy/connector/embedded/broker"
	"github.com/rustok/rustok-iggy/connector/embedded/logstore"
	"github.com/rustok/rustok-iggy/connector/iggyproto"
	"github.com/rustok/rustok-iggy/transport"
)

func TestServeRefusesDefaultPasswordOffLoopback(t *testing.T) {
	t.Setenv(envRootPassword, "")
	o := serveOptions{DataDir: t.TempDir(), TCPAddr: "0.0.0.0:0", Fsync: "never"}
	// Refused before anything is bound.
	err := runServe(context.Background(), o, io.Discard, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), envRootPassword) || !strings.Contains(err.Error(), "--allow-default-password") {
		t.Fatalf("want a refusal naming %s and the override: %v", envRootPassword, err)
	}
}

func TestServeHelpShowsTheLimits(t *testing.T) {
	cmd := newServeCmd(&rootFlags{})
	var out bytes.Buffer
	cmd.SetOut(&out)
	if err := cmd.Usage(); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--login-timeout", "--idle-timeout", "--read-timeout", "--write-timeout", "--max-connections",
		"--max-pending", "--max-pending-per-addr", "--max-frame-memory", "--allow-default-password"} {
		if !strings.Contains(out.String(), flag) {
			t.Errorf("serve --help lacks %s", flag)
		}
	}
}

// TestServeHealthReportsAFullDisk: while appends fail with ENOSPC the
// health report is unhealthy with the reason; it recovers with the writes.
func TestServeHealthReportsAFullDisk(t *testing.T) {
	b, err := broker.Open(broker.Config{DataDir: t.TempDir(), Fsync: logstore.FsyncNever})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p := newBrokerProbe(b, "/data", "tcp://127.0.0.1:1")
	defer p.close()
	s := b.NewSystemSession("test")
	defer b.CloseSession(s)
	st, err := b.CreateStream(s, "s")
	if err != nil {
		t.Fatal(err)
	}
	sid := iggyproto.NumericID(st.ID)
	if _, err := b.CreateTopic(s, sid, broker.TopicConfig{Name: "t", PartitionsCount: 1, CompressionAlgorithm: broker.CompressionNone}); err != nil {
		t.Fatal(err)
	}
	var (
		msgs []byte
		pa   = broker.Partitioning{Kind: broker.PartitionBalanced}
	)
	msgs = iggyproto.AppendMessageHeader(msgs, iggyproto.MessageHeader{PayloadLength: 2})
	msgs = append(msgs, "hi"...)
	send := func() error {
		_, err := b.Send(s, sid, iggyproto.NamedID("t"), pa, append([]byte(nil), msgs...))
		return err
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	b.SetWriteFault(syscall.ENOSPC)
	if err := send(); err == nil {
		t.Fatal("send on a full disk succeeded")
	}
	rep := p.Health(context.Background())
	if rep.Status != transport.Unhealthy || !strings.Contains(rep.String(), "no space left on device") {
		t.Fatalf("full disk: %s", rep)
	}
	b.SetWriteFault(nil)
	if err := send(); err != nil {
		t.Fatal(err)
	}
	if rep := p.Health(context.Background()); rep.Status == transport.Unhealthy {
		t.Fatalf("after recovery: %s", rep)
	}
}
