# rustok-iggy: one Makefile for the whole workspace.
# The workspace has no root module, so every target walks the modules of go.work.

GO        ?= go
MODULES   := $(shell $(GO) list -f '{{.Dir}}' -m)
PKGS      := $(addsuffix /...,$(MODULES))
# The race detector roughly doubles test time; set RACE= to turn it off.
RACE      ?= -race
TESTFLAGS ?=
TIMEOUT   ?= 30m
# staticcheck is pinned and fetched through the module proxy by `go run`
# (a package@version argument runs outside the workspace's go.mod files).
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

# Watermill's own TestReconnect races under -race, so its run against a
# restarted `rustok-iggy serve` process is a separate step without it.
WATERMILL_RECONNECT = $(GO) test -count=1 -timeout 5m -run '^TestWatermillReconnect$$' ./integration/

.PHONY: test vet fmt fmt-check lint staticcheck bench charts bench-full integration demo tidy image example-images

test: fmt-check vet
	$(GO) test $(RACE) -timeout $(TIMEOUT) $(TESTFLAGS) $(PKGS)
	$(WATERMILL_RECONNECT)

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $(MODULES)

fmt-check:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

staticcheck:
	$(STATICCHECK) $(PKGS)

lint: fmt-check vet staticcheck

# Quick benchmark run: the benchmark program in quick mode (every target in
# one run, with the machine's limits) plus go test -bench. The report is
# saved as docs/bench/quick.json and drawn as the SVG charts of
# docs/benchmarks.md; `make charts` redraws them from the saved report.
BENCH_DIR = docs/bench
bench:
	$(GO) run ./tools/bench --quick --json-file $(BENCH_DIR)/quick.json --charts $(BENCH_DIR)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 100ms $(PKGS)

charts:
	$(GO) run ./tools/bench --from-json $(BENCH_DIR)/quick.json --charts $(BENCH_DIR) >/dev/null

# Full benchmark run, printed as the Markdown table of docs/benchmarks.md.
bench-full:
	$(GO) run ./tools/bench --md

integration:
	$(GO) test $(RACE) -timeout $(TIMEOUT) -count=1 ./integration/...
	$(WATERMILL_RECONNECT)

demo:
	$(GO) run ./tools/cmd/rustok-iggy demo

tidy:
	for m in $(MODULES); do (cd $$m && $(GO) mod tidy); done

# Container images, FROM scratch: a static binary (CGO_ENABLED=0) built
# here is copied into a staging directory under bin/ with the Dockerfile,
# which is the build context; nothing is pulled. `make image` is the broker
# (rustok-iggy serve, Dockerfile); `make example-images` adds the fx example
# application (examples/fxapp.Dockerfile) that examples/docker-compose.yml
# runs beside it. The integration suite builds the broker image the same
# way by itself (integration/container_test.go).
DOCKER       ?= docker
IMAGE        ?= rustok-iggy:dev
FXAPP_IMAGE  ?= rustok-iggy-fxapp:dev
STATIC_BUILD  = CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w'

image:
	rm -rf bin/image && mkdir -p bin/image/data
	$(STATIC_BUILD) -o bin/image/rustok-iggy ./tools/cmd/rustok-iggy
	cp Dockerfile bin/image/Dockerfile
	$(DOCKER) build -t $(IMAGE) bin/image

example-images: image
	rm -rf bin/fxapp-image && mkdir -p bin/fxapp-image
	$(STATIC_BUILD) -o bin/fxapp-image/fxapp ./adapters/examples/fxapp
	cp examples/fxapp.Dockerfile bin/fxapp-image/Dockerfile
	cp examples/docker-fxapp.yaml bin/fxapp-image/events.yaml
	$(DOCKER) build -t $(FXAPP_IMAGE) bin/fxapp-image
