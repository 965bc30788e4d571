package iggyfx_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/google/uuid"
	"go.uber.org/fx"

	"github.com/rustok/rustok-iggy/adapters/compose"
	"github.com/rustok/rustok-iggy/adapters/config"
	"github.com/rustok/rustok-iggy/adapters/iggyfx"
	"github.com/rustok/rustok-iggy/core"
)

func ExampleModule() {
	dir, _ := os.MkdirTemp("", "iggyfx-example")
	defer os.RemoveAll(dir)
	cfg := config.Default() // or iggyfx.WithConfigFile, or RUSTOK_IGGY_CONFIG
	cfg.Events.Iggy.Embedded.DataDir = dir
	cfg.Events.Iggy.Embedded.TCPPort = 0  // a free port for the Iggy TCP listener
	cfg.Events.Iggy.Embedded.HTTPPort = 0 // no HTTP API

	var (
		app *compose.App
		et  core.EventTransport
	)
	fxApp := fx.New(fx.NopLogger, iggyfx.Module(iggyfx.WithConfig(cfg)), fx.Populate(&app, &et))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fxApp.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	// OnStart does not block: wait until the broker is connected.
	if err := iggyfx.WaitReady(ctx, app); err != nil {
		fmt.Println(err)
		return
	}
	ev := core.NewEnvelope(uuid.New(), "node.created", core.Event{Type: "NodeCreated", Data: []byte(`{"title":"hi"}`)})
	fmt.Println("publish:", et.Publish(ctx, ev))
	fmt.Println("reliability:", et.ReliabilityLevel())
	fmt.Println("stop:", fxApp.Stop(ctx))
	// Output:
	// publish: <nil>
	// reliability: streaming
	// stop: <nil>
}
