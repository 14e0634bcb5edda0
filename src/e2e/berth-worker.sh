#!/usr/bin/env bash
# Runs the reference worker (dev.berth.client.worker.WorkerMain) from this checkout, building the
# client module first when its classes or classpath are missing or older than a source:
#
#   src/e2e/berth-worker.sh --broker 127.0.0.1:7433 --urls urls.txt --out results [--pdf]
#
# `bin/berth worker ...` runs the same program from the CLI jar. --help lists the options.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
classpath="$root/client/target/runtime.classpath"

if [ ! -f "$classpath" ] \
  || [ -n "$(find "$root/pom.xml" "$root/proto" "$root/common" "$root/client/pom.xml" \
    "$root/client/src/main" \
    -newer "$classpath" -type f -not -path '*/target/*' -print -quit)" ]; then
  echo "berth-worker: building the client module ..." >&2
  (cd "$root" && mvn -B -q -ntp -pl client -am package -DskipTests -Dspotless.check.skip=true) >&2
fi

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# shellcheck disable=SC2086 # BERTH_JAVA_OPTS is a list of JVM flags
exec java ${BERTH_JAVA_OPTS:-} -cp "$root/client/target/classes:$(cat "$classpath")" \
  dev.berth.client.worker.WorkerMain "$@"
