#!/usr/bin/env bash
# Checks the real broker with a gRPC client that no one here wrote: `buf curl` from the npm package
# @bufbuild/buf, over server reflection alone (no .proto file at hand). It starts the daemon
# (bin/berth serve) on a free loopback port with a temporary state directory, then
#   1. lists the services and methods reflection offers (BrokerAdmin and LeaseBroker among them),
#   2. calls berth.v1.BrokerAdmin/GetStatus and reads brokerEpoch and pools from the JSON,
#   3. calls grpc.health.v1.Health/Check and expects SERVING,
# and stops the daemon with SIGTERM, expecting an orderly stop. Any failure exits non-zero with the
# reason and the daemon's log. Every step is bounded in time.
#
# buf is installed once into a cache directory (npm install --prefix), so later runs need no
# network; the same call by hand is:
#   npx --yes @bufbuild/buf@1.75.0 curl --protocol grpc --http2-prior-knowledge --list-methods \
#     http://127.0.0.1:7433
set -euo pipefail

BUF_VERSION="${BUF_VERSION:-1.75.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${BERTH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/berth}/buf-$BUF_VERSION"
buf="$cache/node_modules/.bin/buf"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/berth-buf-curl.XXXXXX")"
log="$tmp/daemon.log"
pid=""
passed=0

say() { echo "buf-curl-check: $*" >&2; }

fail() {
  say "FAIL: $*"
  if [ -s "$log" ]; then
    echo "--- daemon log (last 40 lines) ---" >&2
    tail -n 40 "$log" >&2
  fi
  echo "$passed passed, 1 failed"
  exit 1
}

pass() {
  passed=$((passed + 1))
  say "ok: $*"
}

cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---------------------------------------------------------------- buf, installed once
if ! { [ -x "$buf" ] && timeout 30 "$buf" --version >/dev/null 2>&1; }; then
  command -v npm >/dev/null 2>&1 || fail "npm is missing; install Node.js and npm (bin/test does)"
  say "installing @bufbuild/buf@$BUF_VERSION into $cache"
  mkdir -p "$cache"
  timeout 300 npm install --prefix "$cache" --no-audit --no-fund --loglevel=error \
    "@bufbuild/buf@$BUF_VERSION" >&2 || fail "npm install @bufbuild/buf@$BUF_VERSION failed"
  timeout 30 "$buf" --version >/dev/null 2>&1 || fail "buf does not run after install: $buf"
fi
say "buf $(timeout 30 "$buf" --version 2>&1)"

curl_grpc() {
  timeout 60 "$buf" curl --protocol grpc --http2-prior-knowledge --timeout 20s "$@"
}

# ---------------------------------------------------------------- the daemon
# Port 0: the kernel picks a free port and the daemon logs the one it got, so nothing races.
"$root/bin/berth" serve --listen 127.0.0.1:0 --state-dir "$tmp/state" --metrics.listen off >"$log" 2>&1 &
pid=$!

port=""
for _ in $(seq 1 3000); do # 300 s: bin/berth builds the jar first when it is missing or stale
  kill -0 "$pid" 2>/dev/null || fail "the daemon exited during start-up"
  port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)"
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "the daemon did not report its port within 300s"
url="http://127.0.0.1:$port"
say "daemon pid $pid listening at $url"

health=""
for _ in $(seq 1 30); do
  health="$(curl_grpc "$url/grpc.health.v1.Health/Check" 2>&1 || true)"
  grep -q '"SERVING"' <<<"$health" && break
  sleep 1
done

# ---------------------------------------------------------------- 1. reflection lists the API
methods="$(curl_grpc --list-methods "$url" 2>&1)" || fail "buf curl --list-methods failed: $methods"
for method in berth.v1.BrokerAdmin/GetStatus berth.v1.LeaseBroker/Acquire; do
  grep -qx "$method" <<<"$methods" || fail "reflection does not list $method; it lists:
$methods"
done
pass "reflection lists berth.v1.BrokerAdmin/GetStatus and berth.v1.LeaseBroker/Acquire"

# ---------------------------------------------------------------- 2. GetStatus
status="$(curl_grpc -d '{}' "$url/berth.v1.BrokerAdmin/GetStatus" 2>&1)" ||
  fail "GetStatus failed: $status"
grep -q '"brokerEpoch"' <<<"$status" || fail "GetStatus has no brokerEpoch: $status"
grep -q '"pools"' <<<"$status" || fail "GetStatus has no pools: $status"
grep -q 'RESOURCE_KIND_RENDER' <<<"$status" || fail "GetStatus has no RENDER pool: $status"
pass "BrokerAdmin/GetStatus answers with brokerEpoch and pools"

# ---------------------------------------------------------------- 3. health
grep -q '"status": *"SERVING"' <<<"$health" || fail "Health/Check is not SERVING: $health"
pass "grpc.health.v1.Health/Check answers SERVING"

# ---------------------------------------------------------------- stop
kill -TERM "$pid"
code=""
for _ in $(seq 1 300); do # 30 s
  if ! kill -0 "$pid" 2>/dev/null; then
    code=0
    wait "$pid" || code=$?
    break
  fi
  sleep 0.1
done
[ -n "$code" ] || fail "the daemon did not stop within 30s of SIGTERM"
pid=""
# 143 = 128 + SIGTERM: the JVM's exit status after its shutdown hooks ran on the signal.
[ "$code" -eq 0 ] || [ "$code" -eq 143 ] || fail "the daemon exited with $code after SIGTERM"
grep -q 'Daemon - stopped' "$log" || fail "the daemon did not log its orderly stop"
pass "the daemon stopped cleanly on SIGTERM (exit $code)"

echo "$passed passed, 0 failed"
