// Command fxapp is a small go.uber.org/fx application using rustok-iggy's
// fx module: it publishes a few events for two tenants, consumes them with
// a consumer group, prints them and exits.
//
// The configuration comes from the file named by RUSTOK_IGGY_CONFIG (or
// the -config flag), else the defaults (embedded broker in ./data/iggy).
//
//	go run ./adapters/examples/fxapp -events 6
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/fx"

	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/iggyfx"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport"
)

func main() {
	configPath := flag.String("config", "", "YAML configuration file (default: $RUSTOK_IGGY_CONFIG, else the defaults)")
	events := flag.Int("events", 6, "number of events to publish")
	flag.Parse()
	var opts []iggyfx.Option
	if *configPath != "" {
		opts = append(opts, iggyfx.WithConfigFile(*configPath))
	}
	app := fx.New(
		fx.NopLogger,
		iggyfx.Module(opts...),
		fx.Supply(demoSize(*events)),
		fx.Invoke(register),
	)
	if err := app.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "fxapp:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "fxapp: start:", err)
		os.Exit(1)
	}
	sig := <-app.Wait()
	stopCtx, stop := context.WithTimeout(context.Background(), 15*time.Second)
	defer stop()
	if err := app.Stop(stopCtx); err != nil {
		fmt.Fprintln(os.Stderr, "fxapp: stop:", err)
		os.Exit(1)
	}
	os.Exit(sig.ExitCode)
}

type demoSize int

// worker publishes and consumes in its own goroutine, started by OnStart
// and waited for by OnStop.
type worker struct {
	app *compose.App
	tr  *transport.Transport
	sd  fx.Shutdowner
	n   int

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func register(lc fx.Lifecycle, sd fx.Shutdowner, app *compose.App, tr *transport.Transport, n demoSize) {
	w := &worker{app: app, tr: tr, sd: sd, n: int(n)}
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ctx, cancel := context.WithCancel(context.Background())
			w.cancel = cancel
			w.wg.Go(func() { w.run(ctx) })
			return nil
		},
		OnStop: func(context.Context) error {
			w.cancel()
			w.wg.Wait()
			return nil
		},
	})
}

func (w *worker) run(ctx context.Context) {
	code := 0
	if err := w.work(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "fxapp:", err)
		code = 1
	}
	_ = w.sd.Shutdown(fx.ExitCode(code))
}

func (w *worker) work(ctx context.Context) error {
	readyCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := iggyfx.WaitReady(readyCtx, w.app); err != nil {
		return err
	}
	// A run id keeps this run's events apart from earlier runs' on the
	// same data directory.
	var rid [4]byte
	_, _ = rand.Read(rid[:])
	run := hex.EncodeToString(rid[:])
	tenants := []uuid.UUID{
		uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://rustok.example/tenants/acme")),
		uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://rustok.example/tenants/globex")),
	}
	got := make(chan core.Envelope, w.n)
	sub, err := w.tr.Subscribe(ctx, "fxapp-"+run, func(_ context.Context, d transport.Delivery) error {
		if d.Envelope.TraceID == run {
			got <- d.Envelope
		}
		return nil
	}, transport.SubscribeOptions{StartFrom: transport.StartLatest})
	if err != nil {
		return err
	}
	defer sub.Stop(context.WithoutCancel(ctx))
	for i := range w.n {
		data, _ := json.Marshal(map[string]any{"order_no": i + 1, "total_cents": 1250 * (i + 1)})
		ev := core.NewEnvelope(tenants[i%2], "order.placed", core.Event{Type: "OrderPlaced", Data: data})
		ev.TraceID = run
		if err := w.tr.Publish(ctx, ev); err != nil {
			return err
		}
	}
	fmt.Printf("published %d events\n", w.n)
	timeout := time.After(20 * time.Second)
	for i := range w.n {
		select {
		case e := <-got:
			var d struct {
				OrderNo int `json:"order_no"`
			}
			_ = json.Unmarshal(e.Event.Data, &d)
			fmt.Printf("consumed %d/%d: %s order #%d of tenant %s\n", i+1, w.n, e.EventType, d.OrderNo, e.TenantID.String()[:8])
		case <-timeout:
			return fmt.Errorf("consumed %d of %d events in 20s", i, w.n)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fmt.Println("done")
	return nil
}
