package integration

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"
	iggywm "github.com/rustok/rustok-iggy/adapters/watermill"
)

// watermillChildTimeout bounds the scenario child; Watermill's own bound
// on receiving every message is 60 s.
const watermillChildTimeout = 2 * time.Minute

// TestWatermillReconnect runs Watermill's universal reconnect scenario
// (tests.TestReconnect) with the remote connector against a real
// `rustok-iggy serve` process: 100 publishers send 10 000 messages to one
// subscriber of a consumer group while the scenario restarts the server
// twice, with its RestartServiceCommand; every message must arrive. The
// command is this test binary in its restart role: it has the supervisor
// here stop serve with SIGTERM (exit status 0 required) and start it again
// on the same data directory and port, and returns once the new process
// listens. The scenario runs in a child process (see
// watermill_helpers_test.go for why).
func TestWatermillReconnect(t *testing.T) {
	if raceEnabled {
		// Watermill's TestReconnect appends to publishedMessages in one
		// goroutine and reads it in another without synchronization
		// (pubsub/tests/test_pubsub.go:1086 and :1120, v1.5.1).
		t.Skip("Watermill's TestReconnect has a data race of its own; run without -race: go test -count=1 -run TestWatermillReconnect ./integration/")
	}
	s := superviseServe(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), watermillChildTimeout+10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.v", "-test.count=1", "-test.timeout="+watermillChildTimeout.String())
	cmd.Env = append(os.Environ(),
		envWatermill+"="+roleWatermillReconnect,
		envWatermillServe+"="+s.addr,
		envWatermillControl+"="+s.controlAddr(),
	)
	out := newTailBuffer(256 << 10)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	took := time.Since(start)
	// A restart command still running when the scenario ended (none
	// should be) finishes before the count is read.
	s.closeControl()
	if err != nil {
		t.Fatalf("reconnect scenario failed after %s: %v\n%s", took.Round(time.Millisecond), err, scenarioOutput(out))
	}
	if !strings.Contains(out.String(), "--- PASS: WatermillReconnect") {
		t.Fatalf("reconnect scenario did not pass (skipped?):\n%s", scenarioOutput(out))
	}
	if n := s.restartCount(); n != 2 {
		t.Errorf("serve restarted %d times, want 2 (the scenario restarts it at 1/3 and 1/2 of its messages)\n%s", n, scenarioOutput(out))
	}
	t.Logf("10 000 messages across 2 restarts of rustok-iggy serve in %s", took.Round(time.Millisecond))
}

// publishingLine is what Watermill's TestReconnect prints before each
// publish attempt: ten thousand of them say nothing.
var publishingLine = regexp.MustCompile(`(?m)^publishing message\n`)

// scenarioOutput is the scenario child's output without its progress
// lines.
func scenarioOutput(out *tailBuffer) string {
	return publishingLine.ReplaceAllString(out.String(), "")
}

// watermillReconnectMain is the scenario child: a test main of its own
// that runs runWatermillReconnect and exits.
func watermillReconnectMain() {
	testing.Main(
		func(pat, str string) (bool, error) { return regexp.MatchString(pat, str) },
		[]testing.InternalTest{{Name: "WatermillReconnect", F: runWatermillReconnect}},
		nil, nil)
}

// runWatermillReconnect is tests.TestReconnect against the serve process
// at envWatermillServe, with the restart command of this binary.
func runWatermillReconnect(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b := newRemote(t, remoteConfig(os.Getenv(envWatermillServe), "iggy", "iggy"))
	f := tests.Features{
		ConsumerGroups:        true,
		Persistent:            true,
		RestartServiceCommand: []string{exe, argRestartServe},
	}
	tests.TestReconnect(t, tests.TestContext{TestID: tests.NewTestID(), Features: f},
		func(t *testing.T) (message.Publisher, message.Subscriber) {
			logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			pub, err := iggywm.NewPublisher(b, iggywm.PublisherConfig{Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			sub, err := iggywm.NewSubscriber(b, iggywm.SubscriberConfig{
				ConsumerGroup: "test",
				RetryDelay:    50 * time.Millisecond,
				Logger:        logger,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = pub.Close()
				_ = sub.Close()
			})
			return pub, sub
		})
}
