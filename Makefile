# btc: `make run` builds and runs a short demo; `make test` runs every test. Both install what is
# missing first (as root, with apt-get).
export LLVM_SYS_191_PREFIX ?= /usr/lib/llvm-19
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo
BTC := target/release/btc

.PHONY: deps build install run test bench fuzz conformance clean

deps:
	@bash scripts/install-deps.sh

build: deps
	$(CARGO) build --release --locked

# Installs btc and btc-codegen (which must sit side by side) into $(PREFIX)/bin, with the
# manual pages and bash, zsh and fish completions that btc-docgen writes from the command line's
# definition. DESTDIR is prepended to every path (for packaging).
PREFIX ?= /usr/local
DESTDIR ?=
DOCS := target/docgen
install: deps
	$(CARGO) build --release --locked --bin btc --bin btc-codegen
	$(CARGO) build --release --locked -p btc-docgen
	rm -rf $(DOCS) && target/release/btc-docgen $(DOCS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 target/release/btc target/release/btc-codegen $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(DOCS)/man/man1/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(DOCS)/completions/btc.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/btc
	install -m 644 $(DOCS)/completions/_btc $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_btc
	install -m 644 $(DOCS)/completions/btc.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/btc.fish

# Counts system calls per process for a few seconds while a small workload runs.
run: build
	@bash scripts/demo.sh $(BTC)

test: deps
	$(CARGO) build --release --locked
	$(CARGO) test --release --locked --workspace --no-fail-fast -- --test-threads=1

# Longer runs of the fuzz targets than `make test` does (FUZZ_CASES inputs each): the parser
# and checker, opening objects (ELF, metadata, libbpf), and printing with any valid metadata.
FUZZ_CASES ?= 200000
fuzz: deps
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --locked -p btc-compiler --test fuzz
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --locked --test fuzz_objects
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --locked -p btc-runtime --lib events::fuzz

# Upstream bpftrace's runtime tests (tests/runtime/* of a checkout at UPSTREAM, e.g. a tag's
# tree) run against btc installed as `bpftrace`; FILTER=REGEX picks tests by SUITE.NAME;
# CONFORMANCE_ARGS adds options of btc-conformance (e.g. --verbose, --no-verify-llvm-ir).
conformance: build
	@test -n "$(UPSTREAM)" || { echo "usage: make conformance UPSTREAM=/path/to/bpftrace-checkout [FILTER=regex]" >&2; exit 2; }
	@bash scripts/install-deps.sh --conformance
	$(CARGO) build --release --locked -p btc-conformance
	target/release/btc-conformance --upstream "$(UPSTREAM)" --btc $(BTC) --work target/conformance \
		--results target/conformance/results.tsv $(if $(FILTER),--filter '$(FILTER)') $(CONFORMANCE_ARGS)

bench: build
	@bash bench/run.sh $(BTC)

clean:
	$(CARGO) clean
