# rustok-iggy: one Makefile for the whole workspace.
# The workspace has no root module, so every target walks the modules of go.work.

GO        ?= go
MODULES   := $(shell $(GO) list -f '{{.Dir}}' -m)
PKGS      := $(addsuffix /...,$(MODULES))
# The race detector roughly doubles test time; set RACE= to turn it off.
RACE      ?= -race
TESTFLAGS ?=
TIMEOUT   ?= 30m

# Watermill's own TestReconnect races under -race, so its run against a
# restarted `rustok-iggy serve` process is a separate step without it.
WATERMILL_RECONNECT = $(GO) test -count=1 -timeout 5m -run '^TestWatermillReconnect$$' ./integration/

.PHONY: test vet fmt fmt-check lint bench bench-full integration demo tidy

test: fmt-check vet
	$(GO) test $(RACE) -timeout $(TIMEOUT) $(TESTFLAGS) $(PKGS)
	$(WATERMILL_RECONNECT)

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $(MODULES)

fmt-check:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

lint: fmt-check vet

# Quick benchmark run: the benchmark program in quick mode (every target in
# one run, with the machine's limits) plus go test -bench.
bench:
	$(GO) run ./tools/bench --quick
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 100ms $(PKGS)

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
