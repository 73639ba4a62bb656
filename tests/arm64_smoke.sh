#!/bin/sh
# Smoke test of the arm64 static binary under qemu-user (`make arm64-smoke`): start it in an
# empty directory (no litellm_config.yaml, so the built-in `demo` model answers locally) on a
# free loopback port, then GET /health and stream a chat completion that must end with
# `data: [DONE]`. Installs Debian's qemu-user when missing and run as root; otherwise skips.
set -eu

BIN=${1:-target/aarch64-unknown-linux-musl/release/gpt-reverse-proxy}
skip() { echo "arm64-smoke: SKIPPED: $*"; exit 0; }
fail() { echo "arm64-smoke: FAILED: $*"; [ -s "${DIR:-/nonexistent}/log" ] && sed 's/^/  log: /' "$DIR/log"; exit 1; }

[ -f "$BIN" ] || fail "no binary at $BIN (run make static-arm64)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

find_qemu() { command -v qemu-aarch64 || command -v qemu-aarch64-static || true; }
QEMU=$(find_qemu)
if [ -z "$QEMU" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "arm64-smoke: installing qemu-user"
        { apt-get update -qq && apt-get install -y -qq qemu-user >/dev/null; } || true
        QEMU=$(find_qemu)
    fi
    [ -n "$QEMU" ] || skip "qemu-aarch64 not found and not installable here (needs root and apt-get); install Debian's qemu-user to run it"
fi
command -v curl >/dev/null || skip "curl not found"

DIR=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT INT TERM

# A clean environment: no token (so it stays on 127.0.0.1), port 0 (the kernel picks a free one).
cd "$DIR"
env -i PATH="$PATH" HOST=127.0.0.1 PORT=0 "$QEMU" "$BIN" >"$DIR/log" 2>&1 &
PID=$!

ADDR=
i=0
while [ $i -lt 300 ]; do
    ADDR=$(sed -n 's|.*listening on http://\([0-9.:]*\).*|\1|p' "$DIR/log" | head -n 1)
    [ -n "$ADDR" ] && break
    kill -0 "$PID" 2>/dev/null || fail "the binary exited at startup under $QEMU"
    sleep 0.1
    i=$((i + 1))
done
[ -n "$ADDR" ] || fail "no 'listening on' line within 30 s"
echo "arm64-smoke: $(basename "$QEMU") $BIN listening on $ADDR"

HEALTH=$(curl -sS --max-time 20 -o "$DIR/health" -w '%{http_code}' "http://$ADDR/health") || fail "GET /health: curl failed"
[ "$HEALTH" = 200 ] || fail "GET /health: status $HEALTH: $(cat "$DIR/health")"
echo "arm64-smoke: GET /health -> 200 $(head -c 200 "$DIR/health")"

STATUS=$(curl -sS -N --max-time 30 -o "$DIR/stream" -w '%{http_code}' "http://$ADDR/v1/chat/completions" \
    -H 'Content-Type: application/json' \
    -d '{"model":"demo","stream":true,"messages":[{"role":"user","content":"hi"}]}') || fail "streamed chat completion: curl failed"
[ "$STATUS" = 200 ] || fail "streamed chat completion: status $STATUS: $(cat "$DIR/stream")"
CHUNKS=$(grep -c '^data: {' "$DIR/stream" || true)
LAST=$(grep -v '^[[:space:]]*$' "$DIR/stream" | tail -n 1 | tr -d '\r')
grep -q '"content":"Hello' "$DIR/stream" || fail "the stream lacks the demo answer: $(head -c 500 "$DIR/stream")"
grep -q '"finish_reason":"stop"' "$DIR/stream" || fail "the stream has no finish_reason stop"
[ "$LAST" = 'data: [DONE]' ] || fail "the stream ends with '$LAST', not 'data: [DONE]'"
echo "arm64-smoke: streamed chat completion -> 200, $CHUNKS chunks, ends with data: [DONE]"
echo "arm64-smoke: passed"
