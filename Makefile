# hub — build, test and run. Only Go and the module proxy are assumed; tools
# the targets need (staticcheck, buf) are installed by them into ./bin and
# ./.tools at pinned versions.

GO          ?= go
BIN         := $(CURDIR)/bin
HUB         := $(BIN)/hub
PLUGIN_DIR  ?= $(CURDIR)/.hub/plugins
VERSION     ?= 0.1.0-dev
CONNECTORS  := $(patsubst plugins/%/main.go,%,$(wildcard plugins/*/main.go))
LDFLAGS     := -X main.version=$(VERSION) -X main.sourceDir=$(CURDIR)

STATICCHECK_VERSION := v0.8.2
BUF_VERSION         := 1.75.0
BUF                 := $(CURDIR)/.tools/node_modules/.bin/buf

export HUB_PLUGIN_DIR := $(PLUGIN_DIR)

.PHONY: all build hub connectors test run run-hello lint fmt fuzz proto proto-check bench clean

all: build

## build: the hub binary and every connector, installed into $(PLUGIN_DIR)
build: hub connectors

hub:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(HUB) ./cmd/hub

connectors: hub
	@for c in $(CONNECTORS); do \
		echo "build  hub-connector-$$c"; \
		$(GO) build -o $(BIN)/hub-connector-$$c ./plugins/$$c || exit 1; \
		$(HUB) connectors install $(BIN)/hub-connector-$$c || exit 1; \
	done

## test: every test, including the ones that launch real hub and plugin binaries
test:
	$(GO) test -count=1 ./...

## run: build, start hub sandbox (the shop, carrier and warehouse simulators) on $(SANDBOX_ADDR) in the background,
## store its seeded test credentials as secrets, init, validate and apply examples/commerce against it, and serve the
## five commerce workflows in the foreground; Ctrl-C stops hub serve, then the sandbox. README.md walks through it.
## Each run starts from a clean slate, as the sandbox does: the example's data directory (its runs, poll cursors and
## secrets) is removed first, since cursors kept from a previous sandbox would skip the new one's feeds.
## (init -upgrade: the connectors were just rebuilt from source, so their checksums may have moved)
SANDBOX_ADDR ?= 127.0.0.1:8481
COMMERCE     := examples/commerce
run: build
	@set -e; \
	info=$(CURDIR)/.hub/sandbox.json; mkdir -p $(CURDIR)/.hub; rm -f $$info; rm -rf $(COMMERCE)/.hub/data; \
	$(HUB) sandbox -addr $(SANDBOX_ADDR) -json > $$info & sb=$$!; \
	trap 'set +e; kill $$sb 2>/dev/null; wait $$sb 2>/dev/null; echo "hub sandbox stopped"' EXIT; trap 'exit 0' INT TERM; \
	for i in $$(seq 50); do grep -q '^]' $$info 2>/dev/null && break; kill -0 $$sb 2>/dev/null || break; sleep 0.1; done; \
	kill -0 $$sb 2>/dev/null || { echo "hub sandbox did not start on $(SANDBOX_ADDR) (in use? try make run SANDBOX_ADDR=127.0.0.1:PORT)"; exit 1; }; \
	cred() { sed -n 's/.*"'"$$1"'": "\([^"]*\)".*/\1/p' $$info | head -n 1; }; \
	echo "hub sandbox: simulators on http://$(SANDBOX_ADDR) (pid $$sb; hub sandbox reset -addr $(SANDBOX_ADDR) restores the seed)"; \
	cred access_token  | $(HUB) secrets set shopify_token -dir $(COMMERCE); \
	cred client_secret | $(HUB) secrets set shopify_client_secret -dir $(COMMERCE); \
	cred token         | $(HUB) secrets set warehouse_token -dir $(COMMERCE); \
	cred password      | $(HUB) secrets set shiprocket_password -dir $(COMMERCE); \
	$(HUB) init -upgrade -dir $(COMMERCE); \
	$(HUB) validate -dir $(COMMERCE) -env sandbox -var sandbox_url=http://$(SANDBOX_ADDR); \
	$(HUB) apply -dir $(COMMERCE) -env sandbox -var sandbox_url=http://$(SANDBOX_ADDR) -auto-approve > /dev/null; \
	echo "applied $(COMMERCE) (env sandbox); serving it. In another terminal: bin/hub runs list -dir $(COMMERCE) (README.md: place an order)"; \
	$(HUB) serve -dir $(COMMERCE)

## run-hello: build, show the installed connectors, call the example connector, then lock, validate, apply and plan
## the examples/hello workspace and serve it in the foreground (Ctrl-C stops it gracefully). Watch it from a
## second terminal: bin/hub status -dir examples/hello, bin/hub runs list -dir examples/hello, bin/hub logs -f -dir examples/hello
run-hello: build
	$(HUB) version
	$(HUB) connectors list
	$(HUB) connectors schema example
	$(HUB) connectors call example echo '{"message": "hello from hub", "uppercase": true}'
	$(HUB) init -upgrade -dir examples/hello
	$(HUB) validate -dir examples/hello
	$(HUB) apply -dir examples/hello -auto-approve
	$(HUB) plan -dir examples/hello
	@echo "serving examples/hello; in another terminal: bin/hub status -dir examples/hello, bin/hub runs list -dir examples/hello, bin/hub logs -f -dir examples/hello"
	$(HUB) serve -dir examples/hello

## lint: go vet, gofmt and staticcheck (installed at a pinned version)
lint: $(BIN)/staticcheck
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(BIN)/staticcheck ./...

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

fmt:
	gofmt -w $$(git ls-files '*.go')

## fuzz: run each fuzz target of the parsers that take outside input for FUZZTIME
FUZZTIME ?= 30s
FUZZ_TARGETS := sdk:FuzzParseRetryAfter sdk:FuzzPickDigest sdk:FuzzErrorMessage sdk/schema:FuzzPrepare \
                host/config:FuzzLoadAndValidate host/lockfile:FuzzLoad host/engine:FuzzDecodeJSON plugins/http:FuzzParsePath
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) ./$$pkg/ || exit 1; \
	done

## proto: regenerate proto/ with pinned buf, protoc-gen-go and protoc-gen-go-grpc
proto: $(BUF)
	$(BUF) lint
	$(BUF) generate

## proto-check: regeneration changes nothing (generated code is committed)
proto-check: proto
	@git diff --exit-code -- proto || (echo "generated code is stale: run make proto and commit"; exit 1)

$(BUF):
	mkdir -p .tools && npm install --silent --prefix .tools @bufbuild/buf@$(BUF_VERSION)

## bench: host->plugin call benchmarks beside a bare go-plugin gRPC echo; durable ingest with group commit;
## then hub serve end to end with hubload: ingest only, full delivery, a stream and a stalled stream (BENCH_DURATION each)
BENCH_DURATION    ?= 20s
BENCH_CONCURRENCY ?= 64
HUBLOAD           := $(BIN)/hubload
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./host/supervisor/ ./host/ingest/ | tee bench.out
	$(GO) build -o $(HUBLOAD) ./cmd/hubload
	@for mode in ingest full stream; do \
		echo "hubload -mode $$mode -duration $(BENCH_DURATION) -concurrency $(BENCH_CONCURRENCY)"; \
		out=$$($(HUBLOAD) -hub $(HUB) -mode $$mode -duration $(BENCH_DURATION) -concurrency $(BENCH_CONCURRENCY)); rc=$$?; \
		[ -z "$$out" ] || echo "$$out" | tee -a bench.out; \
		[ $$rc -eq 0 ] || exit $$rc; \
	done
	@echo "hubload -mode stream -stall -rate 5000 -duration $(BENCH_DURATION)"; \
	out=$$($(HUBLOAD) -hub $(HUB) -mode stream -stall -rate 5000 -duration $(BENCH_DURATION)); rc=$$?; \
	[ -z "$$out" ] || echo "$$out" | tee -a bench.out; \
	exit $$rc

clean:
	rm -rf $(BIN) .hub bench.out
