package integration

import (
	"testing"
	"time"

	"github.com/rustok/rustok-iggy/adapters/codec"
	"github.com/rustok/rustok-iggy/connector/connectortest"
	"github.com/rustok/rustok-iggy/core"
	"github.com/rustok/rustok-iggy/transport/transporttest"
)

// scenarioTimeout bounds each wait of a scenario.
const scenarioTimeout = 90 * time.Second

// TestEmbedded runs the suite against the embedded broker in-process.
func TestEmbedded(t *testing.T) { runSuite(t, embeddedTarget()) }

// TestServe runs the suite against `rustok-iggy serve` over TCP.
func TestServe(t *testing.T) { runSuite(t, serveTarget(t)) }

// TestImage runs the suite against the rustok-iggy image built from the
// checkout, in a container on the host network.
func TestImage(t *testing.T) { runSuite(t, imageTarget(t)) }

// TestContainer runs the suite against Apache Iggy in a container.
func TestContainer(t *testing.T) { runSuite(t, containerTarget(t)) }

// TestIggyAddr runs the suite against the server named by IGGY_ADDR.
func TestIggyAddr(t *testing.T) { runSuite(t, envTarget(t)) }

// TestServeConformance runs the stream port's conformance suite through
// the remote connector against `rustok-iggy serve`.
func TestServeConformance(t *testing.T) { runConformance(t, serveTarget(t)) }

// TestImageConformance runs it against the image built from the checkout.
func TestImageConformance(t *testing.T) { runConformance(t, imageTarget(t)) }

// TestContainerConformance runs it against Apache Iggy in a container.
func TestContainerConformance(t *testing.T) { runConformance(t, containerTarget(t)) }

// TestIggyAddrConformance runs it against the server named by IGGY_ADDR.
func TestIggyAddrConformance(t *testing.T) { runConformance(t, envTarget(t)) }

func runConformance(t *testing.T, tg target) {
	connectortest.Run(t, func(t *testing.T) core.Broker { return tg.newBroker(t) }, tg.features)
}

// mustCodec returns a registered codec.
func mustCodec(t testing.TB, name string) core.Codec {
	t.Helper()
	c, err := codec.ByName(name)
	if err != nil {
		t.Fatalf("codec %q: %v", name, err)
	}
	return c
}

// runSuite runs every scenario against one target.
func runSuite(t *testing.T, tg target) {
	start := time.Now()
	jsonC, cborC := mustCodec(t, "json"), mustCodec(t, "cbor")
	harness := func(primary, extra core.Codec) transporttest.Harness {
		return transporttest.Harness{
			Broker:  tg.newBroker,
			Codec:   primary,
			Extra:   []core.Codec{extra},
			Down:    tg.down,
			Up:      tg.up,
			Timeout: scenarioTimeout,

			CooperativeGroups: tg.cooperative,
		}
	}
	t.Run("json", func(t *testing.T) { transporttest.Run(t, harness(jsonC, cborC)) })
	t.Run("cbor", func(t *testing.T) { transporttest.Run(t, harness(cborC, jsonC)) })
	t.Run("RustProduced/json", func(t *testing.T) { rustProduced(t, tg, jsonC, cborC) })
	t.Run("RustProduced/cbor", func(t *testing.T) { rustProduced(t, tg, cborC, jsonC) })
	t.Run("MixedCodecs", func(t *testing.T) { mixedCodecs(t, tg) })
	t.Run("HealthRestart", func(t *testing.T) { healthRestart(t, tg) })
	t.Run("CrashAtLeastOnce", func(t *testing.T) { crashAtLeastOnce(t, tg) })
	t.Logf("target %s: suite took %s", tg.name, time.Since(start).Round(time.Millisecond))
}
