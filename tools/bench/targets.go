package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/iggy/foreign/go/client/tcp"
	"github.com/rustok/rustok-iggy/connector/embedded"
)

// runTargets runs each selected target in turn, each on fresh data.
func runTargets(ctx context.Context, o *options, base string) []Row {
	var rows []Row
	durability := "fsync=" + o.fsync
	fail := func(target, what string, err error) {
		rows = append(rows, Row{Target: target, Scenario: what, Err: err.Error()})
		o.logf("%-22s %s: %v", target, what, err)
	}
	openEmbedded := func(name, tcpAddr string) (*embedded.Broker, func(), error) {
		dir := filepath.Join(base, name)
		b, err := embedded.Open(ctx, embedded.Config{DataDir: dir, Fsync: o.fsync, TCPAddr: tcpAddr})
		if err != nil {
			return nil, nil, err
		}
		return b, func() {
			if err := b.Close(); err != nil {
				o.logf("%s: close: %v", name, err)
			}
			_ = os.RemoveAll(dir)
		}, nil
	}
	if o.targets["inproc"] && ctx.Err() == nil {
		if b, done, err := openEmbedded("inproc", ""); err != nil {
			fail("rustok-inproc", "open", err)
		} else {
			t := iggyTarget{name: "rustok-inproc", durability: durability,
				connect: func(context.Context) (iggySession, error) { return coreSession{b}, nil }}
			rows = append(rows, runIggy(ctx, o, t, "")...)
			done()
		}
	}
	if o.targets["sdk"] && ctx.Err() == nil {
		if b, done, err := openEmbedded("sdk", "127.0.0.1:0"); err != nil {
			fail("rustok-tcp-sdk", "open", err)
		} else {
			t := iggyTarget{name: "rustok-tcp-sdk", durability: durability,
				cpuNote: "CPU counts the SDK clients and the broker (one process)",
				connect: sdkConnect(b.TCPAddr(), "iggy", "iggy")}
			rows = append(rows, runIggy(ctx, o, t, "")...)
			done()
		}
	}
	if o.targets["serve"] && ctx.Err() == nil {
		rows = append(rows, runServeTarget(ctx, o, base, durability)...)
	}
	if o.targets["http"] && ctx.Err() == nil {
		if b, done, err := openEmbedded("http", ""); err != nil {
			fail("rustok-http", "open", err)
		} else if api, err := startHTTPAPI(b); err != nil {
			fail("rustok-http", "start", err)
			done()
		} else {
			t := iggyTarget{name: "rustok-http", durability: durability, noGroups: true,
				cpuNote: "CPU counts the HTTP clients and the broker (one process)",
				connect: httpConnect(api.base, "iggy", "iggy")}
			rows = append(rows, runIggy(ctx, o, t, "")...)
			api.close()
			done()
		}
	}
	if o.targets["jetstream"] && ctx.Err() == nil {
		dir := filepath.Join(base, "jetstream")
		if j, err := startJetStream(dir, o.fsync, o.natsTCP); err != nil {
			fail("jetstream", "start", err)
		} else {
			rows = append(rows, runJetStream(ctx, o, j)...)
			j.close()
			_ = os.RemoveAll(dir)
		}
	}
	if o.targets["iggy"] && o.iggyAddr != "" && ctx.Err() == nil {
		prefix := fmt.Sprintf("rustok-bench-%d-", time.Now().Unix())
		t := iggyTarget{name: "iggy-server", durability: "server's own config",
			cpuNote: "CPU counts only this process (the SDK clients), not the server",
			connect: sdkConnect(o.iggyAddr, o.iggyUser, o.iggyPass)}
		rows = append(rows, runIggy(ctx, o, t, prefix)...)
		if err := dropStreams(o, prefix); err != nil {
			o.logf("iggy-server: cleanup: %v", err)
		}
	}
	if o.targets["transport"] && ctx.Err() == nil {
		b, done, err := openEmbedded("transport", "")
		if err != nil {
			fail("rustok-transport", "open", err)
		}
		var j *jsServer
		jsDir := filepath.Join(base, "jetstream-transport")
		if o.targets["jetstream"] {
			if j, err = startJetStream(jsDir, o.fsync, o.natsTCP); err != nil {
				fail("jetstream", "start", err)
			}
		}
		for _, c := range o.codecs {
			if b != nil {
				rows = append(rows, runTransport(ctx, o, b, durability, c)...)
			}
			if j != nil {
				rows = append(rows, runJetStreamTransport(ctx, o, j, c)...)
			}
		}
		if j != nil {
			j.close()
			_ = os.RemoveAll(jsDir)
		}
		if b != nil {
			done()
		}
	}
	if o.targets["scale"] && ctx.Err() == nil {
		rows = append(rows, runScale(ctx, o, base)...)
	}
	if o.targets["outbox"] && ctx.Err() == nil {
		rows = append(rows, runOutbox(ctx, o, base)...)
	}
	return rows
}

// runServeTarget runs the SDK scenarios against `rustok-iggy serve` in a
// child process, measuring the child apart (measuredServer).
func runServeTarget(ctx context.Context, o *options, base, durability string) []Row {
	const name = "rustok-serve"
	fail := func(what string, err error) []Row {
		o.logf("%-22s %s: %v", name, what, err)
		return []Row{{Target: name, Scenario: what, Err: err.Error()}}
	}
	bin, err := serveBinary(ctx, o, base)
	if err != nil {
		return fail("build", err)
	}
	dir := filepath.Join(base, "serve")
	defer os.RemoveAll(dir)
	p, err := startServe(ctx, bin, dir, o.fsync)
	if err != nil {
		return fail("start", err)
	}
	measuredServer = p
	t := iggyTarget{name: name, durability: durability,
		cpuNote: "CPU/msg and peak RSS: the SDK clients (this process) + the server (child process, /proc/PID)",
		connect: sdkConnect(p.addr, "iggy", "iggy")}
	rows := runIggy(ctx, o, t, "")
	measuredServer = nil
	if err := p.stop(); err != nil {
		o.logf("%s: stop: %v", name, err)
	}
	return rows
}

// dropStreams deletes the streams this run made on the Iggy server.
func dropStreams(o *options, prefix string) error {
	cli, err := tcp.NewIggyTcpClient(tcp.WithServerAddress(o.iggyAddr))
	if err != nil {
		return err
	}
	defer cli.Close()
	if _, err := cli.LoginUser(o.iggyUser, o.iggyPass); err != nil {
		return err
	}
	streams, err := cli.GetStreams()
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range streams {
		if strings.HasPrefix(s.Name, prefix) {
			if err := cli.DeleteStream(ident(s.Name)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
