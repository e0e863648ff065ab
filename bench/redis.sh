#!/usr/bin/env bash
# Benchmark: `drkit backup redis` (RDB snapshot over the replication protocol, zstd, checked and
# stored in a local repository) against `redis-cli --rdb FILE` on the same server with the same
# 3M keys (2.4M strings, 300k of them expiring, 200k hashes, 200k sets, 100k sorted sets,
# 100k lists), in the same run, median of 3 each, interleaved, after a warm-up round of both.
# Target ratio drkit/redis-cli <= 1.05. Measured twice: the CLI (a JVM starts for every backup;
# through its launcher dr-examples/bin/drkit with class-data sharing, archived in the warm-up
# round, as a deployment would; LAUNCHER=plain runs `java -jar`) and drkit embedded in a host
# JVM that already runs (bench/java/EmbeddedBackup.java), each with drkit's CPU seconds (user +
# system, median) per backup, which vary less than wall times on a shared host. Also prints
# keys-mode backup and online restore throughput in keys/s.
# Starts its own redis-server on a free port (diskless replication, no delay).
#
#   bench/redis.sh
#   KEYS=1000000 RUNS=5 bench/redis.sh
set -euo pipefail
source "$(dirname "$0")/common.sh"
require java bc redis-server redis-cli python3
build_jar
total=${KEYS:-3000000}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
port2=$(free_port)

start_server() { # port dir
  mkdir -p "$2"
  redis-server --port "$1" --bind 127.0.0.1 --dir "$2" --save "" --appendonly no --daemonize yes \
    --logfile "$2/log" --repl-diskless-sync yes --repl-diskless-sync-delay 0 --enable-debug-command yes >/dev/null
  for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return; sleep 0.1; done
  echo "bench: redis-server on $1 did not start" >&2; exit 1
}
start_server "$port" "$work/redis"
start_server "$port2" "$work/redis2"
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; redis-cli -p "$port2" shutdown nosave >/dev/null 2>&1 || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

strings=$((total * 8 / 10)); hashes=$((total / 15)); sets=$((total / 15)); zsets=$((total / 30))
lists=$((total - strings - hashes - sets - zsets))
echo "loading $total keys ..." >&2
redis-cli -p "$port" debug populate "$strings" key 64 >/dev/null
awk -v h="$hashes" -v s="$sets" -v z="$zsets" -v l="$lists" -v e="$((strings / 8))" 'BEGIN {
  for (i = 0; i < h; i++) printf "HSET user:%d name user%d email user%d@example.com plan %s visits %d\r\n", i, i, i, (i % 3 ? "free" : "pro"), i
  for (i = 0; i < s; i++) printf "SADD tags:%d red green blue t%d\r\n", i, i % 100
  for (i = 0; i < z; i++) printf "ZADD board:%d %d alice %d bob %d carol\r\n", i, i, i * 2, i * 3
  for (i = 0; i < l; i++) printf "RPUSH events:%d login view%d logout\r\n", i, i
  for (i = 0; i < e; i++) printf "PEXPIRE key:%d 86400000\r\n", i
}' | redis-cli -p "$port" --pipe >/dev/null
keys=$(redis-cli -p "$port" dbsize)
echo "server: $keys keys, $(redis-cli -p "$port" info memory | grep used_memory_human | tr -d '\r'); $(nproc) cores; $(redis-server --version | cut -d' ' -f1-3)" >&2

run_ref() {
  rm -f "$work/ref.rdb"
  local t0; t0=$(now)
  redis-cli -p "$port" --rdb "$work/ref.rdb" >/dev/null 2>&1
  local t1; t1=$(now)
  ref_size=$(stat -c %s "$work/ref.rdb")
  elapsed "$t0" "$t1"
}
run_drkit() {
  rm -rf "$work/repo"
  local t0; t0=$(now)
  cpu_seconds "$work/cpu" drkit_cli -q --repo "$work/repo" backup redis --name cache --uri "redis://127.0.0.1:$port" >/dev/null
  local t1; t1=$(now)
  dk_size=$(find "$work/repo/backups" -name 'dump.rdb.zst' -printf '%s\n')
  elapsed "$t0" "$t1"
}

run_ref >/dev/null; run_drkit >/dev/null   # warm-up
: >"$work/cpu"
ref_times=(); dk_times=()
for i in $(seq "$runs"); do
  ref_times+=("$(run_ref)"); dk_times+=("$(run_drkit)")
  echo "run $i: redis-cli --rdb ${ref_times[-1]}s, drkit ${dk_times[-1]}s" >&2
done
ref=$(median "${ref_times[@]}"); dk=$(median "${dk_times[@]}")
# shellcheck disable=SC2046
dk_cpu=$(median $(cat "$work/cpu"))

# embedded: the same backup from a host JVM that is already running (no JVM start per backup)
printf '#!/bin/sh\nrm -f "%s"\nexec redis-cli -p %s --rdb "%s"\n' "$work/emb-ref.rdb" "$port" "$work/emb-ref.rdb" >"$work/emb-ref.sh"
read -r emb_ref emb_dk emb_cpu < <(java -cp "$jar" "$here/bench/java/EmbeddedBackup.java" redis "$work/emb-repo" "$runs" \
  "$work/emb-ref.sh" "uri=redis://127.0.0.1:$port")

# keys mode: SCAN + DUMP + PTTL, then an online restore (RESTORE ... ABSTTL) into an empty server
rm -rf "$work/keys-repo"
t0=$(now)
java -jar "$jar" -q --repo "$work/keys-repo" backup redis --name cache --mode keys --uri "redis://127.0.0.1:$port" >/dev/null
t1=$(now)
keys_backup=$(elapsed "$t0" "$t1")
redis-cli -p "$port2" flushall >/dev/null
t0=$(now)
java -jar "$jar" -q --repo "$work/keys-repo" restore --name cache --latest --to-uri "redis://127.0.0.1:$port2" >/dev/null
t1=$(now)
keys_restore=$(elapsed "$t0" "$t1")
restored=$(redis-cli -p "$port2" dbsize)
[ "$restored" = "$keys" ] || { echo "bench: online restore left $restored keys, expected $keys" >&2; exit 1; }

printf '\n%-40s %10s %12s %14s\n' "" "median s" "stored MiB" "drkit CPU s"
printf '%-40s %10.2f %12s\n' "redis-cli --rdb (uncompressed)" "$ref" "$((ref_size / 1048576))"
printf '%-40s %10.2f %12s %14.2f\n' "drkit backup redis (zstd, checked)" "$dk" "$((dk_size / 1048576))" "$dk_cpu"
printf '%-40s %10.2f\n' "redis-cli --rdb (same run as below)" "$emb_ref"
printf '%-40s %10.2f %12s %14.2f\n' "drkit embedded in a running JVM" "$emb_dk" "" "$emb_cpu"
printf '\nratio drkit/redis-cli, CLI (a JVM started per backup): %s (target <= 1.05)\n' "$(echo "scale=3; $dk / $ref" | bc)"
printf 'ratio drkit/redis-cli, embedded in a host JVM:         %s\n' "$(echo "scale=3; $emb_dk / $emb_ref" | bc)"
printf 'keys mode backup:         %8.0f keys/s (%s keys in %.1fs)\n' "$(echo "$keys / $keys_backup" | bc -l)" "$keys" "$keys_backup"
printf 'keys online restore:      %8.0f keys/s (%s keys in %.1fs)\n' "$(echo "$keys / $keys_restore" | bc -l)" "$restored" "$keys_restore"
