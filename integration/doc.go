// Package integration holds rustok-iggy's end-to-end suite: the whole
// transport scenario (multi-tenant publish, consumer groups with per-tenant
// order and rebalancing, retries and the dead letter queue with redrive,
// poison messages, replay, health, JSON and CBOR, events produced as the
// Rust service produces them, at least once across a consumer crash) run
// against every kind of broker:
//
//  1. the embedded broker, in-process (always);
//  2. `rustok-iggy serve`, built once per test binary and run as a separate
//     process on a loopback port, reached with the remote connector
//     (always; its failure to build or start fails the tests);
//  3. containers started with testcontainers-go on the host network, one
//     per test on a free loopback port, terminated when it ends: (a) the
//     rustok-iggy image built from the checkout's Dockerfile (the test
//     binary builds the static binary and the image; TestImage), killed
//     and restarted by the restart scenarios; (b) Apache Iggy
//     (apache/iggy:0.8.0, or IGGY_IMAGE; TestContainer) where that image
//     is present locally, skipped otherwise since nothing is pulled. Both
//     are skipped, with the reason, when no Docker engine answers, and
//     fail then under RUSTOK_CI or CI;
//  4. any Iggy server named by IGGY_ADDR (host:port; IGGY_USERNAME and
//     IGGY_PASSWORD, default iggy / iggy), skipped when unset.
//
// The stream port's conformance suite (connectortest) also runs against
// targets 2, 3 and 4.
//
// TestOutboxScenario runs the transactional outbox and the inbox on the
// embedded broker, with the outbox in SQLite and in the PostgreSQL named by
// RUSTOK_TEST_POSTGRES_DSN (skipped without it, failed when RUSTOK_CI or CI
// is set): commits and rollbacks, a relay process killed with SIGKILL
// mid-stream and replaced, an inbox consumer with forced redeliveries; each
// committed event once in the broker and in the handler's effects, in
// tenant order.
//
// The package has no exported API: everything lives in its tests. Run it
// with `make integration` (go test -race -count=1 ./integration/...).
package integration
