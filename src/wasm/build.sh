#!/usr/bin/env bash
# Assembles the WebAssembly text modules under src/wasm/ with Debian's wat2wasm (package wabt).
#
#   src/wasm/build.sh           writes each NAME.wasm next to its NAME.wat
#   src/wasm/build.sh --check   fails when a committed NAME.wasm differs from a fresh assembly
#                               of NAME.wat (the client's ExtractorWasmTest checks the same)
#
# The .wasm files are committed so that a reader can see exactly what workers run, and so that
# the broker can serve them without a toolchain; --check keeps them honest.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mode="${1:-write}"

if ! command -v wat2wasm >/dev/null 2>&1; then
  echo "src/wasm/build.sh: wat2wasm not found. It assembles src/wasm/*.wat;" >&2
  echo "  install it with: apt-get install -y wabt" >&2
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
for wat in "$dir"/*.wat; do
  name="$(basename "$wat" .wat)"
  wasm="$dir/$name.wasm"
  if ! wat2wasm "$wat" -o "$tmp/$name.wasm" 2>"$tmp/$name.err"; then
    echo "src/wasm/build.sh: $name.wat does not assemble:" >&2
    cat "$tmp/$name.err" >&2
    status=1
    continue
  fi
  case "$mode" in
    --check)
      if [ ! -f "$wasm" ]; then
        echo "src/wasm/build.sh: src/wasm/$name.wasm is missing; run src/wasm/build.sh and commit it" >&2
        status=1
      elif ! cmp -s "$tmp/$name.wasm" "$wasm"; then
        echo "src/wasm/build.sh: src/wasm/$name.wasm is stale: it differs from an assembly of" \
          "$name.wat ($(wat2wasm --version)). Run src/wasm/build.sh and commit the .wasm." >&2
        status=1
      fi
      ;;
    write)
      cp "$tmp/$name.wasm" "$wasm"
      echo "src/wasm/$name.wasm: $(wc -c <"$wasm") bytes, sha256 $(sha256sum "$wasm" | cut -c1-64)"
      ;;
    *)
      echo "usage: src/wasm/build.sh [--check]" >&2
      exit 2
      ;;
  esac
done
exit $status
