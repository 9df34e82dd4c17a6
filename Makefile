# btc: `make run` builds and runs a short demo; `make test` runs every test. Both install what is
# missing first (as root, with apt-get).
export LLVM_SYS_191_PREFIX ?= /usr/lib/llvm-19
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo
BTC := target/release/btc

.PHONY: deps build run test bench fuzz conformance clean

deps:
	@bash scripts/install-deps.sh

build: deps
	$(CARGO) build --release --locked

# Counts system calls per process for a few seconds while a small workload runs.
run: build
	@bash scripts/demo.sh $(BTC)

test: deps
	$(CARGO) build --release --locked
	$(CARGO) test --release --locked --workspace --no-fail-fast -- --test-threads=1

# A longer run of the parser/checker fuzz target than `make test` does (FUZZ_CASES inputs).
FUZZ_CASES ?= 200000
fuzz: deps
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --locked -p btc-compiler --test fuzz

# Upstream bpftrace's runtime tests (tests/runtime/* of a checkout at UPSTREAM, e.g. a tag's
# tree) run against btc installed as `bpftrace`; FILTER=REGEX picks tests by SUITE.NAME.
conformance: build
	@test -n "$(UPSTREAM)" || { echo "usage: make conformance UPSTREAM=/path/to/bpftrace-checkout [FILTER=regex]" >&2; exit 2; }
	@bash scripts/install-deps.sh --conformance
	$(CARGO) build --release --locked -p btc-conformance
	target/release/btc-conformance --upstream "$(UPSTREAM)" --btc $(BTC) --work target/conformance \
		--results target/conformance/results.tsv $(if $(FILTER),--filter '$(FILTER)')

bench: build
	@bash bench/run.sh $(BTC)

clean:
	$(CARGO) clean
