#!/usr/bin/env bash
# A rolling upgrade of a three-member cluster from an older build to this one, then a rollback,
# with a worker of the older SDK holding leases throughout. Manual (minutes, and it builds the
# older commit): docs/cluster.md#upgrades-and-mixed-versions says what it checks and what was run.
#
#   src/e2e/upgrade/mixed-versions.sh [OLD_COMMIT]      (default: 150 commits back)
#
# Environment: WORK (default /tmp/berth-upgrade), BASE_PORT (default 27900: API BASE+11..13,
# Raft BASE+21..23), OLD_SERVER_JAR / OLD_CLIENT_JAR to use jars built already instead of a
# worktree, MVN_OPTS for extra Maven flags (-o, -Dmaven.repo.local=...).
# Exit 0 when every check passed; every member and the worker are stopped on exit.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
old_commit="${1:-$(git -C "$root" rev-parse HEAD~150)}"
work="${WORK:-/tmp/berth-upgrade}"
base="${BASE_PORT:-27900}"
mvn_opts="${MVN_OPTS:-}"
rm -rf "$work/run" && mkdir -p "$work/run"

build() { # DIR: the server and CLI jars, nothing installed
  # shellcheck disable=SC2086
  (cd "$1" && mvn -B -q -ntp $mvn_opts -pl server,client -am package -DskipTests \
    -Dspotless.check.skip=true) >&2
}
if [ -z "${OLD_SERVER_JAR:-}" ]; then
  if [ ! -d "$work/old" ]; then git -C "$root" worktree add -f "$work/old" "$old_commit" >&2; fi
  build "$work/old"
  OLD_SERVER_JAR="$work/old/server/target/berth-server.jar"
  OLD_CLIENT_JAR="$work/old/client/target/berth-client.jar"
fi
[ -f "$root/server/target/berth-server.jar" ] && [ -f "$root/client/target/berth-client.jar" ] ||
  build "$root"
NEW_SERVER_JAR="$root/server/target/berth-server.jar"
NEW_CLIENT_JAR="$root/client/target/berth-client.jar"
mkdir -p "$work/run/holder"
javac -d "$work/run/holder" -cp "$OLD_CLIENT_JAR" "$root/src/e2e/upgrade/Holder.java"

api() { echo "127.0.0.1:$((base + 10 + $1))"; }
targets="$(api 1),$(api 2),$(api 3)"
peers="{n1: {raft: \"127.0.0.1:$((base + 21))\", api: \"$(api 1)\"},"
peers+=" n2: {raft: \"127.0.0.1:$((base + 22))\", api: \"$(api 2)\"},"
peers+=" n3: {raft: \"127.0.0.1:$((base + 23))\", api: \"$(api 3)\"}}"
declare -A pid
holder=""
cleanup() {
  for n in 1 2 3; do [ -n "${pid[$n]:-}" ] && kill "${pid[$n]}" 2>/dev/null || true; done
  [ -n "$holder" ] && kill "$holder" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
failed=0
check() { # WHAT CONDITION...
  local what="$1"
  shift
  if "$@"; then echo "ok    $what"; else echo "FAIL  $what"; failed=1; fi
}
start() { # N JAR
  java -Xmx256m -jar "$2" serve --listen "$(api "$1")" --state-dir "$work/run/n$1" \
    --metrics-listen off --metrics.jmx false --session-ttl 20s --render-max-hold 1h --cluster.id upgrade \
    --cluster.self "n$1" --cluster.peers "$peers" >>"$work/run/n$1.log" 2>&1 &
  pid[$1]=$!
}
stop() { # N: SIGTERM (a leader hands off first), then wait for the exit
  kill -TERM "${pid[$1]}"
  wait "${pid[$1]}" || true
  pid[$1]=""
}
cli() { java -jar "$NEW_CLIENT_JAR" --broker "$targets" "$@"; }
leader() { cli cluster status | awk '$3 == "leader" {print substr($1, 2)}'; }
caught_up() { # N: the member's commit index reached the answering member's (a loaded machine
  # takes a minute); only a leader knows the lag, and the answer may come from a follower
  for _ in $(seq 1 120); do
    if cli cluster status 2>/dev/null |
      awk -v m="n$1" '$1 == "log" {c = $4 + 0} $1 == m {x = $4 + 0} END {exit !(c > 0 && x >= c)}'
    then return 0; fi
    sleep 1
  done
  return 1
}
same_leases() { # every member lists the same lease ids (a follower from its replica)
  local a b c
  a=$(java -jar "$NEW_CLIENT_JAR" --broker "$(api 1)" leases | awk 'NR>1 && NF>3 {print $1}' | sort)
  b=$(java -jar "$NEW_CLIENT_JAR" --broker "$(api 2)" leases | awk 'NR>1 && NF>3 {print $1}' | sort)
  c=$(java -jar "$NEW_CLIENT_JAR" --broker "$(api 3)" leases | awk 'NR>1 && NF>3 {print $1}' | sort)
  [ -n "$a" ] && [ "$a" = "$b" ] && [ "$b" = "$c" ]
}
holder_sound() { ! grep -q "LOST\|NOT-ABOVE\|REVOKED" "$work/run/holder.out"; }
roll() { # LABEL JAR: one member at a time, followers first, the leader last
  local l order=()
  l=$(leader)
  for n in 1 2 3; do [ "$n" != "$l" ] && order+=("$n"); done
  order+=("$l")
  for n in "${order[@]}"; do
    stop "$n"
    start "$n" "$2"
    check "n$n restarted on the $1 build and caught up" caught_up "$n"
    sleep 4 # a few of the worker's ticks on the mixed cluster
    check "the replicas list the same leases after n$n" same_leases
    check "the worker kept its leases, its tokens rising" holder_sound
  done
}

for n in 1 2 3; do start "$n" "$OLD_SERVER_JAR"; done
for _ in $(seq 1 60); do [ -n "$(leader 2>/dev/null)" ] && break; sleep 1; done
java -cp "$work/run/holder:$OLD_CLIENT_JAR" Holder "$targets" 4 600 >"$work/run/holder.out" 2>&1 &
holder=$!
for _ in $(seq 1 60); do grep -q HOLDING "$work/run/holder.out" && break; sleep 1; done
java -jar "$OLD_CLIENT_JAR" --broker "$targets" limits set --render 12 >/dev/null # a PolicyRecord
echo "upgrade: $old_commit -> $(git -C "$root" rev-parse --short HEAD)"
roll new "$NEW_SERVER_JAR"
check "the policy survived (RENDER 12)" bash -c "java -jar '$NEW_CLIENT_JAR' --broker '$targets' status | grep -q '^RENDER *12'"
echo "rollback: -> $old_commit"
roll old "$OLD_SERVER_JAR"
echo "logs in $work/run"
exit $failed
