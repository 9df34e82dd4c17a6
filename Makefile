# btc: `make run` builds and runs a short demo; `make test` runs every test. Both install what is
# missing first (as root, with apt-get).
export LLVM_SYS_191_PREFIX ?= /usr/lib/llvm-19
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo
BTC := target/release/btc

.PHONY: deps build run test bench fuzz clean

deps:
	@bash scripts/install-deps.sh

build: deps
	$(CARGO) build --release --locked

# Counts system calls per process for a few seconds while a small workload runs.
run: build
	@bash scripts/demo.sh $(BTC)

test: deps
	$(CARGO) build --release --locked
	$(CARGO) test --release --locked --workspace -- --test-threads=1

# A longer run of the parser/checker fuzz target than `make test` does (FUZZ_CASES inputs).
FUZZ_CASES ?= 200000
fuzz: deps
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --locked -p btc-compiler --test fuzz

bench: build
	@bash bench/run.sh $(BTC)

clean:
	$(CARGO) clean
