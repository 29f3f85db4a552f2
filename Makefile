# Levee — build, run and test. `make run` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= config/levee.toml

# Debian packages the build and the tests need. pkg-config finds libcrypto and libpcap;
# the rest are peers and real servers that tests and side-by-side scripts talk to on loopback.
BUILD_DEBS := pkg-config libssl-dev libpcap-dev openssl
TEST_DEBS  := $(BUILD_DEBS) curl redis-server chromium

.PHONY: all build release run test deps deps-test check bench clean help

all: build

help:
	@echo "make run    install what is missing, build, start the proxy on $(CONFIG) with the demo backend"
	@echo "make test   install what is missing, build, run every test"
	@echo "make bench  run the Benchmarks package (ordo-one/benchmark)"

# Install missing Debian packages when root; otherwise print the exact command and stop.
define ensure_debs
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "missing Debian packages:$$missing"; \
	    echo "run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
endef

deps:
	$(call ensure_debs,$(BUILD_DEBS))

deps-test:
	$(call ensure_debs,$(TEST_DEBS))

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product levee

run: release
	.build/release/levee serve --config $(CONFIG)

check: release
	.build/release/levee check --config $(CONFIG)

# Tests run one at a time: the end-to-end suites drive real sockets and timers on two cores, and
# running them all at once turns their deadlines into a measure of contention.
# Tests/run-tests.sh keeps the log, repeats the failing tests at the end and runs them once more.
test: deps-test
	$(SWIFT) build --build-tests
	SWIFT=$(SWIFT) bash Tests/run-tests.sh

bench: deps
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark

clean:
	rm -rf .build Benchmarks/.build
