package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/rustok/rustok-iggy/connector/connectortest"
	"github.com/rustok/rustok-iggy/core"
)

// Settings of the container targets (3a: the image built from this
// checkout; 3b: Apache Iggy).
const (
	defaultIggyImage = "apache/iggy:0.8.0"
	// builtImage is the tag the suite gives the image it builds from the
	// checkout's Dockerfile (the same image as `make image`).
	builtImage = "rustok-iggy:integration"
	// dockerProbeTimeout bounds finding and pinging a Docker engine.
	dockerProbeTimeout = 20 * time.Second
	// imageBuildTimeout bounds building the static binary and the image.
	imageBuildTimeout = 10 * time.Minute
	// containerStartTimeout bounds starting a container until it is
	// healthy or listening.
	containerStartTimeout = 2 * time.Minute
	// healthInterval replaces the image's HEALTHCHECK interval (5s) in
	// the suite, so a container is found healthy within a fraction of a
	// second; the check itself stays the image's `rustok-iggy ping`.
	healthInterval = 250 * time.Millisecond
)

// engine is the Docker engine the container targets use, probed once.
var engine struct {
	once sync.Once
	// skip is why no engine is used ("" when one answered).
	skip     string
	provider *testcontainers.DockerProvider
}

// image is the image built from the checkout, built once.
var image struct {
	once sync.Once
	err  error
}

// mustDocker returns the Docker engine's provider, or skips t with the
// reason no engine answers; under RUSTOK_CI (or CI) that fails t instead,
// since CI starts an engine (.ci/docker.sh) and the target must run there.
func mustDocker(t *testing.T, targetName string) *testcontainers.DockerProvider {
	t.Helper()
	engine.once.Do(probeDocker)
	if engine.skip != "" {
		if os.Getenv("RUSTOK_CI") != "" || os.Getenv("CI") != "" {
			t.Fatalf("target %s: %s (RUSTOK_CI/CI is set: the container targets must run; .ci/docker.sh starts an engine)", targetName, engine.skip)
		}
		t.Skipf("target %s: %s", targetName, engine.skip)
	}
	return engine.provider
}

// probeDocker finds the engine. The provider treats the default bridge
// network as "host": the engines CI starts have no bridge (--bridge=none)
// and every container here runs on the host network, so testcontainers
// neither looks for nor creates a bridge network.
func probeDocker() {
	if reason := dockerUnavailable(); reason != "" {
		engine.skip = reason
		return
	}
	p, err := testcontainers.NewDockerProvider(testcontainers.WithDefaultBridgeNetwork("host"))
	if err != nil {
		engine.skip = fmt.Sprintf("no Docker engine usable: %v", err)
		return
	}
	engine.provider = p
}

// closeDocker closes the provider's client, and reports whether one was
// opened (TestMain then tolerates its idle HTTP connections).
func closeDocker() bool {
	if engine.provider == nil {
		return false
	}
	if err := engine.provider.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "integration: close Docker provider:", err)
	}
	return true
}

// imageTarget is target 3a: the rustok-iggy image built from this
// checkout (Dockerfile), one container per test on the host network,
// listening on a free loopback port. down kills the container (SIGKILL)
// and up starts it again on the same data volume and port.
func imageTarget(t *testing.T) target {
	t.Helper()
	p := mustDocker(t, "image")
	image.once.Do(func() { image.err = buildImage(p) })
	if image.err != nil {
		t.Fatalf("target image: %v", image.err)
	}
	tcpPort, httpPort := freePort(t), freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(tcpPort))
	ctr := runHostContainer(t, p, builtImage, map[string]string{
		"IGGY_ROOT_USERNAME": "iggy",
		"IGGY_ROOT_PASSWORD": "iggy",
		"IGGY_TCP_ADDRESS":   addr,
		"IGGY_HTTP_ADDRESS":  net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort)),
	}, wait.ForHealthCheck(), nil)
	cfg := remoteConfig(addr, "iggy", "iggy")
	t.Logf("target image: %s (from the checkout) at %s", builtImage, addr)
	return target{
		name:        "image",
		cooperative: true, // the embedded broker behind `serve`
		newBroker:   func(t testing.TB) core.Broker { return newRemote(t, cfg) },
		down:        func(t testing.TB, b core.Broker) { killContainer(t, p, ctr) },
		up: func(t testing.TB, b core.Broker) {
			ctx, cancel := context.WithTimeout(context.Background(), containerStartTimeout)
			defer cancel()
			if err := ctr.Start(ctx); err != nil {
				t.Fatalf("restart container: %v", err)
			}
			awaitPing(t, b)
		},
		remote:   &cfg,
		features: connectortest.Features{SharedBroker: true},
	}
}

// containerTarget is target 3b: Apache Iggy (apache/iggy:0.8.0, or
// IGGY_IMAGE) in a container on the host network, one per test. Nothing
// is pulled: the test is skipped, with the reason, when the image is not
// present locally.
func containerTarget(t *testing.T) target {
	t.Helper()
	p := mustDocker(t, "container")
	img := iggyImage()
	ctx, cancel := context.WithTimeout(context.Background(), dockerProbeTimeout)
	defer cancel()
	if _, err := p.Client().ImageInspect(ctx, img); err != nil {
		t.Skipf("target container: image %s is not present locally (%v); nothing is pulled: load it, or set IGGY_IMAGE", img, err)
	}
	tcpPort, httpPort := freePort(t), freePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(tcpPort))
	runHostContainer(t, p, img, map[string]string{
		"IGGY_ROOT_USERNAME": "iggy",
		"IGGY_ROOT_PASSWORD": "iggy",
		"IGGY_TCP_ADDRESS":   addr,
		"IGGY_HTTP_ADDRESS":  net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort)),
		// Host network: nothing but loopback, and no listener the suite
		// does not use.
		"IGGY_QUIC_ENABLED":      "false",
		"IGGY_WEBSOCKET_ENABLED": "false",
	}, nil, func(hc *container.HostConfig) {
		// What Iggy's Docker documentation asks for: SYS_NICE for
		// CPU affinity, and io_uring, which Docker's default seccomp
		// profile blocks. Not its unlimited memlock: raising that
		// limit is refused where the engine lacks CAP_SYS_RESOURCE
		// (as on these machines), and since Linux 5.12 io_uring
		// charges its memory to the cgroup, not to memlock.
		hc.CapAdd = append(hc.CapAdd, "SYS_NICE")
		hc.SecurityOpt = append(hc.SecurityOpt, "seccomp=unconfined")
	})
	cfg := remoteConfig(addr, "iggy", "iggy")
	// No wait strategy (the image has no health check and no shell):
	// newRemote retries until Iggy answers, then its ping must too.
	awaitPing(t, newRemote(t, cfg))
	t.Logf("target container: %s at %s", img, addr)
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

// runHostContainer starts img on the host network with env, waits for
// it with strategy (nil: not at all; wait.ForHealthCheck: the image's
// HEALTHCHECK, run every healthInterval), lets hostConfig (if not nil)
// adjust the host configuration, prints the container's log when t
// failed, and terminates it (with its volumes) when t ends.
func runHostContainer(t *testing.T, p *testcontainers.DockerProvider, img string, env map[string]string,
	strategy wait.Strategy, hostConfig func(*container.HostConfig)) *testcontainers.DockerContainer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), containerStartTimeout)
	defer cancel()
	req := testcontainers.ContainerRequest{
		Image: img,
		Env:   env,
		// No port is published: on the host network the server binds
		// the loopback address env names.
		ExposedPorts: []string{},
		ConfigModifier: func(c *container.Config) {
			if _, ok := strategy.(*wait.HealthStrategy); ok {
				// The image's HEALTHCHECK command: Docker fills the
				// fields left zero from the image.
				c.Healthcheck = &container.HealthConfig{Interval: healthInterval}
			}
		},
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.NetworkMode = "host"
			if hostConfig != nil {
				hostConfig(hc)
			}
		},
		WaitingFor: strategy,
	}
	c, err := p.RunContainer(ctx, req)
	ctr, _ := c.(*testcontainers.DockerContainer)
	if ctr != nil {
		t.Cleanup(func() {
			if t.Failed() {
				logContainer(t, ctr)
			}
			if err := testcontainers.TerminateContainer(ctr); err != nil {
				t.Errorf("terminate container %s: %v", img, err)
			}
		})
	}
	if err != nil {
		t.Fatalf("start %s on the host network: %v", img, err)
	}
	return ctr
}

// killContainer sends SIGKILL to the container's process (a crash, as
// the serve target's down) and waits until it is no longer running.
func killContainer(t testing.TB, p *testcontainers.DockerProvider, ctr *testcontainers.DockerContainer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), containerStartTimeout)
	defer cancel()
	id := ctr.GetContainerID()
	// Wait from before the kill, so its exit cannot be missed.
	wr := p.Client().ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := p.Client().ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		t.Fatalf("kill container: %v", err)
	}
	select {
	case <-wr.Result:
	case err := <-wr.Error:
		t.Fatalf("wait for the killed container: %v", err)
	}
}

// logContainer writes the end of the container's log to the test log.
func logContainer(t *testing.T, ctr *testcontainers.DockerContainer) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := ctr.Logs(ctx)
	if err != nil {
		t.Logf("container log: %v", err)
		return
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
	if len(b) > 16<<10 {
		b = b[len(b)-16<<10:]
	}
	t.Logf("container log (end):\n%s", b)
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
// The container binds it itself, so a port taken in between fails that
// test's start (rare on loopback; nothing else here picks ports this way).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}

// buildImage builds the image from the checkout as `make image` does: a
// static rustok-iggy (CGO_ENABLED=0) in a staging directory with an
// empty data/ and the repository's Dockerfile, then the image from that
// context (FROM scratch: nothing is pulled). The image is kept, tagged
// builtImage, and replaced by the next run's build.
func buildImage(p *testcontainers.DockerProvider) error {
	ctx, cancel := context.WithTimeout(context.Background(), imageBuildTimeout)
	defer cancel()
	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		return fmt.Errorf("the checkout's Dockerfile: %w", err)
	}
	dir, err := os.MkdirTemp("", "rustok-iggy-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), dockerfile, 0o644); err != nil {
		return err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("build rustok-iggy: no go tool: %w", err)
	}
	start := time.Now()
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "rustok-iggy"), "github.com/rustok/rustok-iggy/tools/cmd/rustok-iggy"}
	cmd := exec.CommandContext(ctx, goTool, args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("CGO_ENABLED=0 go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	built := time.Now()
	repo, tag, _ := strings.Cut(builtImage, ":")
	var buildLog strings.Builder
	req := testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context: dir, Dockerfile: "Dockerfile", Repo: repo, Tag: tag, KeepImage: true,
		BuildLogWriter: &buildLog,
	}}
	if _, err := p.BuildImage(ctx, &req); err != nil {
		return fmt.Errorf("build image %s: %w\n%s", builtImage, err, buildLog.String())
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "integration: built static rustok-iggy in %s, image %s in %s\n",
			built.Sub(start).Round(time.Millisecond), builtImage, time.Since(built).Round(time.Millisecond))
	}
	return nil
}

// dockerUnavailable returns why no Docker engine can be used, or "" when
// one answers a ping. It asks testcontainers' own provider (which finds
// the engine as the container start will), bounded in time, and never lets
// its panics escape; without an engine nothing else of testcontainers is
// started.
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
