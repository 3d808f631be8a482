# recordctl — see README.md. `make run` is the quickstart on the built-in
# emulator (no cloud account); `make test` is what CI runs.
GO       ?= go
BIN      ?= bin/recordctl
FUZZTIME ?= 5m
BENCHTIME ?= 1s

.PHONY: build test sdk-test run run-ha bench fuzz vet fmt clean

# The binary says what it is (recordctl version, recordctl_build_info):
# version from the nearest tag, commit and build time from git and the clock.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILDDATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -X main.version=$(VERSION) -X main.revision=$(REVISION) -X main.buildDate=$(BUILDDATE)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/recordctl

# gofmt check, go vet, and the whole suite under the race detector.
test:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# The vendors' official SDKs (Node.js, pinned by package-lock.json) run their
# lifecycles against `recordctl emulate`; needs node and npm. SDKTEST=1 makes
# a missing node or node_modules a failure instead of a skip.
SDKTEST_DIR := providers/emulate/sdktest/testdata
sdk-test:
	cd $(SDKTEST_DIR) && npm ci --no-audit --no-fund --loglevel=error
	SDKTEST=1 $(GO) test -count=1 ./providers/emulate/sdktest

# The quickstart: validate, then run the daemon against the built-in
# emulator (short windows, 10-minute lookahead). Tasks are created and end
# in the log within a minute; edit examples/quickstart/*.yaml and watch the
# plan change. Ctrl-C stops the daemon (recordings are left running).
# Each run starts from an empty emulator and an empty emulator state.
run: build
	$(BIN) validate examples/quickstart
	rm -rf .recordctl/emulate-state .recordctl/emulate-state.journal .recordctl/emulate-data
	$(BIN) run --emulate --lookahead 10m examples/quickstart

# High availability: a local etcd (Debian's etcd-server package), one shared
# `recordctl emulate` and three `recordctl run` replicas on examples/ha, each
# log line prefixed with its process. Kill a replica (its pid is in its log)
# and watch another lead its providers within --lease-ttl. Ctrl-C stops all.
ETCD       ?= etcd
HA_ETCD    ?= 127.0.0.1:23790
HA_STATE   ?= etcd://$(HA_ETCD)/recordctl-ha
run-ha: build
	@command -v $(ETCD) >/dev/null 2>&1 || { echo "run-ha needs etcd: sudo apt-get install etcd-server (Debian/Ubuntu; or ETCD=/path/to/etcd)"; exit 1; }
	$(BIN) validate examples/ha
	@rm -rf .recordctl/ha && mkdir -p .recordctl/ha
	@trap 'kill 0' INT TERM; \
	export RECORDCTL_EMULATOR_TENCENT_SECRETID=AKIDrecordctlDEMO00000000000000000000 \
	       RECORDCTL_EMULATOR_TENCENT_SECRETKEY=recordctl-demo-secret-key-0000000; \
	$(ETCD) --name ha --data-dir .recordctl/ha/etcd --listen-client-urls http://$(HA_ETCD) \
	  --advertise-client-urls http://$(HA_ETCD) --listen-peer-urls http://127.0.0.1:23800 \
	  --initial-advertise-peer-urls http://127.0.0.1:23800 --initial-cluster ha=http://127.0.0.1:23800 \
	  --logger zap --log-level error 2>&1 | sed -u 's/^/[etcd]      /' & \
	$(BIN) emulate --listen 127.0.0.1:18080 2>&1 | sed -u 's/^/[emulator]  /' & \
	until $(BIN) state list --state $(HA_STATE) --etcd-timeout 1s >/dev/null 2>&1; do sleep 0.2; done; \
	for i in 1 2 3; do \
	  $(BIN) run examples/ha --state $(HA_STATE) --lease-ttl 5s --lookahead 10m --listen 127.0.0.1:946$$i 2>&1 \
	    | sed -u "s/^/[replica-$$i] /" & \
	done; \
	echo "run-ha: /readyz of the replicas on 127.0.0.1:9461-9463; kill one and watch the others"; \
	wait

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

fuzz:
	$(GO) test ./spec -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME)

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin .recordctl
