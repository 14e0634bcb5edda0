#!/usr/bin/env bash
# A worker in another language against the real daemon: generates Python stubs from proto/ with
# Debian's protoc and grpc_python_plugin, starts the daemon jar on a free loopback port, and runs
# src/e2e/python/client_check.py against it; then starts three daemons as a cluster and runs the
# check's --cluster part, which follows a follower's NOT_LEADER hint to the leader (its
# google.rpc.ErrorInfo is decoded with stubs of google/rpc/*.proto, taken from the daemon jar,
# which carries them). Exits non-zero when any check fails.
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
members=()
stop() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$daemon"
  for pid in "${members[@]}"; do
    stop "$pid"
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/gen"
protoc -I "$root/proto/src/main/proto" -I /usr/include \
  --python_out="$tmp/gen" --grpc_python_out="$tmp/gen" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
  "$root"/proto/src/main/proto/berth/v1/*.proto
# google.rpc.Status and ErrorInfo, for the NOT_LEADER refusal: the same files the daemon is built
# with (proto-google-common-protos), as the shaded jar carries them.
"$python" - "$jar" "$tmp/rpc" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as jar:
    for name in ("google/rpc/status.proto", "google/rpc/error_details.proto"):
        jar.extract(name, sys.argv[2])
PY
protoc -I "$tmp/rpc" -I /usr/include --python_out="$tmp/gen" \
  "$tmp/rpc/google/rpc/status.proto" "$tmp/rpc/google/rpc/error_details.proto"

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
  exit "$status"
fi
stop "$daemon"
daemon=""

# Three members on loopback, one API and one Raft port each.
ids=(n1 n2 n3)
peers=()
apis=()
for id in "${ids[@]}"; do
  api="127.0.0.1:$(free_port)"
  apis+=("$api")
  peers+=(--cluster.peers."$id".api "$api" --cluster.peers."$id".raft "127.0.0.1:$(free_port)")
done
for i in 0 1 2; do
  java -Xmx256m -jar "$jar" serve --listen "${apis[$i]}" --state-dir "$tmp/${ids[$i]}" \
    --metrics.listen off --heartbeat-interval 500ms --session-ttl 5s \
    --cluster.id python-check --cluster.self "${ids[$i]}" "${peers[@]}" \
    >"$tmp/${ids[$i]}.log" 2>&1 &
  members+=($!)
done
PYTHONPATH="$tmp/gen" "$python" "$root/src/e2e/python/client_check.py" \
  --cluster "$(IFS=,; echo "${apis[*]}")" || status=$?
if [ "$status" -ne 0 ]; then
  for id in "${ids[@]}"; do
    echo "python-client-check: failed; $id's log:" >&2
    tail -n 20 "$tmp/$id.log" >&2
  done
fi
exit "$status"
