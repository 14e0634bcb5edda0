#!/usr/bin/env bash
# A worker in another language against the real daemon: generates Python stubs from proto/ with
# Debian's protoc and grpc_python_plugin, starts the daemon jar on a free loopback port, and runs
# src/e2e/python/client_check.py against it. Exits non-zero when any check fails.
#
# Needs: server/target/berth-server.jar (mvn package), and Debian's protobuf-compiler,
# protobuf-compiler-grpc, libprotobuf-dev and python3-grpcio (bin/test installs them).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
jar="$root/server/target/berth-server.jar"
# Debian's python3 has Debian's grpcio; a python3 earlier on PATH (pyenv, venv) may not.
python=/usr/bin/python3

for tool in protoc /usr/bin/grpc_python_plugin "$python" java; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "python-client-check: $tool not found; apt-get install -y protobuf-compiler" \
      "protobuf-compiler-grpc libprotobuf-dev python3-grpcio" >&2
    exit 1
  fi
done
if ! "$python" -c 'import grpc' 2>/dev/null; then
  echo "python-client-check: $python cannot import grpc; apt-get install -y python3-grpcio" >&2
  exit 1
fi
if [ ! -f "$jar" ]; then
  echo "python-client-check: $jar is missing; build it with mvn -pl server -am package" >&2
  exit 1
fi

tmp="$(mktemp -d)"
daemon=""
cleanup() {
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
    kill "$daemon" 2>/dev/null || true
    wait "$daemon" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/gen"
protoc -I "$root/proto/src/main/proto" -I /usr/include \
  --python_out="$tmp/gen" --grpc_python_out="$tmp/gen" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
  "$root"/proto/src/main/proto/berth/v1/*.proto

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port="$(free_port)"
# The check receives the daemon's spans here, to see a Python caller's traceparent honoured.
otlp_port="$(free_port)"
java -Xmx256m -jar "$jar" serve --listen "127.0.0.1:$port" --state-dir "$tmp/state" --metrics.listen off \
  --heartbeat-interval 500ms --session-ttl 5s \
  --wasm-module "extractor=$root/src/wasm/extractor.wasm:alloc,extract" \
  --tracing.otlp.endpoint "http://127.0.0.1:$otlp_port" \
  >"$tmp/daemon.log" 2>&1 &
daemon=$!

status=0
PYTHONPATH="$tmp/gen" "$python" "$root/src/e2e/python/client_check.py" --target "127.0.0.1:$port" \
  --otlp-port "$otlp_port" || status=$?
if [ "$status" -ne 0 ]; then
  echo "python-client-check: failed; the daemon's log:" >&2
  tail -n 40 "$tmp/daemon.log" >&2
fi
exit "$status"
