package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/rustok/rustok-iggy/connector/connectortest"
	"github.com/rustok/rustok-iggy/core"
)

// Container settings (target 3).
const (
	defaultIggyImage = "apache/iggy:0.8.0"
	iggyPort         = "8090/tcp"
	// dockerProbeTimeout bounds finding and pinging a Docker engine.
	dockerProbeTimeout = 20 * time.Second
	// containerStartTimeout bounds pulling the image and starting it.
	containerStartTimeout = 5 * time.Minute
)

// shared is the Iggy container, started by the first test that needs it
// and terminated by TestMain.
var shared struct {
	once sync.Once
	// skip is the reason no container runs (no Docker engine); err why
	// starting one failed although Docker answered.
	skip string
	err  error
	addr string
	ctr  *testcontainers.DockerContainer
}

// containerTarget is target 3: an Apache Iggy server in a container. The
// test is skipped, with the reason, when no Docker engine answers; a
// container that Docker fails to start fails the test.
func containerTarget(t *testing.T) target {
	t.Helper()
	shared.once.Do(startSharedContainer)
	if shared.skip != "" {
		t.Skipf("target container: %s", shared.skip)
	}
	if shared.err != nil {
		t.Fatalf("target container: %v", shared.err)
	}
	cfg := remoteConfig(shared.addr, "iggy", "iggy")
	t.Logf("target container: %s at %s", iggyImage(), shared.addr)
	return target{
		name:        "container",
		cooperative: true,
		newBroker:   func(t testing.TB) core.Broker { return newRemote(t, cfg) },
		remote:      &cfg,
		// Iggy 0.8.0 as the remote connector shows it: the zero Features.
		features: connectortest.Features{SharedBroker: true},
	}
}

func iggyImage() string {
	if img := os.Getenv("IGGY_IMAGE"); img != "" {
		return img
	}
	return defaultIggyImage
}

func startSharedContainer() {
	if reason := dockerUnavailable(); reason != "" {
		shared.skip = reason
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), containerStartTimeout)
	defer cancel()
	ctr, err := testcontainers.Run(ctx, iggyImage(),
		testcontainers.WithExposedPorts(iggyPort),
		testcontainers.WithEnv(map[string]string{
			"IGGY_ROOT_USERNAME": "iggy",
			"IGGY_ROOT_PASSWORD": "iggy",
			"IGGY_TCP_ADDRESS":   "0.0.0.0:8090",
		}),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			// What Iggy's Docker documentation asks for: SYS_NICE for
			// CPU affinity, and io_uring, which Docker's default seccomp
			// profile blocks and which locks memory.
			hc.CapAdd = append(hc.CapAdd, "SYS_NICE")
			hc.SecurityOpt = append(hc.SecurityOpt, "seccomp=unconfined")
			hc.Ulimits = append(hc.Ulimits, &container.Ulimit{Name: "memlock", Soft: -1, Hard: -1})
		}),
		testcontainers.WithWaitStrategy(wait.ForListeningPort(iggyPort).WithStartupTimeout(2*time.Minute)),
	)
	if err != nil {
		if ctr != nil {
			_ = testcontainers.TerminateContainer(ctr)
		}
		shared.err = fmt.Errorf("start %s: %w", iggyImage(), err)
		return
	}
	shared.ctr = ctr
	addr, err := ctr.PortEndpoint(ctx, iggyPort, "")
	if err != nil {
		shared.err = fmt.Errorf("container %s: mapped port: %w", iggyImage(), err)
		return
	}
	shared.addr = addr
}

// stopSharedContainer terminates the container if one was started, and
// reports whether testcontainers was used beyond the Docker probe.
func stopSharedContainer() bool {
	used := shared.ctr != nil || shared.err != nil
	if shared.ctr != nil {
		if err := testcontainers.TerminateContainer(shared.ctr); err != nil {
			fmt.Fprintln(os.Stderr, "integration: terminate container:", err)
		}
		shared.ctr = nil
	}
	return used
}

// dockerUnavailable returns why no Docker engine can be used, or "" when
// one answers a ping. It asks testcontainers' own provider (which finds
// the engine as the container start will), bounded in time, and never lets
// its panics escape; without an engine nothing else of testcontainers, its
// reaper included, is started.
func dockerUnavailable() string {
	if reason := dockerSocketMissing(); reason != "" {
		return reason
	}
	type result struct{ err error }
	ch := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), dockerProbeTimeout)
	defer cancel()
	go func() {
		var err error
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("testcontainers: %v", r)
			}
			ch <- result{err}
		}()
		p, perr := testcontainers.ProviderDefault.GetProvider()
		if perr != nil {
			err = perr
			return
		}
		defer p.Close()
		err = p.Health(ctx)
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return fmt.Sprintf("no Docker engine reachable: %v", r.err)
		}
		return ""
	case <-ctx.Done():
		return fmt.Sprintf("no Docker engine reachable: no answer within %s", dockerProbeTimeout)
	}
}

// dockerSocketMissing is the quick probe: with DOCKER_HOST unset (and no
// testcontainers override), the default unix socket must accept a
// connection.
func dockerSocketMissing() string {
	if os.Getenv("DOCKER_HOST") != "" || os.Getenv("TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE") != "" {
		return ""
	}
	if home, err := os.UserHomeDir(); err == nil {
		if b, err := os.ReadFile(home + "/.testcontainers.properties"); err == nil && strings.Contains(string(b), "docker.host") {
			return ""
		}
	}
	var errs []error
	for _, sock := range dockerSockets() {
		c, err := net.DialTimeout("unix", sock, 2*time.Second)
		if err == nil {
			_ = c.Close()
			return ""
		}
		errs = append(errs, err)
	}
	return fmt.Sprintf("no Docker engine reachable: DOCKER_HOST is unset and no Docker socket answers (%v)", errors.Join(errs...))
}

// dockerSockets lists where a local engine's socket usually is.
func dockerSockets() []string {
	socks := []string{"/var/run/docker.sock"}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		socks = append(socks, d+"/docker.sock")
	}
	if home, err := os.UserHomeDir(); err == nil {
		socks = append(socks, home+"/.docker/run/docker.sock", home+"/.docker/desktop/docker.sock")
	}
	return socks
}
